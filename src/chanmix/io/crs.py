"""Coordinate reference systems without a projection library: EPSG codes, and GeoTIFF tags.

chanmix has no projection database at run time. It carries a CRS to GeoTIFF outputs as an
EPSG code in the GeoKeyDirectory (ProjectedCSTypeGeoKey or GeographicTypeGeoKey), which GDAL
expands from its own database, and identifies that code only where the input states it:

- a WKT whose top-level authority is EPSG, for a projected or a geographic system:
  ``PROJCS[..., AUTHORITY["EPSG","32618"]]`` (WKT 1, as GDAL, rasterio and rioxarray write
  it) or ``PROJCRS[..., ID["EPSG",32618]]`` (WKT 2) -- :func:`wkt_system`;
- the GeoKeys of a GeoTIFF input -- :func:`geo_system`.

Formats that state a grid and a CRS in their own terms (ENVI map info, Zarr attributes) are
read into the same :class:`~chanmix.io.raster.GeoInfo` as a GeoTIFF: :func:`georeferencing`
makes the GeoTIFF tags GDAL reads for that grid and EPSG code, so TIFF outputs carry them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .geotiff import (
    GEO_KEY_DIRECTORY,
    MODEL_PIXEL_SCALE,
    MODEL_TIEPOINT,
    MODEL_TRANSFORMATION,
    geo_info,
    geokeys,
)
from .raster import GeoInfo

__all__ = ["System", "Tiepoint", "Transform", "geo_system", "georeferencing", "grid_tags", "wkt_system"]

#: ``(projected, EPSG code)``: a CRS as chanmix carries it.
System = tuple[bool, int]
#: GDAL/rasterio affine ``(a, b, c, d, e, f)``: ``x = a*col + b*row + c``, ``y = d*col + e*row + f``.
Transform = tuple[float, float, float, float, float, float]
#: ``(col, row, x, y)``: a pixel corner and its map coordinates.
Tiepoint = tuple[float, float, float, float]

_DOUBLE, _SHORT = 12, 3  # TIFF datatypes
_GEOKEY_MODEL, _GEOKEY_RASTER, _GEOKEY_GEOGRAPHIC, _GEOKEY_PROJECTED = 1024, 1025, 2048, 3072
_USER_DEFINED = 32767
_AUTHORITY = re.compile(r'\s*"?\s*EPSG\s*"?\s*,\s*"?\s*(\d+)\s*"?\s*(?:,.*)?', re.IGNORECASE | re.DOTALL)
#: WKT keywords of projected and geographic systems (WKT 1, then WKT 2's long and short forms).
_PROJECTED = ("PROJCS", "PROJCRS", "PROJECTEDCRS")
_GEOGRAPHIC = ("GEOGCS", "GEOGCRS", "GEOGRAPHICCRS")
_GEODETIC = ("GEODCRS", "GEODETICCRS")


def wkt_system(wkt: str) -> System | None:
    """The EPSG code a WKT's top-level ``AUTHORITY`` (WKT 1) or ``ID`` (WKT 2) names, for a
    projected or geographic system (in WKT 2015 a ``GEODCRS`` with an ellipsoidal coordinate
    system); None for anything else (a compound, vertical or geocentric system, a WKT without
    an EPSG authority, text that is not WKT)."""
    keyword = wkt.split("[", 1)[0].strip().upper()
    items = _top_level_items(wkt)
    if keyword in _GEODETIC:  # WKT 2015's geographic systems, unless geocentric (Cartesian)
        axes = [inner.split(",", 1)[0].strip().lower() for name, inner in items if name == "CS"]
        keyword = _GEOGRAPHIC[0] if axes == ["ellipsoidal"] else keyword
    if keyword not in _PROJECTED + _GEOGRAPHIC:
        return None
    for name, inner in items:
        match = _AUTHORITY.fullmatch(inner) if name in ("AUTHORITY", "ID") else None
        if match is not None and 0 < int(match.group(1)) < 65535:
            return keyword in _PROJECTED, int(match.group(1))
    return None


def _top_level_items(wkt: str) -> list[tuple[str, str]]:
    """``(KEYWORD, text inside its brackets)`` of each item directly inside the outermost one."""
    items = []
    depth, quoted, separator, start = 0, False, 0, 0
    for index, char in enumerate(wkt):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "[(":
            depth += 1
            if depth == 1:
                separator = index
            elif depth == 2:
                start = index + 1
        elif char in "])":
            if depth == 2:
                items.append((wkt[separator + 1 : start - 1].strip().upper(), wkt[start:index]))
            depth -= 1
        elif char == "," and depth == 1:
            separator = index
    return items


def geo_system(geo: GeoInfo | None) -> System | None:
    """The EPSG code of a GeoTIFF's (or ENVI's, Zarr's: see :func:`georeferencing`) GeoKeys:
    ProjectedCSTypeGeoKey, else GeographicTypeGeoKey; None for a user-defined system or none."""
    if geo is None:
        return None
    keys = geokeys({code: (datatype, value) for code, datatype, _, value, _ in geo.tags})
    for key, projected in ((_GEOKEY_PROJECTED, True), (_GEOKEY_GEOGRAPHIC, False)):
        code = keys.get(key)
        if isinstance(code, int) and 0 < code < _USER_DEFINED:
            return projected, code
    return None


def grid_tags(transform: Transform, tiepoint: Tiepoint | None = None) -> dict[int, tuple[int, tuple]]:
    """GeoTIFF tags of a pixel grid: ModelPixelScale and ModelTiepoint when north up (the
    tiepoint `tiepoint`, else the top left corner), else ModelTransformation."""
    a, b, c, d, e, f = transform
    if b == 0 and d == 0 and a > 0 and e < 0:
        col, row, x, y = tiepoint if tiepoint is not None else (0.0, 0.0, c, f)
        return {
            MODEL_PIXEL_SCALE: (_DOUBLE, (a, -e, 0.0)),
            MODEL_TIEPOINT: (_DOUBLE, (col, row, 0.0, x, y, 0.0)),
        }
    matrix = (a, b, 0.0, c, d, e, 0.0, f, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    return {MODEL_TRANSFORMATION: (_DOUBLE, matrix)}


def _geokey_directory(system: System) -> tuple[int, ...]:
    """A GeoKeyDirectory of version 1.1.0: model type, PixelIsArea, and the EPSG code."""
    projected, code = system
    return (
        1,
        1,
        0,
        3,
        _GEOKEY_MODEL,
        0,
        1,
        1 if projected else 2,
        _GEOKEY_RASTER,
        0,
        1,
        1,
        _GEOKEY_PROJECTED if projected else _GEOKEY_GEOGRAPHIC,
        0,
        1,
        code,
    )


def georeferencing(
    transform: Transform | None,
    system: System | None,
    *,
    tiepoint: Tiepoint | None = None,
    wkt: str | None = None,
    envi_map: tuple[str, str | None] | None = None,
) -> GeoInfo | None:
    """The :class:`GeoInfo` of a grid and a CRS stated otherwise than in GeoTIFF tags.

    Parameters
    ----------
    transform : (6,) tuple of float, optional
        The affine transform (see :data:`Transform`), pixel corners.
    system : (bool, int), optional
        ``(projected, EPSG code)``.
    tiepoint : (float, float, float, float), optional
        ``(col, row, x, y)``: the pixel corner and map coordinates the ModelTiepoint tag of a
        north-up grid names; default the top left corner, ``(0, 0, c, f)``.
    wkt, envi_map
        Stored unchanged in the result's fields of those names.

    Returns
    -------
    GeoInfo or None
        Tags, ``crs`` (``"EPSG:<code>"``) and ``transform`` as
        :func:`~chanmix.io.geotiff.geo_info` decodes them from the tags made here; None when
        there is neither a transform nor a system.
    """
    tags: dict[int, tuple[int, tuple]] = {}
    if transform is not None:
        tags.update(grid_tags(transform, tiepoint))
    if system is not None:
        tags[GEO_KEY_DIRECTORY] = (_SHORT, _geokey_directory(system))
    geo = geo_info(tags)
    return None if geo is None else replace(geo, wkt=wkt, envi_map=envi_map)
