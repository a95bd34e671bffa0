"""The local Zarr writer: a Zarr output written from the pipeline's row bands or chunks.

:func:`write_zarr_blocks` writes a store as a cluster would, with the two functions of
:mod:`chanmix.io.zarr_write`: :func:`~chanmix.io.zarr_write.create_zarr_store` in a
:func:`~chanmix.io.zarr_write.zarr_output` folder, then
:func:`~chanmix.io.zarr_write.write_zarr_window` for each window, on `workers` threads. Row
bands that hold whole rows of chunks are written as they come; others are gathered in one
row of chunks (``th x W x M`` samples) first. Blocks that are the chunks themselves
(``tiles=True``: the input's tiles, when the output's chunks are those) are each one window.
Both make the store with :func:`write_zarr_store`, which leaves the windows to a function that
may hand them to others: a cluster's workers, each writing its own chunks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from ..errors import DataError
from .atomic import Outputs
from .raster import GeoInfo, reason
from .zarr_write import create_zarr_store, write_zarr_window, zarr_output

__all__ = ["write_zarr_blocks", "write_zarr_store"]


def write_zarr_blocks(
    name: str,
    blocks: Iterable[np.ndarray],
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    chunks: tuple[int, int],
    tiles: bool = False,
    geo: GeoInfo | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
    compression: str | None = None,
    workers: int = 1,
    together: Outputs | None = None,
) -> None:
    """Write a Zarr output from row bands or chunk-sized tiles, atomically.

    Parameters
    ----------
    name : str
        The store's folder, ``NAME.zarr``.
    blocks : iterable of (h, w, M) ndarray
        Row bands top to bottom (``w = W``), any heights summing to H; or, with `tiles`, the
        chunks row by row and left to right, cut at the image's edges. C-contiguous, in
        `dtype`, checked by the caller.
    shape : (int, int, int)
        ``(H, W, M)``.
    dtype : numpy.dtype
    chunks : (int, int)
        ``(th, tw)``, cut to the image when larger.
    tiles : bool
        Whether `blocks` are the chunks (each written as it comes) rather than row bands
        (gathered into rows of chunks, one row of chunks held at a time).
    geo, band_names, nodata, wavelengths, fwhm, compression
        As :func:`create_zarr_store` takes them.
    workers : int
        Threads writing windows, at most `workers` windows in flight.
    together : Outputs, optional
        Commit the store with that group's other outputs.

    Raises
    ------
    DataError
        When the store cannot be written, or an existing target is not a Zarr store.
    """

    def fill(folder: str, cut: tuple[int, int]) -> None:
        windows = _chunk_windows(blocks, shape, cut) if tiles else _row_windows(blocks, shape, cut[0])
        _write_windows(folder, windows, workers)

    write_zarr_store(
        name,
        fill,
        shape=shape,
        dtype=dtype,
        chunks=chunks,
        geo=geo,
        band_names=band_names,
        nodata=nodata,
        wavelengths=wavelengths,
        fwhm=fwhm,
        compression=compression,
        together=together,
    )


def write_zarr_store(
    name: str,
    fill: Callable[[str, tuple[int, int]], None],
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    chunks: tuple[int, int],
    geo: GeoInfo | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
    compression: str | None = None,
    together: Outputs | None = None,
) -> None:
    """Make a Zarr output, atomically, and have ``fill(folder, chunks)`` write its windows.

    The store's folder (a :func:`~chanmix.io.zarr_write.zarr_output`) and metadata
    (:func:`~chanmix.io.zarr_write.create_zarr_store`) are made here; ``fill`` writes every
    window into `folder` with :func:`~chanmix.io.zarr_write.write_zarr_window`, from this
    process (:func:`write_zarr_blocks`) or from others: a cluster's workers, each window its
    own chunks. `chunks` is cut to the image. The store is committed when ``fill`` returns,
    and removed if it raises. The other arguments are those of :func:`write_zarr_blocks`.
    """
    height, width, channels = shape
    chunks = (min(chunks[0], height), min(chunks[1], width))
    reserve = height * width * channels * dtype.itemsize if compression is None else 0
    try:
        with zarr_output(name, reserve=reserve, together=together) as folder:
            create_zarr_store(
                folder,
                height=height,
                width=width,
                channels=channels,
                dtype=dtype,
                chunks=chunks,
                band_names=band_names,
                nodata=nodata,
                geo=geo,
                wavelengths=wavelengths,
                fwhm=fwhm,
                compression=compression,
            )
            fill(folder, chunks)
    except OSError as exc:
        raise DataError(f"{name}: cannot write ({exc.strerror or reason(exc)})") from exc


Window = tuple[tuple[int, int, int, int], np.ndarray]


def _chunk_windows(
    blocks: Iterable[np.ndarray], shape: tuple[int, int, int], chunks: tuple[int, int]
) -> Iterator[Window]:
    """Each tile with its window, row by row and left to right."""
    height, width, _ = shape
    rows, columns = chunks
    places = ((r, c) for r in range(0, height, rows) for c in range(0, width, columns))
    for (r, c), block in zip(places, blocks):
        yield (r, r + len(block), c, c + block.shape[1]), block


def _row_windows(blocks: Iterable[np.ndarray], shape: tuple[int, int, int], rows: int) -> Iterator[Window]:
    """Full-width windows of whole rows of chunks (the last to the bottom edge): the rows of a
    band that make them are passed on as they are, others gathered in a buffer of one row of
    chunks."""
    height, width, channels = shape
    top = filled = 0
    buffer: np.ndarray | None = None
    for band in blocks:
        done = 0
        while done < len(band):
            rest = len(band) - done
            if buffer is None and (rest >= rows or top + rest == height):
                n = rest if top + rest == height else rest - rest % rows
                yield (top, top + n, 0, width), band[done : done + n]
                top, done = top + n, done + n
                continue
            if buffer is None:
                buffer = np.empty((min(rows, height - top), width, channels), band.dtype)
            n = min(len(buffer) - filled, rest)
            buffer[filled : filled + n] = band[done : done + n]
            filled, done = filled + n, done + n
            if filled == len(buffer):
                yield (top, top + filled, 0, width), buffer
                top, filled, buffer = top + filled, 0, None


def _write_windows(folder: str, windows: Iterable[Window], workers: int) -> None:
    """:func:`write_zarr_window` for each window, on `workers` threads, stopping at the first
    failure (and waiting for the windows being written, before the folder is removed)."""
    if workers <= 1:
        for window, block in windows:
            write_zarr_window(folder, window, block)
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque[Future] = deque()
    try:
        for window, block in windows:
            pending.append(pool.submit(write_zarr_window, folder, window, block))
            del block  # held by its task only
            while len(pending) >= workers or (pending and pending[0].done()):
                pending.popleft().result()
        while pending:
            pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
