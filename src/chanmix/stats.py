"""Per-band summary statistics of raw samples, as ``chanmix info`` reports them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["BandStats", "band_stats"]


@dataclass(frozen=True)
class BandStats:
    """Statistics of one band over its valid samples (not nodata, finite), in raw units."""

    valid: int
    min: float
    max: float
    mean: float
    std: float


def band_stats(blocks: Iterable[np.ndarray], nodata: float | None = None) -> list[BandStats]:
    """Min, max, mean and population standard deviation of each band of an image given as
    (h, W, C) row bands.

    A sample equal to ``nodata`` (compared in the band's dtype) or not finite does not count.
    Sums are accumulated in float64, each band's values centred on its first valid value so
    that large offsets lose no precision.
    """
    count = shift = total = squares = low = high = None
    for block in blocks:
        c = block.shape[-1]
        if count is None:
            count = np.zeros(c, dtype=np.int64)
            shift, total, squares = np.full(c, np.nan), np.zeros(c), np.zeros(c)
            low, high = np.full(c, np.inf), np.full(c, -np.inf)
        flat = block.reshape(-1, c)
        for b in range(c):
            v = flat[:, b]
            if v.dtype.kind == "f":
                v = v[np.isfinite(v)]
            if nodata is not None and not np.isnan(nodata):
                v = v[v != (v.dtype.type(nodata) if v.dtype.kind == "f" else nodata)]
            if v.size == 0:
                continue
            if np.isnan(shift[b]):
                shift[b] = float(v[0])
            d = v.astype(np.float64) - shift[b]
            count[b] += v.size
            with np.errstate(over="ignore", invalid="ignore"):  # values near float64's limit: inf
                total[b] += d.sum()
                squares[b] += np.dot(d, d)
            low[b] = min(low[b], float(v.min()))
            high[b] = max(high[b], float(v.max()))
    if count is None:
        return []
    result = []
    for b in range(len(count)):
        n = int(count[b])
        if n == 0:
            result.append(BandStats(0, np.nan, np.nan, np.nan, np.nan))
            continue
        mean_d = total[b] / n
        with np.errstate(over="ignore", invalid="ignore"):
            var = max(squares[b] / n - mean_d * mean_d, 0.0)
        result.append(BandStats(n, low[b], high[b], shift[b] + mean_d, float(np.sqrt(var))))
    return result
