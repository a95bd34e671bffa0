"""ENVI ``map info`` and ``coordinate system string`` to and from chanmix's :class:`GeoInfo`.

Reading
-------
``map info = {name, x ref, y ref, easting, northing, x size, y size, ...}`` places the
1-based reference pixel corner ``(x ref, y ref)`` (fractional allowed: 1.5 is the centre of
the first pixel) at ``(easting, northing)``, with pixels ``x size`` wide and ``y size``
high, north up. A ``rotation=`` item (degrees, counter-clockwise) turns the grid about that
point; ``rotation=180`` is read as GDAL reads it, as a south-up grid (y size downwards).
The grid becomes GeoTIFF ModelPixelScale + ModelTiepoint (the reference pixel as the
tiepoint), or ModelTransformation when rotated, so a TIFF output keeps the pixel grid; the
affine transform is the one rasterio reports for the ENVI file.

The CRS is identified without a projection library, where that is certain:

- a ``coordinate system string`` WKT whose top-level ``AUTHORITY["EPSG", "n"]`` names it,
  for a PROJCS (projected) or GEOGCS (geographic) system (:func:`~chanmix.io.crs.wkt_system`);
- else ``UTM`` with a zone, ``North``/``South`` and datum ``WGS-84`` (metres): EPSG
  326zz / 327zz; ``Geographic Lat/Lon`` with datum ``WGS-84`` (degrees): EPSG 4326.

It is then written as GeoTIFF keys (ProjectedCSTypeGeoKey or GeographicTypeGeoKey). Any
other system is not carried to TIFF outputs, only its grid (``chanmix info`` says so); an
ENVI output carries the input's map info and coordinate system string unchanged.

Writing
-------
An ENVI output of a non-ENVI input gets ``map info`` from the input's transform, with the
reference pixel (1, 1): ``UTM`` for EPSG 326zz / 327zz and ``Geographic Lat/Lon`` for EPSG
4326, each with the ESRI WKT GDAL writes as its ``coordinate system string``; ``Arbitrary``
(the grid alone) with a warning for any other CRS, as its WKT needs a projection database.
A sheared transform, which map info cannot hold, is left out with a warning.

References
----------
.. [1] ENVI header files, "map info": https://www.nv5geospatialsoftware.com/docs/ENVIHeaderFiles.html
.. [2] GDAL ENVI driver, ``ENVIDataset::ProcessMapinfo`` and ``WriteProjectionInfo``.
"""

from __future__ import annotations

import math
import re
import warnings

from .crs import System, Transform, georeferencing, wkt_system
from .raster import GeoInfo

__all__ = ["envi_geo", "envi_map_for", "projection_name"]

_UTM_NORTH, _UTM_SOUTH, _WGS84 = 32600, 32700, 4326
_GCS_WGS84 = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
_UTM_WGS84 = (
    'PROJCS["WGS_1984_UTM_Zone_{zone}{hemisphere}",' + _GCS_WGS84 + ',PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",{false_northing}],'
    'PARAMETER["Central_Meridian",{meridian:.1f}],PARAMETER["Scale_Factor",0.9996],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
#: How close a transform must come back from its map info to count as written (in pixels).
_TOLERANCE = 1e-9


def projection_name(map_info: str) -> str:
    """The first item of a ``map info`` value: the projection's name (``'UTM'``)."""
    return map_info.split(",", 1)[0].strip()


def envi_geo(map_info: str | None, coordinate_system: str | None) -> GeoInfo | None:
    """The georeferencing of an ENVI header.

    Parameters
    ----------
    map_info, coordinate_system : str or None
        The header's values inside their braces.

    Returns
    -------
    GeoInfo or None
        None without map info. Otherwise ``envi_map`` holds both values; ``tags``,
        ``transform`` and ``crs`` hold what of them chanmix understands (a map info it cannot
        read gives no tags and no transform).
    """
    if map_info is None:
        return None
    fields = [field.strip() for field in map_info.split(",")]
    transform = _grid(fields)
    system = wkt_system(coordinate_system) if coordinate_system else None
    if system is None:
        system = _map_system(fields)
    tiepoint = None
    if transform is not None and transform[1] == transform[3] == 0:
        x_ref, y_ref, easting, northing = (float(v) for v in fields[1:5])
        tiepoint = (x_ref - 1, y_ref - 1, easting, northing)  # the reference pixel, as written
    envi_map = (map_info, coordinate_system)
    geo = georeferencing(transform, system, tiepoint=tiepoint, wkt=coordinate_system, envi_map=envi_map)
    return geo if geo is not None else GeoInfo(tags=(), crs=None, transform=None, envi_map=envi_map)


def _named(fields: list[str]) -> dict[str, str]:
    """The ``key=value`` items after the seventh, keys in lower case."""
    pairs = (field.split("=", 1) for field in fields[7:] if "=" in field)
    return {key.strip().lower(): value.strip() for key, value in pairs}


def _grid(fields: list[str]) -> Transform | None:
    """The affine transform of map info items; None when they do not make a grid."""
    try:
        x_ref, y_ref, easting, northing, x_size, y_size = (float(v) for v in fields[1:7])
        rotation = float(_named(fields).get("rotation", "0"))
    except ValueError:
        return None
    numbers = (x_ref, y_ref, easting, northing, x_size, y_size, rotation)
    if not all(math.isfinite(v) for v in numbers) or x_size == 0 or y_size == 0:
        return None
    if rotation == 0:
        a, b, d, e = x_size, 0.0, 0.0, -y_size
    elif abs(rotation) == 180:  # GDAL's south-up grid
        a, b, d, e = x_size, 0.0, 0.0, y_size
    else:
        turn = -math.radians(rotation)
        a, b = math.cos(turn) * x_size, -math.sin(turn) * x_size
        d, e = -math.sin(turn) * y_size, -math.cos(turn) * y_size
    i, j = x_ref - 1, y_ref - 1
    return (a, b, easting - a * i - b * j, d, e, northing - d * i - e * j)


def _map_system(fields: list[str]) -> System | None:
    """(projected, EPSG code) of a WGS 84 UTM or geographic map info, else None."""
    name = fields[0].lower()
    positional = [field for field in fields[7:] if "=" not in field]
    units = _named(fields).get("units", "").lower()
    if name.startswith("utm") and len(positional) >= 3 and units in ("", "meters"):
        zone, hemisphere, datum = positional[:3]
        if zone.isdigit() and 1 <= int(zone) <= 60 and datum.lower() == "wgs-84":
            if hemisphere.lower() in ("north", "south"):
                base = _UTM_NORTH if hemisphere.lower() == "north" else _UTM_SOUTH
                return True, base + int(zone)
    if name.startswith("geographic lat") and positional and units in ("", "degrees"):
        if positional[0].lower() == "wgs-84":
            return False, _WGS84
    return None


def envi_map_for(geo: GeoInfo | None, name: str) -> tuple[str | None, str | None]:
    """``map info`` and ``coordinate system string`` (without braces) for an ENVI output
    georeferenced like `geo`; None for either that is not written.

    Warns (:class:`UserWarning`, one line naming `name`) when the input's CRS or grid cannot
    be written (see the module docstring).
    """
    if geo is None:
        return None, None
    if geo.envi_map is not None:
        return geo.envi_map
    if geo.transform is None:
        warnings.warn(
            f"{name}: the input's ground control points are not carried to ENVI outputs", stacklevel=2
        )
        return None, None
    code = int(geo.crs[5:]) if geo.crs and re.fullmatch(r"EPSG:\d+", geo.crs) else None
    system: list[str]
    wkt = None
    if code is not None and 1 <= code - _UTM_NORTH <= 60:
        zone = code - _UTM_NORTH
        system, wkt = ["UTM", str(zone), "North", "WGS-84"], _utm_wkt(zone, north=True)
    elif code is not None and 1 <= code - _UTM_SOUTH <= 60:
        zone = code - _UTM_SOUTH
        system, wkt = ["UTM", str(zone), "South", "WGS-84"], _utm_wkt(zone, north=False)
    elif code == _WGS84:
        system, wkt = ["Geographic Lat/Lon", "WGS-84"], _GCS_WGS84
    else:
        system = ["Arbitrary", "0", "North"]
        if geo.crs:
            warnings.warn(
                f"{name}: CRS {geo.crs} is not carried (chanmix writes an ENVI coordinate system only for"
                " EPSG:4326 and WGS 84 UTM zones); the header keeps the pixel grid",
                stacklevel=2,
            )
    map_info = _map_info(geo.transform, system)
    if map_info is None:
        warnings.warn(
            f"{name}: the input's transform {geo.transform} is sheared, which ENVI map info cannot hold;"
            " it is not carried",
            stacklevel=2,
        )
        return None, None
    return map_info, wkt


def _utm_wkt(zone: int, *, north: bool) -> str:
    return _UTM_WGS84.format(
        zone=zone,
        hemisphere="N" if north else "S",
        false_northing="0.0" if north else "10000000.0",
        meridian=6.0 * zone - 183.0,
    )


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _map_info(transform: Transform, system: list[str]) -> str | None:
    """Map info for a transform with reference pixel (1, 1); None when its grid cannot be
    written (read back, it must give the same transform)."""
    a, b, c, d, e, f = transform
    if b == 0 and d == 0 and a > 0 and e < 0:
        x_size, y_size, rotation = a, -e, None
    elif b == 0 and d == 0 and a > 0 and e > 0:
        x_size, y_size, rotation = a, e, 180.0
    else:
        x_size, y_size = math.hypot(a, b), math.hypot(d, e)
        rotation = math.degrees(-math.atan2(-b, a))
    items = [system[0], "1", "1", *(_number(v) for v in (c, f, x_size, y_size)), *system[1:]]
    if rotation is not None:
        items.append(f"rotation={_number(rotation)}")
    text = ", ".join(items)
    back = _grid([field.strip() for field in text.split(",")])
    if back is None:
        return None
    size = max(abs(a), abs(b), abs(d), abs(e))
    close = all(abs(p - q) <= _TOLERANCE * size for p, q in zip(back[:2] + back[3:5], (a, b, d, e)))
    close = close and all(
        abs(p - q) <= _TOLERANCE * size + 1e-12 * abs(q) for p, q in zip(back[2::3], (c, f))
    )
    return text if close else None
