"""Output rescaling: the range of the mixed values, measured over a stream of blocks.

``--rescale minmax`` maps each output band's minimum and maximum onto 0 and 1 (normalized
units), ``--rescale percentile`` its LO and HI percentiles, saturating beyond them. Both are
measured on the mixed values, before any rounding, over valid pixels only (not nodata,
finite), and both are exact: the percentiles equal ``numpy.percentile`` (linear
interpolation) of all the mixed values of each band, without ever holding them all.

Percentiles are found by selection over repeated passes: a first pass counts each band's
values and their range; each next pass histograms the values inside the interval that holds
each wanted order statistic into :data:`BINS` bins and narrows the interval to the bin that
holds it, until few enough values remain to be gathered and sorted, or until every value in
the interval is one value (a black background). Images of up to
:data:`GATHER_VALUES` values per band are gathered in the first pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .choices import RESCALE_MODES
from .errors import UsageError
from .kernel import compile_plan, mix_block, nodata_mask
from .mix import Mix
from .nodata import Nodata

__all__ = ["RESCALE_MODES", "Rescale", "rescale_map"]


#: Bins of each refinement pass.
BINS = 4096
#: Values per band gathered and sorted outright.
GATHER_VALUES = 1 << 22


@dataclass(frozen=True)
class Rescale:
    """How mixed values are brought into the output range.

    ``clip``: as they are, saturated. ``minmax``: each band's minimum and maximum map to 0 and 1
    (normalized units). ``percentile``: each band's ``percentiles`` (LO, HI, in percent) map to
    0 and 1, and values beyond them saturate. Nodata pixels never count.
    """

    mode: str = "clip"
    percentiles: tuple[float, float] = (2.0, 98.0)

    def __post_init__(self) -> None:
        if self.mode not in RESCALE_MODES:
            raise UsageError(
                f"rescale: expected one of {', '.join(RESCALE_MODES)}, not {self.mode!r}", parameter="rescale"
            )
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            raise UsageError(
                f"percentiles: need 0 <= LO < HI <= 100, got {lo:g},{hi:g}", parameter="percentiles"
            )


Blocks = Callable[[], Iterable[np.ndarray]]


def _mixed_values(blocks: Blocks, mix: Mix, linear: bool, nodata: Nodata | None) -> Iterable[np.ndarray]:
    """(P, M) float64 mixed values of the valid pixels of each block, in normalized units."""
    plan = None
    for block in blocks():
        if plan is None:
            plan = compile_plan(mix, block.dtype, np.float64, linear=linear)
        values = mix_block(block, plan).reshape(-1, mix.n_outputs)
        if nodata is not None:
            values = values[~nodata_mask(block, nodata).reshape(-1)]
        yield values[np.isfinite(values).all(axis=1)]


def _order_statistics(
    blocks: Blocks,
    mix: Mix,
    linear: bool,
    nodata: Nodata | None,
    ranks: np.ndarray,
    counts: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """The values of 0-based ``ranks`` (R, M) in each band's sorted mixed values."""
    m = mix.n_outputs
    result = np.full(ranks.shape, np.nan)
    lo = np.repeat(low[None, :], len(ranks), axis=0)  # interval [lo, hi] holding each rank
    hi = np.repeat(high[None, :], len(ranks), axis=0)
    below = np.zeros(ranks.shape, dtype=np.int64)  # values under lo
    inside = np.repeat(counts[None, :], len(ranks), axis=0)  # values in [lo, hi]
    while np.isnan(result).any():
        gather = inside <= GATHER_VALUES
        edges = {}
        hists = {}
        gathered: dict[tuple[int, int], list[np.ndarray]] = {}
        for r in range(len(ranks)):
            for b in range(m):
                if np.isnan(result[r, b]):
                    if lo[r, b] == hi[r, b]:
                        result[r, b] = lo[r, b]
                    elif gather[r, b]:
                        gathered[r, b] = []
                    else:
                        edges[r, b] = np.linspace(lo[r, b], hi[r, b], BINS + 1)
                        hists[r, b] = np.zeros(BINS, dtype=np.int64)
        if not gathered and not edges:
            break
        least = {key: np.inf for key in edges}  # the smallest and largest value inside [lo, hi]
        most = {key: -np.inf for key in edges}
        for values in _mixed_values(blocks, mix, linear, nodata):
            for (r, b), parts in gathered.items():
                v = values[:, b]
                parts.append(v[(v >= lo[r, b]) & (v <= hi[r, b])])
            for (r, b), e in edges.items():
                v = values[:, b]
                v = v[(v >= lo[r, b]) & (v <= hi[r, b])]
                if v.size:
                    least[r, b], most[r, b] = min(least[r, b], v.min()), max(most[r, b], v.max())
                hists[r, b] += np.bincount(
                    np.clip(np.searchsorted(e, v, side="right") - 1, 0, BINS - 1), minlength=BINS
                )
        for (r, b), parts in gathered.items():
            ordered = np.sort(np.concatenate(parts))
            result[r, b] = ordered[ranks[r, b] - below[r, b]]
        for (r, b), e in edges.items():
            if least[r, b] == most[r, b]:  # one value fills the interval (a black background):
                result[r, b] = least[r, b]  # found, where narrowing would take ~70 passes
                continue
            cumulative = np.cumsum(hists[r, b])
            j = int(np.searchsorted(cumulative, ranks[r, b] - below[r, b], side="right"))
            below[r, b] += int(cumulative[j - 1]) if j else 0
            inside[r, b] = int(hists[r, b][j])
            lo[r, b] = e[j]
            hi[r, b] = e[j + 1] if j + 1 < BINS else hi[r, b]
            if j + 1 < BINS:  # the upper edge belongs to the next bin: stay strictly below it
                hi[r, b] = np.nextafter(e[j + 1], -np.inf)
    return result


def rescale_map(
    blocks: Blocks, mix: Mix, rescale: Rescale, *, linear: bool = False, nodata: Nodata | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-band ``(scale, offset)`` taking the mixed values onto [0, 1], or None for ``clip``.

    Parameters
    ----------
    blocks : callable
        Returns a fresh iterable of the image's (h, W, N) raw blocks each time it is called
        (a percentile may need several passes).
    mix, linear, nodata
        As the mix will be applied.

    A band with no spread maps to 0.

    Raises
    ------
    UsageError
        When no pixel is valid.
    """
    if rescale.mode == "clip":
        return None
    m = mix.n_outputs
    counts = np.zeros(m, dtype=np.int64)
    low, high = np.full(m, np.inf), np.full(m, -np.inf)
    kept: list[np.ndarray] = []
    for values in _mixed_values(blocks, mix, linear, nodata):
        if values.size:
            counts += values.shape[0]
            low, high = np.minimum(low, values.min(axis=0)), np.maximum(high, values.max(axis=0))
            if rescale.mode == "percentile" and counts[0] <= GATHER_VALUES:
                kept.append(values)
    if counts[0] == 0:
        raise UsageError(
            f"rescale {rescale.mode}: the image has no valid pixel to measure", parameter="rescale"
        )
    if rescale.mode == "minmax":
        lo, hi = low, high
    elif counts[0] <= GATHER_VALUES:
        lo, hi = np.percentile(np.concatenate(kept), rescale.percentiles, axis=0)
    else:
        lo, hi = _percentiles(blocks, mix, linear, nodata, rescale.percentiles, counts, low, high)
    spread = hi - lo
    scale = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 0)
    return scale, -lo * scale


def _percentiles(
    blocks: Blocks,
    mix: Mix,
    linear: bool,
    nodata: Nodata | None,
    percentiles: tuple[float, float],
    counts: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """numpy.percentile's linear interpolation from exact order statistics."""
    positions = np.array(percentiles)[:, None] / 100 * (counts[None, :] - 1)  # (2, M)
    floor = np.floor(positions).astype(np.int64)
    ceil = np.minimum(floor + 1, counts[None, :] - 1)
    values = _order_statistics(blocks, mix, linear, nodata, np.vstack([floor, ceil]), counts, low, high)
    below, above = values[:2], values[2:]
    result = below + (positions - floor) * (above - below)
    return result[0], result[1]
