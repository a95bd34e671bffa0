"""The missing parent folders of a run's outputs: found before the run, made as it starts,
removed again when it fails.

``chanmix apply a.jpg -o sepia/{stem}.png`` writes into ``sepia/`` whether or not it exists,
as ``-O sepia/`` does (and ``fit -o``, ``--save-matrix``, ``matrix ... -o``), like
``mkdir -p``. :func:`missing_folders` is what the safety check
(:func:`~chanmix.io.guard.check_run_files`) uses to accept a path whose folder is missing, and
to refuse one under a file; :func:`output_folders` makes the folders once every check has
passed, just before anything is read.

A run that fails (an error, Ctrl-C, or a batch where any input failed) removes every folder
it made that is still empty, deepest first, so that a failed run leaves the file system as it
found it. A folder that holds a file by then (an output of a batch's inputs that succeeded,
or a file someone else put there) is kept, with all of its parents.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

from ..errors import DataError

__all__ = ["missing_folders", "output_folders"]


def _folder_of(path: str) -> str:
    """The folder a path is written in (a Zarr store's ``x.zarr/``: the folder holding it)."""
    return os.path.dirname(path.rstrip("/" + os.sep)) or "."


def missing_folders(path: str) -> list[str]:
    """The folders above `path` that do not exist yet, outermost first (empty when its folder
    exists).

    Raises
    ------
    DataError
        When the nearest existing one of them is not a folder (a file, say): nothing can be
        made under it (exit 1).
    """
    missing: list[str] = []
    folder = _folder_of(path)
    while not os.path.isdir(folder):  # through symbolic links, as writing goes
        if os.path.lexists(folder):  # a file, or a link to no folder
            raise DataError(f"{path}: cannot write (is not a folder: {folder})")
        missing.append(folder)
        parent = os.path.dirname(folder)
        if not parent or parent == folder:  # the current folder, or a root
            break
        folder = parent
    return missing[::-1]


@contextmanager
def output_folders(paths: Iterable[str]) -> Iterator[list[str]]:
    """Make the missing folders above each of `paths` (``-`` is stdout: skipped); yield the
    folders made, outermost first. When the body fails, those still empty are removed.

    Raises
    ------
    DataError
        When a folder cannot be made (no permission, a read-only file system): exit 1, with
        the folders made so far removed again.
    """
    made: list[str] = []
    try:
        for path in paths:
            if path == "-":
                continue
            for folder in missing_folders(path):
                try:
                    os.mkdir(folder)
                except FileExistsError:  # a parallel run, or a path named twice, made it
                    if not os.path.isdir(folder):
                        raise DataError(f"{path}: cannot write (is not a folder: {folder})") from None
                    continue
                except OSError as exc:
                    raise DataError(f"{folder}: cannot create the output folder ({exc.strerror})") from exc
                made.append(folder)
        yield made
    except BaseException:
        for folder in reversed(made):
            with suppress(OSError):  # not empty: an output, or someone's file, is in it
                os.rmdir(folder)
        raise
