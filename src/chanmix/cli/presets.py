"""``chanmix presets``: list the built-in matrices, or show one."""

from __future__ import annotations

import json

import click

from ..presets import PRESETS, get_preset
from .options import json_opt


@click.command("presets")
@click.argument("name", required=False)
@json_opt
def presets_cmd(name: str | None, as_json: bool) -> None:
    """List the presets, or show the matrix of preset NAME.

    \b
    Examples:
      chanmix presets
      chanmix presets sepia
      chanmix presets xyz-d65 --json > xyz.json
      chanmix apply sample_images/astronaut.png -p gray-rec709 -o gray.png
    """
    if name is None:
        if as_json:
            listing = [
                {
                    "name": p.name,
                    "inputs": len(p.inputs),
                    "outputs": len(p.outputs),
                    "linear_light": p.linear_light,
                    "description": p.description,
                    "source": p.source,
                }
                for p in PRESETS.values()
            ]
            click.echo(json.dumps(listing, indent=2))
            return
        width = max(len(n) for n in PRESETS)
        for preset in PRESETS.values():
            shape = f"{len(preset.inputs)}->{len(preset.outputs)}"
            click.echo(f"{preset.name:<{width}}  {shape:>5}  {preset.description}")
            click.echo(f"{'':<{width}}         source: {preset.source}")
        return
    from ..matrixfiles import matrix_json, matrix_table  # NumPy: only to show one matrix

    preset = get_preset(name)
    if as_json:
        click.echo(matrix_json(preset.mix), nl=False)
        return
    click.echo(f"{preset.name}: {preset.description}")
    click.echo(f"source: {preset.source}")
    if preset.linear_light:
        click.echo("defined on linear light: use --linear on sRGB-encoded images")
    click.echo(matrix_table(preset.mix, preset.inputs))
