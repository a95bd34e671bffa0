"""Atomic output: a file appears complete under its name, or not at all, whatever stops the run.

A writer writes into a temporary file in the target's folder (same file system), which is
moved onto the target only when the writer returns:

- On Linux the temporary file has no name at all (``O_TMPFILE``): if the process dies, even
  by SIGKILL, the kernel frees it and nothing is left behind. At commit it is linked under
  the target's name when there is no file there yet (one atomic step), else linked as
  ``.{name}.{random}.part`` and renamed onto the target: a SIGKILL can leave a file only in
  the microseconds between those two calls, and that file is then the complete output.
- Elsewhere, and on file systems without ``O_TMPFILE``, the temporary file is a hidden
  ``.{name}.{random}.part`` from the start, removed when the writer fails.

A run that is interrupted (SIGINT, or SIGTERM which the command line turns into
KeyboardInterrupt) calls :func:`abandon_outputs`: every named temporary file of the process
(and every temporary folder: :mod:`chanmix.io.atomic_dir`) is removed and no output commits
afterwards, from any thread. Temporary files are named in
a registry under a lock that commits also hold, so an interruption never splits a commit.

Several outputs of one run can be moved into place together (:class:`Outputs`): each is
written in full first, then each is given a ``.part`` name beside its target, then all are
renamed, so a run that fails at its last output leaves the earlier ones as they were too.

Before a known size is reserved (``reserve``), the free space of the file system is checked,
so that a file that cannot fit fails at once, before anything is read. The data are not
fsync'ed: this guards against failed and killed runs, not against power cuts.

On ext4, renaming a file over an existing one makes the file system write the new file's data
out at once rather than in the background ("auto_da_alloc"), which costs 20 to 40 ms per
72 MB; reserving the file's known size up front avoids most of it.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from ..budget import format_size

__all__ = ["Outputs", "Pending", "abandon_outputs", "atomic_output", "free_space", "remove_tree"]

_T = TypeVar("_T")

#: Kept free on top of a reservation, for the file system's own bookkeeping.
_SPACE_MARGIN = 1 << 20
#: Passes :func:`remove_tree` makes over a folder that threads may still be writing into.
_REMOVE_PASSES = 20


class _Registry:
    """The named temporary files of this process, and whether the run was abandoned."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.names: set[str] = set()
        self.abandoned = False

    def add(self, name: str) -> None:
        with self.lock:
            self.check()
            self.names.add(name)

    def remove(self, name: str) -> None:
        with self.lock:
            self.names.discard(name)

    def check(self) -> None:
        if self.abandoned:
            raise KeyboardInterrupt  # the run was interrupted: nothing more is written


_REGISTRY = _Registry()


def abandon_outputs() -> None:
    """Remove every named temporary file of this process and refuse every later commit.

    Called by the command line when it is interrupted; worker threads still writing then
    fail at their commit, and their unnamed temporary files vanish with the process.
    """
    with _REGISTRY.lock:
        _REGISTRY.abandoned = True
        for name in _REGISTRY.names:
            remove_tree(name)
        _REGISTRY.names.clear()


def remove_tree(path: str) -> None:
    """Remove a file, a symbolic link (not what it points to) or a folder and all it holds;
    nothing when `path` does not exist. Errors are ignored.

    A folder is gone over again while it is still there: a writer thread that was putting a
    file into one of its subfolders as it was emptied makes that subfolder's removal fail once
    (and cannot make a subfolder again, see :mod:`chanmix.io.atomic_dir`).
    """
    for attempt in range(_REMOVE_PASSES):
        if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
            with suppress(OSError):
                os.unlink(path)
            return
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.lexists(path):
            return
        time.sleep(0.001 * attempt)


class _Temporary:
    """One output being written: an open file, unnamed (``O_TMPFILE``) or named ``.part``."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.name: str | None = None  # the .part name, when the file has one
        fd = _open_unnamed(target.parent)
        if fd is None:
            fd = self._open_named()
        raw = io.FileIO(fd, "r+")
        raw.name = self.name or str(target)  # tifffile wants a file name
        self.file: BinaryIO = io.BufferedRandom(raw)

    def _open_named(self) -> int:
        self.name, fd = _claim_part(
            self.target, lambda name: os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        )
        return fd

    def stage(self) -> None:
        """Give the file a registered ``.part`` name beside the target, if it has none."""
        _REGISTRY.check()
        self.file.flush()
        if self.name is None:
            self.name, _ = _claim_part(self.target, lambda name: _link(self.file.fileno(), name))

    def commit(self) -> None:
        """Give the file the target's name (call with the registry's lock held): an unnamed
        file is linked there in one step when the name is free, else staged and renamed."""
        _REGISTRY.check()
        self.file.flush()
        if self.name is None:
            try:
                _link(self.file.fileno(), str(self.target))
            except FileExistsError:
                self.stage()
            else:
                self.file.close()
                return
        self.rename()

    def rename(self) -> None:
        """Move the file onto the target (staged first, if it is not yet)."""
        self.stage()
        name = str(self.name)
        os.replace(name, self.target)
        _REGISTRY.remove(name)
        self.name = None
        self.file.close()

    def discard(self) -> None:
        """Close and remove the file."""
        with suppress(OSError):
            self.file.close()
        if self.name is not None:
            with suppress(OSError):
                os.unlink(self.name)
            _REGISTRY.remove(self.name)
            self.name = None


def _claim_part(target: Path, create: Callable[[str], _T]) -> tuple[str, _T]:
    """Create a new ``.{name}.{random}.part`` file beside `target` with ``create(name)``
    (which raises FileExistsError when the name is taken), registered before it exists so
    that an interruption cannot miss it; returns the name and what `create` returned."""
    while True:
        name = str(target.with_name(f".{target.name}.{os.urandom(4).hex()}.part"))
        _REGISTRY.add(name)
        try:
            return name, create(name)
        except FileExistsError:
            _REGISTRY.remove(name)
        except BaseException:  # an interruption may land after `create` made the file (or folder)
            remove_tree(name)
            _REGISTRY.remove(name)
            raise


def _open_unnamed(folder: Path) -> int | None:
    """An unnamed file in `folder` (Linux ``O_TMPFILE``), or None where that is not supported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not _UNNAMED["usable"]:
        return None
    try:
        return os.open(folder if str(folder) else ".", flag | os.O_RDWR, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None
        raise


#: How unnamed files get a name here: ``linkat`` through ``/proc/self/fd`` (any user), or with
#: ``AT_EMPTY_PATH`` (privileged, or Linux >= 6.10 for the file's opener); ones that failed
#: with another error than EEXIST are not tried again. With neither, files are named from
#: the start (``_UNNAMED["usable"]``) and the one at hand is copied.
_UNNAMED = {"proc": True, "empty_path": True, "usable": True}
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def _link(fd: int, path: str) -> None:
    """Give the open unnamed file `fd` the name `path`; FileExistsError when it is taken."""
    if _UNNAMED["proc"]:
        try:
            os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)
            return
        except FileExistsError:
            raise
        except OSError:
            _UNNAMED["proc"] = False  # e.g. EXDEV where /proc is another mount's view
    if _UNNAMED["empty_path"]:
        import ctypes  # only where /proc cannot link

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(path), _AT_EMPTY_PATH) == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), path)
        _UNNAMED["empty_path"] = False
    _UNNAMED["usable"] = False
    _copy_into(fd, path)


def _copy_into(fd: int, path: str) -> None:
    """Copy the unnamed file `fd` into a new file `path` (when it cannot be linked)."""
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        size = os.fstat(fd).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(out, fd, offset, size - offset)
            if sent == 0:
                raise OSError(errno.EIO, "short copy", path)
            offset += sent
    except BaseException:
        os.close(out)
        with suppress(OSError):
            os.unlink(path)
        raise
    os.close(out)


class Pending(Protocol):
    """An output written in full and waiting to be committed (a file, or a folder)."""

    def stage(self) -> None:
        """Give it a registered ``.part`` name beside its target, if it has none."""

    def rename(self) -> None:
        """Move it onto its target (call with the registry's lock held)."""

    def discard(self) -> None:
        """Remove it."""


class Outputs:
    """Outputs of one run, committed together when the ``with`` block ends without error.

    Pass it as ``together`` to :func:`atomic_output`: the file is then written in full but
    left unnamed (or under its ``.part`` name) until the block ends. If the block fails, every
    one of them is discarded and every target is left as it was.

    Examples
    --------
    >>> with Outputs() as outputs:  # doctest: +SKIP
    ...     write_raster_blocks("out.tif", blocks, ..., together=outputs)
    ...     save_mix(mix, "used.json", together=outputs)
    """

    def __init__(self) -> None:
        self._pending: list[Pending] = []

    def add(self, temporary: Pending) -> None:
        self._pending.append(temporary)

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: object, trace: object) -> None:
        pending, self._pending = self._pending, []
        committed = 0
        try:
            if kind is None:
                with _REGISTRY.lock:  # every file named beside its target, then all renamed
                    for temporary in pending:
                        temporary.stage()
                    for temporary in pending:
                        temporary.rename()
                        committed += 1
        finally:
            for temporary in pending[committed:]:
                temporary.discard()


@contextmanager
def atomic_output(
    path: str | os.PathLike, *, reserve: int = 0, together: Outputs | None = None
) -> Iterator[BinaryIO]:
    """Yield a file to write; it becomes `path` when the block succeeds.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    reserve : int
        Bytes the finished file is known to hold at least (the samples of an uncompressed
        image): checked against the free space, then allocated on disk up front (Linux), so
        that a file that cannot fit fails at once. A lower bound: the file is never padded.
    together : Outputs, optional
        Commit when that group's block ends rather than when this one does.

    Yields
    ------
    binary file
        An empty file, open for reading and writing at offset 0, in the target's folder,
        with the permissions a new file gets (0666 less the umask). Do not close it.

    Raises
    ------
    OSError
        When the folder does not exist or is not writable, the reservation does not fit
        (ENOSPC, saying how much is needed), or the commit fails.
    KeyboardInterrupt
        When the run was abandoned (:func:`abandon_outputs`) before the commit.

    Examples
    --------
    >>> with atomic_output("out.bin") as file:  # doctest: +SKIP
    ...     file.write(data)
    """
    target = Path(path)
    if reserve > 0:
        _check_space(target, reserve)
    temporary = _Temporary(target)
    try:
        if reserve > 0 and sys.platform == "linux":
            _reserve(temporary.file.fileno(), reserve)
        yield temporary.file
        if together is not None:
            together.add(temporary)
            return
        with _REGISTRY.lock:
            temporary.commit()
    except BaseException:
        temporary.discard()
        raise


def free_space(folder: str | os.PathLike) -> int | None:
    """Bytes an unprivileged process may still write in `folder`'s file system, or None
    when the system does not say."""
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):
        return None
    return stats.f_bavail * stats.f_frsize


def _check_space(target: Path, size: int) -> None:
    free = free_space(target.parent if str(target.parent) else ".")
    if free is not None and size + _SPACE_MARGIN > free:
        raise OSError(errno.ENOSPC, f"needs {format_size(size)} and the disk has {format_size(free)} free")


def _reserve(fd: int, size: int) -> None:
    """Allocate `size` bytes to the file; a file system that cannot is simply not asked again."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise
