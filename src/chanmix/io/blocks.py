"""Read an image a row band (or a window) at a time: :func:`open_raster` and :class:`BlockReader`.

A band ``reader.read_rows(start, stop)`` holds exactly the samples of
``read_raster(path).pixels[start:stop]``, and a window ``reader.read_window(start, stop, left,
right)`` those of ``read_raster(path).pixels[start:stop, left:right]`` (same dtype, channel
order, palette expansion, float16 promotion), and ``reader.info`` equals
``read_raster(path).info``. How much is decoded for it depends on the file:

- TIFF (most layouts): only the strips or tiles covering the rows (:mod:`chanmix.io.tiff_rows`);
  uncompressed ones only for the rows asked. If a segment turns out undecodable, the image is
  decoded whole by Pillow as :func:`~chanmix.io.read_raster` would, once, and served from memory.
- ``.npy``: memory-mapped; a band reads its rows from the file.
- ENVI: memory-mapped; a band copies its rows out of the map, then lets the map's pages go
  (:mod:`chanmix.io.envi_rows`).
- Zarr: only the chunks the rows or window touch (:mod:`chanmix.io.zarr_read`).
- TIFF layouts that cannot be decoded by segments (``info.loads_whole``: YCbCr without JPEG,
  Old-JPEG, volumetric pages...), PNG, JPEG and Pillow's formats: decoded whole when opened.

:attr:`BlockReader.block_rows` is the natural band height: a TIFF's RowsPerStrip or tile
height (a Zarr store's chunk height), times the largest factor keeping a band within 4 MiB
when strips or tiles are short; 4 MiB of rows for ``.npy``, ENVI and images decoded whole
(served from memory in bands, so that
what the caller computes on a band -- float64 statistics, a mix -- stays band-sized). A band
of R rows holds ``R * width * bands * dtype.itemsize`` bytes.

``read_rows`` may be called from several threads at once, for different bands: file reads are
serialised, decoding runs in parallel (codecs release the GIL).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from types import TracebackType
from typing import Protocol

import numpy as np
import tifffile

from ..budget import check_whole
from ..errors import DataError, UsageError
from .envi_rows import open_envi
from .exif import auto_oriented
from .raster import RasterInfo, as_sample_array, reason, whole_image_info
from .read import load_npy, read_raster, sniff
from .tiff import (
    TIFF_ERRORS,
    TiffImage,
    decode_with_pillow,
    describe_tiff,
    finish_pixels,
    tiff_errors,
    tiff_info,
)
from .tiff_chain import open_tiff
from .tiff_rows import TiffRows
from .zarr_read import open_zarr

__all__ = ["BlockReader", "open_raster"]

_BAND_BYTES = 2**22


class _Rows(Protocol):
    """Where a reader's rows come from: ``read`` returns new ``(stop - start, right - left, C)``
    arrays, rows ``[start, stop)`` and columns ``[left, right)``."""

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray: ...

    def close(self) -> None: ...


class BlockReader:
    """Rows of one image, read on demand; make one with :func:`open_raster`.

    Attributes
    ----------
    info : RasterInfo
        As :func:`~chanmix.io.read_raster` gives it for the same file and page.
    block_rows : int
        Natural band height (see the module docstring), 1 to ``info.height``.
    unit_rows : int
        Rows decoded together (a strip or tile height; 1 when any row is read alone):
        `block_rows` is a multiple of it, or the image's height.
    """

    def __init__(self, info: RasterInfo, rows: _Rows, block_rows: int, unit_rows: int = 1) -> None:
        self.info = info
        self.block_rows = block_rows
        self.unit_rows = unit_rows
        self._rows = rows
        self._closed = False

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` of the image.

        Parameters
        ----------
        start, stop : int
            ``0 <= start <= stop <= info.height``.

        Returns
        -------
        (stop - start, W, C) ndarray
            A new C-contiguous array in ``info.dtype``, native byte order.

        Raises
        ------
        UsageError
            For rows outside the image, or a closed reader.
        DataError
            When the file's data for those rows cannot be read or decoded.
        """
        info = self.info
        if self._closed:
            raise UsageError(f"{info.path}: the reader is closed")
        if not 0 <= start <= stop <= info.height:
            raise UsageError(f"{info.path}: rows {start} to {stop} are not within the {info.height} rows")
        if start == stop:
            return np.empty((0, info.width, info.bands), info.dtype)
        return self._rows.read(start, stop, 0, info.width)

    def read_window(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        """Rows ``[start, stop)`` and columns ``[left, right)`` of the image, as
        ``read_rows(start, stop)[:, left:right]`` (a new array). A tiled TIFF decodes only the
        tiles the window touches: a window of one tile decodes one tile per sample plane.

        Raises
        ------
        UsageError
            For a window outside the image or an empty one, or a closed reader.
        DataError
            As :meth:`read_rows`.
        """
        info = self.info
        if self._closed:
            raise UsageError(f"{info.path}: the reader is closed")
        if not (0 <= start < stop <= info.height and 0 <= left < right <= info.width):
            raise UsageError(
                f"{info.path}: rows {start} to {stop} and columns {left} to {right} are not a window "
                f"of the {info.height} x {info.width} image"
            )
        return self._rows.read(start, stop, left, right)

    def row_bands(self, rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(start_row, band)`` top to bottom, bands of `rows` rows (the last may be shorter).

        Parameters
        ----------
        rows : int, optional
            Band height; default :attr:`block_rows`.

        Yields
        ------
        start_row : int
        band : (h, W, C) ndarray
            ``read_rows(start_row, start_row + h)``.
        """
        step = self.block_rows if rows is None else rows
        if step < 1:
            raise UsageError(f"{self.info.path}: a band needs at least one row, not {step}")
        for start in range(0, self.info.height, step):
            yield start, self.read_rows(start, min(start + step, self.info.height))

    def close(self) -> None:
        """Release the file; reading afterwards is a UsageError."""
        self._closed = True
        self._rows.close()

    def __enter__(self) -> BlockReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_raster(path: str | os.PathLike, *, page: int = 0, orient: bool = False) -> BlockReader:
    """Open one image of a file for reading a row band at a time.

    Parameters
    ----------
    path : str or os.PathLike
        Any file :func:`~chanmix.io.read_raster` reads.
    page : int, optional
        0-based image, with read_raster's numbering.
    orient : bool, optional
        Turn the image as its EXIF orientation says (``--auto-orient``; see
        :func:`~chanmix.io.exif.auto_oriented`). Only images decoded whole carry EXIF.

    Returns
    -------
    BlockReader
        A context manager; close it to release the file.

    Raises
    ------
    DataError, UsageError
        As :func:`~chanmix.io.read_raster` for the same file and page; a file decoded whole
        raises them here, a streamed one may raise DataError later from ``read_rows``.
    """
    name = os.fsdecode(path)
    kind = sniff(name, page)
    if kind == "tiff":
        return _open_tiff(name, page)
    if kind == "npy":
        array = load_npy(name, page, mmap=True)
        probe = as_sample_array(array[:0], name)
        info = replace(whole_image_info(name, "NPY", probe, loads_whole=False), height=array.shape[0])
        return BlockReader(info, _NpyRows(array, name), _band_rows(1, info))
    if kind == "envi":
        info, rows = open_envi(name, page)
        return BlockReader(info, rows, _band_rows(1, info))
    if kind == "zarr":
        info, zarr_rows = open_zarr(name, page)
        unit = info.tile[0] if info.tile else info.height
        return BlockReader(info, zarr_rows, _band_rows(unit, info), min(unit, info.height))
    return _whole(name, page, orient)


def _whole(name: str, page: int, orient: bool = False) -> BlockReader:
    """A reader over an image decoded whole by :func:`~chanmix.io.read_raster`, turned as its
    EXIF orientation says with `orient`."""
    raster = read_raster(name, page=page)
    if orient:
        raster = auto_oriented(raster)
    return BlockReader(raster.info, _ArrayRows(raster.pixels, name), _band_rows(1, raster.info))


def _open_tiff(name: str, page: int) -> BlockReader:
    """Stream a TIFF image by segments when its layout allows, else decode it whole."""
    with tiff_errors(name):
        tif = open_tiff(name)
        try:
            image = describe_tiff(tif, name, page)
            if image.planes is not None:
                rows = TiffRows(tif, image.keyframe, image.planes)
                check_whole(
                    name, f"decoding one {rows.segment_rows}-row segment of this image", rows.segment_bytes
                )  # a segment is decoded whole (TileLength 2**31)
                empty = np.empty((0, rows.width, rows.channels), rows.dtype)
                probe, alpha = finish_pixels(empty, image.keyframe, image.from_samples, name)
                shape = (rows.height, rows.width, probe.shape[2])
                info = tiff_info(image, tif, name, page, shape, probe.dtype, alpha)
                source = _TiffSource(tif, image, rows, info)
                unit = 1 if rows.exact_rows else rows.segment_rows
                return BlockReader(info, source, _band_rows(unit, info), unit)
        except BaseException:
            tif.close()
            raise
    tif.close()
    return _whole(name, page)


def _band_rows(unit: int, info: RasterInfo) -> int:
    """A multiple of `unit` rows (the rows decoded together: a strip or tile height, or 1 for
    uncompressed data) keeping a band within 4 MiB when possible, at most the height."""
    unit = min(unit, info.height)
    row_bytes = info.width * info.bands * info.dtype.itemsize
    return min(info.height, unit * max(1, _BAND_BYTES // (unit * row_bytes)))


def _closed(name: str) -> UsageError:
    """A read that began as the reader was being closed (from another thread)."""
    return UsageError(f"{name}: the reader is closed")


class _ArrayRows:
    """Rows of an image decoded whole."""

    def __init__(self, pixels: np.ndarray, name: str) -> None:
        self._pixels: np.ndarray | None = pixels
        self._name = name

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        pixels = self._pixels
        if pixels is None:
            raise _closed(self._name)
        return pixels[start:stop, left:right].copy()

    def close(self) -> None:
        self._pixels = None


class _NpyRows:
    """Rows of a memory-mapped ``.npy`` array, converted as read_raster converts them."""

    def __init__(self, array: np.ndarray, name: str) -> None:
        self._array: np.ndarray | None = array
        self._name = name

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        array = self._array
        if array is None:
            raise _closed(self._name)
        return as_sample_array(np.array(array[start:stop, left:right]), self._name)

    def close(self) -> None:
        self._array = None


class _TiffSource:
    """Rows decoded from a TIFF's segments, finished as read_tiff finishes them.

    On the first segment tifffile cannot decode, the whole image is decoded by Pillow (as
    read_tiff would) and later reads are served from it.
    """

    def __init__(self, tif: tifffile.TiffFile, image: TiffImage, rows: TiffRows, info: RasterInfo) -> None:
        self._tif = tif
        self._image = image
        self._rows = rows
        self._info = info
        self._whole: np.ndarray | None = None
        self._lock = threading.Lock()

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        whole = self._whole
        if whole is None:
            try:
                raw = self._rows.read(start, stop, left, right)
            except TIFF_ERRORS as exc:
                whole = self._decode_whole(exc)
            else:
                return finish_pixels(raw, self._image.keyframe, self._image.from_samples, self._info.path)[0]
        return whole[start:stop, left:right].copy()

    def _decode_whole(self, failure: BaseException) -> np.ndarray:
        """The image decoded whole by Pillow, once (kept for the reads that follow)."""
        with self._lock:
            if self._whole is not None:
                return self._whole
            path = self._info.path
            pixels, _ = decode_with_pillow(path, self._image, failure)
            info = self._info
            if pixels.shape != (info.height, info.width, info.bands) or pixels.dtype != info.dtype:
                raise DataError(f"{path}: cannot decode image data ({reason(failure)})") from failure
            self._whole = pixels
            return pixels

    def close(self) -> None:
        self._tif.close()
        self._whole = None
