"""``chanmix presets``: list the built-in matrices, or show one."""

from __future__ import annotations

import json
import shutil
import textwrap

import click

from ..presets import PRESETS, get_preset
from .options import complete_preset, json_opt

#: The width of the listing when stdout is not a terminal (a pipe, a file) and COLUMNS is unset.
_PIPE_WIDTH = 80
#: The fewest characters a line of description or source keeps beside the names: on a
#: narrower terminal they go below the name, indented by 4.
_MIN_TEXT = 30


def listing_lines(width: int) -> list[str]:
    """The lines of ``chanmix presets``: each preset's name, shape (inputs->outputs) and
    description, then its source, wrapped to `width` characters (the terminal's) under the
    description column. Words are never cut: a URL longer than the room stays whole."""
    names = max(len(n) for n in PRESETS)
    indent = names + 9  # name, two spaces, the shape in 5, two spaces
    hanging = " " * (indent if width - indent >= _MIN_TEXT else 4)
    wrap = textwrap.TextWrapper(
        width=max(width, len(hanging) + _MIN_TEXT),
        subsequent_indent=hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )
    lines = []
    for preset in PRESETS.values():
        shape = f"{len(preset.inputs)}->{len(preset.outputs)}"
        head = f"{preset.name:<{names}}  {shape:>5}  "
        if len(hanging) < indent:  # narrow: the description starts on the line below
            lines.append(head.rstrip())
            head = hanging
        lines += wrap.fill(head + preset.description).splitlines()
        lines += wrap.fill(hanging + "source: " + preset.source).splitlines()
    return lines


@click.command("presets")
@click.argument("name", required=False, shell_complete=complete_preset)
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
        click.echo("\n".join(listing_lines(shutil.get_terminal_size((_PIPE_WIDTH, 24)).columns)))
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
