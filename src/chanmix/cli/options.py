"""Options shared by chanmix commands, each defined once, and the callbacks that parse them.

=====================  ==========================================  ==============
option                 value                                       commands
=====================  ==========================================  ==============
-m/--matrix FILE       matrix file or ``preset:NAME``, repeatable    apply
                       (composed in order)
--activation ACT       none | relu, between the layers of .npz/     apply, matrix
                       .safetensors stacks of Conv2d layers
--inputs N             channels a text/.npy matrix reads (its       matrix
                       bias column)
-p/--preset NAME       a preset (``chanmix presets`` lists them)    apply
-c/--coeffs TEXT       inline rows ``"a,b,c; d,e,f"``               apply
--pca K                fit PCA on the inputs and apply it           apply
--maf K, --ica K       fit MAF or ICA on the inputs and apply it    apply
--fit TARGET           fit least squares to TARGET and apply it     apply
--per-image            one fit per input                            apply
INPUT...               image files (``-`` stdin), Zarr folders       apply, info, fit
-o/--output PATH       output file or template (missing folders     apply
                       are made)
-o/--output FILE       the JSON matrix written (folders made)       fit
-O/--outdir DIR        folder for outputs                           apply
--bands LIST           numbers, ranges, names or wavelengths:      apply, fit, sheet
                       ``4,3,2``, ``2-7``, ``B8A``, ``865nm``
--dtype TYPE           output sample type or ``same``               apply
--rescale MODE         clip | minmax | percentile                   apply
--percentiles LO,HI    for ``--rescale percentile``, and each       apply, sheet
                       band of a sheet
--size N               longest side of a thumbnail, pixels          sheet
--columns N            thumbnails per row                           sheet
--alpha MODE           keep | drop | mix                            apply, fit
                       (fits: keep = drop, alpha left out)
--linear               mix in linear light (sRGB decoded)           apply
--preserve MODE        lum | max | avg | sum | nrm | pwr | none      apply
                       (keep a colour measure, as ffmpeg's pc)
--preserve-amount A    0..1, how much of --preserve (ffmpeg's pa)   apply
--argmax               the index of the largest output, one band    apply
--save-matrix FILE     write the mix applied                        apply
--format FMT           output format of ``-o -`` (stdout)           apply
--nodata VALUE         number, ``nan`` or ``none``                  apply, info, sheet
--stack                the INPUTs are the bands of one image        apply, info, fit, sheet
--page N               0-based image of a multi-image file          apply, info, fit, sheet
--series N             0-based image series of a TIFF file          apply, info, fit, sheet
-j/--jobs N            worker threads; -1 or 0 = all cores          apply
--compress CODEC       auto | none | deflate | lzw | zstd           apply
--tile SIZE            auto | none | 512 | 512x256                  apply
--bigtiff WHEN         auto | yes | no                              apply
--quality Q            1-100, lossy outputs (JPEG, WebP, AVIF,      apply
                       JPEG XL); 100: lossless WebP, JPEG XL
--auto-orient          turn photographs as their EXIF says          apply
--skip-existing        leave existing outputs alone                 apply
--newer                leave outputs newer than their input alone   apply
-q/--quiet             no progress or summary on stderr             apply, info, sheet
-q/--quiet             no progress on stderr, no report on stdout   fit
--json                 machine-readable output                      presets, info
-k K                   components: a count, or a variance fraction  fit pca, fit mnf
                       (a count only for fit maf, fit ica)
--mask FILE            fit only where FILE is non-zero              apply, fit
--sample N, --seed S   fit on N random pixels, reproducibly         apply, fit
--products TYPE        auto | float32 | float64: how a fit forms    fit pca, mnf,
                       the pixels' products (speed or digits)     maf, ica
--max-memory SIZE      budget for images held whole (512M, 8G);     apply, info, fit,
                       also CHANMIX_MAX_MEMORY                      sheet
--scheduler ADDRESS    run on a dask.distributed cluster, or        apply, fit
                       ``local``; also CHANMIX_SCHEDULER
--to QUANTITY          reflectance | radiance                       matrix calibrate
--bands LIST           sensor band numbers or names, e.g. ``2-7``,  matrix calibrate
                       ``2-4,8A``
--level 1|2            1: Level-1 DN, 2: Level-2 surface            matrix calibrate
                       reflectance DN (Sentinel-2: the file's)
=====================  ==========================================  ==============

Each callback returns a clean typed value or raises :class:`click.BadParameter`, so commands
receive validated values only. Shell completion: Choices complete by themselves; preset names
(:func:`complete_preset`, :func:`complete_matrix` for ``preset:NAME``) and paths
(:func:`complete_path`, left to the shell) by the functions here, which load no NumPy.

Commands receive related options as one object built from their values: see
:mod:`chanmix.cli.groups`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click
from click.shell_completion import CompletionItem

from ..budget import ENV as MEMORY_ENV
from ..budget import parse_size
from ..choices import (
    ALPHA_MODES,
    CALIBRATION_QUANTITIES,
    OUTPUT_DTYPES,
    PRESERVE_MODES,
    PRODUCTS,
    RESCALE_MODES,
    NodataChoice,
)
from .stdio import FORMATS

if TYPE_CHECKING:  # loaded when --bands is given
    from ..bandspec import BandSpec

#: A command function, as a decorator made by click.option takes and returns it.
F = TypeVar("F", bound=Callable[..., object])


def parse_bands(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> BandSpec | None:
    """``"4,3,2"``, ``"2-7"``, ``"nir,red"``, ``"865nm"`` -> a :class:`~chanmix.bandspec.BandSpec`,
    resolved against each image when it is read (its grammar is in :mod:`chanmix.bandspec`)."""
    if value is None:
        return None
    from ..bandspec import BandSpec
    from ..errors import UsageError

    try:
        return BandSpec.parse(value, parameter=None)
    except UsageError as exc:
        raise click.BadParameter(str(exc)) from None


def parse_band_numbers(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> tuple[int | str, ...] | None:
    """``"2-7"`` or ``"2,3,4,5,6,7"`` (or ``"2-4,7"``) -> (2, 3, 4, 5, 6, 7): a sensor's band
    numbers, in the order given; names such as ``B8A``, ``8A`` or ``B02`` are kept as text, for
    the calibration to resolve (ranges are of numbers only)."""
    if value is None:
        return None
    bands: list[int | str] = []
    for item in value.replace(" ", "").split(","):
        first, dash, last = item.partition("-")
        if not dash and _BAND_NAME.fullmatch(item) and not item.isdigit():
            bands.append(item)
            continue
        try:
            low, high = int(first), int(last if dash else first)
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: expected band numbers like 2-7 or 2,3,4, or names like B8A"
            ) from None
        if low > high:
            raise click.BadParameter(f"{value!r}: a range goes up, as in {high}-{low}")
        if high - low > 1000:
            raise click.BadParameter(f"{value!r}: {item} is more bands than a sensor has")
        bands.extend(range(low, high + 1))
    return tuple(bands)


#: A band name ``parse_band_numbers`` passes on: ``B8A``, ``8a``, ``B02``.
_BAND_NAME = re.compile(r"[Bb]?[0-9]{1,3}[Aa]?")


def parse_percentiles(
    ctx: click.Context | None, param: click.Parameter | None, value: str
) -> tuple[float, float]:
    """``"2,98"`` -> (2.0, 98.0), with 0 <= LO < HI <= 100."""
    try:
        lo, hi = (float(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected LO,HI such as 2,98") from None
    if not 0 <= lo < hi <= 100:
        raise click.BadParameter(f"{value!r}: need 0 <= LO < HI <= 100")
    return lo, hi


def parse_nodata(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> NodataChoice | None:
    """A finite number, ``nan``, or ``none`` (no nodata, whatever the file says); None when not
    given."""
    if value is None:
        return None
    if value.lower() in ("none", "null"):
        return NodataChoice(None)
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a number, nan or none") from None
    if math.isinf(number):
        raise click.BadParameter(f"{value!r}: nodata must be a finite number (or nan)")
    return NodataChoice(number)


def parse_components(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> int | float | None:
    """``"3"`` -> 3 components; ``"0.95"`` -> the fewest reaching 95 % of the variance."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a count (3) or a variance fraction (0.95)") from None
    if 0 < number < 1:
        return number
    if number >= 1 and number.is_integer():
        return int(number)
    raise click.BadParameter(f"{value!r}: use a whole number >= 1 or a fraction between 0 and 1")


def parse_tile(
    ctx: click.Context | None, param: click.Parameter | None, value: str
) -> str | tuple[int, int] | None:
    """``auto``, ``none`` (strips), ``512`` or ``512x256`` (height x width, multiples of 16)."""
    text = value.lower()
    if text in ("auto", "none"):
        return None if text == "none" else "auto"
    try:
        sizes = tuple(int(v) for v in text.split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected auto, none, 512 or 512x256") from None
    tile = (sizes[0], sizes[0]) if len(sizes) == 1 else sizes
    if len(tile) != 2 or any(t < 16 or t % 16 for t in tile):
        raise click.BadParameter(f"{value!r}: tile sizes are multiples of 16, e.g. 256 or 512x256")
    return tile


def parse_jobs(ctx: click.Context | None, param: click.Parameter | None, value: int) -> int:
    """Worker count: N >= 1, or 0 / -1 for every core (below -1: refused)."""
    if value in (0, -1):
        return os.cpu_count() or 1
    if value < -1:
        raise click.BadParameter(f"{value}: use a count >= 1, or 0 or -1 for all cores")
    return value


def parse_max_memory(
    ctx: click.Context | None, param: click.Parameter | None, value: str | None
) -> int | None:
    """``"512M"`` -> 536870912: the memory budget in bytes (K, M, G, T are powers of 1024, with
    or without B or iB), from ``--max-memory`` or CHANMIX_MAX_MEMORY.

    The value is put in CHANMIX_MAX_MEMORY until the command ends (then restored), where the
    readers and writers (:mod:`chanmix.budget`), and any worker process, read it.
    """
    if value is None:
        return None
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if ctx is not None:
        previous = os.environ.get(MEMORY_ENV)
        os.environ[MEMORY_ENV] = str(size)
        ctx.call_on_close(lambda: _restore_env(MEMORY_ENV, previous))
    return size


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def complete_path(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of a file or folder name: left to the shell's own (``type="file"``)."""
    return [CompletionItem(incomplete, type="file")]


def complete_preset(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of a preset name, each with its description (no NumPy is loaded)."""
    from ..presets import PRESETS

    return [
        CompletionItem(name, help=preset.description)
        for name, preset in PRESETS.items()
        if name.startswith(incomplete)
    ]


def complete_matrix(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of a matrix: a file, or ``preset:NAME`` once ``preset:`` is begun (or
    its start, ``pre``, when no file name starts so)."""
    import glob

    files = complete_path(ctx, param, incomplete)
    begun = incomplete.startswith(PRESET_PREFIX)
    if not begun and not (incomplete and PRESET_PREFIX.startswith(incomplete)):
        return files
    if not begun and glob.glob(glob.escape(incomplete) + "*"):
        return files
    names = complete_preset(ctx, param, incomplete[len(PRESET_PREFIX) :] if begun else "")
    return [CompletionItem(PRESET_PREFIX + item.value, help=item.help) for item in names]


#: What ``-m`` takes for a preset: ``preset:NAME``.
PRESET_PREFIX = "preset:"


matrix_opt = click.option(
    "-m",
    "--matrix",
    "matrices",
    multiple=True,
    metavar="FILE",
    shell_complete=complete_matrix,
    help="Matrix file (.json, .csv/.tsv/.txt, .npy, .npz, .safetensors), or preset:NAME for a "
    "preset. Repeat to compose, in order. (A file named preset:NAME: write ./preset:NAME.)",
)
inputs_opt = click.option(
    "--inputs",
    "n_inputs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Channels the (first) matrix reads, to tell a bias column in text or .npy files.",
)
activation_opt = click.option(
    "--activation",
    type=click.Choice(["none", "relu"]),
    default="none",
    show_default=True,
    help="The activation between the layers of an .npz or .safetensors file of several Conv2d "
    "1x1 layers (a state_dict: 0.weight, 0.bias, 2.weight, ...); never after the last layer. "
    "JSON layer files name their own.",
)
preset_opt = click.option(
    "-p",
    "--preset",
    metavar="NAME",
    shell_complete=complete_preset,
    help="A built-in matrix; see 'chanmix presets'.",
)
coeffs_opt = click.option(
    "-c",
    "--coeffs",
    metavar="TEXT",
    help='Inline matrix: rows separated by ";", numbers by "," or spaces; N+1 numbers = bias last.',
)
pca_opt = click.option(
    "--pca",
    callback=parse_components,
    metavar="K",
    help="Fit PCA on the input(s) and apply it: K components, or a variance fraction (0.95).",
)
maf_opt = click.option(
    "--maf",
    type=click.IntRange(min=1),
    metavar="K",
    help="Fit min/max autocorrelation factors on the input(s) and apply the first K.",
)
ica_opt = click.option(
    "--ica",
    type=click.IntRange(min=1),
    metavar="K",
    help="Fit FastICA (K components; --sample N pixels, --seed S) on the input(s) and apply it.",
)
fit_opt = click.option(
    "--fit",
    "targets",
    multiple=True,
    metavar="TARGET",
    shell_complete=complete_path,
    help="Fit least squares from each INPUT to its TARGET (same size), then apply it.",
)
per_image_opt = click.option(
    "--per-image", is_flag=True, help="With --pca, --maf, --ica or --fit: one fit per input, not one for all."
)
inputs_arg = click.argument(
    "inputs", nargs=-1, required=True, metavar="INPUT...", shell_complete=complete_path
)
output_opt = click.option(
    "-o",
    "--output",
    metavar="OUTPUT",
    shell_complete=complete_path,
    help="Output file; with several inputs a template using {stem}, {name}, {ext}, {index}. "
    "Missing folders in it are made.",
)
outdir_opt = click.option(
    "-O",
    "--outdir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write each output into DIR, made when missing (named like its input, or by -o's template).",
)
bands_opt = click.option(
    "--bands",
    callback=parse_bands,
    metavar="LIST",
    help="Input bands to use, in this order: 1-based numbers and ranges (4,3,2 or 2-7; 7-5 is "
    "7,6,5), names as 'chanmix info' lists them (a name with a comma in \"double quotes\"), "
    "or wavelengths (865nm, 0.865um: the band whose centre is nearest).",
)
dtype_opt = click.option(
    "--dtype",
    type=click.Choice(("same",) + OUTPUT_DTYPES),
    default="same",
    show_default=True,
    help="Output sample type.",
)
rescale_opt = click.option(
    "--rescale",
    type=click.Choice(RESCALE_MODES),
    default="clip",
    show_default=True,
    help="clip: saturate; minmax / percentile: stretch each output band onto the full range.",
)
percentiles_opt = click.option(
    "--percentiles",
    default="2,98",
    show_default=True,
    callback=parse_percentiles,
    metavar="LO,HI",
    help="Percentiles mapped to black and white: by --rescale percentile (apply), in each "
    "band's thumbnail (sheet).",
)


def _alpha_option(help: str) -> Callable[[F], F]:
    """``--alpha keep|drop|mix``, with the words of the command using it."""
    return click.option(
        "--alpha", "alpha_mode", type=click.Choice(ALPHA_MODES), default="keep", show_default=True, help=help
    )


alpha_opt = _alpha_option(
    "An alpha channel is passed through unmixed and kept last, dropped, or mixed like a band."
)
fit_alpha_opt = _alpha_option(
    "An alpha channel is left out of the fit with keep or drop (the matrix has no column for it; "
    "apply passes it through), and fitted like any other band with mix."
)
linear_opt = click.option(
    "--linear",
    is_flag=True,
    help="Decode the sRGB transfer function before mixing and encode it after (linear light).",
)
preserve_opt = click.option(
    "--preserve",
    type=click.Choice(PRESERVE_MODES),
    default="none",
    show_default=True,
    help="3 -> 3 mixes: rescale each mixed pixel so that this measure of its colour equals the "
    "input's, as ffmpeg's colorchannelmixer pc: lum max(r,g,b)+min(r,g,b), max, avg, sum, "
    "nrm (Euclidean norm), pwr (cube root of the sum of cubes). Acts on the mixed values (in "
    "linear light with --linear) before --rescale and saturation; alpha and nodata untouched.",
)
preserve_amount_opt = click.option(
    "--preserve-amount",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    metavar="A",
    help="How much of --preserve replaces the plain mix, 0 to 1 (ffmpeg's pa).",
)
argmax_opt = click.option(
    "--argmax",
    is_flag=True,
    help="Write one band instead of the mix's outputs: the 0-based index of the largest output "
    "(the first of equal ones), uint8 (uint16 above 256 outputs); nodata pixels get 255 "
    "(65535), recorded as the output's nodata. Not with --dtype or --rescale.",
)
save_matrix_opt = click.option(
    "--save-matrix",
    metavar="FILE",
    shell_complete=complete_path,
    help="Write the mix actually applied (JSON).",
)
#: -o of the fits: the JSON matrix file they write.
matrix_output_opt = click.option(
    "-o",
    "--output",
    required=True,
    metavar="MATRIX.json",
    shell_complete=complete_path,
    help="Where to write the matrix.",
)
format_opt = click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), help="Output format for -o - (stdout)."
)
nodata_opt = click.option(
    "--nodata",
    callback=parse_nodata,
    metavar="VALUE",
    help="Input nodata value (a number, nan, or none to ignore the file's own).",
)
stack_opt = click.option(
    "--stack",
    is_flag=True,
    help="The INPUTs are the bands of ONE image, in the order given, each adding all its bands "
    "(one size, sample type, CRS and transform).",
)
page_opt = click.option(
    "--page",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Which image of a multi-image file to read (0-based; within --series when given).",
)
series_opt = click.option(
    "--series",
    type=click.IntRange(min=0),
    metavar="N",
    help="Which image series of a TIFF file to read (0-based, as tifffile numbers them).",
)
jobs_opt = click.option(
    "-j",
    "--jobs",
    type=int,
    default=-1,
    callback=parse_jobs,
    show_default="all cores",
    help="Worker threads: a count >= 1, or 0 or -1 for one per core (other negative counts are "
    "refused); the output is identical for any count.",
)
mask_opt = click.option(
    "--mask",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Fit only on pixels where this image (same size) is non-zero.",
)
sample_opt = click.option(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Fit on N pixels drawn at random (fast, approximate).",
)
products_opt = click.option(
    "--products",
    type=click.Choice(PRODUCTS),
    default=PRODUCTS[0],
    show_default=True,
    help="How the pixels' products are formed: auto is float32 for float32 inputs and float64 "
    "for others; float32 (for 8/16-bit inputs too) runs at scikit-learn's float32 speed, "
    "within about 1e-6 of float64 but less for components of small, close eigenvalues; "
    "float64 is exact to 1e-14 and the same for any cut into blocks, at twice the time.",
)
seed_opt = click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of --sample's draw."
)
skip_existing_opt = click.option(
    "--skip-existing", is_flag=True, help="Leave alone outputs that already exist."
)
newer_opt = click.option(
    "--newer", is_flag=True, help="Leave alone outputs newer than their input (like make)."
)
compress_opt = click.option(
    "--compress",
    type=click.Choice(("auto", "none", "deflate", "lzw", "zstd")),
    default="auto",
    show_default=True,
    help="TIFF compression (with the predictor for the data type); auto keeps a TIFF input's "
    "Deflate, LZW or ZSTD and writes anything else uncompressed. Zarr outputs: auto is ZSTD, "
    "deflate is Zarr's gzip, no LZW.",
)
tile_opt = click.option(
    "--tile",
    default="auto",
    show_default=True,
    callback=parse_tile,
    metavar="SIZE",
    help="TIFF tiles: auto keeps a tiled input's tiles (mixed one at a time), tiles 256x256 "
    "outputs over 64 megapixels, else writes strips; none writes strips; 512 or 512x256 "
    "(height x width). Zarr chunks: auto keeps a tiled or chunked input's, else 512x512.",
)
bigtiff_opt = click.option(
    "--bigtiff",
    type=click.Choice(("auto", "yes", "no")),
    default="auto",
    show_default=True,
    help="Write BigTIFF: auto when the output may exceed 4 GB.",
)
quality_opt = click.option(
    "--quality",
    type=click.IntRange(1, 100),
    metavar="Q",
    help="Quality of lossy outputs, 1-100; defaults: JPEG 95, WebP 90, AVIF 90, JPEG XL 90 (cjxl's "
    "distance 1). 100 writes WebP and JPEG XL losslessly. Refused for lossless-only outputs "
    "(TIFF, PNG, .npy, ENVI, Zarr).",
)
auto_orient_opt = click.option(
    "--auto-orient",
    is_flag=True,
    help="Turn photographs as their EXIF Orientation says and set it to 1 (as magick "
    "-auto-orient, vips autorot). Without it the pixels stay as stored and the tag is carried. "
    "JPEG XL outputs are always turned (their orientation lives in the codestream).",
)
max_memory_opt = click.option(
    "--max-memory",
    envvar=MEMORY_ENV,
    show_envvar=True,
    callback=parse_max_memory,
    expose_value=False,
    metavar="SIZE",
    help="Memory an image decoded or encoded whole may take (PNG, JPEG...; TIFF, .npy and ENVI are "
    "streamed), e.g. 512M or 8G; more is refused before it is read. Default: half the "
    "available memory.",
)
scheduler_opt = click.option(
    "--scheduler",
    envvar="CHANMIX_SCHEDULER",
    show_envvar=True,
    metavar="ADDRESS",
    help="Run on a dask.distributed cluster: its scheduler's address (tcp://host:8786), or 'local' "
    "to start one of processes here (one per -j). Workers read and write the files; outputs are "
    "byte-identical. Needs pip install 'chanmix[dask]'.",
)
to_opt = click.option(
    "--to",
    type=click.Choice(CALIBRATION_QUANTITIES),
    default="reflectance",
    show_default=True,
    help="TOA reflectance (sun-elevation corrected; surface reflectance at --level 2) or TOA "
    "radiance in W/(m2 sr um) (Landsat only).",
)
band_numbers_opt = click.option(
    "--bands",
    callback=parse_band_numbers,
    metavar="LIST",
    help="The sensor's bands, in this order: numbers, ranges or names, e.g. 2-7, 2,3,4 or "
    "2-4,8A (default: Landsat 1-9 for reflectance, every band for radiance, 1-7 at --level 2; "
    "Sentinel-2 every band of the product).",
)
level_opt = click.option(
    "--level",
    type=click.IntRange(1, 2),
    metavar="1|2",
    help="1: Level-1 DN (Landsat's default); 2: Level-2 surface reflectance DN (Collection 2 "
    "Level-2 MTL files). A Sentinel-2 file says its level: another is refused.",
)
quiet_opt = click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
fit_quiet_opt = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar on stderr, and no report of the fit on stdout."
)
json_opt = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
size_opt = click.option(
    "--size",
    type=click.IntRange(16, 4096),
    default=256,
    show_default=True,
    metavar="N",
    help="Longest side of each thumbnail in pixels: every k-th row and column is shown, "
    "k = ceil(longest side of the image / N).",
)
columns_opt = click.option(
    "--columns",
    type=click.IntRange(min=1),
    metavar="N",
    help="Thumbnails per row (default: the square root of the band count, rounded up).",
)
