"""Band wavelengths and widths in nanometres, from an ENVI header's lists and their units.

``wavelength units`` may be a length (Nanometers, nm, Micrometers, um, Microns,
Millimeters, Centimeters, Meters, Angstroms, in any case) or Wavenumber (cm^-1: a centre
``v`` is ``1e7 / v`` nm). Other units (Unknown, Index, GHz...) or none leave the values
unknown, as nothing says what they measure.
"""

from __future__ import annotations

import math

__all__ = ["spectral_values"]

#: ``wavelength units`` (lower case) -> nanometres per unit.
_LENGTH_UNITS = {
    **dict.fromkeys(("nanometers", "nanometer", "nanometres", "nanometre", "nm"), 1.0),
    **dict.fromkeys(
        ("micrometers", "micrometer", "micrometres", "micrometre", "microns", "micron", "um"), 1e3
    ),
    "\u00b5m": 1e3,
    **dict.fromkeys(("millimeters", "millimeter", "millimetres", "millimetre", "mm"), 1e6),
    **dict.fromkeys(("centimeters", "centimeter", "centimetres", "centimetre", "cm"), 1e7),
    **dict.fromkeys(("meters", "meter", "metres", "metre", "m"), 1e9),
    **dict.fromkeys(("angstroms", "angstrom"), 0.1),
}
_WAVENUMBER = "wavenumber"  # cm^-1: centre 1e7 / v nm


def spectral_values(
    items: list[str], units: str | None, bands: int, *, centres: list[str] | None = None
) -> tuple[float, ...] | None:
    """Per-band wavelengths (or widths) in nanometres from an ENVI list and its units.

    Parameters
    ----------
    items : list of str
        The items of a ``wavelength`` (or ``fwhm``) list.
    units : str or None
        ``wavelength units``: a length (Nanometers, nm, Micrometers, um, Microns,
        Millimeters, ... in any case) or Wavenumber (cm^-1). Without units, or with others
        (Unknown, Index, GHz), the values cannot be put in nanometres: None.
    bands : int
        Band count: a shorter list leaves the last bands unknown (NaN), a longer one is cut.
    centres : list of str, optional
        For an ``fwhm``: the ``wavelength`` items, whose centres convert widths given in
        wavenumbers (``1e7 * fwhm / v**2`` nm, to first order).

    Returns
    -------
    tuple of `bands` float, or None
        NaN where an item is not a positive finite number; None when no band has one.
    """
    key = " ".join((units or "").split()).lower()
    items = items[:bands]
    raw = [_positive(item) for item in items] + [math.nan] * (bands - len(items))
    if key in _LENGTH_UNITS:
        values = [_tidy(v * _LENGTH_UNITS[key]) for v in raw]
    elif key == _WAVENUMBER and centres is None:
        values = [_tidy(1e7 / v) for v in raw]
    elif key == _WAVENUMBER:
        numbers = [_positive(item) for item in (centres or [])[:bands]]
        numbers += [math.nan] * (bands - len(numbers))
        values = [_tidy(1e7 * v / c**2) for v, c in zip(raw, numbers)]
    else:
        return None
    return tuple(values) if any(math.isfinite(v) for v in values) else None


def _positive(item: str) -> float:
    try:
        value = float(item)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) and value > 0 else math.nan


def _tidy(value: float) -> float:
    """A converted value without the binary noise of the conversion (0.865 um is 865 nm,
    not 864.9999999999999): 12 significant digits."""
    return float(f"{value:.12g}") if math.isfinite(value) else math.nan
