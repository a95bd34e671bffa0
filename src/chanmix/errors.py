"""The one family of errors chanmix raises for bad input.

The numerical core and the readers raise these with a message that names the file or the
argument at fault; the command line maps them to exit codes in one place:

- :class:`UsageError` (exit 2): the request itself is wrong -- an unknown preset, a matrix
  whose N does not match the image, an output format that cannot hold the result.
- :class:`DataError` (exit 1): a file could not be read or written, or holds bad data.

An error about one argument names it first in its message, as the Python API spells it, and
records the name in :attr:`ChanmixError.parameter`: ``fit_lstsq(cross, ridge=-1.0)`` raises
``UsageError("ridge must be a finite number >= 0, got -1.0", parameter="ridge")``. The command
line puts the option that sets the argument in its place: ``--ridge must be a finite number
>= 0, got -1.0`` (see :mod:`chanmix.cli.flags`).
"""

from __future__ import annotations


class ChanmixError(ValueError):
    """Base class of every error chanmix raises for bad input.

    Parameters
    ----------
    *args
        The message, as for any exception. When the error is about one argument, the message
        begins with that argument's name: ``"bands: x.tif has 3 bands, there is no band 5"``.
    parameter : str, optional
        The name of that argument (``"bands"``), or None when the error is about no single
        argument. The command line replaces it in the message by the option that sets it.
    """

    exit_code = 1

    def __init__(self, *args: object, parameter: str | None = None) -> None:
        super().__init__(*args)
        #: The argument the error is about, named as the Python API spells it, or None.
        self.parameter = parameter


class UsageError(ChanmixError):
    """The request is invalid (exit code 2)."""

    exit_code = 2


class MatrixError(UsageError):
    """A matrix (file, inline coefficients or preset) is malformed or does not fit the image."""


class DataError(ChanmixError):
    """A file is missing, unreadable, truncated or holds data chanmix cannot use (exit code 1)."""
