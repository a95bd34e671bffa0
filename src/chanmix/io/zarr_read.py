"""Zarr input: a Zarr store (v3 or v2) read a window at a time, decoding only the chunks it touches.

What is read
------------
The store is a folder holding a group (as xarray writes a Dataset) or a single array. In a
group, the image is its one array of two or more dimensions that is not a coordinate (not
named in another array's ``coordinates`` or ``grid_mapping`` attribute); several such
arrays are refused, naming them. Its dimension names (v3 ``dimension_names``, v2
``_ARRAY_DIMENSIONS``) choose the axes: a dimension named ``band``, ``bands``, ``channel``,
``channels`` or ``c`` (any case) is the band axis, the other two are y and x in that order;
a 3-D array without one is ``(band, y, x)``, GDAL's order; a 2-D array is one band.

Its metadata, as xarray and rioxarray write them:

- nodata: the ``_FillValue`` attribute in Zarr v3 (xarray's encoding: an integer, or the
  base64 text of a little-endian double); the array's ``fill_value`` in Zarr v2, as xarray
  reads it;
- band names: the band dimension's coordinate when it holds text (chanmix's layout), else
  rioxarray's ``long_name`` attribute;
- wavelengths and FWHM: ``wavelength`` and ``fwhm`` variables along the band dimension with
  a length ``units`` attribute (nm, um...);
- CRS and transform: the grid mapping variable and the ``x`` and ``y`` coordinates
  (:mod:`chanmix.io.zarr_geo`).

:attr:`RasterInfo.tile` is the chunk's height and width when the array is chunked in y or
x, so that the pipeline mixes it chunk by chunk; :attr:`RasterInfo.layout` lists the
dimensions in storage order. Samples scaled by ``scale_factor`` and ``add_offset``
attributes are read as stored (as chanmix reads GeoTIFFs).

Hostile stores: a store that zarr cannot open, a sample type chanmix does not compute with
(:data:`~chanmix.io.raster.SAMPLE_DTYPES`), more than 2^31 - 1 rows or columns, or a chunk
(or a row of the image) over the memory budget is refused when opened, in one line naming
it; a chunk that cannot be decoded, when it is read. A missing chunk reads as the fill
value, as Zarr defines it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..budget import check_whole, shape_text
from ..errors import DataError, UsageError
from ..wavelengths import nanometres
from .pillow import page_message
from .raster import Raster, RasterInfo, as_sample_array, reason
from .zarr_geo import zarr_geo
from .zarr_store import BAND_DIMENSIONS, decode_fill_value, zarr_module

__all__ = ["ZarrRows", "open_zarr", "read_zarr"]

#: The most rows or columns a Zarr input may have (as for ENVI).
MAX_SIDE = 2**31 - 1
_CODEC_NAMES = {"gzip": "deflate", "zlib": "deflate"}


@contextmanager
def _zarr_errors(name: str, what: str) -> Iterator[None]:
    """Anything zarr raises (but running out of memory) as one DataError naming the store."""
    try:
        yield
    except (DataError, UsageError, MemoryError):
        raise
    except Exception as exc:
        raise DataError(f"{name}: {what} ({reason(exc)})") from exc


def open_zarr(name: str, page: int) -> tuple[RasterInfo, ZarrRows]:
    """Open a Zarr store's image for reading windows.

    Parameters
    ----------
    name : str
        The store's folder (a trailing separator is allowed).
    page : int
        Must be 0: a store holds one image.

    Returns
    -------
    (RasterInfo, ZarrRows)
        What it holds, and its windows' reader.

    Raises
    ------
    DataError
        See the module docstring: one line naming the store.
    UsageError
        When `page` is not 0, or zarr is not installed.
    """
    path = name.rstrip("/" + os.sep) or name
    zarr = zarr_module(name, "reading")
    if page != 0:
        raise UsageError(page_message(name, page, 1))
    if not os.path.isdir(path):
        raise DataError(
            f"{name}: "
            + ("is a file, not a Zarr store (a folder)" if os.path.exists(path) else "no such file or folder")
        )
    with _zarr_errors(name, "not a readable Zarr store"):
        node = zarr.open(store=zarr.storage.LocalStore(path, read_only=True), mode="r")
        members = dict(node.arrays()) if isinstance(node, zarr.Group) else {}
        array = node if isinstance(node, zarr.Array) else _data_array(members, name)
        dims = _dimension_names(array)
        axes = _axes(array.ndim, dims, name)
        chunks = tuple(int(c) for c in array.chunks)
        attributes = dict(array.attrs)
        raw_dtype = np.dtype(array.dtype)
        fill_value = array.fill_value
        zarr_format = array.metadata.zarr_format
        codecs = _compression(array)
    dtype = _sample_dtype(raw_dtype, name)
    band, y, x = axes
    height, width = array.shape[y], array.shape[x]
    bands = 1 if band is None else array.shape[band]
    if min(height, width, bands) < 1:
        raise DataError(f"{name}: the array is empty ({shape_text(array.shape, raw_dtype)})")
    if len(chunks) != array.ndim or min(chunks) < 1:
        raise DataError(f"{name}: chunks of {chunks} do not make a chunk grid of the array")
    if max(height, width) > MAX_SIDE:
        raise DataError(f"{name}: {height} x {width} pixels; chanmix reads up to {MAX_SIDE} rows and columns")
    check_whole(
        name,
        f"decoding one {shape_text(chunks, raw_dtype)} chunk of this image",
        math.prod(chunks) * raw_dtype.itemsize,
    )
    check_whole(
        name,
        f"one row of this {shape_text((height, width, bands), dtype)} image",
        width * bands * dtype.itemsize,
    )
    names = ("band", "y", "x") if dims is None else tuple(dims[i] if i is not None else "" for i in axes)
    tile = (min(chunks[y], height), min(chunks[x], width))
    with _zarr_errors(name, "cannot read its coordinates"):
        grid = (
            members.get(attributes.get("grid_mapping"))
            if isinstance(attributes.get("grid_mapping"), str)
            else None
        )
        geo = zarr_geo(
            dict(grid.attrs) if grid is not None else None,
            _ends(members.get(names[1]), height),
            _ends(members.get(names[2]), width),
            (height, width),
        )
        band_names = _band_names(members.get(names[0]), attributes.get("long_name"), bands)
        wavelengths = _per_band(members, ("wavelength", "wavelengths"), names[0], bands)
        fwhm = _per_band(members, ("fwhm",), names[0], bands)
    info = RasterInfo(
        path=name,
        format="ZARR",
        height=height,
        width=width,
        bands=bands,
        dtype=dtype,
        layout=", ".join(dims) if dims is not None else ("band, y, x" if band is not None else "y, x"),
        tile=None if tile == (height, width) else tile,
        compression=codecs,
        photometric=None,
        band_names=band_names,
        alpha=None,
        nodata=_nodata(attributes, fill_value, zarr_format, raw_dtype, dtype),
        resolution=None,
        resolution_unit=None,
        icc_profile=None,
        geo=geo,
        gdal_metadata=None,
        page=0,
        pages=1,
        loads_whole=False,
        wavelengths=wavelengths,
        fwhm=fwhm,
    )
    return info, ZarrRows(array, axes, name)


def read_zarr(name: str, page: int) -> Raster:
    """A Zarr store's image read whole (see :func:`open_zarr`), after a check of its size
    against the memory budget."""
    info, rows = open_zarr(name, page)
    shape = (info.height, info.width, info.bands)
    check_whole(
        name,
        f"reading this {shape_text(shape, info.dtype)} image whole",
        math.prod(shape) * info.dtype.itemsize,
    )
    return Raster(rows.read(0, info.height, 0, info.width), info)


class ZarrRows:
    """Windows of a Zarr array, channels last; each read decodes the chunks it touches."""

    def __init__(self, array: Any, axes: tuple[int | None, int, int], name: str) -> None:
        self._array: Any = array
        self._axes = axes
        self._name = name

    def read(self, start: int, stop: int, left: int, right: int) -> np.ndarray:
        """Rows ``[start, stop)`` and columns ``[left, right)`` as a new ``(h, w, C)`` array."""
        array = self._array
        if array is None:
            raise UsageError(f"{self._name}: the reader is closed")
        band, y, x = self._axes
        selection: list[slice] = [slice(None)] * array.ndim
        selection[y], selection[x] = slice(start, stop), slice(left, right)
        with _zarr_errors(self._name, f"cannot read rows {start} to {stop}"):
            samples = np.asarray(array[tuple(selection)])
        samples = samples.transpose((y, x) if band is None else (y, x, band))
        return as_sample_array(samples if band is not None else samples[..., np.newaxis], self._name)

    def close(self) -> None:
        self._array = None


def _data_array(members: Mapping[str, Any], name: str) -> Any:
    """The group's one array of two or more dimensions that is not a coordinate."""
    coordinates: set[str] = set()
    for array in members.values():
        for key in ("coordinates", "grid_mapping"):
            value = array.attrs.get(key)
            if isinstance(value, str):
                coordinates.update(value.split())
    candidates = sorted(key for key, array in members.items() if array.ndim >= 2 and key not in coordinates)
    if len(candidates) == 1:
        return members[candidates[0]]
    if not candidates:
        raise DataError(f"{name}: the Zarr store holds no array of two or more dimensions")
    shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
    raise DataError(f"{name}: the Zarr store holds several images ({shown}); chanmix reads a store of one")


def _dimension_names(array: Any) -> tuple[str, ...] | None:
    """Its dimension names (v3 ``dimension_names``, v2 ``_ARRAY_DIMENSIONS``), or None when
    it names them not, or not all."""
    if array.metadata.zarr_format == 3:
        names = array.metadata.dimension_names
    else:
        names = array.attrs.get("_ARRAY_DIMENSIONS")
    if not isinstance(names, (list, tuple)) or len(names) != array.ndim:
        return None
    return tuple(names) if all(isinstance(n, str) and n for n in names) else None


def _axes(ndim: int, dims: tuple[str, ...] | None, name: str) -> tuple[int | None, int, int]:
    """``(band, y, x)`` axes of the array (band None for a 2-D one)."""
    shown = f" ({', '.join(dims)})" if dims else ""
    if ndim == 2:
        return None, 0, 1
    if ndim != 3:
        raise DataError(
            f"{name}: the image array has {ndim} dimensions{shown}; chanmix reads 2 (y, x) or 3 (a band axis,"
            " y, x)"
        )
    named = [i for i, dim in enumerate(dims or ()) if dim.lower() in BAND_DIMENSIONS]
    if len(named) > 1:
        raise DataError(f"{name}: the image array has several band dimensions{shown}")
    band = named[0] if named else 0
    y, x = (i for i in range(3) if i != band)
    return band, y, x


def _sample_dtype(dtype: np.dtype, name: str) -> np.dtype:
    """The type chanmix reads the samples as (float16 as float32, bool as uint8), or a
    DataError for types it does not compute with."""
    try:
        probe = np.empty((0, 0, 0), dtype)
    except TypeError:
        probe = np.empty((0, 0, 0), object)
    return as_sample_array(probe, name).dtype


def _compression(array: Any) -> str:
    """Its codecs' names (``'zstd'``, ``'deflate'`` for gzip and zlib, ``'blosc'``...)."""
    names = []
    for codec in array.compressors:
        label = getattr(codec, "codec_id", None) or codec.to_dict().get("name", type(codec).__name__)
        names.append(_CODEC_NAMES.get(label, label))
    return "+".join(names) if names else "none"


def _nodata(
    attributes: Mapping[str, Any], fill_value: Any, zarr_format: int, raw: np.dtype, dtype: np.dtype
) -> float | None:
    """The nodata value as xarray reads it: ``_FillValue`` (v3), the fill value (v2)."""
    if raw.kind == "b":
        return None
    value = (
        decode_fill_value(attributes.get("_FillValue"), raw)
        if zarr_format == 3
        else decode_fill_value(fill_value, raw)
    )
    if value is not None and dtype == np.float32 and abs(value) <= float(np.finfo(np.float32).max):
        value = float(np.float32(value))  # as GDAL rounds a float32 band's nodata
    return value


def _ends(coordinate: Any, size: int) -> tuple[float, float] | None:
    """The first and last values of a 1-D numeric coordinate of `size` values."""
    if coordinate is None or coordinate.shape != (size,) or np.dtype(coordinate.dtype).kind not in "iuf":
        return None
    return float(coordinate[0]), float(coordinate[size - 1])


def _band_names(coordinate: Any, long_name: Any, bands: int) -> tuple[str, ...] | None:
    """Names from the band coordinate when it holds text, else rioxarray's ``long_name``."""
    names: Any = None
    if coordinate is not None and coordinate.shape == (bands,) and np.dtype(coordinate.dtype).kind in "UOT":
        names = [str(v) for v in np.asarray(coordinate[...]).tolist()]
    elif isinstance(long_name, (list, tuple)) and len(long_name) == bands:
        names = long_name
    elif isinstance(long_name, str) and bands == 1:
        names = [long_name]
    if names is None or not all(isinstance(n, str) for n in names) or not any(names):
        return None
    return tuple(names)


def _per_band(
    members: Mapping[str, Any], keys: tuple[str, ...], band_dim: str, bands: int
) -> tuple[float, ...] | None:
    """Values in nanometres of a per-band variable with a length ``units``; NaN where unknown."""
    for key in keys:
        variable = members.get(key)
        if variable is None or variable.shape != (bands,) or np.dtype(variable.dtype).kind not in "iuf":
            continue
        unit = variable.attrs.get("units")
        if not isinstance(unit, str) or _dimension_names(variable) not in (None, (band_dim,)):
            continue
        values = [nanometres(repr(float(v)), unit) for v in np.asarray(variable[...]).tolist()]
        nm = tuple(math.nan if v is None else v for v in values)
        return nm if any(math.isfinite(v) for v in nm) else None
    return None
