"""What a calibration computes: the quantity, the sensor's bands and the product level."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..choices import CALIBRATION_QUANTITIES as QUANTITIES
from ..errors import UsageError

__all__ = ["CalibrationOptions", "band_item"]

#: A band name: ``B2``, ``B02``, ``2``, ``B8A``, ``8a``.
_NAME = re.compile(r"[Bb]?0*([1-9][0-9]?)([Aa]?)")


def band_item(item: object) -> int | str:
    """A band as :class:`CalibrationOptions` keeps it: its number (``B02`` -> 2), or its number
    and letter when it has one (``b8a`` -> ``"8A"``).

    Raises
    ------
    UsageError
        Naming ``bands``: not a band number from 1 or a band name.
    """
    if isinstance(item, int) and not isinstance(item, bool) and item >= 1:
        return item
    match = _NAME.fullmatch(item.strip()) if isinstance(item, str) else None
    if match is None:
        raise UsageError(
            f"bands: {item!r} is not a band number (1, 2, ...) or name (B2, B8A)", parameter="bands"
        )
    number, letter = int(match.group(1)), match.group(2).upper()
    return f"{number}{letter}" if letter else number


@dataclass(frozen=True)
class CalibrationOptions:
    """The request of a calibration.

    Attributes
    ----------
    to : str
        ``reflectance`` (unitless, 0-1 for most surfaces) or ``radiance``.
    bands : tuple of int or str, optional
        The sensor's bands, in the order the mix reads and writes them: band numbers (1-based,
        as the sensor numbers them: Landsat 8 band 2 is blue, Sentinel-2 band 2 is B2) or names
        (``"B2"``, ``"B02"``, ``"8A"``, ``"B8A"``), kept as numbers (``2``) and, for a band
        with a letter, text (``"8A"``). None: the default of the sensor and quantity (see
        :func:`~chanmix.calibration.landsat.landsat_mix`,
        :func:`~chanmix.calibration.sentinel2.sentinel2_mix`).
    level : int, optional
        1: Level-1 DN (top of atmosphere); 2: Level-2 surface reflectance DN. None (the
        default): 1 for Landsat; the product's own level for Sentinel-2, whose metadata
        files say it (another level given is refused).

    Raises
    ------
    UsageError
        Naming the attribute at fault: an unknown quantity or level, a band that is not a
        number from 1 or a band name, or a band given twice.
    """

    to: str = "reflectance"
    bands: tuple[int | str, ...] | None = None
    level: int | None = None

    def __post_init__(self) -> None:
        if self.to not in QUANTITIES:
            raise UsageError(f"to: expected one of {', '.join(QUANTITIES)}, not {self.to!r}", parameter="to")
        if self.level is not None and (isinstance(self.level, bool) or self.level not in (1, 2)):
            raise UsageError(f"level: expected 1 or 2, not {self.level!r}", parameter="level")
        if isinstance(self.bands, str):
            raise UsageError(
                f"bands: expected a sequence of bands such as (2, 3, '8A'), not {self.bands!r}",
                parameter="bands",
            )
        if self.bands is not None:
            try:
                object.__setattr__(self, "bands", tuple(self.bands))
            except TypeError:
                raise UsageError(
                    f"bands: expected band numbers, not {self.bands!r}", parameter="bands"
                ) from None
            if not self.bands:
                raise UsageError("bands: no band given", parameter="bands")
            object.__setattr__(self, "bands", tuple(band_item(band) for band in self.bands))
            for band in self.bands:
                if self.bands.count(band) > 1:
                    raise UsageError(f"bands: band {band} is given twice", parameter="bands")
