"""Nodata values: one value for every band of an image, or one per band.

A file records one nodata value (GDAL_NODATA) for all its bands: a float, NaN allowed. An image
stacked from several files (``--stack``) may hold a different value in each band: a
:data:`BandNodata` tuple, one entry per band, None for a band that has none. Either way a pixel
is nodata when any of its bands holds that band's value (:func:`chanmix.kernel.nodata_mask`).

A tuple is only used where the bands differ: :func:`uniform` turns values that agree into the
one float (or None), so that an image whose bands share a value takes the one-value path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import UsageError

__all__ = ["BandNodata", "Nodata", "check_nodata", "recorded_nodata", "select_nodata", "uniform"]

#: One nodata value per band, None for a band without one.
BandNodata = tuple[float | None, ...]
#: A nodata value for every band, or one per band.
Nodata = float | BandNodata


def _same(a: float | None, b: float | None) -> bool:
    """Whether two bands' nodata values are one value (NaN equals NaN, None equals None)."""
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


def uniform(values: Sequence[float | None]) -> Nodata | None:
    """The nodata of bands whose values are `values`: the one value when they all agree
    (None when no band has one), else the tuple of them."""
    if not values or all(_same(v, values[0]) for v in values):
        return values[0] if values else None
    return tuple(values)


def select_nodata(nodata: Nodata | None, channels: Sequence[int]) -> Nodata | None:
    """The nodata of the 0-based bands `channels` of an image whose nodata is `nodata`: a
    float (or None) holds for any bands; a tuple is taken at `channels` (see :func:`uniform`)."""
    if not isinstance(nodata, tuple):
        return nodata
    return uniform([nodata[c] for c in channels])


def recorded_nodata(nodata: Nodata | None) -> float | None:
    """The one value a file records for `nodata` (its GDAL_NODATA): the value itself, or, per
    band, the first band's value that is not None."""
    if not isinstance(nodata, tuple):
        return nodata
    return next((v for v in nodata if v is not None), None)


def check_nodata(nodata: Nodata | None, n_bands: int) -> None:
    """Refuse a per-band `nodata` that does not hold one value for each of `n_bands` bands.

    Raises
    ------
    UsageError
        Naming ``nodata``.
    """
    if isinstance(nodata, tuple) and len(nodata) != n_bands:
        raise UsageError(
            f"nodata: {len(nodata)} values, one per band, for {n_bands} band{'s' * (n_bands != 1)}",
            parameter="nodata",
        )
