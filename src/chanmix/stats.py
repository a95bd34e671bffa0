"""Per-band summary statistics of raw samples, as ``chanmix info`` reports them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BandStats", "band_stats"]

_ROWS_PIXELS = 1 << 20


@dataclass(frozen=True)
class BandStats:
    """Statistics of one band over its valid samples (not nodata, finite), in raw units."""

    valid: int
    min: float
    max: float
    mean: float
    std: float


def band_stats(pixels: np.ndarray, nodata: float | None = None) -> list[BandStats]:
    """Min, max, mean and population standard deviation of each band of an (H, W, C) array.

    A sample equal to ``nodata`` (compared in the band's dtype) or not finite does not count.
    Sums are accumulated in float64 over blocks of rows, with each block's values centred on
    the band's first valid value so that large offsets lose no precision.
    """
    h, w, c = pixels.shape
    rows = max(1, _ROWS_PIXELS // max(w, 1))
    count = np.zeros(c, dtype=np.int64)
    shift = np.full(c, np.nan)
    total = np.zeros(c)
    squares = np.zeros(c)
    low = np.full(c, np.inf)
    high = np.full(c, -np.inf)
    typed_nodata = None
    if nodata is not None and not np.isnan(nodata):
        typed_nodata = np.array(nodata).astype(pixels.dtype) if pixels.dtype.kind == "f" else nodata
    for r in range(0, h, rows):
        block = pixels[r : r + rows].reshape(-1, c)
        for b in range(c):
            v = block[:, b]
            if v.dtype.kind == "f":
                v = v[np.isfinite(v)]
            if typed_nodata is not None:
                v = v[v != typed_nodata]
            if v.size == 0:
                continue
            if np.isnan(shift[b]):
                shift[b] = float(v[0])
            d = v.astype(np.float64) - shift[b]
            count[b] += v.size
            total[b] += d.sum()
            squares[b] += np.dot(d, d)
            low[b] = min(low[b], float(v.min()))
            high[b] = max(high[b], float(v.max()))
    result = []
    for b in range(c):
        n = int(count[b])
        if n == 0:
            result.append(BandStats(0, np.nan, np.nan, np.nan, np.nan))
            continue
        mean_d = total[b] / n
        var = max(squares[b] / n - mean_d * mean_d, 0.0)
        result.append(BandStats(n, low[b], high[b], shift[b] + mean_d, float(np.sqrt(var))))
    return result
