"""Library argument names -> command-line options, for error messages.

The library names the argument at fault at the start of its message and in
:attr:`~chanmix.errors.ChanmixError.parameter` (``ridge must be a finite number >= 0``); the
command line shows the option that sets it instead (``--ridge must be a finite number >= 0``).
This module is the one table of which option sets which argument.
"""

from __future__ import annotations

import click

from ..errors import ChanmixError

#: Argument of the Python API -> the option that sets it, in every command that has it.
FLAGS = {
    "alpha_mode": "--alpha",
    "argmax": "--argmax",
    "bands": "--bands",
    "dtype": "--dtype",
    "activation": "--activation",
    "k": "-k",
    "level": "--level",
    "linear": "--linear",
    "mask": "--mask",
    "page": "--page",
    "percentiles": "--percentiles",
    "preserve": "--preserve",
    "preserve_amount": "--preserve-amount",
    "quality": "--quality",
    "rescale": "--rescale",
    "ridge": "--ridge",
    "sample": "--sample",
    "scheduler": "--scheduler",
    "seed": "--seed",
    "series": "--series",
    "targets": "--target",
    "target_bands": "--target-bands",
    "tile": "--tile",
    "to": "--to",
}

#: Command -> the arguments it sets with another option than :data:`FLAGS` says.
COMMAND_FLAGS = {
    "apply": {"k": "--pca", "targets": "--fit"},
}


def flag_for(parameter: str, command: str | None = None) -> str | None:
    """The option of `command` (``apply``, ``fit``...) that sets `parameter`, if any."""
    return COMMAND_FLAGS.get(command or "", {}).get(parameter, FLAGS.get(parameter))


def flag_message(exc: ChanmixError, command: str | None = None) -> str:
    """The message of `exc` as the command line shows it: naming the option, not the argument.

    >>> from chanmix.errors import UsageError
    >>> flag_message(UsageError("k must be at most 3, got 4", parameter="k"), "apply")
    '--pca must be at most 3, got 4'
    """
    text, name = str(exc), exc.parameter
    flag = None if name is None else flag_for(name, command)
    if name is None or flag is None:
        return text
    rest = text[len(name) :]
    if text.startswith(name) and not (rest[:1].isalnum() or rest[:1] == "_"):
        return flag + rest
    return f"{flag}: {text}"


def current_command() -> str | None:
    """The chanmix command running (``apply``, ``fit``...), None outside one."""
    ctx = click.get_current_context(silent=True)
    return None if ctx is None else ctx.find_root().invoked_subcommand
