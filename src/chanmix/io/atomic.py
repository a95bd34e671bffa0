"""Atomic output: a file appears complete under its name, or not at all.

A writer writes into a temporary file beside the target (same folder, hence same file
system), named ``.{name}.{random}.part``; only when it returns is the temporary file renamed
onto the target with :func:`os.replace`, which is atomic on POSIX and Windows. If anything
goes wrong, KeyboardInterrupt included, the temporary file is removed and an existing target
is left untouched. The data are not fsync'ed: this guards against failed runs, not power cuts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["atomic_output"]


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; move it onto `path` when the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.

    Yields
    ------
    pathlib.Path
        An empty file ``.{name}.{random}.part`` in the target's folder, created with the
        permissions a new file would get (0666 less the umask).

    Raises
    ------
    OSError
        When the folder does not exist or is not writable, or the rename fails.

    Examples
    --------
    >>> with atomic_output("out.tif") as tmp:  # doctest: +SKIP
    ...     tifffile.imwrite(tmp, data)
    """
    target = Path(path)
    temporary = _create_beside(target)
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            temporary.unlink()
        raise


def _create_beside(target: Path) -> Path:
    """Create a new, empty, uniquely named file in `target`'s folder."""
    while True:
        temporary = target.with_name(f".{target.name}.{os.urandom(4).hex()}.part")
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary
