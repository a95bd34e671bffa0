"""``chanmix matrix show|compose|invert``: matrix algebra on matrix files (or presets,
``preset:NAME``)."""

from __future__ import annotations

import click

from ..io.guard import check_run_files
from ..matrixfiles import is_preset, matrix_table, resolve_matrix
from ..mix import Mix, compose
from ..pipeline import save_mix

inputs_opt = click.option(
    "--inputs",
    "n_inputs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Channels the (first) matrix reads, to tell a bias column in text or .npy files.",
)


def _chain(paths: tuple[str, ...], n_inputs: int | None) -> list[Mix]:
    mixes = []
    n = n_inputs
    for path in paths:
        mix = resolve_matrix(path).mix_for(n)
        mixes.append(mix)
        n = mix.n_outputs
    return mixes


@click.group("matrix")
def matrix_cmd() -> None:
    """Show, compose and invert matrix files.

    Wherever a MATRIX is named, preset:NAME names a preset instead of a file (a file called
    preset:NAME is ./preset:NAME).

    \b
    Examples:
      chanmix presets sepia --json > sepia.json
      chanmix matrix show sepia.json
      chanmix matrix show preset:landsat8-tasseled-cap
      chanmix matrix compose a.json b.csv -o ab.json
      chanmix matrix invert pca.json -o pca-inverse.json
    """


@matrix_cmd.command("show")
@click.argument("path", metavar="MATRIX")
@inputs_opt
def show_cmd(path: str, n_inputs: int | None) -> None:
    """Print a matrix file as a table, with what it records about itself."""
    mix = resolve_matrix(path).mix_for(n_inputs)
    click.echo(f"{path}: {mix.n_inputs} inputs -> {mix.n_outputs} outputs")
    for key, value in mix.provenance.items():
        if isinstance(value, (str, int, float, bool)):
            click.echo(f"  {key}: {value}")
    click.echo(matrix_table(mix))


@matrix_cmd.command("compose")
@click.argument("paths", nargs=-1, required=True, metavar="MATRIX...")
@click.option("-o", "--output", required=True, metavar="OUT.json", help="Where to write the product.")
@inputs_opt
def compose_cmd(paths: tuple[str, ...], output: str, n_inputs: int | None) -> None:
    """Compose matrices applied in the order given into one (the product, with its bias)."""
    check_run_files([("MATRIX", p) for p in paths if not is_preset(p)], [("-o", output)])
    save_mix(compose(_chain(paths, n_inputs)), output)


@matrix_cmd.command("invert")
@click.argument("path", metavar="MATRIX")
@click.option("-o", "--output", required=True, metavar="OUT.json", help="Where to write the inverse.")
@inputs_opt
def invert_cmd(path: str, output: str, n_inputs: int | None) -> None:
    """Write the mix that undoes MATRIX: its (pseudo-)inverse, with the bias.

    For a reduction such as PCA to K components, the inverse maps the K components back to
    the N bands: the least-squares reconstruction around the "mean" the file records, so
    applying the PCA and then its inverse reconstructs the bands from K components.
    """
    check_run_files([("MATRIX", path)] if not is_preset(path) else [], [("-o", output)])
    mix = resolve_matrix(path).mix_for(n_inputs)
    mean = mix.provenance.get("mean")
    about = mean if isinstance(mean, list) and len(mean) == mix.n_inputs else None
    save_mix(mix.inverse(about), output)
