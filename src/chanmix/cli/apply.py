"""``chanmix apply``: mix the channels of one or many images."""

from __future__ import annotations

import os

import click

from ..errors import ChanmixError, DataError
from ..io import output_format
from ..matrixfiles import parse_coeffs, read_matrix
from ..mix import Mix
from ..mixer import Rescale
from ..pipeline import ApplyOptions, MixRecipe, apply_file, plan_outputs, save_mix
from ..presets import get_preset
from . import options as opt


def _recipe(matrices: tuple[str, ...], preset: str | None, coeffs: str | None) -> MixRecipe:
    given = [kind for kind, v in (("-m", matrices), ("-p", preset), ("-c", coeffs)) if v]
    if len(given) != 1:
        raise click.UsageError(
            "give the matrix one way: -m FILE (repeatable), -p PRESET or -c COEFFS"
            + (f" (got {' and '.join(given)})" if given else "")
        )
    if matrices:
        return MixRecipe(tuple(read_matrix(m) for m in matrices))
    if preset:
        return MixRecipe((get_preset(preset).mix,))
    return MixRecipe((parse_coeffs(coeffs or ""),))


@click.command("apply")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@opt.output_opt
@opt.outdir_opt
@opt.matrix_opt
@opt.preset_opt
@opt.coeffs_opt
@opt.bands_opt
@opt.dtype_opt
@opt.rescale_opt
@opt.percentiles_opt
@opt.alpha_opt
@opt.linear_opt
@opt.nodata_opt
@opt.page_opt
@click.option("--save-matrix", metavar="FILE", help="Write the mix actually applied (JSON).")
@opt.jobs_opt
@opt.quiet_opt
def apply_cmd(
    inputs: tuple[str, ...],
    output: str | None,
    outdir: str | None,
    matrices: tuple[str, ...],
    preset: str | None,
    coeffs: str | None,
    bands: tuple[int, ...] | None,
    dtype: str,
    rescale: str,
    percentiles: tuple[float, float],
    alpha_mode: str,
    linear: bool,
    nodata: object,
    page: int,
    save_matrix: str | None,
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
    recipe = _recipe(matrices, preset, coeffs)
    if output is not None and "{" not in output:
        output_format(output)
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
    )
    single = len(pairs) == 1
    used: Mix | None = None
    failures = 0
    for source, target in pairs:
        try:
            mix = apply_file(source, target, recipe, options)
        except ChanmixError as exc:
            if single:
                raise
            failures += 1
            click.echo(f"Error: {exc}", err=True)
            continue
        used = used or mix
    if not single and not quiet:
        done = len(pairs) - failures
        click.echo(f"{done} of {len(pairs)} images mixed, {failures} failed", err=True)
    if save_matrix and used is not None:
        save_mix(used, save_matrix)
    if failures:
        raise click.exceptions.Exit(1)

