"""The ``chanmix`` command group and the one place where errors become exit codes.

Every error reaches the user as one line on stderr: usage errors (bad options, impossible
requests) exit 2, data and I/O errors exit 1. No traceback is ever shown for bad input.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from .._version import __version__
from ..errors import ChanmixError
from .apply import apply_cmd
from .fit import fit_cmd
from .info import info_cmd
from .matrix import matrix_cmd
from .presets import presets_cmd


def fail(message: str, code: int) -> None:
    """Print one line on stderr and exit with ``code``."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


class ChanmixGroup(click.Group):
    """A group whose errors are printed as a single line."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        # tifffile logs warnings about tags it cannot parse; chanmix reports what matters itself.
        logging.getLogger("tifffile").setLevel(logging.ERROR)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            fail("interrupted", 130)
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except ChanmixError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=ChanmixGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="chanmix")
def cli() -> None:
    """Mix image channels with a 1x1 convolution: out = W @ in + b, pixel by pixel.

    Values are in normalized units: integer samples are divided by their type's maximum
    (uint8 255, uint16 65535, ...), float samples are used as they are; results are scaled to
    the output type, rounded to nearest and saturated.

    \b
    Examples:
      chanmix apply sample_images/astronaut.png -p sepia -o sepia.png
      chanmix apply sample_images/multispectral.tif --bands 7,4,3 \\
          -c "1,0,0; 0,1,0; 0,0,1" --rescale percentile --dtype uint8 -o false-colour.png
      chanmix presets
      chanmix info sample_images/multispectral.tif
    """


cli.add_command(apply_cmd)
cli.add_command(presets_cmd)
cli.add_command(info_cmd)
cli.add_command(matrix_cmd)
cli.add_command(fit_cmd)
