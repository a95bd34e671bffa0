"""``chanmix apply``: mix the channels of one or many images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from ..io import Outputs, output_format
from ..io.folders import output_folders
from ..io.guard import check_run_files
from ..matrixfiles import is_preset, parse_coeffs, resolve_matrix
from ..pipeline import ApplyOptions, MixRecipe, OrderedMap, apply_file, plan_outputs, save_mix
from ..presets import get_preset
from . import groups
from . import options as opt
from .batch import Outcome, Source, run_batch, summary
from .progress import progress_bar, say
from .scheduler import scheduled
from .stdio import piped

if TYPE_CHECKING:
    from ..cluster import Cluster
    from ..fitfiles import FitOptions
    from ..layers import Model
    from ..progress import Progress
    from .progress import Bar

_SIGNED_HINT = (
    "Note: fitted components are signed and centred on 0; with an integer output type the "
    "negative half saturates at 0. Use --dtype float32 or --rescale minmax to keep it."
)


def _given_recipe(source: groups.MixSource) -> MixRecipe:
    if source.matrices:
        return MixRecipe(tuple(resolve_matrix(m, activation=source.activation) for m in source.matrices))
    if source.preset:
        return MixRecipe((get_preset(source.preset).mix,))
    return MixRecipe((parse_coeffs(source.coeffs or "", origin="--coeffs"),))


class Fits:
    """The mix of each input fitted (--pca, --maf, --ica, --fit) on all inputs at once, before any output is
    written, or on each input alone with --per-image. With --stack the inputs are one image,
    fitted once (several --fit targets are stacked too). The fit's pass over the pixels is
    reported to `progress` (to each input's own with --per-image, see :meth:`for_input`)."""

    def __init__(
        self,
        inputs: Sequence[str],
        source: groups.MixSource,
        options: FitOptions,
        *,
        quiet: bool,
        signed_hint: bool,
        map_bands: OrderedMap | None = None,
        progress: Progress | None = None,
    ) -> None:
        if source.targets and len(source.targets) != len(inputs) and not options.stack:
            raise click.UsageError(
                f"--fit: give one TARGET per INPUT ({len(inputs)} inputs, {len(source.targets)} targets)"
            )
        self.inputs, self.source, self.options = inputs, source, options
        self.quiet, self.signed_hint, self.map_bands = quiet, signed_hint, map_bands
        every = list(range(len(inputs)))
        self.shared = None if source.per_image and not options.stack else self._fit(every, progress)

    def _fit(self, indices: list[int], progress: Progress | None) -> MixRecipe:
        from ..fitfiles import ica_from_files, lstsq_from_files, maf_from_files, pca_from_files
        from .fit import lstsq_report, pca_report
        from .fit_components import ica_report, ica_warnings, maf_report

        paths = [self.inputs[i] for i in indices]
        source, options, map_bands = self.source, self.options, self.map_bands
        if source.pca is not None:
            pca = pca_from_files(paths, source.pca, options=options, map_bands=map_bands, progress=progress)
            mix, report = pca.mix, pca_report(pca)
        elif source.maf is not None:
            maf = maf_from_files(paths, source.maf, options=options, map_bands=map_bands, progress=progress)
            mix, report = maf.mix, maf_report(maf)
        elif source.ica is not None:
            ica = ica_from_files(paths, source.ica, options=options, map_bands=map_bands, progress=progress)
            mix, report = ica.mix, ica_report(ica)
            for warning in ica_warnings(ica):
                say(warning)
        else:
            stacked = options.stack
            targets = list(source.targets) if stacked else [source.targets[i] for i in indices]
            lstsq = lstsq_from_files(paths, targets, options=options, map_bands=map_bands, progress=progress)
            mix, report = lstsq.mix, lstsq_report(lstsq)
            for warning in lstsq.warnings:
                say(f"Warning: {warning}")
        if not self.quiet:
            say(report)
            if not source.targets and self.signed_hint:
                say(_SIGNED_HINT)
        return MixRecipe((mix,))

    def for_input(self, index: int, progress: Progress | None = None) -> MixRecipe:
        """The mix of input `index`: the shared fit, else its own (its pass told to `progress`)."""
        return self.shared if self.shared is not None else self._fit([index], progress)


def recipes(
    inputs: Sequence[str],
    source: groups.MixSource,
    options: ApplyOptions,
    quiet: bool,
    stack: bool,
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
) -> Callable[[int, Progress | None], MixRecipe]:
    """The mix of each input (by its index, its fit's pass told to the progress given with
    it): given (-m, -p, -c), or fitted (see :class:`Fits`, a fit of every input at once told
    to `progress`), each row band's statistics through `map_bands` when given (a cluster's
    ordered map)."""
    if not source.fitted:
        given = _given_recipe(source)
        return lambda index, progress: given
    signed_hint = options.dtype in ("same", "uint8", "uint16", "uint32") and options.rescale.mode == "clip"
    fit_options = source.fit_options(options, stack=stack)
    fits = Fits(
        inputs,
        source,
        fit_options,
        quiet=quiet,
        signed_hint=signed_hint,
        map_bands=map_bands,
        progress=progress,
    )
    return fits.for_input


@click.command("apply")
@opt.inputs_arg
@opt.stack_opt
@opt.output_opt
@opt.outdir_opt
@groups.mix_source_opts
@groups.mix_opts
@opt.save_matrix_opt
@groups.tiff_opts
@groups.photo_opts
@groups.skip_opts
@opt.format_opt
@opt.jobs_opt
@opt.max_memory_opt
@opt.scheduler_opt
@opt.quiet_opt
@groups.collect(
    source=groups.mix_source,
    destination=groups.Destination,
    options=groups.apply_options,
    batch=groups.BatchOptions,
)
def apply_cmd(
    inputs: tuple[str, ...],
    stack: bool,
    source: groups.MixSource,
    destination: groups.Destination,
    options: ApplyOptions,
    batch: groups.BatchOptions,
    scheduler: str | None,
) -> None:
    """Mix the channels of INPUT images: out = W @ in + b, pixel by pixel.

    The matrix W (M outputs x N inputs) and bias b come from -m files or presets
    (-m preset:NAME; composed in the order given), a -p preset or inline -c coefficients.
    Values are in normalized units (integers divided by their type's maximum); results are
    rounded to nearest and saturated to the output type. An alpha channel is passed through
    untouched unless --alpha says otherwise.

    A matrix file may also hold layers of 1x1 convolutions (a per-pixel network): JSON
    {"layers": [{"weights", "bias", "activation": "relu"|"none"}, ...]}, or an .npz or
    .safetensors state_dict of Conv2d layers (0.weight, 0.bias, 2.weight, ...) with
    --activation relu between them. Every layer but the last is computed in floats, the last
    rounded and saturated. --argmax writes the index of the largest output as one band.

    The output format follows the extension: .tif/.tiff (any bands and type), .png (1-4
    bands, uint8/uint16), .jpg (1 or 3 bands, uint8), .webp (1-4 bands, uint8), .avif (1-4
    bands, uint8), .jxl (JPEG XL, 1-4 bands, uint8/uint16), .npy (the raw H x W x M array),
    .img/.dat/.bsq (ENVI band sequential), .bil, .bip (ENVI by line, by pixel), each with a
    .hdr header beside it, .zarr (a Zarr store, a folder, as xarray writes a raster; Zarr
    needs pip install 'chanmix[dask]'). ENVI inputs are named by their .hdr header or their
    data file, Zarr stores by their folder; HEIC inputs need pip install 'chanmix[heic]'.
    A photograph's EXIF (orientation included) is carried to PNG, JPEG, WebP, AVIF and JPEG
    XL outputs; --auto-orient turns the pixels instead and sets the orientation to 1.

    With --stack, the INPUTs are the bands of ONE image, in the order given (band files of
    one size, sample type and grid), written to one -o OUTPUT georeferenced like the first;
    --bands numbers the stacked bands, and -o's {stem}, {name}, {ext} are the first input's.

    Missing folders of outputs are made (removed again if the run fails while they are empty).
    A run ends with one summary line on stderr: "1 image mixed: IN -> OUT" for one input, the
    counts for several ("3 of 4 images mixed, 1 failed"); -q hides it and the progress line.
    With -o - stdout holds the image and nothing else.

    \b
    Examples:
      chanmix apply sample_images/astronaut.png -p sepia -o sepia.png
      chanmix apply sample_images/astronaut.png -p protanopia --linear -o protan.png
      chanmix apply sample_images/astronaut.png -p sepia --preserve lum -o toned.png
      chanmix apply sample_images/astronaut.png -p sepia --quality 100 -o sepia.webp
      chanmix apply photo.jpg -p gray-rec709 --auto-orient --quality 85 -o gray.jxl
      chanmix apply sample_images/astronaut.png -c "0.25,0.5,0.25" -o gray.png
      chanmix apply sample_images/multispectral.tif --bands 7,4,3 -c "1,0,0;0,1,0;0,0,1" \\
          --dtype uint8 --rescale percentile -o nir-false-colour.png
      chanmix apply *.png -p gray-rec709 -O gray/
      chanmix apply *.tif -m pca.json -o "{stem}-pca.tif"
      chanmix apply sample_images/multispectral.tif -m sample_images/network.json \\
          --argmax -o classes.png
      chanmix matrix calibrate sample_images/landsat/l8_MTL.txt --bands 2-7 -o cal.json
      chanmix apply sample_images/landsat/l8_stack.tif -m cal.json \\
          -m preset:landsat8-tasseled-cap --dtype float32 -o tasseled-cap.tif
      chanmix apply --stack sample_images/landsat/l8_B4.tif sample_images/landsat/l8_B3.tif \\
          sample_images/landsat/l8_B2.tif -c "1,0,0;0,1,0;0,0,1" --dtype uint8 \\
          --rescale percentile -o natural-colour.png
      chanmix apply --stack sample_images/landsat/l8_B*.tif --pca 3 --dtype float32 -o pcs.tif
      chanmix apply sample_images/landsat/l8_stack.tif --maf 3 --dtype float32 -o mafs.tif
      chanmix apply sample_images/landsat/l8_stack.tif --ica 3 --seed 1 --dtype float32 -o ics.tif
      chanmix apply sample_images/hyperspectral/cube.hdr --bands 650nm,550nm,450nm \\
          -c "1,0,0;0,1,0;0,0,1" --dtype uint8 --rescale percentile -o rgb.png
      chanmix apply sample_images/landsat/l8_stack.tif --bands 4,3,2 \\
          -c "1,0,0;0,1,0;0,0,1" -o nir.zarr
    """
    output, outdir, save_matrix = destination.output, destination.outdir, destination.save_matrix
    if stack and output is None:
        raise click.UsageError("--stack writes one image: give -o OUTPUT")
    if output is not None and output != "-" and "{" not in output:
        output_format(output)
    reads = [("INPUT", i) for i in inputs] + [("-m", m) for m in source.matrices if not is_preset(m)]
    reads += [("--fit", t) for t in source.targets]
    named = [i if i != "-" else "stdin" for i in inputs]  # as stdio.piped names stdin's copy
    planned = [] if output == "-" else plan_outputs(named[:1] if stack else named, output, outdir)
    writes = [("-O" if outdir else "-o", target) for _, target in planned]
    check_run_files(
        reads + ([("--mask", source.mask)] if source.mask else []),
        writes + ([("--save-matrix", save_matrix)] if save_matrix else []),
    )
    with piped(inputs, output, destination.fmt, one_image=stack) as (inputs, output):
        planned = plan_outputs(list(inputs[:1] if stack else inputs), output, outdir)
        pairs: list[tuple[Source, str]] = [(inputs, planned[0][1])] if stack else list(planned)
        # missing folders of -o, -O, --save-matrix: made now, removed if empty when the run fails
        folders = [target for _, target in pairs] + ([save_matrix] if save_matrix else [])
        with output_folders(folders), scheduled(scheduler, workers=options.jobs) as cluster:
            outcomes = _run(inputs, pairs, source, options, batch, stack, save_matrix, cluster)
        done = summary(pairs, outcomes, verb="mixed", skip_existing=batch.skip_existing)
    if len(pairs) == 1 and not batch.quiet:  # several: run_batch said it; stdout (-o -) is written now
        click.echo(done, err=True)


def _run(
    inputs: Sequence[str],
    pairs: list[tuple[Source, str]],
    source: groups.MixSource,
    options: ApplyOptions,
    batch: groups.BatchOptions,
    stack: bool,
    save_matrix: str | None,
    cluster: Cluster | None,
) -> list[Outcome]:
    """Mix every (input, output) pair, here or on `cluster`: one input has its windows mixed
    by the workers and written here, in order; several are one job each on the workers.
    Returns what became of each."""
    map_windows = None if cluster is None else cluster.ordered_map
    # each image's passes: fitting (its own, or the one fit when there is one image), measuring, mixing
    fitted = source.fitted and (source.per_image or len(pairs) == 1)
    passes = 1 + fitted + (options.rescale.mode != "clip")
    with progress_bar(batch.quiet, files=len(pairs), passes=passes) as bar:
        recipe_for = recipes(inputs, source, options, batch.quiet, stack, map_windows, bar)
        return _mix_all(pairs, recipe_for, options, batch, save_matrix, cluster, bar)


def _mix_all(
    pairs: list[tuple[Source, str]],
    recipe_for: Callable[[int, Progress | None], MixRecipe],
    options: ApplyOptions,
    batch: groups.BatchOptions,
    save_matrix: str | None,
    cluster: Cluster | None,
    bar: Bar | None,
) -> list[Outcome]:
    """Mix every pair with its recipe, each file's passes shown on `bar`; then --save-matrix.
    Returns what became of each."""
    # One input: its image and --save-matrix are committed together, or neither is.
    # Several: each image is committed when it is done, the matrix after all of them.
    with Outputs() as together:

        def job(index: int, path: Source, target: str, file_jobs: int, progress: Progress | None) -> Model:
            recipe = recipe_for(index, progress)
            if cluster is not None and len(pairs) > 1:  # the whole file on a worker
                return cluster.call(apply_file, path, target, recipe, replace(options, jobs=1))
            one = together if len(pairs) == 1 else None
            file_options = replace(options, jobs=file_jobs)
            return apply_file(path, target, recipe, file_options, progress, together=one, workers=cluster)

        outcomes = run_batch(
            pairs,
            job,
            jobs=options.jobs if cluster is None else cluster.threads,
            skip_existing=batch.skip_existing,
            newer=batch.newer,
            quiet=batch.quiet,
            bar=bar,
        )
        used = next((o.result for o in outcomes if o.status == "done"), None)
        if save_matrix and used is not None:
            save_mix(used, save_matrix, together=together)
    return outcomes
