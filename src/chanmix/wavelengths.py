"""Wavelengths as files and users write them, in nanometres.

Band centre wavelengths are kept in nanometres (:attr:`chanmix.io.RasterInfo.wavelengths`).
Files state them in many units: GDAL's ``wavelength_units`` item carries the ENVI header's
``wavelength units`` (``Micrometers``, ``nm``, ...), and its ``CENTRAL_WAVELENGTH_UM`` items
are in micrometres. This module turns a number and its unit into nanometres, exactly for
decimal text (``0.865`` um is 865.0 nm, not 865.0000000000001).

No NumPy here: the command line parses ``--bands 865nm`` before any numerical module loads.
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = ["NM_PER_UNIT", "nanometres"]

_NANO, _MICRO, _MILLI = Decimal(1), Decimal(1000), Decimal(1000000)

#: Lower-case unit name -> nanometres per unit: the length units of ENVI's ``wavelength
#: units`` (its others, Wavenumber, GHz, MHz, Index and Unknown, are not lengths), their
#: singular and British spellings, and the micro sign (U+00B5) and Greek mu (U+03BC).
NM_PER_UNIT: dict[str, Decimal] = {
    **dict.fromkeys(("nm", "nanometer", "nanometers", "nanometre", "nanometres"), _NANO),
    **dict.fromkeys(("um", "\u00b5m", "\u03bcm", "micron", "microns"), _MICRO),
    **dict.fromkeys(("micrometer", "micrometers", "micrometre", "micrometres"), _MICRO),
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"), _MILLI),
    **dict.fromkeys(("cm", "centimeter", "centimeters", "centimetre", "centimetres"), Decimal(10) * _MILLI),
    **dict.fromkeys(("m", "meter", "meters", "metre", "metres"), _MILLI * _MILLI),
    **dict.fromkeys(("angstrom", "angstroms", "\u00e5", "\u212b"), Decimal("0.1")),
}


def nanometres(value: str, unit: str) -> float | None:
    """A wavelength in nanometres, from its text and its unit's name.

    Parameters
    ----------
    value : str
        A decimal number: ``"865"``, ``"0.865"``, ``"4.43e+02"``.
    unit : str
        A name in :data:`NM_PER_UNIT`, in any case, surrounding spaces ignored.

    Returns
    -------
    float or None
        The wavelength in nm; None when the unit is not a length, or the value is not a
        positive finite number.
    """
    factor = NM_PER_UNIT.get(unit.strip().lower())
    if factor is None:
        return None
    try:
        number = Decimal(value.strip())
        nm = float(number * factor) if number.is_finite() else math.nan
    except ArithmeticError:  # InvalidOperation: not a number; Overflow: past Decimal's range
        return None
    return nm if math.isfinite(nm) and nm > 0 else None
