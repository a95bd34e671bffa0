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

Each pass is a :class:`BlockPass`: a small result per block (a count, minima and maxima,
histograms, or the values themselves) and a merge of two results that is exact and
associative. A :class:`PassRunner` makes the pass over every block and merges the results:
:class:`LocalPasses` one block after another in this process, :mod:`chanmix.dask` over the
chunks of a dask array as a tree reduction. Either way the scale and offset are the same
to the last bit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from .choices import RESCALE_MODES
from .errors import UsageError
from .kernel import nodata_mask
from .layerkernel import compile_model, mix_model_block
from .layers import Model
from .nodata import Nodata
from .preserve import Preserve

__all__ = [
    "RESCALE_MODES",
    "BlockPass",
    "LocalPasses",
    "PassRunner",
    "Rescale",
    "rescale_by_passes",
    "rescale_map",
]


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

#: The partial result of a pass over one block, or over several merged.
P = TypeVar("P")


class BlockPass(Protocol[P]):
    """One pass over the blocks of an image: a partial result per block, and their merge.

    ``merge`` is associative and ``empty()`` is its identity, so the blocks' results may be
    merged in any grouping (one after another, or as a tree) and give the same result.
    """

    def empty(self) -> P:
        """The result of no block."""
        ...

    def measure(self, block: np.ndarray) -> P:
        """The result of one ``(h, w, N)`` block of raw samples."""
        ...

    def merge(self, a: P, b: P) -> P:
        """The result of the blocks of ``a`` followed by those of ``b``."""
        ...


class PassRunner(Protocol):
    """Runs a :class:`BlockPass` over every block of one image and returns the merged result."""

    def __call__(self, job: BlockPass[P]) -> P: ...


@dataclass(frozen=True)
class LocalPasses:
    """A :class:`PassRunner` over blocks in this process: each pass iterates ``blocks()`` afresh
    and merges the blocks' results one after another."""

    blocks: Blocks

    def __call__(self, job: BlockPass[P]) -> P:
        result = job.empty()
        for block in self.blocks():
            result = job.merge(result, job.measure(block))
        return result


@dataclass(frozen=True)
class _MixedValues:
    """The (P, M) float64 mixed values of the valid pixels of a block, in normalized units:
    not nodata, every band finite."""

    mix: Model
    linear: bool
    nodata: Nodata | None
    preserve: Preserve | None = None

    def __call__(self, block: np.ndarray) -> np.ndarray:
        plan = compile_model(self.mix, block.dtype, np.float64, linear=self.linear, preserve=self.preserve)
        values = mix_model_block(block, plan).reshape(-1, self.mix.n_outputs)
        if self.nodata is not None:
            values = values[~nodata_mask(block, self.nodata).reshape(-1)]
        return values[np.isfinite(values).all(axis=1)]


@dataclass(frozen=True)
class _Range:
    """Count, per-band minimum and maximum of mixed values, and the values themselves (in
    parts) while there are at most :data:`GATHER_VALUES` of them and they are wanted."""

    count: int
    low: np.ndarray
    high: np.ndarray
    values: tuple[np.ndarray, ...] | None


@dataclass(frozen=True)
class _RangePass:
    """The first pass: the range of each band, and every value of a small image (``gather``)."""

    mixed: _MixedValues
    gather: bool

    def empty(self) -> _Range:
        m = self.mixed.mix.n_outputs
        return _Range(0, np.full(m, np.inf), np.full(m, -np.inf), () if self.gather else None)

    def measure(self, block: np.ndarray) -> _Range:
        values = self.mixed(block)
        if not values.size:
            return self.empty()
        count = values.shape[0]
        kept = (values,) if self.gather and count <= GATHER_VALUES else None
        return _Range(count, values.min(axis=0), values.max(axis=0), kept)

    def merge(self, a: _Range, b: _Range) -> _Range:
        count = a.count + b.count
        kept = a.values + b.values if a.values is not None and b.values is not None else None
        return _Range(
            count,
            np.minimum(a.low, b.low),
            np.maximum(a.high, b.high),
            kept if count <= GATHER_VALUES else None,
        )


#: (rank row, band): one order statistic being selected.
_Key = tuple[int, int]


@dataclass(frozen=True)
class _Selection:
    """What one refinement pass found in each wanted interval: the values themselves (in
    parts) where few enough remain, else a histogram and the least and greatest value."""

    gathered: dict[_Key, tuple[np.ndarray, ...]]
    hists: dict[_Key, np.ndarray]
    least: dict[_Key, float]
    most: dict[_Key, float]


@dataclass(frozen=True)
class _SelectionPass:
    """A refinement pass: for each key, the values of its band inside ``[lo, hi]`` of its
    interval, gathered (``gather``) or histogrammed into the bins of ``edges``."""

    mixed: _MixedValues
    lo: np.ndarray
    hi: np.ndarray
    gather: tuple[_Key, ...]
    edges: dict[_Key, np.ndarray]

    def empty(self) -> _Selection:
        return _Selection(
            {key: () for key in self.gather},
            {key: np.zeros(len(e) - 1, dtype=np.int64) for key, e in self.edges.items()},
            {key: np.inf for key in self.edges},
            {key: -np.inf for key in self.edges},
        )

    def measure(self, block: np.ndarray) -> _Selection:
        values = self.mixed(block)
        found = self.empty()
        for r, b in self.gather:
            v = values[:, b]
            found.gathered[r, b] = (v[(v >= self.lo[r, b]) & (v <= self.hi[r, b])],)
        for (r, b), e in self.edges.items():
            v = values[:, b]
            v = v[(v >= self.lo[r, b]) & (v <= self.hi[r, b])]
            if v.size:
                found.least[r, b], found.most[r, b] = v.min(), v.max()
            bins = len(e) - 1
            found.hists[r, b] = np.bincount(
                np.clip(np.searchsorted(e, v, side="right") - 1, 0, bins - 1), minlength=bins
            )
        return found

    def merge(self, a: _Selection, b: _Selection) -> _Selection:
        return _Selection(
            {key: a.gathered[key] + b.gathered[key] for key in self.gather},
            {key: a.hists[key] + b.hists[key] for key in self.edges},
            {key: min(a.least[key], b.least[key]) for key in self.edges},
            {key: max(a.most[key], b.most[key]) for key in self.edges},
        )


def _order_statistics(
    run: PassRunner,
    mixed: _MixedValues,
    ranks: np.ndarray,
    counts: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """The values of 0-based ``ranks`` (R, M) in each band's sorted mixed values."""
    m = mixed.mix.n_outputs
    result = np.full(ranks.shape, np.nan)
    lo = np.repeat(low[None, :], len(ranks), axis=0)  # interval [lo, hi] holding each rank
    hi = np.repeat(high[None, :], len(ranks), axis=0)
    below = np.zeros(ranks.shape, dtype=np.int64)  # values under lo
    inside = np.repeat(counts[None, :], len(ranks), axis=0)  # values in [lo, hi]
    while np.isnan(result).any():
        gather = inside <= GATHER_VALUES
        edges = {}
        gathered = []
        for r in range(len(ranks)):
            for b in range(m):
                if np.isnan(result[r, b]):
                    if lo[r, b] == hi[r, b]:
                        result[r, b] = lo[r, b]
                    elif gather[r, b]:
                        gathered.append((r, b))
                    else:
                        edges[r, b] = np.linspace(lo[r, b], hi[r, b], BINS + 1)
        if not gathered and not edges:
            break
        found = run(_SelectionPass(mixed, lo.copy(), hi.copy(), tuple(gathered), edges))
        for r, b in gathered:
            ordered = np.sort(np.concatenate(found.gathered[r, b]))
            result[r, b] = ordered[ranks[r, b] - below[r, b]]
        for (r, b), e in edges.items():
            if found.least[r, b] == found.most[r, b]:  # one value fills the interval (a black
                result[r, b] = found.least[r, b]  # background): found, where narrowing takes ~70 passes
                continue
            hist = found.hists[r, b]
            cumulative = np.cumsum(hist)
            j = int(np.searchsorted(cumulative, ranks[r, b] - below[r, b], side="right"))
            below[r, b] += int(cumulative[j - 1]) if j else 0
            inside[r, b] = int(hist[j])
            lo[r, b] = e[j]
            hi[r, b] = e[j + 1] if j + 1 < BINS else hi[r, b]
            if j + 1 < BINS:  # the upper edge belongs to the next bin: stay strictly below it
                hi[r, b] = np.nextafter(e[j + 1], -np.inf)
    return result


def rescale_map(
    blocks: Blocks,
    mix: Model,
    rescale: Rescale,
    *,
    linear: bool = False,
    nodata: Nodata | None = None,
    preserve: Preserve | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-band ``(scale, offset)`` taking the mixed values onto [0, 1], or None for ``clip``.

    Parameters
    ----------
    blocks : callable
        Returns a fresh iterable of the image's (h, W, N) raw blocks each time it is called
        (a percentile may need several passes).
    mix, linear, nodata, preserve
        As the mix will be applied: the values measured are those a colour preserved
        gives, which the rescale then stretches.

    A band with no spread maps to 0.

    Raises
    ------
    UsageError
        When no pixel is valid.
    """
    return rescale_by_passes(
        LocalPasses(blocks), mix, rescale, linear=linear, nodata=nodata, preserve=preserve
    )


def rescale_by_passes(
    run: PassRunner,
    mix: Model,
    rescale: Rescale,
    *,
    linear: bool = False,
    nodata: Nodata | None = None,
    preserve: Preserve | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`rescale_map` with the passes over the blocks made by ``run``: one pass, or for a
    percentile of more than :data:`GATHER_VALUES` values, one pass per refinement.

    Whatever the runner (blocks in this process, or the chunks of a dask array, see
    :mod:`chanmix.dask`), the result is the same to the last bit: each pass's per-block results
    are counts, minima, maxima and gathered values, which merge exactly in any grouping.
    """
    if rescale.mode == "clip":
        return None
    mixed = _MixedValues(mix, linear, nodata, preserve)
    found = run(_RangePass(mixed, rescale.mode == "percentile"))
    if found.count == 0:
        raise UsageError(
            f"rescale {rescale.mode}: the image has no valid pixel to measure", parameter="rescale"
        )
    if rescale.mode == "minmax":
        lo, hi = found.low, found.high
    elif found.values is not None:
        lo, hi = np.percentile(np.concatenate(found.values), rescale.percentiles, axis=0)
    else:
        counts = np.full(mix.n_outputs, found.count, dtype=np.int64)
        lo, hi = _percentiles(run, mixed, rescale.percentiles, counts, found.low, found.high)
    spread = hi - lo
    scale = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 0)
    return scale, -lo * scale


def _percentiles(
    run: PassRunner,
    mixed: _MixedValues,
    percentiles: tuple[float, float],
    counts: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """numpy.percentile's linear interpolation from exact order statistics."""
    positions = np.array(percentiles)[:, None] / 100 * (counts[None, :] - 1)  # (2, M)
    floor = np.floor(positions).astype(np.int64)
    ceil = np.minimum(floor + 1, counts[None, :] - 1)
    values = _order_statistics(run, mixed, np.vstack([floor, ceil]), counts, low, high)
    below, above = values[:2], values[2:]
    result = below + (positions - floor) * (above - below)
    return result[0], result[1]
