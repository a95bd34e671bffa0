"""Helpers for tests that run chanmix as a real process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def command() -> tuple[list[str], dict[str, str]]:
    """This checkout's chanmix as a new process (installed or not): argv prefix and environment."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return [sys.executable, "-m", "chanmix"], env


def writing_into(folder: Path) -> bool:
    """Whether a process holds open a file of `folder` that has no name there yet: an unnamed
    (Linux O_TMPFILE) file, which /proc shows as ``#inode (deleted)``, or a ``.part`` file."""
    prefix = str(folder) + os.sep
    for fds in Path("/proc").glob("[0-9]*/fd"):
        try:
            links = [os.readlink(fd) for fd in fds.iterdir()]
        except OSError:
            continue
        if any(link.startswith(prefix) and ("(deleted)" in link or link.endswith(".part")) for link in links):
            return True
    return False
