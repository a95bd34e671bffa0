"""How long work reports how far it has got: the :class:`Progress` protocol the core calls.

The core never prints: :func:`~chanmix.pipeline.apply_file`, the fits from files and the
command line's ``info`` take an optional :class:`Progress` and call it as a pass over an
image begins (:meth:`Progress.stage`) and as each part of it is done
(:meth:`Progress.advance`). What is shown, and where, is the caller's business (the command
line draws a bar on a terminal, see :mod:`chanmix.cli.progress`).

A run may make several passes over the same pixels: a rescale measures them before they are
mixed (one pass for ``minmax``, one or more for ``percentile``), and ``apply --pca`` reads
them to fit before it mixes. Each pass is one :meth:`Progress.stage`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["Progress", "WindowCount", "counted"]

#: ``(start, stop, left, right)``: rows [start, stop) and columns [left, right) of an image.
_Window = tuple[int, int, int, int]


class Progress(Protocol):
    """Receives a run's progress; may be called from any thread."""

    def stage(self, name: str, total: int, unit: str) -> None:
        """A pass begins: ``name`` says what it does ("measuring", "mixing", "reading",
        "fitting"; "encoding" for an output encoded whole once every pixel is mixed),
        ``total`` how many ``unit`` ("rows", "tiles", "image") it goes through."""
        ...

    def advance(self, units: int, nbytes: int) -> None:
        """``units`` more of the current pass are done, having read ``nbytes`` bytes of
        decoded samples."""
        ...


@dataclass(frozen=True)
class WindowCount:
    """Counts the windows of one image for a :class:`Progress`: in rows when the windows are
    bands of full rows (``unit`` "rows", ``total`` the image's height), else one per window
    (``unit`` "tiles", ``total`` the number of windows).

    ``pixel_bytes`` is the bytes one pixel's decoded samples take (bands x item size).
    """

    progress: Progress
    unit: str
    total: int
    pixel_bytes: int

    @classmethod
    def of(cls, progress: Progress, windows: list[_Window], width: int, pixel_bytes: int) -> WindowCount:
        """The count of `windows` of an image `width` pixels wide."""
        rows = all(left == 0 and right == width for _, _, left, right in windows)
        total = sum(stop - start for start, stop, _, _ in windows) if rows else len(windows)
        return cls(progress, "rows" if rows else "tiles", total, pixel_bytes)

    def stage(self, name: str) -> None:
        """A pass over every window begins."""
        self.progress.stage(name, self.total, self.unit)

    def done(self, window: _Window) -> None:
        """`window` is done."""
        start, stop, left, right = window
        units = stop - start if self.unit == "rows" else 1
        self.progress.advance(units, (stop - start) * (right - left) * self.pixel_bytes)


def counted(blocks: Iterable[np.ndarray], progress: Progress, name: str, total: int) -> Iterator[np.ndarray]:
    """`blocks`, bands of rows ``(h, W, C)`` of an image ``total`` rows high, each reported to
    `progress` as it is done, in one pass called `name`."""
    progress.stage(name, total, "rows")
    for block in blocks:
        yield block
        progress.advance(block.shape[0], block.nbytes)
