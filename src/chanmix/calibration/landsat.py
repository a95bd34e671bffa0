"""Landsat 8 and 9 (OLI/TIRS): DN to reflectance or radiance from an MTL file, as one Mix.

Each band ``n`` is rescaled on its own, so the mix is diagonal. With ``Q`` the DN [1]_ [2]_:

- TOA radiance (W / (m^2 sr um)): ``L = M * Q + A`` with ``RADIANCE_MULT_BAND_n`` and
  ``RADIANCE_ADD_BAND_n``;
- TOA reflectance (the default): ``rho = (M * Q + A) / sin(SUN_ELEVATION)`` with
  ``REFLECTANCE_MULT_BAND_n`` and ``REFLECTANCE_ADD_BAND_n`` (bands 1-9; the thermal bands 10
  and 11 have none), corrected with the sun elevation at the scene centre;
- Level-2 surface reflectance (``level=2``): ``M * Q + A`` (2.75e-05 and -0.2 in every
  Collection 2 file) from ``LEVEL2_SURFACE_REFLECTANCE_PARAMETERS``, bands 1-7.

chanmix reads a uint16 sample ``Q`` as ``x = Q / 65535``, so the mix has weight ``65535 * M``
(divided by the sine for TOA reflectance) and bias ``A`` (likewise). Its outputs leave 0..1
(negative offsets, radiances in the hundreds), so apply it with a float output type.

Where the keys are (the two layouts differ in group names, not in key names):

====================  =====================================  ===========================================
what                  Collection 1 (``L1_METADATA_FILE``)    Collection 2 (``LANDSAT_METADATA_FILE``)
====================  =====================================  ===========================================
scene, product id     METADATA_FILE_INFO                     LEVEL1_PROCESSING_RECORD, PRODUCT_CONTENTS
spacecraft            PRODUCT_METADATA                       IMAGE_ATTRIBUTES
sun elevation         IMAGE_ATTRIBUTES                       IMAGE_ATTRIBUTES
Level-1 rescaling     RADIOMETRIC_RESCALING                  LEVEL1_RADIOMETRIC_RESCALING
Level-2 rescaling     (none)                                 LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
====================  =====================================  ===========================================

The Collection 1 layout is also that of the pre-collection files of 2013-2017 (such as scene
LC80200392015216LGN00, whose MTL file the sample images copy).

References
----------
.. [1] USGS, "Using the USGS Landsat Level-1 Data Product",
   https://www.usgs.gov/landsat-missions/using-usgs-landsat-level-1-data-product
   (equations for TOA radiance and sun-elevation-corrected TOA reflectance).
.. [2] USGS, "How do I use a scale factor with Landsat Level-2 science products?",
   https://www.usgs.gov/faqs/how-do-i-use-a-scale-factor-landsat-level-2-science-products
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..mix import Mix
from .metadata import Groups
from .options import CalibrationOptions

__all__ = ["DN_MAX", "ROOTS", "landsat_mix"]

#: The DN that chanmix's normalized 1.0 stands for: Landsat products are uint16.
DN_MAX = 65535
#: Band numbers of OLI (1-9) and TIRS (10, 11).
SENSOR_BANDS = range(1, 12)
REFLECTIVE_BANDS = tuple(range(1, 10))
SURFACE_REFLECTANCE_BANDS = tuple(range(1, 8))
_SPACECRAFT = ("LANDSAT_8", "LANDSAT_9")


@dataclass(frozen=True)
class _Layout:
    """Where one MTL layout keeps what a calibration reads: ``(group, key)`` pairs."""

    name: str
    ids: tuple[tuple[str, str], ...]
    spacecraft: tuple[str, str]
    sun_elevation: tuple[str, str]
    level1: str
    level2: str | None


_LAYOUTS = {
    "L1_METADATA_FILE": _Layout(
        "Collection 1 (L1_METADATA_FILE)",
        ids=(("METADATA_FILE_INFO", "LANDSAT_SCENE_ID"), ("METADATA_FILE_INFO", "LANDSAT_PRODUCT_ID")),
        spacecraft=("PRODUCT_METADATA", "SPACECRAFT_ID"),
        sun_elevation=("IMAGE_ATTRIBUTES", "SUN_ELEVATION"),
        level1="RADIOMETRIC_RESCALING",
        level2=None,
    ),
    "LANDSAT_METADATA_FILE": _Layout(
        "Collection 2 (LANDSAT_METADATA_FILE)",
        ids=(("LEVEL1_PROCESSING_RECORD", "LANDSAT_SCENE_ID"), ("PRODUCT_CONTENTS", "LANDSAT_PRODUCT_ID")),
        spacecraft=("IMAGE_ATTRIBUTES", "SPACECRAFT_ID"),
        sun_elevation=("IMAGE_ATTRIBUTES", "SUN_ELEVATION"),
        level1="LEVEL1_RADIOMETRIC_RESCALING",
        level2="LEVEL2_SURFACE_REFLECTANCE_PARAMETERS",
    ),
}
#: The outermost group (ODL) or root element (XML) of a Landsat MTL file.
ROOTS = tuple(_LAYOUTS)


def landsat_mix(groups: Groups, options: CalibrationOptions) -> Mix:
    """The diagonal mix calibrating Landsat 8/9 DN as `options` asks, from an MTL file's keys.

    Parameters
    ----------
    groups : Groups
        The MTL file, Collection 1 or 2, ODL or XML (see :mod:`chanmix.calibration.metadata`).
    options : CalibrationOptions
        ``to`` reflectance or radiance; ``level`` 1 (TOA, also when None) or 2 (surface
        reflectance); ``bands``: the sensor's band numbers (or names ``B2``), by default 1-9
        for TOA reflectance, every band with radiance coefficients (1-11) for radiance, 1-7
        for surface reflectance.

    Returns
    -------
    Mix
        N inputs -> N outputs named ``B<n>``, weights ``(N, N)`` diagonal, in normalized units
        (input ``DN / 65535``). Its provenance records the MTL file's name, the scene and
        product identifiers, the spacecraft, the sun elevation used and, for each output, the
        MTL keys (``GROUP/KEY``) it was computed from with their values.

    Raises
    ------
    UsageError
        Naming the argument at fault (``bands``, ``level``, ``to``): a band the sensor or the
        product does not have (the thermal bands for reflectance), level 2 of a file without
        Level-2 parameters, or radiance at level 2.
    DataError
        Naming the file and the key: not a Landsat 8/9 MTL file, a key missing or not a
        finite number, the sun below the horizon.
    """
    origin = groups.origin
    if options.level is None:
        options = replace(options, level=1)
    layout = _LAYOUTS.get(groups.root)
    if layout is None:
        raise DataError(
            f"{origin}: not a Landsat MTL file (its outermost group is {groups.root[:40]}, "
            f"not {' or '.join(ROOTS)})"
        )
    spacecraft = groups.text(*layout.spacecraft)
    if spacecraft not in _SPACECRAFT:
        raise DataError(
            f"{origin}: SPACECRAFT_ID is {spacecraft[:40]!r}; chanmix calibrates Landsat 8 and 9 (OLI/TIRS)"
        )
    ids = {key.lower(): groups.text(group, key) for group, key in layout.ids if groups.has(group, key)}
    if not ids:
        groups.text(*layout.ids[0])  # raises, naming the key
    group, prefix, default, sun = _source(groups, layout, options)
    bands = _check_bands(options.bands, default, groups, group, prefix, options)
    divisor = 1.0 if sun is None else math.sin(math.radians(sun))
    weights, bias, keys = [], [], {}
    for band in bands:
        mult_key, add_key = f"{prefix}_MULT_BAND_{band}", f"{prefix}_ADD_BAND_{band}"
        mult, add = groups.number(group, mult_key), groups.number(group, add_key)
        weight = DN_MAX * mult / divisor
        if not math.isfinite(weight) or not math.isfinite(add / divisor):
            raise DataError(f"{origin}: {mult_key} = {mult:g} and {add_key} = {add:g} overflow")
        weights.append(weight)
        bias.append(add / divisor)
        keys[f"B{band}"] = {f"{group}/{mult_key}": mult, f"{group}/{add_key}": add}
    provenance: dict[str, Any] = {
        "name": f"landsat-{_quantity(options)}".replace(" ", "-").lower(),
        "description": _description(spacecraft, options),
        "mtl": PurePath(origin).name,
        "mtl_format": layout.name,
        "spacecraft": spacecraft,
        **ids,
    }
    if sun is not None:
        provenance["sun_elevation"] = sun
        provenance["sun_elevation_key"] = "/".join(layout.sun_elevation)
    provenance["mtl_keys"] = keys
    return Mix(np.diag(weights), bias, names=[f"B{band}" for band in bands], provenance=provenance)


def _source(
    groups: Groups, layout: _Layout, options: CalibrationOptions
) -> tuple[str, str, tuple[int, ...], float | None]:
    """The group and key prefix to read, the default bands and the sun elevation (degrees; None
    when the quantity does not use it)."""
    origin = groups.origin
    if options.level == 2:
        if options.to != "reflectance":
            raise UsageError(
                "to: level 2 is surface reflectance; radiance is a level 1 quantity", parameter="to"
            )
        if layout.level2 is None:
            raise UsageError(
                f"level: {origin} is a {layout.name} MTL file, which holds no Level-2 surface "
                "reflectance parameters (Collection 2 Level-2 MTL files do)",
                parameter="level",
            )
        if layout.level2 not in groups.groups:
            raise UsageError(
                f"level: {origin} has no {layout.level2} group: it describes a Level-1 product",
                parameter="level",
            )
        return layout.level2, "REFLECTANCE", SURFACE_REFLECTANCE_BANDS, None
    if options.to == "radiance":
        found = re.compile(r"RADIANCE_MULT_BAND_(\d{1,2})")
        listed = (found.fullmatch(key) for key in groups.groups.get(layout.level1, {}))
        numbers = sorted({int(m.group(1)) for m in listed if m} & set(SENSOR_BANDS))
        if not numbers:
            raise DataError(f"{origin}: no RADIANCE_MULT_BAND_n in group {layout.level1}")
        return layout.level1, "RADIANCE", tuple(numbers), None
    elevation = groups.number(*layout.sun_elevation)
    if not 0 < elevation <= 90:
        raise DataError(
            f"{origin}: SUN_ELEVATION = {elevation:g} in group {layout.sun_elevation[0]}: with the "
            "sun at or below the horizon there is no TOA reflectance (calibrate to radiance)"
        )
    return layout.level1, "REFLECTANCE", REFLECTIVE_BANDS, elevation


def _check_bands(
    bands: tuple[int | str, ...] | None,
    default: tuple[int, ...],
    groups: Groups,
    group: str,
    prefix: str,
    options: CalibrationOptions,
) -> tuple[int, ...]:
    """The band numbers to calibrate (`default` when `bands` is None); UsageError for a band the
    sensor, or this product and quantity, does not have."""
    if bands is None:
        return default
    numbers = []
    for band in bands:
        if not isinstance(band, int) or band not in SENSOR_BANDS:
            raise UsageError(f"bands: Landsat 8 and 9 have bands 1 to 11, not {band}", parameter="bands")
        numbers.append(band)
        if band in default or groups.has(group, f"{prefix}_MULT_BAND_{band}"):
            continue
        if options.level == 2:
            raise UsageError(
                f"bands: Level-2 surface reflectance has bands 1 to 7, not {band}", parameter="bands"
            )
        if options.to == "reflectance":
            raise UsageError(
                f"bands: band {band} is a thermal band, with radiance coefficients but no reflectance "
                "coefficients (calibrate it to radiance)",
                parameter="bands",
            )
    return tuple(numbers)


def _quantity(options: CalibrationOptions) -> str:
    if options.level == 2:
        return "surface reflectance"
    return "TOA reflectance" if options.to == "reflectance" else "TOA radiance"


def _description(spacecraft: str, options: CalibrationOptions) -> str:
    formula = "M * DN + A"
    if options.level == 1 and options.to == "reflectance":
        formula = "(M * DN + A) / sin(sun elevation)"
    units = " in W/(m2 sr um)" if options.to == "radiance" else ""
    return (
        f"{spacecraft.replace('_', ' ').title()} DN to {_quantity(options)}{units}: {formula}, "
        f"DN = {DN_MAX} * input (uint16 samples); write float output"
    )
