"""Apply a mix file to file: read, choose bands, resolve the matrix, mix, write atomically.

Everything about a request is validated before any output is created: the matrix against
the image's band count, the output format against the channels and sample type it must hold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bandspec import BandSpec, select_bands
from .blockmix import Mixer, argmax_dtype, band_selection, ordered_map
from .choices import NodataChoice
from .dtypes import output_dtype
from .errors import DataError, UsageError
from .io import (
    BlockReader,
    Outputs,
    RasterInfo,
    atomic_output,
    check_encode,
    check_output,
    open_image,
    output_format,
    write_raster_blocks,
    write_zarr_store,
)
from .io.folders import output_folders
from .io.formats import EXTENSIONS, normalized_compression
from .io.zarr_write import DEFAULT_CHUNKS
from .layerfiles import LayersSource
from .layers import Model, compose_models
from .matrixfiles import MatrixSource, matrix_json
from .nodata import Nodata, recorded_nodata, select_nodata
from .preserve import Preserve
from .progress import Progress, WindowCount
from .rescale import LocalPasses, PassRunner, Rescale, rescale_by_passes
from .windowjobs import (
    OrderedMap,
    WindowJob,
    WindowPasses,
    WindowSource,
    Workers,
    ZarrWindowJob,
    grouped,
    source_key,
)

__all__ = [
    "ApplyOptions",
    "MixRecipe",
    "NodataChoice",
    "OrderedMap",
    "apply_file",
    "band_rows",
    "by_tiles",
    "carried",
    "effective_nodata",
    "output_compression",
    "output_chunks",
    "output_names",
    "output_tile",
    "plan_outputs",
    "save_mix",
    "windows",
]

#: TIFF compressions carried from input to output by ``--compress auto``.
_CARRIED_COMPRESSION = ("deflate", "lzw", "zstd")
#: Bytes of input plus output in one band: memory is about (jobs + 1) bands, plus a row of
#: output tiles when the output is tiled otherwise than the input (see :func:`windows`).
BAND_BYTES = 16 << 20
#: ``--tile auto`` tiles outputs of more than this many pixels, in tiles of this size (and
#: outputs of tiled inputs in the input's tiles).
_AUTO_TILE_PIXELS = 1 << 26
_AUTO_TILE = (256, 256)


@dataclass(frozen=True)
class MixRecipe:
    """Where the mix comes from: matrix sources composed in order, resolved per image."""

    sources: tuple[MatrixSource | LayersSource | Model, ...]

    def mix_for(self, n_inputs: int) -> Model:
        """Resolve every source against the channel count flowing into it and compose them
        (into one Mix, or into Layers where a nonlinearity keeps steps apart)."""
        mixes = []
        n = n_inputs
        for source in self.sources:
            mix = source.mix_for(n) if isinstance(source, (MatrixSource, LayersSource)) else source
            if mix.n_inputs != n:
                what = mix.provenance.get("name", "the matrix")
                raise UsageError(f"{what} reads {mix.n_inputs} channels; the input has {n}")
            mixes.append(mix)
            n = mix.n_outputs
        return compose_models(mixes)


def effective_nodata(choice: NodataChoice | None, info: RasterInfo) -> Nodata | None:
    """The nodata value in force: the one given (for every band), else the image's own (one
    per band for a stack of files with different values)."""
    if choice is not None:
        return choice.value
    return info.band_nodata if info.band_nodata is not None else info.nodata


def output_names(mix: Model, band_names: Sequence[str] | None, alpha: bool) -> list[str] | None:
    """Names of the output bands: the mix's, else, for an output that copies one input band
    (a weight of 1 on it, 0 elsewhere, no bias), that band's name from `band_names` (of the
    mixed bands); then ``alpha`` for a kept alpha channel. None when no band has a name."""
    if mix.names:
        names = list(mix.names)
    elif band_names:
        names = ["" if k is None else band_names[k] for k in mix.copies]
    else:
        return None
    return names + (["alpha"] if alpha else []) if any(names) else None


@dataclass(frozen=True)
class ApplyOptions:
    """The per-run settings of ``chanmix apply`` (see the command's help for each).

    ``bands`` is a :class:`~chanmix.bandspec.BandSpec` resolved against each image, or
    1-based band numbers; None mixes every band (but an alpha channel, see ``alpha``).
    """

    bands: BandSpec | tuple[int, ...] | None = None
    dtype: str | None = None
    rescale: Rescale = field(default_factory=Rescale)
    alpha: str = "keep"
    linear: bool = False
    nodata: NodataChoice | None = None
    jobs: int = 1
    page: int = 0
    series: int | None = None
    compression: str = "auto"
    tile: str | tuple[int, int] | None = "auto"
    bigtiff: str = "auto"
    preserve: str = "none"
    preserve_amount: float = 1.0
    argmax: bool = False
    quality: int | None = None
    auto_orient: bool = False


def output_compression(choice: str, info: RasterInfo, fmt: str = "tiff") -> str | None:
    """``--compress``: ``auto`` keeps a lossless input's Deflate, LZW or ZSTD (a TIFF's, a Zarr
    store's), and compresses a Zarr output (`fmt` ``'zarr'``) with ZSTD."""
    if choice == "auto":
        if fmt == "zarr":
            return "zstd"
        return info.compression if info.compression in _CARRIED_COMPRESSION else None
    return None if choice == "none" else choice


def output_tile(choice: str | tuple[int, int] | None, info: RasterInfo) -> tuple[int, int] | None:
    """``--tile``: ``auto`` tiles the output as the input when the input is tiled (in tiles of
    16 to 4096 pixels, multiples of 16, else 256 x 256), in 256 x 256 when the output has more
    than 2^26 pixels (8192 x 8192), and writes strips otherwise; None writes strips.

    Output tiles equal to the input's are mixed one at a time, each from the one input tile
    it covers, so memory does not grow with the image at all; other tiled outputs are
    written a row of tiles at a time, which takes the tile height times the image's width.
    """
    if choice is None or isinstance(choice, tuple):
        return choice
    if choice != "auto":
        raise UsageError(f"tile: {choice!r} is not 'auto', None or (height, width)")
    if info.tile is not None:
        fits = all(16 <= side <= 4096 and side % 16 == 0 for side in info.tile)
        return info.tile if fits else _AUTO_TILE
    return _AUTO_TILE if info.height * info.width > _AUTO_TILE_PIXELS else None


def output_chunks(choice: str | tuple[int, int] | None, info: RasterInfo, target: str) -> tuple[int, int]:
    """``--tile`` for a Zarr output `target`: its chunks' height and width, cut to the image:
    ``auto`` chunks it as the input is tiled or chunked, else in 512 x 512
    (:data:`~chanmix.io.zarr_write.DEFAULT_CHUNKS`); ``none`` (None) is refused, a store is
    always chunked. Memory holds a row of chunks unless they are the input's tiles."""
    if choice is None:
        raise UsageError(
            f"tile none does not fit {target}: a Zarr store is always chunked (use auto or a size)",
            parameter="tile",
        )
    if choice == "auto":
        choice = info.tile or DEFAULT_CHUNKS
    elif not isinstance(choice, tuple):
        raise UsageError(f"tile: {choice!r} is not 'auto', None or (height, width)")
    return min(choice[0], info.height), min(choice[1], info.width)


def by_tiles(info: RasterInfo, tile: tuple[int, int] | None) -> bool:
    """Whether an image is mixed tile by tile: when the output's tiles are the input's."""
    return tile is not None and info.tile is not None and tuple(info.tile) == tuple(tile)


def windows(info: RasterInfo, rows: int, tile: tuple[int, int] | None) -> list[tuple[int, int, int, int]]:
    """The ``(start, stop, left, right)`` windows an image is mixed in, in the order they are
    written: the output's tiles (see :func:`by_tiles`), else bands of `rows` full rows."""
    height, width = info.height, info.width
    if tile is not None and by_tiles(info, tile):
        th, tw = tile
        return [
            (r, min(r + th, height), c, min(c + tw, width))
            for r in range(0, height, th)
            for c in range(0, width, tw)
        ]
    return [(r, min(r + rows, height), 0, width) for r in range(0, height, rows)]


def band_rows(reader: BlockReader, out_row_bytes: int) -> int:
    """Rows per band: the reader's natural band (each strip or tile row decoded once) unless
    that exceeds 4 x :data:`BAND_BYTES`, then as many rows as fit in :data:`BAND_BYTES`."""
    info = reader.info
    per_row = info.width * info.bands * info.dtype.itemsize + out_row_bytes
    natural = reader.block_rows
    if natural * per_row <= 4 * BAND_BYTES:
        return natural
    return max(1, min(natural, BAND_BYTES // per_row))


def apply_file(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | os.PathLike[str],
    recipe: MixRecipe,
    options: ApplyOptions,
    progress: Progress | None = None,
    *,
    together: Outputs | None = None,
    workers: Workers | None = None,
) -> Model:
    """Mix one image file into another, a row band at a time; returns the mix applied.

    `source` is a file, or a list or tuple of files read as the bands of one image (see
    :func:`~chanmix.io.open_stack`); the output is georeferenced like the first.

    `progress` hears of each pass over the image (``measuring`` for a rescale, then
    ``mixing``) and of each band of rows, or each tile (see :func:`windows`), done in it;
    then, for a PNG or JPEG output, of its ``encoding`` (one image, done when this returns).

    Bands (or tiles, see :func:`windows`) are read, mixed and encoded on ``options.jobs``
    threads with at most that many in flight, so memory is bounded by the band size, not the
    image (for TIFF and .npy; other formats are decoded or encoded whole). The target is
    written through a temporary file and renamed, so a failure leaves no partial output and an
    existing target untouched; with `together`, it is committed with that group's other outputs.

    With `workers` (a :class:`~chanmix.cluster.Cluster`), the windows are read and mixed
    elsewhere by a :class:`~chanmix.windowjobs.WindowJob` (and measured there for a rescale)
    and written here, in order: the same bytes. A Zarr output is written there too, each
    window its own chunks as soon as it is mixed (:class:`~chanmix.windowjobs.ZarrWindowJob`),
    and committed here.
    """
    # JPEG XL keeps its orientation in the codestream, which the encoder writes as 1: a JPEG
    # XL output is always turned as the EXIF says, so that it shows as the input does
    orient = options.auto_orient or EXTENSIONS.get(os.path.splitext(os.fspath(target))[1].lower()) == "jxl"
    with open_image(source, page=options.page, series=options.series, orient=orient) as reader:
        info = reader.info
        bands = select_bands(options.bands, info)
        mixed_bands, kept = band_selection(info.bands, info.alpha, bands, options.alpha, info.path)
        mix = recipe.mix_for(len(mixed_bands))
        preserve = Preserve.of(options.preserve, options.preserve_amount)
        if preserve is not None:
            preserve.check(mix.n_inputs, mix.n_outputs)
        if options.argmax:
            out_dtype = argmax_dtype(mix.n_outputs, options.dtype, options.rescale)
        else:
            out_dtype = output_dtype(options.dtype, info.dtype)
        channels = (1 if options.argmax else mix.n_outputs) + (kept is not None)
        compression = output_compression(options.compression, info, output_format(target))
        fmt = check_output(
            target,
            channels=channels,
            dtype=out_dtype,
            alpha=kept is not None,
            compression=compression,
            height=info.height,
            width=info.width,
            quality=options.quality,
        )
        held = info.height * info.width * info.bands * info.dtype.itemsize if info.loads_whole else 0
        check_encode(str(target), fmt, (info.height, info.width, channels), out_dtype, held=held)
        order = mixed_bands + ([kept] if kept is not None else [])
        identity = order == list(range(info.bands))
        tile = output_tile(options.tile, info) if fmt == "tiff" else None
        rows = band_rows(reader, info.width * channels * out_dtype.itemsize)
        by_workers = fmt == "zarr" and workers is not None  # each window written where it is mixed
        if fmt == "zarr":
            tile = output_chunks(options.tile, info, str(target))
            if by_workers:  # whole rows of chunks, each window written by one worker
                rows = max(rows - rows % tile[0], tile[0])
            else:  # whole rows of chunks, else gathered
                rows -= rows % tile[0] if rows >= tile[0] else 0
        ranges = windows(info, rows, tile)
        count = None
        if progress is not None:
            count = WindowCount.of(progress, ranges, info.width, info.bands * info.dtype.itemsize)

        map_windows = any_order = None
        if workers is not None:  # small windows go several to a task
            start, stop, left, right = ranges[0]
            per_pixel = info.bands * info.dtype.itemsize + channels * out_dtype.itemsize
            window_bytes = (stop - start) * (right - left) * per_pixel
            map_windows = grouped(workers.ordered_map, window_bytes)
            any_order = grouped(workers.unordered_map, window_bytes)
        chosen = None if identity else tuple(order)
        image = WindowSource(source_key(source), options.page, options.series, chosen, orient)
        nodata = select_nodata(effective_nodata(options.nodata, info), mixed_bands)
        written = recorded_nodata(nodata)
        colours = len(mixed_bands)
        passes: PassRunner
        if map_windows is None:

            def measured() -> Iterator[np.ndarray]:
                """The mixed channels of every window, for one measuring pass."""
                if count is not None:
                    count.stage("measuring")
                for span in ranges:
                    yield image.read(reader, span)[:, :, :colours]
                    if count is not None:
                        count.done(span)

            passes = LocalPasses(measured)
        else:
            passes = WindowPasses(map_windows, image, colours, ranges, count)
        scale_offset = (
            None
            if options.argmax
            else rescale_by_passes(
                passes, mix, options.rescale, linear=options.linear, nodata=nodata, preserve=preserve
            )
        )
        mixer = Mixer.build(
            mix,
            info.dtype,
            out_dtype,
            linear=options.linear,
            scale_offset=scale_offset,
            nodata=nodata,
            alpha=kept is not None,
            preserve=preserve,
            argmax=options.argmax,
        )
        mixed_names = [info.band_names[b] for b in mixed_bands] if info.band_names else None
        if options.argmax:
            names: list[str] | None = ["argmax"] + ["alpha"] * (kept is not None)
            sources: list[int | None] = [None] * channels
        else:
            names = output_names(mix, mixed_names, kept is not None)
            sources = [None if k is None else mixed_bands[k] for k in mix.copies] + [None] * (
                kept is not None
            )

        job = WindowJob(image, mixer)
        out_nodata = None if written is None else mixer.fill
        wavelengths, fwhm = carried(info.wavelengths, sources), carried(info.fwhm, sources)
        if by_workers:
            assert any_order is not None and tile is not None

            def on_workers(folder: str, chunks: tuple[int, int]) -> None:
                """Each window mixed and written into `folder` by a worker."""
                if count is not None:
                    count.stage("mixing")
                for window in any_order(ZarrWindowJob(job, folder), ranges):
                    if count is not None:
                        count.done(window)

            write_zarr_store(
                os.fspath(target),
                on_workers,
                shape=(info.height, info.width, channels),
                dtype=np.dtype(out_dtype).newbyteorder("="),
                chunks=tile,
                geo=info.geo,
                band_names=names,
                nodata=out_nodata,
                wavelengths=wavelengths,
                fwhm=fwhm,
                compression=normalized_compression(os.fspath(target), fmt, compression),
                together=together,
            )
            return mix

        def blocks() -> Iterator[np.ndarray]:
            if count is not None:
                count.stage("mixing")
            if map_windows is None:
                mixed_blocks = ordered_map(lambda window: job.mix(reader, window), ranges, options.jobs)
            else:
                mixed_blocks = map_windows(job, ranges)
            for window, block in zip(ranges, mixed_blocks):
                yield block
                if count is not None:
                    count.done(window)
            reader.close()  # all read: an input decoded whole is freed before a PNG is encoded
            if progress is not None and fmt in ("png", "jpeg"):  # gathered whole, now encoded
                progress.stage("encoding", 1, "image")

        write_raster_blocks(
            Path(target),
            blocks(),
            height=info.height,
            width=info.width,
            channels=channels,
            dtype=out_dtype,
            band_names=names,
            alpha=kept is not None,
            like=info,
            nodata=out_nodata,
            wavelengths=wavelengths,
            fwhm=fwhm,
            compression=compression,
            tile=tile,
            tiles=by_tiles(info, tile),
            bigtiff=options.bigtiff,
            workers=options.jobs,
            together=together,
            quality=options.quality,
        )
    return mix


def carried(values: Sequence[float] | None, sources: Sequence[int | None]) -> tuple[float, ...] | None:
    """Per-band values of an input (wavelengths, widths) for the output bands: those of the
    input band each output band copies unchanged (`sources`, 0-based, None for a band that is
    no copy: see :attr:`~chanmix.mix.Mix.copies`), NaN for the others; None when no output
    band has one."""
    if values is None:
        return None
    out = tuple(math.nan if source is None else float(values[source]) for source in sources)
    return out if any(math.isfinite(v) for v in out) else None


def save_mix(mix: Model, path: str | os.PathLike[str], *, together: Outputs | None = None) -> None:
    """Write a mix as a JSON matrix file, atomically (with `together`'s outputs, if given), in
    its folder, made when missing."""
    try:
        with output_folders([os.fspath(path)]), atomic_output(path, together=together) as file:
            file.write(matrix_json(mix).encode("utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def render_output(template: str, source: str, index: int) -> str:
    """Fill ``{stem}``, ``{name}``, ``{ext}`` (with its dot) and ``{index}`` (1-based)."""
    path = Path(source)
    try:
        return template.format(stem=path.stem, name=path.name, ext=path.suffix, index=index)
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"-o: {template!r} is not a valid template; use {{stem}}, {{name}}, {{ext}}, {{index}}"
        ) from exc


def plan_outputs(inputs: Sequence[str], output: str | None, outdir: str | None) -> list[tuple[str, str]]:
    """Pair each input with its output path; refuses ambiguous or colliding requests."""
    if output is None and outdir is None:
        raise UsageError("give an output: -o OUTPUT or -O OUTDIR")
    template = output if output is not None else "{name}"
    if (
        len(inputs) > 1
        and output is not None
        and not any(key in output for key in ("{stem}", "{name}", "{index}"))
    ):
        raise UsageError(
            f"-o: {len(inputs)} inputs cannot all be written to {output!r}; "
            "use {stem}, {name} or {index} in it, or -O OUTDIR"
        )
    pairs = []
    for i, src in enumerate(inputs, 1):
        dst = render_output(template, src, i)
        if outdir is not None:
            dst = os.path.join(outdir, dst)
        pairs.append((src, dst))
    first: dict[str, int] = {}
    for index, (src, dst) in enumerate(pairs):
        earlier = first.setdefault(os.path.abspath(dst), index)
        if earlier != index:
            option, hint = (
                ("-o", "put {index} in it") if output is not None else ("-O", "add -o {index}-{name}")
            )
            raise UsageError(
                f"{option}: inputs {earlier + 1} ({pairs[earlier][0]}) and {index + 1} ({src}) would both "
                f"be written to {dst}; {hint} to tell them apart"
            )
    return pairs
