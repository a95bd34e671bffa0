"""Read an ENVI raster's rows through a read-only memory map of its data file.

The data file is mapped once (:class:`EnviRows`); a window is copied out of the map into a
new channels-last ``(h, w, C)`` array in the computed type (native byte order; 64-bit
integers as float64, checked to be exact), then the pages it touched are dropped from the
process (``madvise(MADV_DONTNEED)``: they stay in the system's file cache, but not in the
process's resident memory). So memory stays at about one band of rows, however large the
cube, and several threads may read different bands at once without a lock.

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
    """Windows of an ENVI data file, copied out of a read-only memory map.

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
        try:
            self._map: mmap.mmap | None = mmap.mmap(self._file.fileno(), self._end, access=mmap.ACCESS_READ)
        except (OSError, ValueError, OverflowError) as exc:
            self._file.close()
            raise DataError(f"{path}: cannot map the ENVI data ({reason(exc)})") from exc
        lines, samples, bands = header.lines, header.samples, header.bands
        shape = {
            "bsq": (bands, lines, samples),
            "bil": (lines, bands, samples),
            "bip": (lines, samples, bands),
        }
        count = lines * samples * bands
        self._cube: np.ndarray | None = np.frombuffer(
            self._map, header.stored, count=count, offset=header.offset
        ).reshape(shape[header.interleave])
        stored = header.stored
        self._wide = stored.itemsize == 8 and stored.kind in "iu"  # 64-bit integers
        self._native = stored.newbyteorder("=")

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        cube = self._cube
        if cube is None:
            raise UsageError(f"{self.header.data_path}: the reader is closed")
        self._check_size()
        height, width, bands = stop - start, right - left, self.header.bands
        out = np.empty((height, width, bands), self._native)
        interleave = self.header.interleave
        if interleave == "bsq":
            for band in range(bands):
                out[:, :, band] = cube[band, start:stop, left:right]
        elif interleave == "bil":
            out[...] = cube[start:stop, :, left:right].transpose(0, 2, 1)
        else:
            out[...] = cube[start:stop, left:right]
        del cube
        self._release(start, stop)
        return self._exact_float(out, start) if self._wide else out

    def _check_size(self) -> None:
        """A data file cut short while mapped would crash the process on reading (SIGBUS):
        refuse to read when it no longer holds the samples."""
        try:
            size = os.fstat(self._file.fileno()).st_size
        except (OSError, ValueError) as exc:  # closed by another thread meanwhile
            raise UsageError(f"{self.header.data_path}: the reader is closed") from exc
        if size < self._end:
            raise DataError(f"{self.header.data_path}: the file shrank to {size} bytes while it was read")

    def _release(self, start: int, stop: int) -> None:
        """Drop the pages of rows ``[start, stop)`` from the process's memory (not from the
        file cache): reading them again maps them again."""
        advise = getattr(mmap, "MADV_DONTNEED", None)
        memory = self._map
        if advise is None or memory is None:
            return
        header = self.header
        item = header.stored.itemsize
        if header.interleave == "bsq":
            band_bytes = header.lines * header.samples * item
            first = header.offset + start * header.samples * item
            spans = [
                (first + b * band_bytes, (stop - start) * header.samples * item) for b in range(header.bands)
            ]
        else:
            row = header.samples * header.bands * item
            spans = [(header.offset + start * row, (stop - start) * row)]
        for begin, length in spans:
            aligned = begin - begin % mmap.PAGESIZE
            try:
                memory.madvise(advise, aligned, length + begin - aligned)
            except (OSError, ValueError):
                return  # closed meanwhile, or not supported: the pages stay until unmapped

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
        """Unmap the file; a read still running in another thread keeps the map until it ends."""
        self._cube = None
        memory, self._map = self._map, None
        if memory is not None:
            try:
                memory.close()
            except BufferError:
                pass  # a read in progress holds a view: the map goes with it
        self._file.close()
