"""Atomic output of a folder (a Zarr store): it appears complete under its name, or not at all.

:func:`atomic_directory` yields a new hidden folder ``.{name}.{random}.part`` beside the
target, on the same file system, and moves it onto the target when the block ends without
error. The ``.part`` name is registered as a temporary file's is (:mod:`chanmix.io.atomic`),
so that a failed, interrupted (SIGINT, SIGTERM: :func:`~chanmix.io.atomic.abandon_outputs`)
or abandoned run removes it with everything in it, and :class:`~chanmix.io.atomic.Outputs`
commits it with the run's other outputs.

At the commit:

- no target yet: the folder is renamed onto it (on Linux with ``renameat2``'s
  ``RENAME_NOREPLACE``, so that a folder made there meanwhile is not replaced);
- a target that the caller's `check` accepts (a previous run's Zarr store): on Linux (glibc
  2.28 or newer, a file system that supports it) the two are swapped in one step
  (``renameat2``'s ``RENAME_EXCHANGE``), and the old one, now under the ``.part`` name, is
  removed. Elsewhere the old one is renamed aside (a registered ``.part`` name), the new one
  renamed in, the old one removed; should the second rename fail, the old one goes back;
- a target that `check` refuses (a file, a folder that is no Zarr store): the run fails with
  `check`'s error and nothing is deleted.

A SIGKILL can leave a ``.part`` folder behind (a killed process cleans nothing up), never a
partial folder under the target's name; an interrupted run leaves the old target intact.

Writers that fill the folder from several threads or processes should make subfolders one
level at a time (``os.mkdir``, never ``os.makedirs`` from the top): once the folder is being
removed, a writer then cannot make its way back into it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .atomic import _REGISTRY, Outputs, _check_space, _claim_part, remove_tree

__all__ = ["atomic_directory"]

_AT_FDCWD = -100
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
#: errno values of a ``renameat2`` that the kernel, C library or file system does not offer.
_UNSUPPORTED = (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP)
_RENAMEAT2: list = []  # the C function, found on first use (None where there is none)


def _renameat2(old: str, new: str, flags: int) -> bool:
    """Rename `old` to `new` with Linux's ``renameat2`` flags; False where that call is not
    available (another system, glibc before 2.28, a file system without the flag).

    Raises
    ------
    OSError
        When the call is available and fails (``FileExistsError`` for RENAME_NOREPLACE onto
        an existing name).
    """
    if sys.platform != "linux":
        return False
    if not _RENAMEAT2:
        _RENAMEAT2.append(getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None))
    function = _RENAMEAT2[0]
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(old), _AT_FDCWD, os.fsencode(new), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), new)


class _TemporaryDir:
    """A folder being written under a registered ``.part`` name beside its target."""

    def __init__(self, target: Path, check: Callable[[Path], None]) -> None:
        self.target = target
        self.check = check
        self.name: str | None
        self.name, _ = _claim_part(target, lambda name: os.mkdir(name, 0o777))

    def stage(self) -> None:
        """Nothing to do: the folder has its ``.part`` name from the start (but refuse to go
        on for an abandoned run)."""
        _REGISTRY.check()

    def rename(self) -> None:
        """Move the folder onto the target (see the module docstring); call with the
        registry's lock held."""
        _REGISTRY.check()
        name, target = str(self.name), str(self.target)
        if not os.path.lexists(target) and self._rename_new(name, target):
            self._done(name)
            return
        self.check(self.target)
        if _renameat2(name, target, _RENAME_EXCHANGE):
            remove_tree(name)  # the old target, now under the .part name
            self._done(name)
            return
        # not registered while it is the only copy: an interruption must not remove it
        aside = str(self.target.with_name(f".{self.target.name}.{os.urandom(4).hex()}.part"))
        os.rename(target, aside)
        try:
            os.rename(name, target)
        except BaseException:
            os.rename(aside, target)  # the old target goes back
            raise
        self._done(name)
        _REGISTRY.add(aside)
        remove_tree(aside)
        _REGISTRY.remove(aside)

    def _rename_new(self, name: str, target: str) -> bool:
        """Rename the folder onto a free target name; False when the name was taken meanwhile
        (where that can be told)."""
        try:
            if not _renameat2(name, target, _RENAME_NOREPLACE):
                os.rename(name, target)
        except FileExistsError:
            return False
        return True

    def _done(self, name: str) -> None:
        _REGISTRY.remove(name)
        self.name = None

    def discard(self) -> None:
        """Remove the folder and everything in it."""
        if self.name is not None:
            remove_tree(self.name)
            _REGISTRY.remove(self.name)
            self.name = None


@contextmanager
def atomic_directory(
    path: str | os.PathLike,
    *,
    check: Callable[[Path], None],
    reserve: int = 0,
    together: Outputs | None = None,
) -> Iterator[str]:
    """Yield a new empty folder to fill; it becomes `path` when the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The folder to create or replace (a trailing separator is ignored).
    check : callable
        ``check(target)`` is called before an existing target is replaced, and raises (a
        :class:`~chanmix.errors.DataError` naming it) when it may not be: a file, or a folder
        that is not what the caller writes.
    reserve : int
        Bytes the finished folder is known to hold at least: checked against the free space
        first, so that one that cannot fit fails at once.
    together : Outputs, optional
        Commit when that group's block ends rather than when this one does.

    Yields
    ------
    str
        The temporary folder's path, ``.{name}.{random}.part`` beside the target.

    Raises
    ------
    OSError
        When the folder cannot be made or moved into place, or the reservation does not fit.
    KeyboardInterrupt
        When the run was abandoned (:func:`~chanmix.io.atomic.abandon_outputs`) before the commit.

    Examples
    --------
    >>> with atomic_directory("out.zarr", check=is_a_store) as folder:  # doctest: +SKIP
    ...     create_zarr_store(folder, ...)
    """
    target = Path(path)
    if reserve > 0:
        _check_space(target, reserve)
    temporary = _TemporaryDir(target, check)
    try:
        yield str(temporary.name)
        if together is not None:
            together.add(temporary)
            return
        with _REGISTRY.lock:
            temporary.rename()
    except BaseException:
        temporary.discard()
        raise
