"""Read an ENVI raster's rows through read-only memory maps of its data file.

Each window is read through its own map of the part of the data file that holds it
(:class:`EnviRows`): its samples are copied out into a new channels-last ``(h, w, C)`` array
in the computed type (native byte order; 64-bit integers as float64, checked to be exact),
and the map is closed at once. Closing it releases every page the copy touched -- and the
neighbouring ones the kernel maps along with them on a fault, which dropping only the pages
read (``madvise``) leaves mapped -- so the process's resident memory stays at about one band
of rows however large the cube (the file's pages stay in the system's cache, which the kernel
reclaims as it needs). Several threads may read different bands at once, each on its own map.

What one band of ``R`` rows touches in the file:

- BSQ: ``C`` runs of ``R * W`` samples, one per band (each band's rows are contiguous);
- BIL: one run of ``R`` rows, each holding the ``W`` samples of every band in turn;
- BIP: one run of ``R * W`` pixels, each holding its ``C`` samples.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from ..budget import check_whole, shape_text
from ..errors import DataError, UsageError
from .envi import EnviHeader, read_envi_header
from .envi_geo import envi_geo
from .pillow import page_message
from .raster import Raster, RasterInfo, reason

__all__ = ["EnviRows", "envi_info", "open_envi", "read_envi"]

#: Magnitude up to which every 64-bit integer converts to float64 exactly.
_EXACT = 2**53


def open_envi(path: str, page: int = 0) -> tuple[RasterInfo, EnviRows]:
    """The :class:`RasterInfo` of an ENVI raster (header or data file named) and its rows.

    Raises
    ------
    DataError
        As :func:`~chanmix.io.envi.read_envi_header`; or when the data file cannot be
        mapped, or one row of the image would take more than the memory budget.
    UsageError
        When `page` is not 0 (an ENVI file holds one image).
    """
    if page != 0:
        raise UsageError(page_message(path, page, 1))
    header = read_envi_header(path)
    info = envi_info(header, path)
    row = (info.width, info.bands)
    check_whole(path, f"reading one row ({shape_text(row, info.dtype)}) of this image", _row_bytes(header))
    return info, EnviRows(header)


def read_envi(path: str, page: int = 0) -> Raster:
    """An ENVI raster read whole (checked against the memory budget first)."""
    info, rows = open_envi(path, page)
    try:
        shape = (info.height, info.width, info.bands)
        check_whole(
            path,
            f"reading this {shape_text(shape, info.dtype)} image whole",
            _row_bytes(rows.header) * info.height,
        )
        return Raster(rows.read(0, info.height, 0, info.width), info)
    finally:
        rows.close()


def _row_bytes(header: EnviHeader) -> int:
    """Bytes one row takes while it is read: as stored, and in the computed type."""
    return header.samples * header.bands * (header.stored.itemsize + header.dtype.itemsize)


def envi_info(header: EnviHeader, path: str) -> RasterInfo:
    """What chanmix reports about an ENVI raster named `path`."""
    return RasterInfo(
        path=path,
        format="ENVI",
        height=header.lines,
        width=header.samples,
        bands=header.bands,
        dtype=header.dtype,
        layout=header.interleave,
        tile=None,
        compression="none",
        photometric=None,
        band_names=header.band_names,
        alpha=None,
        nodata=header.nodata,
        resolution=None,
        resolution_unit=None,
        icc_profile=None,
        geo=envi_geo(header.map_info, header.coordinate_system),
        gdal_metadata=None,
        page=0,
        pages=1,
        loads_whole=False,
        wavelengths=header.wavelengths,
        fwhm=header.fwhm,
        description=header.description,
    )


class EnviRows:
    """Windows of an ENVI data file, each copied out of a read-only memory map of the part of
    the file it lies in, unmapped as soon as it is copied.

    ``read(start, stop, left, right)`` returns rows ``[start, stop)`` and columns
    ``[left, right)`` as a new ``(h, w, C)`` C-contiguous array in ``header.dtype``.
    """

    def __init__(self, header: EnviHeader) -> None:
        self.header = header
        path = header.data_path
        self._end = header.offset + header.data_bytes
        try:
            self._file = open(path, "rb")  # held until close()
        except OSError as exc:
            raise DataError(f"{path}: cannot open ({exc.strerror or reason(exc)})") from exc
        self._closed = False
        stored = header.stored
        self._wide = stored.itemsize == 8 and stored.kind in "iu"  # 64-bit integers
        self._native = stored.newbyteorder("=")

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        header = self.header
        height, width, bands = stop - start, right - left, header.bands
        item = header.stored.itemsize
        line = header.samples * item  # one row of one band
        if header.interleave == "bsq":  # band b, row r at offset + (b * lines + r) * line
            first = header.offset + start * line
            last = header.offset + ((bands - 1) * header.lines + stop) * line
            shape = (bands, height, header.samples)
            strides = (header.lines * line, line, item)
        else:  # every band of row r within offset + r * bands * line
            first = header.offset + start * bands * line
            last = header.offset + stop * bands * line
            shape = (
                (height, bands, header.samples)
                if header.interleave == "bil"
                else (height, header.samples, bands)
            )
            strides = (
                (bands * line, line, item)
                if header.interleave == "bil"
                else (bands * line, bands * item, item)
            )
        out = np.empty((height, width, bands), self._native)
        memory = self._map(first, last)
        try:
            view = np.ndarray(
                shape,
                header.stored,
                buffer=memory,
                offset=first % mmap.ALLOCATIONGRANULARITY,
                strides=strides,
            )
            if header.interleave == "bsq":
                for band in range(bands):
                    out[:, :, band] = view[band, :, left:right]
            elif header.interleave == "bil":
                out[...] = view[:, :, left:right].transpose(0, 2, 1)
            else:
                out[...] = view[:, left:right]
            del view
        finally:
            memory.close()
        return self._exact_float(out, start) if self._wide else out

    def _map(self, first: int, last: int) -> mmap.mmap:
        """A read-only map of bytes ``[first, last)`` of the data file (from the allocation
        boundary at or before `first`), after checking that the file still holds them: a file
        cut short while mapped would crash the process on reading it (SIGBUS)."""
        path = self.header.data_path
        if self._closed:
            raise UsageError(f"{path}: the reader is closed")
        base = first - first % mmap.ALLOCATIONGRANULARITY
        try:
            fileno = self._file.fileno()
            size = os.fstat(fileno).st_size
            if size < self._end:
                raise DataError(f"{path}: the file shrank to {size} bytes while it was read")
            return mmap.mmap(fileno, last - base, access=mmap.ACCESS_READ, offset=base)
        except ValueError as exc:  # closed by another thread meanwhile
            raise UsageError(f"{path}: the reader is closed") from exc
        except OSError as exc:
            raise DataError(f"{path}: cannot map the ENVI data ({reason(exc)})") from exc

    def _exact_float(self, raw: np.ndarray, start: int) -> np.ndarray:
        """64-bit integer samples as float64, refusing any that float64 cannot hold exactly."""
        low, high = int(raw.min()), int(raw.max())
        if low < -_EXACT or high > _EXACT:
            value = low if low < -_EXACT else high
            raise DataError(
                f"{self.header.data_path}: the {self.header.stored.name} sample {value} (rows from {start})"
                " is beyond 2**53 in magnitude; chanmix reads 64-bit integers as float64, exact only up"
                " to there"
            )
        return raw.astype(np.float64)

    def close(self) -> None:
        """Release the file; reads running in other threads finish on their own maps."""
        self._closed = True
        self._file.close()
