"""Refuse a run that would write over a file it reads, or write one file twice.

A run names the files it reads (images, matrices, masks, targets) and the files it writes
(images, matrix files). Before anything is read or written, :func:`check_run_files` makes
sure that no output is one of the inputs, and that no two outputs are one file, whether the
paths are equal or reach one file through symbolic links, ``..`` or hard links; and that
every output's folder exists or can be made (:mod:`chanmix.io.folders`: no file stands where
a folder must be), so that a run does not fail at its last output.

Each file is named with the option it came from (``"-o"``, ``"--save-matrix"``, ``"INPUT"``),
so that the message says which two requests collide.

An ENVI raster is two files: an input counts with its header or data file beside it
(:func:`~chanmix.io.envi_files.companion_files`), and an ENVI output with the header it gets
(:func:`~chanmix.io.envi_files.output_header`), so that no run writes an input's header either.

A Zarr output is a folder that replaces what is there: it may be an existing Zarr store
(never a file or another folder: :func:`~chanmix.io.zarr_store.check_zarr_target`), and no
file the run reads may be inside it; nor may any output be inside a store the run reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import DataError, UsageError
from .envi_files import companion_files, is_header_name, output_header
from .envi_write import OUTPUT_INTERLEAVES
from .folders import missing_folders
from .zarr_store import check_zarr_target, is_zarr_path

__all__ = ["check_run_files"]

#: ``(option, path)``: where a path came from, and the path. ``-`` (stdin, stdout) is skipped.
Named = tuple[str, str]


def _identity(path: str) -> tuple:
    """What makes two paths one file: device and inode of an existing file (through links),
    else the path with every symbolic link and ``..`` resolved."""
    try:
        stat = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", stat.st_dev, stat.st_ino)


def _with_companions(named: Iterable[Named], *, written: bool) -> Iterator[tuple[str, str, str]]:
    """``(option, path as messages show it, path)`` of each file, and of the other file of each
    ENVI raster (read, or written)."""
    for option, path in named:
        if path == "-":
            continue
        yield option, path, path
        if written:
            others = [output_header(path)] if os.path.splitext(path)[1].lower() in OUTPUT_INTERLEAVES else []
        else:
            others = companion_files(path)
        for other in others:
            role = "data file" if is_header_name(path) else "header"
            yield option, f"{other} (the ENVI {role} of {path})", other


def check_run_files(reads: Iterable[Named], writes: Iterable[Named]) -> None:
    """Check a run's files before it starts.

    Parameters
    ----------
    reads : iterable of (str, str)
        ``(option, path)`` of every file the run reads.
    writes : iterable of (str, str)
        ``(option, path)`` of every file the run writes; missing folders above them are
        made by the run (:func:`~chanmix.io.folders.output_folders`).

    Raises
    ------
    UsageError
        When an output is a file the run reads, or two outputs are the same file, or a Zarr
        output holds a file the run reads, or an output is inside a folder the run reads
        (exit 2).
    DataError
        When an output is a folder (but a Zarr output's Zarr store), a Zarr output is a file,
        or a file stands where an output's folder must be (exit 1).
    """
    reads, writes = list(reads), list(writes)
    seen: dict[tuple, Named] = {}
    for option, shown, path in _with_companions(reads, written=False):
        seen.setdefault(_identity(path), (option, shown))
    for option, path in writes:
        if path != "-" and is_zarr_path(path):
            _check_zarr_output(option, path, reads)
        if path != "-":
            _check_not_inside_a_read_folder(option, path, reads)
    written: dict[tuple, Named] = {}
    for option, shown, path in _with_companions(writes, written=True):
        identity = _identity(path)
        if identity in seen:
            other_option, other = seen[identity]
            raise UsageError(
                f"{option} {shown}: this run reads that file ({other_option} {other}); choose another output"
            )
        if identity in written:
            other_option, other = written[identity]
            raise UsageError(
                f"{option} {shown}: {other_option} {other} writes that file too;"
                " give each output its own file"
            )
        written[identity] = (option, shown)
        if os.path.isdir(path) and not is_zarr_path(path):
            raise DataError(f"{path}: cannot write (is a folder)")
        missing_folders(path)


def _check_not_inside_a_read_folder(option: str, path: str, reads: list[Named]) -> None:
    """No output inside a folder the run reads (a Zarr store): it could be one of the store's
    own files, or a file added to it while it is read."""
    target = os.path.realpath(path)
    for read_option, read in reads:
        if read != "-" and os.path.isdir(read) and target.startswith(os.path.realpath(read) + os.sep):
            raise UsageError(
                f"{option} {path}: it is inside {read_option} {read}, which this run reads;"
                " choose an output outside it"
            )


def _check_zarr_output(option: str, path: str, reads: list[Named]) -> None:
    """A Zarr output replaces only a Zarr store, and none that holds a file the run reads."""
    check_zarr_target(Path(path))
    inside = os.path.realpath(path) + os.sep
    for read_option, read in reads:
        if read != "-" and os.path.realpath(read).startswith(inside):
            raise UsageError(
                f"{option} {path}: this run reads a file inside it ({read_option} {read}), which"
                " replacing the store would delete; choose another output"
            )
