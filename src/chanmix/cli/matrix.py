"""``chanmix matrix show|compose|invert|calibrate|export``: matrix algebra on matrix files (or
presets, ``preset:NAME``), calibration matrices from sensor metadata, and mixes written for
other tools."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..io.guard import check_run_files
from ..layers import Layers, Model, compose_models, single_mix
from ..matrixfiles import is_preset, matrix_table, resolve_matrix
from ..pipeline import save_mix
from . import groups
from .matrix_export import export_cmd
from .options import activation_opt, complete_matrix, complete_path, inputs_opt, matrix_output_opt

if TYPE_CHECKING:
    from ..calibration import CalibrationOptions


def _chain(paths: tuple[str, ...], n_inputs: int | None, activation: str = "none") -> list[Model]:
    mixes = []
    n = n_inputs
    for path in paths:
        mix = resolve_matrix(path, activation=activation).mix_for(n)
        mixes.append(mix)
        n = mix.n_outputs
    return mixes


@click.group("matrix")
def matrix_cmd() -> None:
    """Show, compose and invert matrix files; make calibration matrices; export to other tools.

    Wherever a MATRIX is named, preset:NAME names a preset instead of a file (a file called
    preset:NAME is ./preset:NAME).

    \b
    Examples:
      chanmix presets sepia --json > sepia.json
      chanmix matrix show sepia.json
      chanmix matrix show preset:landsat8-tasseled-cap
      chanmix matrix compose a.json b.csv -o ab.json
      chanmix matrix invert pca.json -o pca-inverse.json
      chanmix matrix show sample_images/network.json
      chanmix matrix calibrate sample_images/landsat/l8_MTL.txt --bands 2-7 -o cal.json
      chanmix matrix export preset:sepia --to ffmpeg
    """


matrix_cmd.add_command(export_cmd)


@matrix_cmd.command("show")
@click.argument("path", metavar="MATRIX", shell_complete=complete_matrix)
@inputs_opt
@activation_opt
def show_cmd(path: str, n_inputs: int | None, activation: str) -> None:
    """Print a matrix file as a table, with what it records about itself.

    A file of layers (1x1 convolutions with activations between them) prints one line per
    layer, its shape and the activation after it, once neighbouring linear layers are
    collapsed.
    """
    mix = resolve_matrix(path, activation=activation).mix_for(n_inputs)
    layers = f", {len(mix.steps)} layers" if isinstance(mix, Layers) else ""
    click.echo(f"{path}: {mix.n_inputs} inputs -> {mix.n_outputs} outputs{layers}")
    for key, value in mix.provenance.items():
        if isinstance(value, (str, int, float, bool)):
            click.echo(f"  {key}: {value}")
    if isinstance(mix, Layers):
        click.echo("\n".join(mix.describe()))
    else:
        click.echo(matrix_table(mix))


@matrix_cmd.command("compose")
@click.argument("paths", nargs=-1, required=True, metavar="MATRIX...", shell_complete=complete_matrix)
@matrix_output_opt
@inputs_opt
@activation_opt
def compose_cmd(paths: tuple[str, ...], output: str, n_inputs: int | None, activation: str) -> None:
    """Compose matrices applied in the order given into one (the product, with its bias).

    Layers collapse where they are linear; a ReLU between layers cannot be collapsed into one
    matrix, and is refused (exit 2), saying which layer.
    """
    check_run_files([("MATRIX", p) for p in paths if not is_preset(p)], [("-o", output)])
    save_mix(single_mix(compose_models(_chain(paths, n_inputs, activation)), "compose"), output)


@matrix_cmd.command("invert")
@click.argument("path", metavar="MATRIX", shell_complete=complete_matrix)
@matrix_output_opt
@inputs_opt
def invert_cmd(path: str, output: str, n_inputs: int | None) -> None:
    """Write the mix that undoes MATRIX: its (pseudo-)inverse, with the bias.

    For a reduction such as PCA to K components, the inverse maps the K components back to
    the N bands: the least-squares reconstruction around the "mean" the file records, so
    applying the PCA and then its inverse reconstructs the bands from K components.
    """
    check_run_files([("MATRIX", path)] if not is_preset(path) else [], [("-o", output)])
    mix = single_mix(resolve_matrix(path).mix_for(n_inputs), "invert")
    mean = mix.provenance.get("mean")
    about = mean if isinstance(mean, list) and len(mean) == mix.n_inputs else None
    save_mix(mix.inverse(about), output)


@matrix_cmd.command("calibrate")
@click.argument("mtl", metavar="MTL", shell_complete=complete_path)
@matrix_output_opt
@groups.calibration_opts
@groups.collect(options=groups.calibration_options)
def calibrate_cmd(mtl: str, output: str, options: CalibrationOptions) -> None:
    """Write the mix that turns Landsat 8/9 or Sentinel-2 DN into reflectance (or radiance).

    MTL is a Landsat 8/9 metadata file: Collection 1 or 2 text (_MTL.txt) or Collection 2
    XML (_MTL.xml). Each band is rescaled on its own (a diagonal mix): TOA reflectance (the
    default) is (M * DN + A) / sin(sun elevation), TOA radiance M * DN + A, with the MTL
    file's REFLECTANCE_ or RADIANCE_MULT_BAND_n (M) and _ADD_BAND_n (A); --level 2 gives
    surface reflectance M * DN + A from a Collection 2 Level-2 file's
    LEVEL2_SURFACE_REFLECTANCE_PARAMETERS (for its SR_B<n> images). Values are in normalized
    units (a uint16 DN is read as DN / 65535): weight 65535 * M and bias A, both divided by
    the sine for TOA reflectance.

    MTL may instead be a Sentinel-2 product's MTD_MSIL1C.xml (TOA reflectance) or
    MTD_MSIL2A.xml (surface reflectance), from the top of its .SAFE folder: reflectance is
    (DN + offset) / QUANTIFICATION_VALUE, with RADIO_ADD_OFFSET or BOA_ADD_OFFSET of each band
    (processing baseline 04.00 on; 0 before), so weight 65535 / Q and bias offset / Q. The
    file gives the level (a --level that contradicts it is refused); --to radiance is refused.
    --bands takes band numbers and names: 2-4,8A or B2,B3,B4,B8A; default every band of the
    product (Level-2A has no B10).

    The mix reads the bands in --bands order and names its outputs B<n> (B8A). Its results
    are not in 0..1 (negative offsets, radiances in the hundreds): apply it with --dtype
    float32. Both fill the edges of a scene with DN 0: add --nodata 0 unless the file says it.
    The JSON records the scene or product, the file, the sun elevation (Landsat) or the
    processing baseline (Sentinel-2), and every key used with its value.

    \b
    Examples:
      chanmix matrix calibrate sample_images/landsat/l8_MTL.txt --bands 2-7 -o cal.json
      chanmix apply sample_images/landsat/l8_stack.tif -m cal.json \\
          -m preset:landsat8-tasseled-cap --dtype float32 -o tasseled-cap.tif
      chanmix matrix calibrate LC09_..._MTL.xml --to radiance --bands 10,11 -o thermal.json
      chanmix matrix calibrate LC08_L2SP_..._MTL.txt --level 2 -o sr.json
      chanmix matrix calibrate S2B_MSIL1C_....SAFE/MTD_MSIL1C.xml --bands 2-4,8 -o s2cal.json
    """
    from ..calibration import calibration_mix  # NumPy: only when it runs

    check_run_files([("MTL", mtl)], [("-o", output)])
    save_mix(calibration_mix(mtl, options), output)
