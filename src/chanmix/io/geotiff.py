"""GeoTIFF and GDAL private tags: read them from an input, write them to an output.

- GeoTIFF tags (georeferencing) are carried byte for byte; the CRS and affine transform are
  decoded from them only to describe the input (:class:`~chanmix.io.raster.GeoInfo`).
- GDAL_METADATA (42112) is XML; its band DESCRIPTION items are band names, and its band
  ``wavelength`` / ``wavelength_units`` or ``CENTRAL_WAVELENGTH_UM`` items centre
  wavelengths. Outputs get the input's dataset-level items plus one DESCRIPTION per output
  band.
- GDAL_NODATA (42113) is the nodata value as ASCII text, ``"nan"`` for NaN.

References
----------
.. [1] OGC GeoTIFF Standard 1.1 (OGC 19-008r4), sections 7.1 (GeoKeyDirectory) and 7.2
   (raster space, PixelIsArea / PixelIsPoint).
.. [2] GDAL GTiff driver, "Metadata" and "Nodata value":
   https://gdal.org/en/stable/drivers/raster/gtiff.html
.. [3] GDAL raster data model, "IMAGERY Domain" (band items ``CENTRAL_WAVELENGTH_UM``,
   ``FWHM_UM``, GDAL 3.10): https://gdal.org/en/stable/user/raster_data_model.html
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..wavelengths import nanometres
from .raster import GeoInfo

__all__ = [
    "GDAL_METADATA",
    "GDAL_NODATA",
    "GEO_TAG_CODES",
    "band_descriptions",
    "band_wavelengths",
    "format_nodata",
    "gdal_metadata_xml",
    "geo_info",
    "geokeys",
    "parse_nodata",
]

MODEL_PIXEL_SCALE, MODEL_TIEPOINT, MODEL_TRANSFORMATION = 33550, 33922, 34264
GEO_KEY_DIRECTORY, GEO_DOUBLE_PARAMS, GEO_ASCII_PARAMS = 34735, 34736, 34737
#: The GeoTIFF tags carried from input to output, in tag order.
GEO_TAG_CODES = (
    MODEL_PIXEL_SCALE,
    MODEL_TIEPOINT,
    MODEL_TRANSFORMATION,
    GEO_KEY_DIRECTORY,
    GEO_DOUBLE_PARAMS,
    GEO_ASCII_PARAMS,
)
GDAL_METADATA, GDAL_NODATA = 42112, 42113

_ASCII = 2  # TIFF datatype of ASCII tags
_RATIONALS = (5, 10)  # RATIONAL, SRATIONAL
_USER_DEFINED = 32767
# GeoKey ids (OGC 19-008r4, annex B)
_MODEL_TYPE, _RASTER_TYPE, _GT_CITATION = 1024, 1025, 1026
_GEOGRAPHIC_TYPE, _GEOG_CITATION = 2048, 2049
_PROJECTED_TYPE, _PCS_CITATION = 3072, 3073
_PIXEL_IS_POINT = 2


def geo_info(tags: Mapping[int, tuple[int, Any]]) -> GeoInfo | None:
    """Collect the GeoTIFF tags of a TIFF page and decode its CRS and transform.

    Parameters
    ----------
    tags : mapping of int to (int, object)
        Tag code to ``(TIFF datatype, value)`` for the page's tags (ASCII values as str).

    Returns
    -------
    GeoInfo or None
        None when the page has none of :data:`GEO_TAG_CODES`.
    """
    carried = []
    for code in GEO_TAG_CODES:
        if code in tags:
            datatype, value = tags[code]
            if datatype == _ASCII:
                value = value.encode("utf-8") if isinstance(value, str) else bytes(value)
                count = len(value) + 1
            elif isinstance(value, (bytes, bytearray)):  # BYTE or UNDEFINED in a damaged file
                value = bytes(value)
                count = len(value)
            else:
                # as read: NumPy would turn integers past int64 into floats
                value = tuple(value) if isinstance(value, (tuple, list)) else tuple(np.ravel(value).tolist())
                # tifffile gives a RATIONAL as two integers (numerator, denominator)
                count = len(value) // 2 if datatype in _RATIONALS else len(value)
            carried.append((code, datatype, count, value, True))
    if not carried:
        return None
    keys = geokeys(tags)
    return GeoInfo(tags=tuple(carried), crs=_crs(keys), transform=_transform(tags, keys))


def geokeys(tags: Mapping[int, tuple[int, Any]]) -> dict[int, Any]:
    """Decode the GeoKeyDirectory into ``{key id: value}`` (int, float, tuple or str)."""
    if GEO_KEY_DIRECTORY not in tags:
        return {}
    directory = [int(v) for v in np.asarray(tags[GEO_KEY_DIRECTORY][1]).ravel()]
    doubles = [float(v) for v in np.asarray(tags.get(GEO_DOUBLE_PARAMS, (0, ()))[1]).ravel()]
    text = tags.get(GEO_ASCII_PARAMS, (_ASCII, ""))[1]
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    keys: dict[int, Any] = {}
    count = directory[3] if len(directory) >= 4 else 0
    for i in range(count):
        entry = directory[4 + 4 * i : 8 + 4 * i]
        if len(entry) < 4:
            break
        key, location, n, offset = entry
        if location == 0:
            keys[key] = offset
        elif location == GEO_DOUBLE_PARAMS:
            values = doubles[offset : offset + n]
            keys[key] = values[0] if n == 1 and values else tuple(values)
        elif location == GEO_ASCII_PARAMS:
            keys[key] = text[offset : offset + n].rstrip("|\x00").strip()
    return keys


def _crs(keys: Mapping[int, Any]) -> str | None:
    """The CRS as ``"EPSG:n"``, or the citation of a user-defined system, or None."""
    model = keys.get(_MODEL_TYPE)
    projected = keys.get(_PROJECTED_TYPE)
    geographic = keys.get(_GEOGRAPHIC_TYPE)
    if isinstance(projected, int) and 0 < projected < _USER_DEFINED:
        return f"EPSG:{projected}"
    if projected == _USER_DEFINED or model == 1:
        return _citation(keys, _PCS_CITATION, _GT_CITATION)
    if isinstance(geographic, int) and 0 < geographic < _USER_DEFINED:
        return f"EPSG:{geographic}"
    return _citation(keys, _GEOG_CITATION, _GT_CITATION)


def _citation(keys: Mapping[int, Any], *ids: int) -> str | None:
    for key in ids:
        value = keys.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _transform(
    tags: Mapping[int, tuple[int, Any]], keys: Mapping[int, Any]
) -> tuple[float, float, float, float, float, float] | None:
    """GDAL's geotransform from ModelTransformation, or ModelPixelScale + one ModelTiepoint."""
    if MODEL_TRANSFORMATION in tags:
        m = [float(v) for v in np.asarray(tags[MODEL_TRANSFORMATION][1]).ravel()]
        if len(m) < 8:
            return None
        a, b, c, d, e, f = m[0], m[1], m[3], m[4], m[5], m[7]
    elif MODEL_PIXEL_SCALE in tags and MODEL_TIEPOINT in tags:
        scale = [float(v) for v in np.asarray(tags[MODEL_PIXEL_SCALE][1]).ravel()]
        tie = [float(v) for v in np.asarray(tags[MODEL_TIEPOINT][1]).ravel()]
        if len(scale) < 2 or len(tie) != 6:
            return None  # several tiepoints are ground control points, not a transform
        i, j, _, x, y, _ = tie
        a, b, d, e = scale[0], 0.0, 0.0, -scale[1]
        c, f = x - i * a, y - j * e
    else:
        return None
    if keys.get(_RASTER_TYPE) == _PIXEL_IS_POINT:
        # the tiepoint names a pixel centre: move the origin to the corner, as GDAL does
        c -= 0.5 * (a + b)
        f -= 0.5 * (d + e)
    return (a, b, c, d, e, f)


def band_descriptions(xml: str | None, bands: int) -> tuple[str, ...] | None:
    """Band names from GDAL_METADATA ``<Item name="DESCRIPTION" sample="i">`` items.

    Parameters
    ----------
    xml : str or None
        The GDAL_METADATA tag value.
    bands : int
        Number of bands of the image.

    Returns
    -------
    tuple of `bands` str, or None
        ``''`` for bands without a description; None when no band has one or the XML is
        malformed.
    """
    root = _parse(xml)
    if root is None:
        return None
    names = [""] * bands
    for item in root.iter("Item"):
        band = _band(item, bands)
        if item.get("name") == "DESCRIPTION" and band is not None:
            names[band] = (item.text or "").strip()
    return tuple(names) if any(names) else None


def band_wavelengths(xml: str | None, bands: int) -> tuple[float, ...] | None:
    """Band centre wavelengths in nanometres from GDAL_METADATA band items.

    For each band (``sample="i"``), the first of:

    1. ``wavelength`` with ``wavelength_units`` (or ``wavelength_unit``), names in any case:
       what GDAL's ENVI driver sets from the header, what ``rasterio``'s
       ``update_tags(bidx, wavelength=..., wavelength_units=...)`` writes, and, as
       ``WAVELENGTH`` / ``WAVELENGTH_UNIT``, what its Sentinel-2 driver sets. The units are
       the length units of :data:`~chanmix.wavelengths.NM_PER_UNIT`; a wavelength without
       units is not guessed at.
    2. ``CENTRAL_WAVELENGTH_UM`` of the ``IMAGERY`` domain (GDAL 3.10 [3]_), then of the
       default domain, in micrometres. It comes second because GDAL writes it rounded to
       the nanometre (``%.3f``) from the ENVI header's values.

    Parameters
    ----------
    xml : str or None
        The GDAL_METADATA tag value.
    bands : int
        Number of bands of the image.

    Returns
    -------
    tuple of `bands` float, or None
        NaN for bands without a wavelength; None when no band has one or the XML is malformed.
    """
    root = _parse(xml)
    if root is None:
        return None
    items: list[dict[tuple[str, str], str]] = [{} for _ in range(bands)]
    for item in root.iter("Item"):
        band = _band(item, bands)
        if band is not None:
            key = (item.get("domain", "").upper(), item.get("name", "").lower())
            items[band][key] = (item.text or "").strip()
    wavelengths = tuple(_wavelength(band) for band in items)
    return wavelengths if any(not math.isnan(w) for w in wavelengths) else None


def _band(item: ET.Element, bands: int) -> int | None:
    """The 0-based band of a per-band item (its ``sample``), None for a dataset-level item and
    for a ``sample`` that is not a band of the image."""
    sample = item.get("sample", "")
    if sample.isascii() and sample.isdigit() and int(sample) < bands:
        return int(sample)
    return None


def _wavelength(items: Mapping[tuple[str, str], str]) -> float:
    """One band's centre wavelength in nm from its items ``{(domain, name): text}``, or NaN."""
    unit = items.get(("", "wavelength_units"), items.get(("", "wavelength_unit")))
    candidates = [(items.get(("", "wavelength")), unit)]
    candidates += [(items.get((domain, "central_wavelength_um")), "um") for domain in ("IMAGERY", "")]
    for value, value_unit in candidates:
        nm = None if value is None or value_unit is None else nanometres(value, value_unit)
        if nm is not None:
            return nm
    return math.nan


def gdal_metadata_xml(source: str | None, band_names: Sequence[str] | None) -> str | None:
    """GDAL_METADATA for an output: the source's dataset-level items, then band names.

    Parameters
    ----------
    source : str or None
        The input's GDAL_METADATA. Its items without a ``sample`` attribute are kept; per-band
        items (statistics, scale, offset, descriptions) are dropped, as the bands are new.
    band_names : sequence of str or None
        One name per output band; empty names are skipped.

    Returns
    -------
    str or None
        ``<GDALMetadata>...</GDALMetadata>``, or None when there is nothing to write.
    """
    root = ET.Element("GDALMetadata")
    parsed = _parse(source)
    if parsed is not None:
        root.extend(item for item in parsed.findall("Item") if "sample" not in item.attrib)
    for index, name in enumerate(band_names or ()):
        if name:
            attrib = {"name": "DESCRIPTION", "sample": str(index), "role": "description"}
            ET.SubElement(root, "Item", attrib).text = name
    if len(root) == 0:
        return None
    return ET.tostring(root, encoding="unicode")


def _parse(xml: str | None) -> ET.Element | None:
    if not xml:
        return None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    return root if root.tag == "GDALMetadata" else None


def parse_nodata(text: str | None, dtype: np.dtype) -> float | None:
    """Parse a GDAL_NODATA value for bands of `dtype`.

    Parameters
    ----------
    text : str or None
        The tag value, e.g. ``"0"``, ``"nan"``, ``"-3.39999999999999996e+38"``.
    dtype : numpy.dtype
        Band sample type. A float32 band's value is rounded to float32, as GDAL reports it,
        so that it equals the samples written with it.

    Returns
    -------
    float or None
        None when there is no tag or it is not a number.
    """
    if text is None:
        return None
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        return None
    if dtype == np.float32 and abs(value) <= float(np.finfo(np.float32).max):
        value = float(np.float32(value))
    return value


def format_nodata(value: float) -> str:
    """GDAL_NODATA text for `value`: ``"nan"``, ``"inf"``, ``"-inf"``, an integer or a float."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value))
