"""What a calibration computes: the quantity, the sensor's bands and the product level."""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import CALIBRATION_QUANTITIES as QUANTITIES
from ..errors import UsageError

__all__ = ["CalibrationOptions"]


@dataclass(frozen=True)
class CalibrationOptions:
    """The request of a calibration.

    Attributes
    ----------
    to : str
        ``reflectance`` (unitless, 0-1 for most surfaces) or ``radiance``.
    bands : tuple of int, optional
        The sensor's band numbers (1-based, as the metadata file numbers them: Landsat 8 band
        2 is blue), in the order the mix reads and writes them. None: the default of the
        sensor and quantity (see :func:`chanmix.calibration.landsat.landsat_mix`).
    level : int
        1: Level-1 DN (top of atmosphere); 2: Level-2 surface reflectance DN.

    Raises
    ------
    UsageError
        Naming the attribute at fault: an unknown quantity or level, a band number below 1 or
        given twice.
    """

    to: str = "reflectance"
    bands: tuple[int, ...] | None = None
    level: int = 1

    def __post_init__(self) -> None:
        if self.to not in QUANTITIES:
            raise UsageError(f"to: expected one of {', '.join(QUANTITIES)}, not {self.to!r}", parameter="to")
        if self.level not in (1, 2):
            raise UsageError(f"level: expected 1 or 2, not {self.level!r}", parameter="level")
        if self.bands is not None:
            try:
                object.__setattr__(self, "bands", tuple(self.bands))
            except TypeError:
                raise UsageError(
                    f"bands: expected band numbers, not {self.bands!r}", parameter="bands"
                ) from None
            if not self.bands:
                raise UsageError("bands: no band given", parameter="bands")
            for band in self.bands:
                if isinstance(band, bool) or not isinstance(band, int) or band < 1:
                    raise UsageError(f"bands: {band!r} is not a band number (1, 2, ...)", parameter="bands")
                if self.bands.count(band) > 1:
                    raise UsageError(f"bands: band {band} is given twice", parameter="bands")
