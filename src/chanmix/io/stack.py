"""Several files read as the bands of one image: :func:`open_stack`.

Band files (a Landsat scene's ``B1.tif`` ... ``B7.tif``, Sentinel-2's ``B02`` ... ``B12``) are
one image whose bands came apart. :func:`open_stack` puts them back together: the files, in the
order given, each adding all of its bands. It holds one :class:`~chanmix.io.BlockReader` per
file and answers ``read_rows`` and ``read_window`` by reading the same window from each file
into one array, band after band, so that memory is bounded as for one file: each file decodes
only the strips or tiles the window touches. Everything above the reader (the pipeline, the
fits, ``info``, threads) sees one image.

The files must share height and width, sample type (normalized units depend on it), and CRS
and transform when georeferenced; anything else is a :class:`~chanmix.errors.DataError` naming
both files and what differs. :func:`stack_info` describes the image they make.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import numpy as np

from ..errors import DataError, UsageError
from ..nodata import BandNodata, uniform
from .blocks import _BAND_BYTES, BlockReader, _band_rows, open_raster
from .raster import GeoInfo, RasterInfo
from .read import image_number

__all__ = ["StackRows", "band_labels", "open_image", "open_stack", "stack_info"]

#: What to do about files of different types. (The options named are GDAL's, not chanmix's.)
_CONVERT = "convert them to one type first, e.g. with gdal_translate (-ot, -scale)"

_T = TypeVar("_T")

#: Transforms agree when no coefficient differs by more than this fraction of a pixel's side.
_GRID_TOLERANCE = 1e-6


def open_stack(
    paths: Sequence[str | os.PathLike], *, page: int = 0, series: int | None = None, orient: bool = False
) -> BlockReader:
    """Open several files as the bands of one image, in the order given.

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        One or more files that :func:`~chanmix.io.open_raster` reads, of one height, width and
        sample type, and of one CRS and transform when georeferenced.
    page, series : int, optional
        Which image of each file, as :func:`~chanmix.io.image_number` chooses it.
    orient : bool, optional
        Turn each file as its EXIF orientation says (see :func:`~chanmix.io.open_raster`).

    Returns
    -------
    BlockReader
        Over an ``(H, W, sum of the files' bands)`` image described by :func:`stack_info`;
        closing it closes every file.

    Raises
    ------
    UsageError
        For an empty `paths`; as :func:`~chanmix.io.open_raster` for each file.
    DataError
        When two files differ in size, sample type or georeferencing (the message names both
        and what differs); as :func:`~chanmix.io.open_raster` for each file.
    """
    if not paths:
        raise UsageError("paths: a stack needs at least one file", parameter="paths")
    with ExitStack() as opened:
        readers = [
            opened.enter_context(open_raster(path, page=image_number(path, page, series), orient=orient))
            for path in paths
        ]
        info = stack_info([reader.info for reader in readers])
        opened.pop_all()
    unit = _common_unit(readers, info)
    return BlockReader(info, StackRows(readers), _band_rows(unit, info), unit)


def open_image(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    page: int = 0,
    series: int | None = None,
    orient: bool = False,
) -> BlockReader:
    """Open one file (a path), or several as one image (a list or tuple of paths: see
    :func:`open_stack`); with `orient`, turned as their EXIF orientation says."""
    if isinstance(source, (str, os.PathLike)):
        return open_raster(source, page=image_number(source, page, series), orient=orient)
    return open_stack(source, page=page, series=series, orient=orient)


class StackRows:
    """Rows of a stack: the same window of every file, side by side along the band axis.

    Each file's window is read (decoding only its strips or tiles) and copied into the result
    before the next is read, so a read holds its result plus one file's window.
    """

    def __init__(self, readers: Sequence[BlockReader]) -> None:
        self._readers = list(readers)
        self._dtype = readers[0].info.dtype
        ends = np.cumsum([reader.info.bands for reader in readers]).tolist()
        self._spans = list(zip([0] + ends[:-1], ends))

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        if len(self._readers) == 1:
            return self._readers[0].read_window(start, stop, left, right)
        out = np.empty((stop - start, right - left, self._spans[-1][1]), self._dtype)
        for reader, (first, end) in zip(self._readers, self._spans):
            out[:, :, first:end] = reader.read_window(start, stop, left, right)
        return out

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


def _common_unit(readers: Sequence[BlockReader], info: RasterInfo) -> int:
    """Rows that every file decodes together: the least common multiple of their strip or
    tile heights, or the largest of those when that multiple is a band over 4 MiB (a few
    strips are then decoded twice, memory stays bounded)."""
    units = [min(reader.unit_rows, info.height) for reader in readers]
    unit = math.lcm(*units)
    row_bytes = info.width * info.bands * info.dtype.itemsize
    if unit > max(units) and unit * row_bytes > _BAND_BYTES:
        return max(units)
    return unit


def band_labels(info: RasterInfo) -> tuple[str, ...]:
    """The names a file's bands take in a stack: each band's description, else the file's
    stem (``B4``) for a single band, ``stem:1``, ``stem:2``... for several."""
    stem = Path(info.path).stem
    given = info.band_names or ("",) * info.bands
    if info.bands == 1:
        return (given[0] or stem,)
    return tuple(name or f"{stem}:{index}" for index, name in enumerate(given, 1))


def stack_info(infos: Sequence[RasterInfo]) -> RasterInfo:
    """What the image stacked from files described by `infos` is.

    The bands of every file in order, named by :func:`band_labels`; the size and sample type
    they share; the georeferencing, resolution, ICC profile and GDAL metadata of the first file
    (and its page; several files make one image, ``pages`` 1).
    Nodata: the value all the bands share, else one per band (``band_nodata``). The first alpha
    channel found stays an alpha channel; any other is an ordinary band. Tiles, compression
    and photometric interpretation when the files agree on them; wavelengths when every file
    records them.

    Raises
    ------
    DataError
        When a file differs from the first in size, sample type or georeferencing.
    """
    first = infos[0]
    for other in infos[1:]:
        check_stackable(first, other)
    nodata = uniform([value for info in infos for value in _nodata_per_band(info)])
    offsets = np.cumsum([0] + [info.bands for info in infos[:-1]]).tolist()
    alphas = [offset + info.alpha for offset, info in zip(offsets, infos) if info.alpha is not None]
    wavelengths = [info.wavelengths for info in infos]
    return RasterInfo(
        path=_label(infos),
        format=_agreed([info.format for info in infos]) or "+".join(dict.fromkeys(i.format for i in infos)),
        height=first.height,
        width=first.width,
        bands=sum(info.bands for info in infos),
        dtype=first.dtype,
        layout=first.layout if len(infos) == 1 else "stacked",
        tile=_agreed([info.tile for info in infos]),
        compression=_agreed([info.compression for info in infos])
        or "+".join(dict.fromkeys(info.compression for info in infos)),
        photometric=_agreed([info.photometric for info in infos]),
        band_names=tuple(name for info in infos for name in band_labels(info)),
        alpha=alphas[0] if alphas else None,
        nodata=None if isinstance(nodata, tuple) else nodata,
        resolution=first.resolution,
        resolution_unit=first.resolution_unit,
        icc_profile=first.icc_profile,
        geo=first.geo,
        gdal_metadata=first.gdal_metadata,
        page=first.page,
        pages=first.pages if len(infos) == 1 else 1,
        loads_whole=any(info.loads_whole for info in infos),
        wavelengths=None if None in wavelengths else tuple(w for ws in wavelengths if ws for w in ws),
        band_nodata=nodata if isinstance(nodata, tuple) else None,
    )


def _nodata_per_band(info: RasterInfo) -> BandNodata:
    return info.band_nodata if info.band_nodata is not None else (info.nodata,) * info.bands


def _agreed(values: list[_T]) -> _T | None:
    """The value every file has, or None when they differ."""
    return values[0] if all(v == values[0] for v in values) else None


def _label(infos: Sequence[RasterInfo]) -> str:
    """How messages name a stack: its file, ``a + b``, or ``a + ... + z (N files)``."""
    paths = [info.path for info in infos]
    if len(paths) <= 2:
        return " + ".join(paths)
    return f"{paths[0]} + ... + {paths[-1]} ({len(paths)} files)"


def check_stackable(first: RasterInfo, other: RasterInfo) -> None:
    """Refuse two files that cannot be bands of one image, naming both and what differs, and
    how to bring the other onto the first one's grid (:func:`regrid_hint`).

    Raises
    ------
    DataError
        When their georeferencing (one has it, the other not), CRS, transform (beyond a
        millionth of a pixel), height and width, or sample type differ, checked in this order.
    """
    a, b = first, other
    if (a.geo is None) != (b.geo is None):
        placed, plain = (a, b) if b.geo is None else (b, a)
        raise DataError(f"{placed.path} is georeferenced, {plain.path} is not; {regrid_hint(a, b)}")
    if a.geo is not None and b.geo is not None:
        if a.geo.crs != b.geo.crs:
            raise DataError(
                f"the CRS differs: {a.geo.crs or 'none'} in {a.path}, {b.geo.crs or 'none'} in {b.path}; "
                + regrid_hint(a, b)
            )
        difference = _grid_difference(a.geo, b.geo, a.path, b.path)
        if difference is not None:
            raise DataError(f"{difference}; {regrid_hint(a, b)}")
    if (a.height, a.width) != (b.height, b.width):
        raise DataError(
            f"{b.path} is {b.width} x {b.height} pixels, {a.path} {a.width} x {a.height}: "
            f"files stacked as one image must have one size; {regrid_hint(a, b)}"
        )
    if a.dtype != b.dtype:
        raise DataError(
            f"{b.path} holds {b.dtype.name} samples, {a.path} {a.dtype.name}: files stacked as one "
            f"image must hold one sample type (normalized units depend on it); {_CONVERT}"
        )


def regrid_hint(first: RasterInfo, other: RasterInfo) -> str:
    """A GDAL command bringing `other` onto the pixel grid of `first` (GDAL's options, not
    chanmix's), when `first` is north-up or not georeferenced; a general advice otherwise.

    gdalwarp to the CRS, pixel size and extent of `first`; gdal_translate to assign them to a
    plain `other` of the same size (or those of `other` to a plain `first`), or to resize a
    plain `other` to a plain `first`.
    """
    geo = first.geo
    if geo is None and other.geo is not None:
        return regrid_hint(other, first)
    out = f"{Path(other.path).stem}-regridded.tif"
    if geo is None and other.geo is None:
        return (
            f"resample {other.path} to the size of {first.path} first, e.g. "
            f"gdal_translate -outsize {first.width} {first.height} {other.path} {out}"
        )
    t = geo.transform if geo is not None else None
    if geo is None or t is None or t[1] or t[3]:
        return f"bring {other.path} onto the grid of {first.path} first, e.g. with gdalwarp or gdal_translate"
    xs = (t[2], t[2] + t[0] * first.width)
    ys = (t[5], t[5] + t[4] * first.height)
    crs = geo.crs if geo.crs and geo.crs.startswith("EPSG:") else None
    if other.geo is None:
        if (other.height, other.width) != (first.height, first.width):
            return f"bring {other.path} onto the grid of {first.path} first, e.g. with gdal_translate"
        corners = " ".join(f"{v:.10g}" for v in (xs[0], ys[0], xs[1], ys[1]))
        srs = f"-a_srs {crs} " if crs else ""
        return (
            f"give {other.path} the georeferencing of {first.path} first, e.g. "
            f"gdal_translate {srs}-a_ullr {corners} {other.path} {Path(other.path).stem}-georeferenced.tif"
        )
    extent = " ".join(f"{v:.10g}" for v in (min(xs), min(ys), max(xs), max(ys)))
    srs = f"-t_srs {crs} " if crs else ""
    return (
        f"resample {other.path} onto the grid of {first.path} first, e.g. gdalwarp {srs}"
        f"-tr {abs(t[0]):.10g} {abs(t[4]):.10g} -te {extent} {other.path} {out}"
    )


def _grid_difference(a: GeoInfo, b: GeoInfo, a_path: str, b_path: str) -> str | None:
    """How two files' pixel grids differ, or None when they are one grid."""
    ta, tb = a.transform, b.transform
    if ta is None or tb is None:
        if ta is None and tb is None:
            same = _tie_points(a) == _tie_points(b)
            return None if same else f"the ground control points differ between {a_path} and {b_path}"
        gcps = a_path if ta is None else b_path
        return f"the transform differs: {gcps} has ground control points, not a transform"
    side = max(abs(ta[0]), abs(ta[1]), abs(ta[3]), abs(ta[4]))
    if all(abs(x - y) <= _GRID_TOLERANCE * side for x, y in zip(ta, tb)):
        return None
    size_a, size_b = _pixel_size(ta), _pixel_size(tb)
    if size_a != size_b:
        return f"the transform differs: pixels of {size_a} in {a_path}, {size_b} in {b_path} (CRS units)"
    if (ta[1], ta[3]) == (0, 0) and (tb[1], tb[3]) == (0, 0):
        return (
            f"the transform differs: the grid starts at ({ta[2]:.10g}, {ta[5]:.10g}) in {a_path}, "
            f"({tb[2]:.10g}, {tb[5]:.10g}) in {b_path}"
        )
    shown = (", ".join(f"{v:.10g}" for v in t) for t in (ta, tb))
    return f"the transform differs: ({next(shown)}) in {a_path}, ({next(shown)}) in {b_path}"


def _pixel_size(t: tuple[float, ...]) -> str:
    """A pixel's width and height in CRS units, ``30`` when square, ``10 x 20`` when not."""
    width, height = (f"{v:.6g}" for v in (math.hypot(t[0], t[3]), math.hypot(t[1], t[4])))
    return width if width == height else f"{width} x {height}"


def _tie_points(geo: GeoInfo) -> list:
    """The ModelTiepoint values of a georeferencing by ground control points."""
    return [np.asarray(tag[3]).tolist() for tag in geo.tags if tag[0] == 33922]
