"""Fit a mix to image files: stream their pixels, block by block, into mergeable statistics.

Every input is read a row band at a time (with ``stack``, the inputs are the bands of one
image, read side by side: :func:`~chanmix.io.open_stack`); each band is brought to normalized
units (float64), the pixels that count are chosen (not nodata in any fitted band, finite,
non-zero in ``mask``, drawn by ``sample``) and the band's statistics are merged into the
total. The solvers of :mod:`chanmix.fit` then turn the totals into a
:class:`~chanmix.mix.Mix` whose provenance records what it was fitted on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Literal, cast

import numpy as np

from .bandspec import BandSpec, select_bands
from .blockmix import band_selection
from .dtypes import dtype_max
from .errors import DataError, UsageError
from .fit import (
    DEFAULT_SAMPLE,
    PRODUCTS,
    CrossMoments,
    DifferenceMoments,
    ICAFit,
    LstsqFit,
    MAFFit,
    MNFFit,
    Moments,
    NoiseMoments,
    PCAFit,
    SampleMask,
    fit_ica,
    fit_lstsq,
    fit_maf,
    fit_mnf,
    fit_pca,
)
from .io import BlockReader, open_image, open_raster, shared_reader
from .kernel import nodata_mask
from .mix import Mix
from .nodata import Nodata, select_nodata
from .pipeline import NodataChoice, effective_nodata
from .progress import Progress
from .windowjobs import OrderedMap, grouped, source_key

__all__ = [
    "FitOptions",
    "pca_from_files",
    "mnf_from_files",
    "maf_from_files",
    "ica_from_files",
    "lstsq_from_files",
]


@dataclass(frozen=True)
class FitOptions:
    """Which pixels and bands of the inputs a fit uses.

    Attributes
    ----------
    bands : BandSpec or tuple of int, optional
        The bands to fit on, in order: a :class:`~chanmix.bandspec.BandSpec` resolved
        against each input, or 1-based band numbers (all but an alpha channel by default).
    alpha : str
        ``mix`` fits on an alpha channel too; otherwise it is left out.
    nodata : NodataChoice, optional
        Overrides the files' own nodata value.
    mask : str, optional
        An image of the inputs' size: only pixels where it is non-zero (in any band) count.
    sample : int, optional
        Fit on this many pixels drawn at random (all inputs together), reproducibly by ``seed``.
    page, series : int
        Which image of multi-image files: image ``page`` of the file, or of series ``series``.
    stack : bool
        The inputs are the bands of one image, in the order given (see
        :func:`~chanmix.io.open_stack`); so are several targets of a least-squares fit.
    products : {"auto", "float32", "float64"}
        How the pixels' products are formed (:data:`chanmix.fit.PRODUCTS`): as the samples
        are given (float32 for float32 files, float64 for the others), float32 (scikit-learn's
        float32 speed, within about 1e-6) or float64 (1e-14, twice the time).
        Least squares always takes float64 (see :class:`~chanmix.fit.CrossMoments`).
    """

    bands: BandSpec | tuple[int, ...] | None = None
    alpha: str = "keep"
    nodata: NodataChoice | None = None
    mask: str | None = None
    sample: int | None = None
    seed: int = 0
    page: int = 0
    series: int | None = None
    stack: bool = False
    products: str = PRODUCTS[0]


@dataclass(frozen=True)
class _Source:
    """One input opened for a fit: its reader, the bands fitted and their nodata value (one,
    or one per fitted band)."""

    reader: BlockReader
    channels: list[int]
    nodata: Nodata | None

    @property
    def pixels(self) -> int:
        return self.reader.info.height * self.reader.info.width

    @property
    def scale(self) -> float:
        """What turns this input's raw samples into normalized units."""
        return 1.0 / dtype_max(self.reader.info.dtype)

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw samples of the fitted bands in rows [start, stop), (h, W, N), and the pixels that
        are not nodata (None when every pixel is; non-finite ones are left out by the moments)."""
        raw = self.reader.read_rows(start, stop)
        if self.channels != list(range(raw.shape[2])):
            raw = raw[:, :, self.channels]
        valid = None if self.nodata is None else ~nodata_mask(raw, self.nodata)
        return raw, valid


def _images(paths: Sequence[str], options: FitOptions) -> list[str | tuple[str, ...]]:
    """The images `paths` make: one each, or all of them one with ``options.stack``."""
    return [tuple(paths)] if options.stack else list(paths)


def _open(
    stack: ExitStack,
    image: str | tuple[str, ...],
    options: FitOptions,
    bands: BandSpec | tuple[int, ...] | None,
    parameter: str = "bands",
) -> _Source:
    reader = stack.enter_context(open_image(image, page=options.page, series=options.series))
    return _source(reader, options, bands, parameter)


def _source(
    reader: BlockReader,
    options: FitOptions,
    bands: BandSpec | tuple[int, ...] | None,
    parameter: str = "bands",
) -> _Source:
    """An open input's fitted bands and nodata, as `options` and `bands` choose them."""
    info = reader.info
    alpha_mode = "mix" if options.alpha == "mix" else "drop"
    chosen = select_bands(bands, info, parameter)
    channels, _ = band_selection(info.bands, info.alpha, chosen, alpha_mode, info.path, parameter)
    return _Source(reader, channels, select_nodata(effective_nodata(options.nodata, info), channels))


def _mask_rows(mask: _Source | None, start: int, stop: int) -> np.ndarray | None:
    if mask is None:
        return None
    return (mask.reader.read_rows(start, stop) != 0).any(axis=2)


def _open_mask(stack: ExitStack, options: FitOptions, like: _Source) -> _Source | None:
    if options.mask is None:
        return None
    return _mask_source(stack.enter_context(open_raster(options.mask)), like)


def _mask_source(reader: BlockReader, like: _Source) -> _Source:
    info, size = reader.info, like.reader.info
    if (info.height, info.width) != (size.height, size.width):
        raise UsageError(
            f"mask: {info.path} is {info.width} x {info.height} pixels, "
            f"{size.path} is {size.width} x {size.height}",
            parameter="mask",
        )
    return _Source(reader, list(range(info.bands)), None)


def _check_bands(sources: Sequence[_Source]) -> int:
    counts = {len(s.channels) for s in sources}
    if len(counts) > 1:
        listing = ", ".join(f"{s.reader.info.path} {len(s.channels)}" for s in sources)
        raise UsageError(f"the inputs do not have the same number of bands to fit ({listing})")
    return counts.pop()


def _both(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else a if b is None else a & b


@dataclass(frozen=True)
class _Band:
    """Rows [start, stop) of input `index`, whose first pixel is pixel `first` of the fit (in
    reading order, file after file: where the sample's draw stands)."""

    index: int
    start: int
    stop: int
    first: int


def _bands(sources: Sequence[_Source]) -> list[_Band]:
    """Every input's row bands, in reading order, in the reader's natural band height."""
    bands, offset = [], 0
    for index, source in enumerate(sources):
        info, rows = source.reader.info, source.reader.block_rows
        for start in range(0, info.height, rows):
            bands.append(_Band(index, start, min(start + rows, info.height), offset + start * info.width))
        offset += source.pixels
    return bands


#: What a row band gives besides its pixels' statistics: "noise" the horizontal differences
#: (NoiseMoments), "maf" the horizontal and vertical ones (DifferenceMoments, the row above
#: the band read too), "pixels" the sampled valid pixels (the sample then leaves the
#: statistics alone); "" nothing.
Extra = Literal["", "noise", "maf", "pixels"]

#: What a row band gives: (Moments, the extra or None), or (CrossMoments, None).
_Stats = tuple[Moments | CrossMoments, Moments | np.ndarray | None]


def _valid_rows(
    source: _Source, mask: _Source | None, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw samples of rows [start, stop) and the pixels that count, the sample aside."""
    x, valid = source.rows(start, stop)
    return x, _both(valid, _mask_rows(mask, start, stop))


def _band_stats(
    band: _Band,
    source: _Source,
    mask: _Source | None,
    goal: _Source | None,
    sample: SampleMask | None,
    extra: Extra,
    products: str,
) -> _Stats:
    """The raw statistics of one row band: of its pixels and what `extra` asks for, or, with a
    `goal`, of its pixels and the goal's together; `products` as in :class:`FitOptions`."""
    x, valid = _valid_rows(source, mask, band.start, band.stop)
    width = x.shape[1]
    drawn = None
    if sample is not None:
        drawn = sample.mask(band.first, band.first + x.shape[0] * width).reshape(x.shape[:2])
        if extra == "pixels":
            chosen = drawn if valid is None else drawn & valid
            return Moments.of(x, valid, products=products), x[chosen]
        valid = _both(valid, drawn)
    if goal is not None:
        y, y_valid = goal.rows(band.start, band.stop)
        return CrossMoments.of(x, y, _both(valid, y_valid)), None
    if extra == "noise":
        return Moments.of(x, valid, products=products), NoiseMoments.of(x, valid)
    if extra == "maf":
        above, above_valid = None, None
        if band.start > 0:  # the row just above: its vertical pairs with this band's first row
            above, above_valid = _valid_rows(source, mask, band.start - 1, band.start)
            if sample is not None:
                row = sample.mask(band.first - width, band.first).reshape(1, width)
                above_valid = _both(above_valid, row)
        return Moments.of(x, valid, products=products), DifferenceMoments.of(
            x, valid, above=above, above_valid=above_valid
        )
    return Moments.of(x, valid, products=products), None


@dataclass(frozen=True)
class BandStatsJob:
    """What any process needs to compute a row band's statistics by itself: called with a
    band, it opens the inputs once per process (:func:`~chanmix.io.shared_reader`) and
    returns what :func:`_band_stats` does. The task a cluster's workers run for a fit."""

    images: tuple[str | tuple[str, ...], ...]
    targets: tuple[str | tuple[str, ...], ...] | None
    options: FitOptions
    target_bands: BandSpec | tuple[int, ...] | None
    sample: SampleMask | None
    extra: Extra

    def __call__(self, band: _Band) -> _Stats:
        options = self.options
        opened = shared_reader(self.images[band.index], page=options.page, series=options.series)
        source = _source(opened, options, options.bands)
        mask = None if options.mask is None else _mask_source(shared_reader(options.mask), source)
        goal = None
        if self.targets is not None:
            target = shared_reader(self.targets[band.index], page=options.page, series=options.series)
            goal = _source(target, options, self.target_bands, "target_bands")
        return _band_stats(band, source, mask, goal, self.sample, self.extra, options.products)


def _all_stats(
    images: Sequence[str | tuple[str, ...]],
    sources: Sequence[_Source],
    options: FitOptions,
    stack: ExitStack,
    *,
    extra: Extra = "",
    targets: tuple[Sequence[str | tuple[str, ...]], Sequence[_Source], BandSpec | tuple[int, ...] | None]
    | None = None,
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
) -> Iterator[tuple[int, _Stats]]:
    """(input index, raw statistics) of every row band of the inputs (`images`, opened as
    `sources`), in reading order: computed here, or by a :class:`BandStatsJob` through
    `map_bands` (a cluster's ordered map) -- the same values either way, merged by the caller
    in the same order. `targets` are a least-squares fit's (images, opened, bands chosen).
    `progress` hears of one ``fitting`` pass over the rows of every input, band by band."""
    stats = _computed_stats(
        images, sources, options, stack, extra=extra, targets=targets, map_bands=map_bands
    )
    if progress is None:
        yield from stats
        return
    bands = _bands(sources)
    goals = None if targets is None else targets[1]
    progress.stage("fitting", sum(s.reader.info.height for s in sources), "rows")
    for band, found in zip(bands, stats):
        yield found
        rows = band.stop - band.start
        nbytes = rows * _row_bytes(sources[band.index]) + (
            0 if goals is None else rows * _row_bytes(goals[band.index])
        )
        progress.advance(rows, nbytes)


def _row_bytes(source: _Source) -> int:
    """Bytes of one decoded row of an input, every band."""
    info = source.reader.info
    return info.width * info.bands * info.dtype.itemsize


def _computed_stats(
    images: Sequence[str | tuple[str, ...]],
    sources: Sequence[_Source],
    options: FitOptions,
    stack: ExitStack,
    *,
    extra: Extra,
    targets: tuple[Sequence[str | tuple[str, ...]], Sequence[_Source], BandSpec | tuple[int, ...] | None]
    | None,
    map_bands: OrderedMap | None,
) -> Iterator[tuple[int, _Stats]]:
    """What :func:`_all_stats` yields, without the progress."""
    total = sum(s.pixels for s in sources)
    sample = None if options.sample is None else SampleMask(total, options.sample, options.seed)
    bands = _bands(sources)
    if map_bands is not None:
        job = BandStatsJob(
            tuple(source_key(image) for image in images),
            None if targets is None else tuple(source_key(image) for image in targets[0]),
            options,
            None if targets is None else targets[2],
            sample,
            extra,
        )
        infos = [source.reader.info for source in sources]
        widest = max(info.width * info.bands * info.dtype.itemsize for info in infos)
        rows = max((band.stop - band.start for band in bands), default=1)
        per_band = rows * widest * (2 if targets is not None else 1)  # with a target's rows too
        yield from zip((band.index for band in bands), grouped(map_bands, per_band)(job, bands))
        return
    masks = [_open_mask(stack, options, source) for source in sources]
    for band in bands:
        goal = None if targets is None else targets[1][band.index]
        yield (
            band.index,
            _band_stats(band, sources[band.index], masks[band.index], goal, sample, extra, options.products),
        )


def _fitted_bands(sources: Sequence[_Source], options: FitOptions) -> list[int] | list[list[int]] | None:
    """The 1-based bands fitted: None when ``options`` chose none (all but alpha), one list when
    every input resolved the choice to the same bands, else one list per input."""
    if not options.bands:
        return None
    bands = [[c + 1 for c in source.channels] for source in sources]
    return bands[0] if all(b == bands[0] for b in bands) else bands


def _provenance(
    fit_mix: Mix, paths: Sequence[str], options: FitOptions, n_pixels: int, sources: Sequence[_Source]
) -> Mix:
    """The fit's mix with a "fitted_on" record: inputs, bands, pixels used, mask, sample."""
    fitted_on: dict[str, object] = {
        "inputs": [os.fspath(p) for p in paths],
        "bands": _fitted_bands(sources, options),
        "pixels_used": n_pixels,
        "pixels_total": sum(s.pixels for s in sources),
    }
    if options.mask:
        fitted_on["mask"] = options.mask
    if options.sample is not None:
        fitted_on["sample"] = options.sample
        fitted_on["seed"] = options.seed
    if options.stack:
        fitted_on["stack"] = True
    return fit_mix.with_info(provenance={**fit_mix.provenance, "fitted_on": fitted_on})


_EMPTY: dict[str, type[Moments]] = {"noise": NoiseMoments, "maf": DifferenceMoments}


def _moments(
    paths: Sequence[str],
    options: FitOptions,
    *,
    extra: Extra,
    map_bands: OrderedMap | None,
    progress: Progress | None = None,
) -> tuple[Moments, Moments | np.ndarray | None, list[_Source]]:
    """The statistics of the pixels of ``paths`` in normalized units, what ``extra`` asks for
    (differences' statistics, or the sampled pixels as (P, N) float64; None for ""), and the
    inputs as they were read (closed); a DataError when no pixel counted."""
    with ExitStack() as stack:
        images = _images(paths, options)
        sources = [_open(stack, image, options, options.bands) for image in images]
        n = _check_bands(sources)
        raw = [Moments.empty(n) for _ in sources]
        kind = _EMPTY.get(extra, NoiseMoments)
        raw_extra = [kind.empty(n) for _ in sources]
        gathered: list[list[np.ndarray]] = [[] for _ in sources]
        stats = _all_stats(
            images, sources, options, stack, extra=extra, map_bands=map_bands, progress=progress
        )
        for index, (m, e) in stats:
            raw[index] = raw[index] + cast(Moments, m)
            if isinstance(e, np.ndarray):
                gathered[index].append(e)
            elif e is not None:
                raw_extra[index] = raw_extra[index] + e
        moments, differences = Moments.empty(n), kind.empty(n)
        for source, m, e in zip(sources, raw, raw_extra):
            moments, differences = moments + m.scaled(source.scale), differences + e.scaled(source.scale)
        if moments.count == 0:
            raise _no_pixels(paths)
        if extra == "pixels":
            parts = [np.concatenate(g).astype(np.float64) * s.scale for s, g in zip(sources, gathered) if g]
            return moments, np.concatenate(parts) if parts else np.empty((0, n)), sources
        return moments, differences if extra else None, sources


def _no_pixels(paths: Sequence[str]) -> DataError:
    return DataError(f"no valid pixel to fit in {', '.join(map(str, paths))} (all nodata or masked?)")


def pca_from_files(
    paths: Sequence[str],
    k: int | float,
    *,
    center: bool = True,
    whiten: bool = False,
    options: FitOptions = FitOptions(),
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
) -> PCAFit:
    """Principal components of the pixels of ``paths`` taken together (normalized units).

    With `map_bands` (a cluster's :meth:`~chanmix.cluster.Cluster.ordered_map`), each row
    band's statistics are computed elsewhere and merged here in the same order: the same fit.
    `progress` hears of the ``fitting`` pass over every input's rows (see
    :class:`~chanmix.progress.Progress`). So for the other fits."""
    moments, _, sources = _moments(paths, options, extra="", map_bands=map_bands, progress=progress)
    fit = fit_pca(moments, k, center=center, whiten=whiten)
    return replace(fit, mix=_provenance(fit.mix, paths, options, moments.count, sources))


def mnf_from_files(
    paths: Sequence[str],
    k: int | float,
    *,
    options: FitOptions = FitOptions(),
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
) -> MNFFit:
    """Minimum noise fraction components of the pixels of ``paths`` taken together."""
    moments, noise, sources = _moments(paths, options, extra="noise", map_bands=map_bands, progress=progress)
    fit = fit_mnf(moments, cast(NoiseMoments, noise), k)
    return replace(fit, mix=_provenance(fit.mix, paths, options, moments.count, sources))


def maf_from_files(
    paths: Sequence[str],
    k: int,
    *,
    options: FitOptions = FitOptions(),
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
) -> MAFFit:
    """Min/max autocorrelation factors of the pixels of ``paths`` taken together: neighbour
    pairs within each input, each counted once whatever the row bands read."""
    moments, differences, sources = _moments(
        paths, options, extra="maf", map_bands=map_bands, progress=progress
    )
    fit = fit_maf(moments, cast(DifferenceMoments, differences), k)
    return replace(fit, mix=_provenance(fit.mix, paths, options, moments.count, sources))


def ica_from_files(
    paths: Sequence[str],
    k: int,
    *,
    options: FitOptions = FitOptions(),
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
    max_iter: int = 200,
    tol: float = 1e-4,
) -> ICAFit:
    """FastICA of the pixels of ``paths`` taken together: whitened by the PCA of every valid
    pixel, iterated on the valid ones of ``options.sample`` pixels drawn by ``options.seed``
    (:data:`~chanmix.fit.DEFAULT_SAMPLE` when not given), starting from a rotation drawn by
    the seed too: the same matrix for the same inputs, sample and seed."""
    if options.sample is None:
        options = replace(options, sample=DEFAULT_SAMPLE)
    moments, pixels, sources = _moments(
        paths, options, extra="pixels", map_bands=map_bands, progress=progress
    )
    fit = fit_ica(moments, cast(np.ndarray, pixels), k, seed=options.seed, max_iter=max_iter, tol=tol)
    return replace(fit, mix=_provenance(fit.mix, paths, options, moments.count, sources))


def lstsq_from_files(
    inputs: Sequence[str],
    targets: Sequence[str],
    *,
    bias: bool = True,
    ridge: float = 0.0,
    options: FitOptions = FitOptions(),
    target_bands: BandSpec | tuple[int, ...] | None = None,
    map_bands: OrderedMap | None = None,
    progress: Progress | None = None,
) -> LstsqFit:
    """Least squares from the bands of each input to the bands of its target, over all pixels.

    Inputs and targets pair in order and must have the same height and width; a pixel counts
    when it is valid in both. ``target_bands`` chooses the targets' bands as
    ``options.bands`` chooses the inputs'. With ``options.stack`` the inputs are the bands of
    one image and the targets (one file, or several stacked) the bands of its target.
    """
    if len(inputs) != len(targets) and not options.stack:
        raise UsageError(
            f"targets: give one per input ({len(inputs)} inputs, {len(targets)} targets)", parameter="targets"
        )
    with ExitStack() as stack:
        images, target_images = _images(inputs, options), _images(targets, options)
        sources = [_open(stack, image, options, options.bands) for image in images]
        goals = [_open(stack, t, options, target_bands, "target_bands") for t in target_images]
        n, m = _check_bands(sources), _check_bands(goals)
        for source, goal in zip(sources, goals):
            a, b = source.reader.info, goal.reader.info
            if (a.height, a.width) != (b.height, b.width):
                raise UsageError(
                    f"targets: {b.path} is {b.width} x {b.height} pixels, {a.path} is {a.width} x {a.height}",
                    parameter="targets",
                )
        raw = [CrossMoments.empty(n, m) for _ in sources]
        paired = (target_images, goals, target_bands)
        stats = _all_stats(
            images, sources, options, stack, targets=paired, map_bands=map_bands, progress=progress
        )
        for index, (part, _) in stats:
            raw[index] = raw[index] + cast(CrossMoments, part)
        cross = CrossMoments.empty(n, m)
        for source, goal, part in zip(sources, goals, raw):
            cross = cross + part.scaled(source.scale, goal.scale)
    if cross.count == 0:
        raise _no_pixels(inputs)
    names = [f"band {c + 1}" for c in sources[0].channels] if options.bands else None
    fit = fit_lstsq(cross, bias=bias, ridge=ridge, input_names=names)
    mix = _provenance(fit.mix, inputs, options, cross.count, sources)
    mix = mix.with_info(provenance={**mix.provenance, "targets": [os.fspath(t) for t in targets]})
    return replace(fit, mix=mix)
