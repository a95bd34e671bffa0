"""The one family of errors chanmix raises for bad input.

The numerical core and the readers raise these with a message that names the file or the
option at fault; the command line maps them to exit codes in one place:

- :class:`UsageError` (exit 2): the request itself is wrong -- an unknown preset, a matrix
  whose N does not match the image, an output format that cannot hold the result.
- :class:`DataError` (exit 1): a file could not be read or written, or holds bad data.
"""

from __future__ import annotations


class ChanmixError(ValueError):
    """Base class of every error chanmix raises for bad input."""

    exit_code = 1


class UsageError(ChanmixError):
    """The request is invalid (exit code 2)."""

    exit_code = 2


class MatrixError(UsageError):
    """A matrix (file, inline coefficients or preset) is malformed or does not fit the image."""


class DataError(ChanmixError):
    """A file is missing, unreadable, truncated or holds data chanmix cannot use (exit code 1)."""
