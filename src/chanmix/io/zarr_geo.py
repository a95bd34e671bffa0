"""Georeferencing of a Zarr store, as rioxarray writes and reads it, to and from :class:`GeoInfo`.

rioxarray keeps a raster's CRS and transform on a 0-d "grid mapping" variable (CF
conventions; ``spatial_ref``), named by the data variable's ``grid_mapping`` attribute, and
its pixel centres as the ``x`` and ``y`` coordinates. The grid mapping's attributes:

- ``crs_wkt`` and ``spatial_ref``: the CRS, which rioxarray reads (``spatial_ref`` first)
  with ``rasterio.crs.CRS.from_user_input``, so WKT and ``"EPSG:<code>"`` both work;
- ``GeoTransform``: GDAL's geotransform ``"c a b f d e"``, the affine transform
  ``(a, b, c, d, e, f)`` at pixel corners;
- ``grid_mapping_name``: CF's name of the projection; ``latitude_longitude`` for a
  geographic CRS.

Writing (:func:`grid_mapping_attributes`): ``crs_wkt`` holds the input's WKT when it states
one (a Zarr or ENVI input); ``spatial_ref`` holds ``"EPSG:<code>"`` when chanmix knows the
code (the GeoTIFF's GeoKeys, or identified from the WKT: :mod:`chanmix.io.crs`), else the
WKT; a geographic code adds ``grid_mapping_name = "latitude_longitude"``, which tells it
from a projected one when the store is read back. ``x`` and ``y`` are the pixel centres of
a north-up (or any unrotated) grid, and of pixel indices plus 0.5 without georeferencing,
as rioxarray gives them (:func:`pixel_centres`); a rotated grid has none, only
``GeoTransform``.

Reading (:func:`zarr_geo`): the CRS is identified as an EPSG code from ``crs_wkt`` or
``spatial_ref`` (a WKT's top-level authority, or ``EPSG:<code>``; such a code is geographic
with ``grid_mapping_name = "latitude_longitude"``, or for 4326); the transform is
``GeoTransform``, else the one the ``x`` and ``y`` coordinates give, as rioxarray computes
it. A store without CRS whose transform is the identity (or pixel indices plus 0.5) is not
georeferenced.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from .crs import System, Transform, geo_system, georeferencing, wkt_system
from .geotiff import MODEL_TIEPOINT
from .raster import GeoInfo

__all__ = ["grid_mapping_attributes", "pixel_centres", "zarr_geo"]

_EPSG = re.compile(r"\s*EPSG:(\d+)\s*", re.IGNORECASE)
_GEOGRAPHIC = "latitude_longitude"
_WGS84 = 4326
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def grid_mapping_attributes(geo: GeoInfo, name: str) -> dict[str, str]:
    """The attributes of the grid mapping variable of a Zarr output georeferenced like `geo`
    (see the module docstring); empty when nothing of it can be written.

    Warns (:class:`UserWarning`, one line naming `name`) when the CRS or the grid is not carried.
    """
    attributes: dict[str, str] = {}
    system = geo_system(geo) or (wkt_system(geo.wkt) if geo.wkt else None)
    if geo.wkt:
        attributes["crs_wkt"] = geo.wkt
    if system is not None:
        attributes["spatial_ref"] = f"EPSG:{system[1]}"
        if not system[0]:
            attributes["grid_mapping_name"] = _GEOGRAPHIC
    elif geo.wkt:
        attributes["spatial_ref"] = geo.wkt
    elif geo.crs:
        warnings.warn(
            f"{name}: CRS {geo.crs} is not carried (a Zarr output holds a CRS as an EPSG code or WKT)",
            stacklevel=2,
        )
    if geo.transform is not None:
        a, b, c, d, e, f = geo.transform
        attributes["GeoTransform"] = " ".join(repr(float(v)) for v in (c, a, b, f, d, e))
    elif any(tag[0] == MODEL_TIEPOINT for tag in geo.tags):
        warnings.warn(
            f"{name}: the input's ground control points are not carried to Zarr outputs", stacklevel=2
        )
    return attributes


def pixel_centres(geo: GeoInfo | None, height: int, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``y`` and ``x`` coordinates of an image's pixel centres, as rioxarray gives them:
    pixel indices plus 0.5 without georeferencing, from the transform of an unrotated grid;
    None for a rotated grid or one without a transform (ground control points)."""
    if geo is None:
        return np.arange(height) + 0.5, np.arange(width) + 0.5
    if geo.transform is None or geo.transform[1] != 0 or geo.transform[3] != 0:
        return None
    a, _, c, _, e, f = geo.transform
    return f + e * (np.arange(height) + 0.5), c + a * (np.arange(width) + 0.5)


def zarr_geo(
    attributes: Mapping[str, Any] | None,
    y_ends: tuple[float, float] | None,
    x_ends: tuple[float, float] | None,
    shape: tuple[int, int],
) -> GeoInfo | None:
    """The georeferencing of a Zarr store's data variable.

    Parameters
    ----------
    attributes : mapping or None
        The attributes of its grid mapping variable, or None without one.
    y_ends, x_ends : (float, float) or None
        The first and last values of its ``y`` and ``x`` coordinates (pixel centres), or None
        without them.
    shape : (int, int)
        ``(height, width)``.

    Returns
    -------
    GeoInfo or None
        See the module docstring.
    """
    attributes = attributes or {}
    texts = [t for t in (attributes.get("crs_wkt"), attributes.get("spatial_ref")) if isinstance(t, str)]
    wkt = next((t for t in texts if _EPSG.fullmatch(t) is None and t.strip()), None)
    system = next((s for s in (_system(t, attributes) for t in texts) if s is not None), None)
    transform = _geotransform(attributes.get("GeoTransform"))
    if transform is None:
        transform = _from_centres(y_ends, x_ends, shape)
    if system is None and wkt is None and (transform is None or transform == _IDENTITY):
        return None
    geo = georeferencing(transform, system, wkt=wkt)
    return geo if geo is not None else GeoInfo(tags=(), crs=None, transform=None, wkt=wkt)


def _system(text: str, attributes: Mapping[str, Any]) -> System | None:
    """The EPSG code of a ``crs_wkt`` or ``spatial_ref`` value."""
    match = _EPSG.fullmatch(text)
    if match is None:
        return wkt_system(text)
    code = int(match.group(1))
    if not 0 < code < 65535:
        return None
    return not (attributes.get("grid_mapping_name") == _GEOGRAPHIC or code == _WGS84), code


def _geotransform(text: Any) -> Transform | None:
    """``(a, b, c, d, e, f)`` from GDAL's ``"c a b f d e"``; None unless six finite numbers
    making a grid."""
    if not isinstance(text, str):
        return None
    try:
        c, a, b, f, d, e = (float(v) for v in text.split())
    except ValueError:
        return None
    transform = (a, b, c, d, e, f)
    return transform if all(map(math.isfinite, transform)) and a * e - b * d != 0 else None


def _from_centres(
    y_ends: tuple[float, float] | None, x_ends: tuple[float, float] | None, shape: tuple[int, int]
) -> Transform | None:
    """The transform of evenly spaced pixel centres, as rioxarray computes it from its first
    and last ``x`` and ``y``; None without them, or for a single row or column."""
    height, width = shape
    if y_ends is None or x_ends is None or height < 2 or width < 2:
        return None
    a = (x_ends[1] - x_ends[0]) / (width - 1)
    e = (y_ends[1] - y_ends[0]) / (height - 1)
    transform = (a, 0.0, x_ends[0] - a / 2, 0.0, e, y_ends[0] - e / 2)
    return transform if all(map(math.isfinite, transform)) and a != 0 and e != 0 else None
