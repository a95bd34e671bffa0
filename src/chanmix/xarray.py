"""Mix labelled arrays: :func:`chanmix.apply` for xarray DataArrays, such as rioxarray opens.

Needs the dask extra: ``pip install 'chanmix[dask]'`` (xarray; dask for chunked arrays).

>>> import rioxarray, chanmix, chanmix.xarray
>>> stack = rioxarray.open_rasterio("sample_images/landsat/l8_stack.tif", chunks={"y": 32})
>>> stack.dims, stack.shape
(('band', 'y', 'x'), (6, 128, 128))
>>> tc = chanmix.xarray.apply(stack, chanmix.get_preset("landsat8-tasseled-cap").mix, dtype="float32")
>>> tc.dims, tc.dtype, [str(b) for b in tc.band.values[:3]]
(('band', 'y', 'x'), dtype('float32'), ['brightness', 'greenness', 'wetness'])
>>> tc.rio.crs == stack.rio.crs, tc.rio.transform() == stack.rio.transform()
(True, True)

The result is lazy when the input is a dask array (through :func:`chanmix.dask.apply`), and
computed when it holds NumPy data. Its metadata is the input's, made true of the mixed bands:

- the band dimension keeps its place, and its coordinate holds the output names (see
  :func:`~chanmix.pipeline.output_names`: the mix's names, else the names of input bands an
  output copies; ``alpha`` for a kept alpha channel), or the numbers 1 to M as rioxarray
  numbers bands when no band has a name; ``long_name`` holds the names (rioxarray writes
  them as band descriptions);
- the other coordinates (``x``, ``y``, the CRS in ``spatial_ref``), the ``grid_mapping`` and
  the other attributes are kept;
- nodata: by default the input's, found as rioxarray's ``rio.nodata`` finds it; the output's
  (see :func:`~chanmix.blockmix.output_nodata`) is written as ``rio.write_nodata`` writes it,
  the ``_FillValue`` attribute, in the output's type;
- attributes about the input bands, wrong for the mixed ones, are dropped (see
  :data:`DROPPED_ATTRS`): their nodata, scale and offset (``scale_factor``, ``add_offset``:
  rioxarray's ``mask_and_scale`` would apply the input's scaling to the mixed values), names
  and units, value ranges, GDAL band statistics (``STATISTICS_*``) and band 1's wavelength
  (rioxarray merges band 1's metadata into the attributes), an ENVI header's fields about the
  file's layout and bands, and any attribute holding one value per input band. The encoding,
  which describes the input's storage (its type, scaling and fill), is not carried, but for
  ``grid_mapping``.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np

from .blockmix import apply as apply_array
from .blockmix import band_selection, output_nodata
from .errors import UsageError
from .mix import Mix
from .nodata import Nodata, recorded_nodata
from .pipeline import output_names

try:
    import xarray as xr
except ImportError as exc:
    raise ImportError("chanmix.xarray needs the dask extra: pip install 'chanmix[dask]'") from exc

__all__ = ["DROPPED_ATTRS", "apply", "input_nodata"]

#: Attributes about the input's bands or storage, wrong after a mix: CF's and rioxarray's
#: (nodata, scaling, names, units, ranges), GDAL's band metadata that rioxarray merges in
#: from band 1 (wavelength), and the fields of an ENVI header as GDAL names them.
DROPPED_ATTRS = frozenset(
    {
        # nodata, scaling, names and units of the input bands
        "_FillValue",
        "missing_value",
        "fill_value",
        "nodata",
        "nodatavals",
        "scale_factor",
        "add_offset",
        "scales",
        "offsets",
        "long_name",
        "units",
        "valid_range",
        "valid_min",
        "valid_max",
        "actual_range",
        # band 1's wavelength (GDAL, ENVI)
        "wavelength",
        "wavelength_units",
        "fwhm",
        # ENVI: the input file's layout and bands
        "samples",
        "lines",
        "bands",
        "header_offset",
        "file_type",
        "data_type",
        "interleave",
        "byte_order",
        "band_names",
        "data_ignore_value",
        "reflectance_scale_factor",
        "data_gain_values",
        "data_offset_values",
        "bbl",
        "default_bands",
    }
)
#: Per-band attributes by name: GDAL's band statistics (from band 1) and the ENVI driver's
#: band descriptions (``Band_1`` ...).
_DROPPED_PATTERN = re.compile(r"STATISTICS_\w+|Band_\d+")


def input_nodata(dataarray: xr.DataArray) -> float | None:
    """The value that marks nodata in the samples of ``dataarray``, as rioxarray's
    ``rio.nodata`` finds it: NaN when the encoding holds a ``_FillValue`` (the samples were
    masked when decoded) and they are floats, else the attribute ``_FillValue``,
    ``missing_value``, ``fill_value`` or ``nodata``, else the first of ``nodatavals``; None
    when there is none."""
    if dataarray.encoding.get("_FillValue") is not None and dataarray.dtype.kind == "f":
        return float("nan")
    for name in ("_FillValue", "missing_value", "fill_value", "nodata"):
        if dataarray.attrs.get(name) is not None:
            return float(dataarray.attrs[name])
    listed = dataarray.attrs.get("nodatavals")
    return float(listed[0]) if listed else None


def _band_names(dataarray: xr.DataArray, dim: Hashable) -> list[str] | None:
    """The input bands' names: the band coordinate's values when they are text, else a
    ``long_name`` attribute holding one name per band."""
    for names in (
        dataarray[dim].values.tolist() if dim in dataarray.coords else None,
        dataarray.attrs.get("long_name"),
    ):
        if isinstance(names, (tuple, list)) and len(names) == dataarray.sizes[dim]:
            if all(isinstance(v, str) for v in names):
                return list(names)
    return None


def _kept_attrs(attrs: dict[Hashable, Any], n_bands: int) -> dict[Hashable, Any]:
    """The attributes still true after the mix (see the module's documentation)."""

    def per_band(value: Any) -> bool:
        return isinstance(value, (tuple, list, np.ndarray)) and len(value) == n_bands

    return {
        key: value
        for key, value in attrs.items()
        if key not in DROPPED_ATTRS and not _DROPPED_PATTERN.fullmatch(str(key)) and not per_band(value)
    }


def apply(
    dataarray: xr.DataArray,
    mix: Mix,
    *,
    dim: Hashable = "band",
    nodata: Nodata | None | Literal["auto"] = "auto",
    **options: Any,
) -> xr.DataArray:
    """Mix the bands of a DataArray along ``dim``.

    Parameters
    ----------
    dataarray : DataArray with 3 dimensions, ``dim`` among them
        Raw samples, for example ``rioxarray.open_rasterio(path, chunks=...)`` (band, y, x):
        dask-backed (mixed lazily, through :func:`chanmix.dask.apply`) or NumPy-backed.
    mix : Mix
        N inputs (the bands, but an alpha channel kept or dropped) to M outputs.
    dim : hashable
        The dimension of the bands.
    nodata : float, tuple of (float or None), None or "auto"
        The input's nodata value (one per mixed band for a tuple); "auto" (the default)
        reads it from ``dataarray`` (see :func:`input_nodata`); None: no nodata.
    **options
        ``dtype``, ``rescale``, ``linear``, ``alpha`` (an index along ``dim``) and
        ``alpha_mode``, as for :func:`chanmix.apply` (and ``jobs`` for NumPy data).

    Returns
    -------
    DataArray
        The M (+ 1 kept alpha) mixed bands along ``dim``, at its place; coordinates,
        attributes and CRS as the module's documentation says.

    Raises
    ------
    UsageError, MatrixError
        A ``dim`` the array does not have, an array that is not 3-dimensional, and what
        :func:`chanmix.apply` raises.
    """
    if dim not in dataarray.dims:
        dims = ", ".join(map(repr, dataarray.dims))
        raise UsageError(f"dim: the array has no dimension {dim!r} (it has {dims})", parameter="dim")
    if dataarray.ndim != 3:
        raise UsageError(
            f"dataarray: expected 3 dimensions ({dim!r} and two spatial ones), got {dataarray.dims}",
            parameter="dataarray",
        )
    others = [d for d in dataarray.dims if d != dim]
    moved = dataarray.transpose(*others, dim)
    if nodata == "auto":
        nodata = input_nodata(dataarray)
    data: Any  # (..., M [+ 1]) channels-last: a dask array, lazy, or an ndarray
    if moved.chunks is not None:
        from . import dask as chanmix_dask

        data = chanmix_dask.apply(moved.data, mix, nodata=nodata, **options)
    else:
        data = apply_array(moved.values, mix, nodata=nodata, **options)
    n_bands = dataarray.sizes[dim]
    alpha, alpha_mode = options.get("alpha"), options.get("alpha_mode", "keep")
    mixed, kept = band_selection(n_bands, alpha, None, alpha_mode, "the array")
    names = _output_names(mix, _band_names(dataarray, dim), mixed, kept is not None)
    attrs = _kept_attrs(dict(dataarray.attrs), n_bands)
    if names is not None:
        attrs["long_name"] = tuple(names)
    recorded = recorded_nodata(nodata)
    if recorded is not None:
        attrs["_FillValue"] = data.dtype.type(output_nodata(recorded, data.dtype))
    coords = {name: c.variable for name, c in dataarray.coords.items() if dim not in c.dims}
    coords[dim] = xr.Variable(dim, names if names is not None else np.arange(1, data.shape[2] + 1))
    out = xr.DataArray(data, coords=coords, dims=(*others, dim), attrs=attrs).transpose(*dataarray.dims)
    out.name = dataarray.name  # not the dask array's key, which xarray takes when given None
    if "grid_mapping" in dataarray.encoding:
        out.encoding["grid_mapping"] = dataarray.encoding["grid_mapping"]
    return out


def _output_names(
    mix: Mix, band_names: Sequence[str] | None, mixed: Sequence[int], alpha: bool
) -> list[str] | None:
    """:func:`~chanmix.pipeline.output_names` of the mixed bands."""
    return output_names(mix, None if band_names is None else [band_names[c] for c in mixed], alpha)
