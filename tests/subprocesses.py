"""Helpers for tests that run chanmix as a real process.

Every such process runs the chanmix package that the tests themselves imported: the installed
one (site-packages, with the C kernel built at install) when the tests run against an
install, as in CI; the checkout's ``src/`` when that is what was imported (``PYTHONPATH=src``
or an editable install). :func:`environment` is the one place that decides it.
"""

from __future__ import annotations

import errno
import os
import select
import site
import subprocess
import sys
from pathlib import Path

import pytest

import chanmix

ROOT = Path(__file__).resolve().parent.parent

#: The folder that holds the imported chanmix package.
PACKAGE_PARENT = Path(chanmix.__file__).resolve().parent.parent

#: The start-up shim that pauses a child at a known point (see shim/sitecustomize.py).
SHIM = Path(__file__).resolve().parent / "shim"


def _found_by_default(folder: Path) -> bool:
    """Whether `folder` is one of the interpreter's own site-packages folders, which
    ``sys.executable`` searches without any PYTHONPATH."""
    sites = [*site.getsitepackages(), site.getusersitepackages()]
    return any(Path(p).resolve() == folder for p in sites if os.path.isdir(p))


def environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with PYTHONPATH such that
    ``sys.executable`` imports the same chanmix package as this process.

    An installed package (site-packages) is found as it is, and PYTHONPATH is left alone; any
    other (a checkout's ``src/``) is put first on it.
    """
    env = dict(os.environ if base is None else base)
    if not _found_by_default(PACKAGE_PARENT):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_PARENT), env.get("PYTHONPATH")) if p)
    return env


def command(pause: Pause | None = None) -> tuple[list[str], dict[str, str]]:
    """The chanmix under test as a new process: argv prefix and environment; with `pause`,
    the process stops where that pause says (see :class:`Pause`)."""
    env = environment()
    if pause is not None:
        env.update(pause.environment(env))
    return [sys.executable, "-m", "chanmix"], env


class Pause:
    """Stop a chanmix child process at a known point while it writes the output `output`
    (a file name), until it is signalled or killed. The child announces that it got there.

    `where` is ``"rows"``: after the writer has taken the first rows of that output, its
    temporary file open and being written, nothing committed; or ``"staged"``: at the commit,
    once the finished file has its ``.part`` name beside the target, before the rename.

    Run the child with ``command(pause)``; :meth:`wait` returns the paused process's id.
    Use as a context manager: FIFOs in `folder` carry the handshake (the child blocks reading
    ``resume``, which is released when the block ends).
    """

    def __init__(self, folder: Path, output: str, where: str = "rows") -> None:
        assert where in ("rows", "staged")
        if not hasattr(os, "mkfifo"):
            pytest.skip("needs FIFOs")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.output, self.where = folder, output, where
        os.mkfifo(folder / "reached")
        os.mkfifo(folder / "resume")
        # read and write: opening never blocks, and reads wait for the child's line
        self._reached = os.open(folder / "reached", os.O_RDWR)

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """What the child's environment needs on top of `env`: the shim first on PYTHONPATH."""
        return {
            "PYTHONPATH": os.pathsep.join(p for p in (str(SHIM), env.get("PYTHONPATH")) if p),
            "CHANMIX_TEST_PAUSE": f"{self.where}:{self.output}",
            "CHANMIX_TEST_PAUSE_FIFOS": str(self.folder),
        }

    def wait(self, process: subprocess.Popen, timeout: float = 300) -> int:
        """Block until a child has paused and return its process id; fail the test when
        `process` ends first (its pause was never reached) or after `timeout` seconds."""
        watched = [self._reached]
        ended = os.pidfd_open(process.pid) if hasattr(os, "pidfd_open") else None
        if ended is not None:
            watched.append(ended)
        try:
            ready = select.select(watched, [], [], timeout)[0]
        finally:
            if ended is not None:
                os.close(ended)
        if self._reached not in ready:
            state = "ended" if process.poll() is not None else f"ran {timeout:g} s"
            pytest.fail(f"the run {state} without reaching its pause ({self.where} of {self.output})")
        line = os.read(self._reached, 64).decode()
        assert line.endswith("\n"), line
        return int(line.split()[0])

    def __enter__(self) -> Pause:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._reached)
        try:  # let a child still paused go on (one that is gone has no reader: ENXIO)
            os.close(os.open(self.folder / "resume", os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno != errno.ENXIO:
                raise


def writing_into(folder: Path, pid: int | str = "[0-9]*") -> bool:
    """Whether a process (`pid`, by default any) holds open a file of `folder` that has no
    name there yet: an unnamed (Linux O_TMPFILE) file, which /proc shows as ``#inode
    (deleted)``, or a ``.part`` file."""
    prefix = str(folder) + os.sep
    for fds in Path("/proc").glob(f"{pid}/fd"):
        try:
            links = [os.readlink(fd) for fd in fds.iterdir()]
        except OSError:
            continue
        if any(link.startswith(prefix) and ("(deleted)" in link or link.endswith(".part")) for link in links):
            return True
    return False
