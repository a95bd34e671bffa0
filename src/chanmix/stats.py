"""Per-band summary statistics of raw samples, as ``chanmix info`` reports them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .fit.moments import Moments
from .nodata import Nodata

__all__ = ["BandStats", "band_stats"]


@dataclass(frozen=True)
class BandStats:
    """Statistics of one band over its valid samples (not nodata, finite), in raw units."""

    valid: int
    min: float
    max: float
    mean: float
    std: float


def band_stats(blocks: Iterable[np.ndarray], nodata: Nodata | None = None) -> list[BandStats]:
    """Min, max, mean and population standard deviation of each band of an image given as
    (h, W, C) row bands.

    A sample equal to ``nodata`` (compared in the band's dtype; one value for every band, or
    C values, None for a band without) or not finite does not count.
    Mean and spread come from one :class:`~chanmix.fit.moments.Moments` per band (each band
    has its own valid samples), of the values minus the band's first valid value, so that
    large offsets lose no precision. A band whose values are too far apart for float64
    differences (near float64's limit) has a NaN or infinite mean and spread.
    """
    bands: list[_Band] = []
    for block in blocks:
        c = block.shape[-1]
        if not bands:
            bands = [_Band() for _ in range(c)]
        flat = block.reshape(-1, c)
        for b, band in enumerate(bands):
            band.add(_valid_samples(flat[:, b], nodata[b] if isinstance(nodata, tuple) else nodata))
    return [band.stats() for band in bands]


def _valid_samples(values: np.ndarray, nodata: float | None) -> np.ndarray:
    """The samples of one band that count: finite, and not equal to ``nodata`` (compared in the
    band's dtype; a NaN nodata is already left out as not finite)."""
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    if nodata is not None and not math.isnan(nodata):
        values = values[values != (values.dtype.type(nodata) if values.dtype.kind == "f" else nodata)]
    return values


class _Band:
    """The running statistics of one band."""

    def __init__(self) -> None:
        self.count = 0
        self.low, self.high = math.inf, -math.inf
        self.shift = math.nan  # the first valid value: the samples' origin in `moments`
        self.moments = Moments.empty(1)
        self.overflow = False  # a sample minus `shift` overflowed float64

    def add(self, values: np.ndarray) -> None:
        """Count the valid samples ``values`` (P,), all finite."""
        if values.size == 0:
            return
        if self.count == 0:
            self.shift = float(values[0])
        self.count += values.size
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))
        # Every difference to the shift is finite when the extreme ones are (rounding is monotonic).
        self.overflow = self.overflow or not (
            math.isfinite(self.high - self.shift) and math.isfinite(self.low - self.shift)
        )
        if self.overflow:
            return
        shifted = values.astype(np.float64)
        shifted -= self.shift
        with np.errstate(over="ignore", invalid="ignore"):  # sums beyond float64's limit: inf
            self.moments = self.moments + Moments.of(shifted[:, np.newaxis])

    def stats(self) -> BandStats:
        """The statistics of the samples added."""
        if self.count == 0:
            return BandStats(0, math.nan, math.nan, math.nan, math.nan)
        if self.overflow:
            return BandStats(self.count, self.low, self.high, math.nan, math.nan)
        with np.errstate(over="ignore", invalid="ignore"):
            mean = self.shift + float(self.moments.mean[0])
            std = float(np.sqrt(self.moments.scatter[0, 0] / self.count))
        return BandStats(self.count, self.low, self.high, mean, std)
