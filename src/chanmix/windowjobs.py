"""Work on the windows of an image file that any process can do by itself: mix one, measure one.

A local run reads an image's windows (tiles, or bands of rows) from the reader it opened and
mixes them on threads. On a cluster (``--scheduler``, :mod:`chanmix.cluster`) the same work
is sent to the workers as small picklable values: a :class:`WindowSource` says which image
and which of its channels, a :class:`WindowJob` mixes a window of it, and
:class:`WindowPasses` runs a rescale's measuring passes (:mod:`chanmix.rescale`) window by
window. A worker opens the image once (:func:`~chanmix.io.shared_reader`) for all the tasks
it runs on it. The results come back in the windows' order and are merged in that order,
so that the bytes are those of a local run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from .blockmix import Mixer
from .errors import DataError
from .io import BlockReader, shared_reader, write_zarr_window
from .progress import WindowCount
from .rescale import BlockPass

__all__ = [
    "TASK_BYTES",
    "OrderedMap",
    "Window",
    "WindowJob",
    "WindowPasses",
    "WindowSource",
    "Workers",
    "ZarrWindowJob",
    "grouped",
    "source_key",
]

#: ``(start, stop, left, right)``: rows [start, stop) and columns [left, right) of an image.
Window = tuple[int, int, int, int]
#: ``(function, items) -> iterator of function(item)``, in the items' order: on threads
#: (:func:`~chanmix.blockmix.ordered_map`) or on a cluster's workers
#: (:meth:`chanmix.cluster.Cluster.ordered_map`).
OrderedMap = Callable[[Callable[[Any], Any], Sequence[Any]], Iterator[Any]]


class Workers(Protocol):
    """Where window tasks run besides this process: a cluster (:class:`chanmix.cluster.Cluster`)."""

    def ordered_map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """Each ``function(item)``, in the items' order."""
        ...

    def unordered_map(self, function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """Each ``function(item)``, as it is done, in any order."""
        ...


P = TypeVar("P")

#: Bytes (read plus written) that one task on a cluster should handle at least: a window of
#: 512 x 512 RGB uint8 pixels is 1 MB, and a task costs the scheduler, the network and the
#: client a few milliseconds whatever its size (bench/README.md, "On a cluster"), so small
#: windows go 16 to a task.
TASK_BYTES = 16 << 20


@dataclass(frozen=True)
class _Each:
    """``function`` on each item of a group, in order: one task, several items."""

    function: Callable[[Any], Any]

    def __call__(self, group: Sequence[Any]) -> list[Any]:
        return [self.function(item) for item in group]


def grouped(map_items: OrderedMap, item_bytes: int) -> OrderedMap:
    """`map_items` sending consecutive items in groups of about :data:`TASK_BYTES` (items of
    `item_bytes` each), one task per group; results still come one per item, in the order
    `map_items` gives the groups' (within a group, the items' order)."""
    per_task = max(1, TASK_BYTES // max(item_bytes, 1))

    def run(function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        if per_task == 1:
            yield from map_items(function, items)
            return
        groups = [tuple(items[i : i + per_task]) for i in range(0, len(items), per_task)]
        for results in map_items(_Each(function), groups):
            yield from results

    return run


def source_key(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> str | tuple[str, ...]:
    """An image source as plain strings: a path, or a tuple of paths for a stack."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return tuple(os.fspath(s) for s in source)


@dataclass(frozen=True)
class WindowSource:
    """An image file and the channels taken from it, in order.

    Attributes
    ----------
    source : str or tuple of str
        The image: a file, or files stacked as one (see :func:`~chanmix.io.open_image`).
    page, series : int
        Which image of the file(s).
    order : tuple of int, optional
        0-based channels, in order (the mixed ones, then a kept alpha channel); None for
        every channel as stored.
    orient : bool
        The image is turned as its EXIF orientation says (``--auto-orient``).
    """

    source: str | tuple[str, ...]
    page: int
    series: int | None
    order: tuple[int, ...] | None
    orient: bool = False

    def read(self, reader: BlockReader, window: Window) -> np.ndarray:
        """The ``(h, w, C)`` raw samples of `window`, its channels in order."""
        block = reader.read_window(*window)
        return block if self.order is None else block[:, :, self.order]

    def open(self) -> BlockReader:
        """The image, opened once for this process."""
        return shared_reader(self.source, page=self.page, series=self.series, orient=self.orient)


@dataclass(frozen=True)
class WindowJob:
    """Mixes a window of an image: called with a window, it returns the ``(h, w, M [+1])``
    mixed block, reading the image where it runs; :meth:`mix` does so from an open reader."""

    image: WindowSource
    mixer: Mixer

    def mix(self, reader: BlockReader, window: Window) -> np.ndarray:
        """The mixed block of `window`, read from `reader`."""
        block = self.image.read(reader, window)
        try:
            return self.mixer(block)
        except DataError as exc:  # samples this mix cannot compute
            raise DataError(f"{reader.info.path}: {exc}") from exc

    def __call__(self, window: Window) -> np.ndarray:
        return self.mix(self.image.open(), window)


@dataclass(frozen=True)
class ZarrWindowJob:
    """Mixes a window and writes it into a Zarr store's folder where it runs (a window of whole
    chunks: see :func:`~chanmix.io.write_zarr_window`); returns the window."""

    job: WindowJob
    folder: str

    def __call__(self, window: Window) -> Window:
        write_zarr_window(self.folder, window, self.job(window))
        return window


@dataclass(frozen=True)
class _Measure:
    """One rescale pass's result for one window, its first `colours` channels (the mixed ones)."""

    image: WindowSource
    colours: int
    job: BlockPass

    def __call__(self, window: Window) -> Any:
        return self.job.measure(self.image.read(self.image.open(), window)[:, :, : self.colours])


@dataclass(frozen=True)
class WindowPasses:
    """A :class:`~chanmix.rescale.PassRunner` whose windows are measured through `map_windows`
    (a cluster's ordered map) and merged here in the windows' order, as
    :class:`~chanmix.rescale.LocalPasses` merges them: the same result to the last bit.
    Each pass is a ``measuring`` stage of `count`, which hears of each window as its result
    comes back."""

    map_windows: OrderedMap
    image: WindowSource
    colours: int
    windows: Sequence[Window]
    count: WindowCount | None = None

    def __call__(self, job: BlockPass[P]) -> P:
        result = job.empty()
        if self.count is not None:
            self.count.stage("measuring")
        parts = self.map_windows(_Measure(self.image, self.colours, job), self.windows)
        for window, part in zip(self.windows, parts):
            result = job.merge(result, part)
            if self.count is not None:
                self.count.done(window)
        return result
