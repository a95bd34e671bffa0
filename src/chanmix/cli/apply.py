"""``chanmix apply``: mix the channels of one or many images."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from ..errors import DataError
from ..io import Outputs, output_format
from ..io.guard import check_run_files
from ..matrixfiles import parse_coeffs, read_matrix
from ..pipeline import ApplyOptions, MixRecipe, apply_file, plan_outputs, save_mix
from ..presets import get_preset
from ..rescale import Rescale
from . import options as opt
from .batch import run_batch
from .stdio import FORMATS, piped

if TYPE_CHECKING:
    from ..fitfiles import FitOptions

_SIGNED_HINT = (
    "Note: principal components are signed and centred on 0; with an integer output type the "
    "negative half saturates at 0. Use --dtype float32 or --rescale minmax to keep it."
)


def _given_recipe(matrices: tuple[str, ...], preset: str | None, coeffs: str | None) -> MixRecipe:
    if matrices:
        return MixRecipe(tuple(read_matrix(m) for m in matrices))
    if preset:
        return MixRecipe((get_preset(preset).mix,))
    return MixRecipe((parse_coeffs(coeffs or "", origin="--coeffs"),))


class Recipes:
    """The mix of each input: given (-m, -p, -c), or fitted (--pca, --fit) on all inputs at
    once before any output is written, or on each input alone with --per-image."""

    def __init__(
        self,
        inputs: tuple[str, ...],
        given: MixRecipe | None,
        pca: int | float | None,
        targets: tuple[str, ...],
        per_image: bool,
        fit_options: FitOptions | None,
        quiet: bool,
        signed_hint: bool,
    ) -> None:
        self.inputs, self.pca, self.targets = inputs, pca, targets
        self.fit_options, self.quiet, self.signed_hint = fit_options, quiet, signed_hint
        if targets and len(targets) != len(inputs):
            raise click.UsageError(
                f"--fit: give one TARGET per INPUT ({len(inputs)} inputs, {len(targets)} targets)"
            )
        self.shared = given
        if given is None and not per_image:
            self.shared = self._fit(list(range(len(inputs))))

    def _fit(self, indices: list[int]) -> MixRecipe:
        from ..fitfiles import lstsq_from_files, pca_from_files  # only when fitting
        from .fit import lstsq_report, pca_report

        paths = [self.inputs[i] for i in indices]
        if self.pca is not None:
            assert self.fit_options is not None
            fit = pca_from_files(paths, self.pca, options=self.fit_options)
            report = pca_report(fit)
        else:
            fit = lstsq_from_files(paths, [self.targets[i] for i in indices], options=self.fit_options)
            report = lstsq_report(fit)
            for warning in fit.warnings:
                click.echo(f"Warning: {warning}", err=True)
        if not self.quiet:
            click.echo(report, err=True)
            if self.pca is not None and self.signed_hint:
                click.echo(_SIGNED_HINT, err=True)
        return MixRecipe((fit.mix,))

    def for_input(self, index: int) -> MixRecipe:
        return self.shared if self.shared is not None else self._fit([index])


def _one_source(
    matrices: tuple[str, ...],
    preset: str | None,
    coeffs: str | None,
    pca: int | float | None,
    targets: tuple[str, ...],
) -> None:
    kinds = (("-m", matrices), ("-p", preset), ("-c", coeffs), ("--pca", pca is not None), ("--fit", targets))
    given = [kind for kind, value in kinds if value]
    if len(given) != 1:
        raise click.UsageError(
            "give the matrix one way: -m FILE (repeatable), -p PRESET, -c COEFFS, --pca K or --fit TARGET"
            + (f" (got {' and '.join(given)})" if given else "")
        )


@click.command("apply")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@opt.output_opt
@opt.outdir_opt
@opt.matrix_opt
@opt.preset_opt
@opt.coeffs_opt
@click.option(
    "--pca",
    callback=opt.parse_components,
    metavar="K",
    help="Fit PCA on the input(s) and apply it: K components, or a variance fraction (0.95).",
)
@click.option(
    "--fit",
    "targets",
    multiple=True,
    metavar="TARGET",
    help="Fit least squares from each INPUT to its TARGET (same size), then apply it.",
)
@click.option("--per-image", is_flag=True, help="With --pca or --fit: one fit per input, not one for all.")
@opt.mask_opt
@opt.sample_opt
@opt.seed_opt
@opt.bands_opt
@opt.dtype_opt
@opt.rescale_opt
@opt.percentiles_opt
@opt.alpha_opt
@opt.linear_opt
@opt.nodata_opt
@opt.page_opt
@opt.series_opt
@click.option("--save-matrix", metavar="FILE", help="Write the mix actually applied (JSON).")
@opt.compress_opt
@opt.tile_opt
@opt.bigtiff_opt
@opt.skip_existing_opt
@opt.newer_opt
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), help="Output format for -o - (stdout).")
@opt.jobs_opt
@opt.max_memory_opt
@opt.quiet_opt
def apply_cmd(
    inputs: tuple[str, ...],
    output: str | None,
    outdir: str | None,
    matrices: tuple[str, ...],
    preset: str | None,
    coeffs: str | None,
    pca: int | float | None,
    targets: tuple[str, ...],
    per_image: bool,
    mask: str | None,
    sample: int | None,
    seed: int,
    bands: tuple[int, ...] | None,
    dtype: str,
    rescale: str,
    percentiles: tuple[float, float],
    alpha_mode: str,
    linear: bool,
    nodata: object,
    page: int,
    series: int | None,
    save_matrix: str | None,
    compress: str,
    tile: str | tuple[int, int] | None,
    bigtiff: str,
    skip_existing: bool,
    newer: bool,
    fmt: str | None,
    jobs: int,
    quiet: bool,
) -> None:
    """Mix the channels of INPUT images: out = W @ in + b, pixel by pixel.

    The matrix W (M outputs x N inputs) and bias b come from -m files (composed in the order
    given), a -p preset or inline -c coefficients. Values are in normalized units (integers
    divided by their type's maximum); results are rounded to nearest and saturated to the
    output type. An alpha channel is passed through untouched unless --alpha says otherwise.

    The output format follows the extension: .tif/.tiff (any bands and type), .png (1-4
    bands, uint8/uint16), .jpg (1 or 3 bands, uint8), .npy (the raw H x W x M array).

    \b
    Examples:
      chanmix apply sample_images/astronaut.png -p sepia -o sepia.png
      chanmix apply sample_images/astronaut.png -p protanopia --linear -o protan.png
      chanmix apply sample_images/astronaut.png -c "0.25,0.5,0.25" -o gray.png
      chanmix apply sample_images/multispectral.tif --bands 7,4,3 -c "1,0,0;0,1,0;0,0,1" \\
          --dtype uint8 --rescale percentile -o nir-false-colour.png
      chanmix apply *.png -p gray-rec709 -O gray/
      chanmix apply *.tif -m pca.json -o "{stem}-pca.tif"
    """
    _one_source(matrices, preset, coeffs, pca, targets)
    if output is not None and output != "-" and "{" not in output:
        output_format(output)
    reads = [("INPUT", i) for i in inputs] + [("-m", m) for m in matrices]
    reads += [("--fit", t) for t in targets]
    named = [i if i != "-" else "stdin" for i in inputs]  # as stdio.piped names stdin's copy
    planned = [] if output == "-" else plan_outputs(named, output, outdir)
    writes = [("-O" if outdir else "-o", target) for _, target in planned]
    check_run_files(
        reads + ([("--mask", mask)] if mask else []),
        writes + ([("--save-matrix", save_matrix)] if save_matrix else []),
        created=[outdir] if outdir else [],
    )
    with piped(inputs, output, fmt) as (inputs, output):
        pairs = plan_outputs(list(inputs), output, outdir)
        if outdir is not None:
            try:
                os.makedirs(outdir, exist_ok=True)
            except OSError as exc:
                raise DataError(f"{outdir}: cannot create the output folder ({exc.strerror})") from exc
        options = ApplyOptions(
            bands=bands,
            dtype=dtype,
            rescale=Rescale(rescale, percentiles),
            alpha=alpha_mode,
            linear=linear,
            nodata=nodata,  # type: ignore[arg-type]
            jobs=jobs,
            page=page,
            series=series,
            compression=compress,
            tile=tile,
            bigtiff=bigtiff,
        )
        fit_options = None
        if pca is not None or targets:
            from ..fitfiles import FitOptions  # the fitting code loads only when it is needed

            fit_options = FitOptions(
                bands=bands,
                alpha=alpha_mode,
                nodata=nodata,
                mask=mask,
                sample=sample,
                seed=seed,
                page=page,
                series=series,
            )  # type: ignore[arg-type]
        recipes = Recipes(
            inputs,
            None if fit_options else _given_recipe(matrices, preset, coeffs),
            pca,
            targets,
            per_image,
            fit_options,
            quiet,
            signed_hint=dtype in ("same", "uint8", "uint16", "uint32") and rescale == "clip",
        )
        # One input: its image and --save-matrix are committed together, or neither is.
        # Several: each image is committed when it is done, the matrix after all of them.
        with Outputs() as together:
            outcomes = run_batch(
                pairs,
                lambda index, source, target, file_jobs, progress: apply_file(
                    source,
                    target,
                    recipes.for_input(index),
                    replace(options, jobs=file_jobs),
                    progress,
                    together=together if len(pairs) == 1 else None,
                ),
                jobs=jobs,
                skip_existing=skip_existing,
                newer=newer,
                quiet=quiet,
            )
            used = next((o.result for o in outcomes if o.status == "done"), None)
            if save_matrix and used is not None:
                save_mix(used, save_matrix, together=together)
