"""Band thumbnails: every k-th row and column of an image, and a percentile stretch to 8 bits.

A thumbnail of an image ``H`` x ``W`` at most ``size`` pixels a side keeps every ``k``-th row
and column, ``k = ceil(max(H, W) / size)`` (:func:`decimation_step`): the samples
``pixels[::k, ::k]``, exactly as stored, without resampling. They are read a row at a time
(:func:`read_decimated`), so a 10 GB TIFF takes the memory of one row band, not of the image.

Each band is then stretched on its own (:func:`stretch`): its LO and HI percentiles of the
valid decimated samples (finite, not the band's nodata value), ``numpy.percentile`` with
linear interpolation in float64, map to 0 and 255; samples between are
``round((x - lo) / (hi - lo) * 255)`` (ties to even), those beyond saturate. A band without
spread (``lo == hi``) is 0 up to ``hi`` and 255 above it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .io import BlockReader
from .nodata import Nodata

__all__ = ["band_nodata", "decimation_step", "read_decimated", "stretch", "thumbnail_source", "valid_samples"]


def decimation_step(height: int, width: int, size: int) -> int:
    """The step ``k`` keeping every k-th row and column of a `height` x `width` image so that
    the thumbnail is at most `size` pixels a side: ``ceil(max(height, width) / size)``, at least 1."""
    return max(1, -(-max(height, width) // size))


def thumbnail_source(
    height: int, width: int, size: int, overviews: Sequence[tuple[int, int]] = ()
) -> tuple[int, int, int, int]:
    """Where a thumbnail of at most `size` pixels a side comes from: the image (`height` x
    `width`) or one of its `overviews` (``(height, width)`` of each, largest first).

    The smallest overview whose thumbnail (every k-th of its rows and columns) is, on its
    longest side, at least 9/10 of the image's own thumbnail is chosen (the steps being whole
    numbers, a 16000-pixel image gives 254 pixels at k = 63, its 8000-pixel overview 250 at
    k = 32); the image itself when none is.

    Returns
    -------
    level : int
        0 for the image, n for ``overviews[n - 1]``.
    step : int
        k, as :func:`decimation_step` gives it for that level.
    thumb_height, thumb_width : int
        The thumbnail's size.
    """
    levels = [(height, width), *overviews]
    sizes = []
    for h, w in levels:
        step = decimation_step(h, w, size)
        sizes.append((step, -(-h // step), -(-w // step)))
    best = 0
    for level in range(1, len(levels)):
        if 10 * max(sizes[level][1:]) >= 9 * max(sizes[0][1:]):
            best = level
    return (best, *sizes[best])


def read_decimated(reader: BlockReader, channels: Sequence[int], step: int) -> np.ndarray:
    """Every `step`-th row and column of the 0-based `channels` of `reader`'s image.

    Parameters
    ----------
    reader : BlockReader
        The image, ``(H, W, C)``.
    channels : sequence of int
        0-based bands, in the order wanted (a band may come more than once).
    step : int
        Rows and columns kept: 0, step, 2 * step...

    Returns
    -------
    (ceil(H / step), ceil(W / step), len(channels)) ndarray
        ``pixels[::step, ::step, channels]`` in the image's sample type.

    When `step` is at least the rows the file decodes together (a strip or tile height, 1 for
    uncompressed data) each kept row is read alone, so a strip or tile row is decoded once
    for the one row kept from it. Otherwise the image is read in row bands
    (:attr:`~chanmix.io.BlockReader.block_rows`), a tile's width at a time when the file is
    tiled, and each window thinned. Either way the memory held is the result plus one row
    (or one row band of one column of tiles).
    """
    info = reader.info
    rows = range(0, info.height, step)
    picked = list(channels)
    out = np.empty((len(rows), len(range(0, info.width, step)), len(picked)), info.dtype)
    if step >= reader.unit_rows:
        for i, row in enumerate(rows):
            out[i] = reader.read_rows(row, row + 1)[0, ::step][:, picked]
        return out
    width = info.tile[1] if info.tile else info.width
    for start in range(0, info.height, reader.block_rows):
        stop = min(start + reader.block_rows, info.height)
        top = -start % step  # the first kept row of this band, counted from its top
        for left in range(0, info.width, width):
            right = min(left + width, info.width)
            first = -left % step  # the first kept column of this window
            if left + first < right:
                kept = reader.read_window(start, stop, left, right)[top::step, first::step][:, :, picked]
                row, column = (start + top) // step, (left + first) // step
                out[row : row + kept.shape[0], column : column + kept.shape[1]] = kept
    return out


def valid_samples(band: np.ndarray, nodata: float | None) -> np.ndarray:
    """Which samples of `band` (any shape) count: finite, and not equal to `nodata` (compared
    in the band's sample type, as ``chanmix info``'s statistics compare it; NaN nodata is
    already left out as not finite)."""
    valid = np.isfinite(band) if band.dtype.kind == "f" else np.ones(band.shape, bool)
    if nodata is not None and not math.isnan(nodata):
        if band.dtype.kind == "f":
            with np.errstate(over="ignore"):
                valid &= band != band.dtype.type(nodata)
        else:
            valid &= band != nodata
    return valid


def band_nodata(nodata: Nodata | None, channel: int) -> float | None:
    """The nodata value of the 0-based `channel` of an image whose nodata is `nodata` (one
    value for every band, or one per band)."""
    return nodata[channel] if isinstance(nodata, tuple) else nodata


def stretch(
    band: np.ndarray, valid: np.ndarray, percentiles: tuple[float, float]
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Stretch one band to 8 bits between its percentiles (see the module docstring).

    Parameters
    ----------
    band : (h, w) ndarray
        Samples in any sample type.
    valid : (h, w) bool ndarray
        The samples that count (:func:`valid_samples`); the others come out 0.
    percentiles : (float, float)
        LO and HI, ``0 <= LO < HI <= 100``.

    Returns
    -------
    grey : (h, w) uint8 ndarray
    limits : (float, float) or None
        The band's values at LO and HI (raw units), None when no sample is valid.
    """
    values = band[valid].astype(np.float64)
    if values.size == 0:
        return np.zeros(band.shape, np.uint8), None
    lo, hi = (float(v) for v in np.percentile(values, percentiles))
    limits = (lo, hi)
    x = np.where(valid, band.astype(np.float64), lo)
    if hi > lo:
        if not math.isfinite(hi - lo):  # float64 samples spanning more than its range: halve first
            x, lo, hi = x * 0.5, lo * 0.5, hi * 0.5
        with np.errstate(over="ignore"):  # a sample far beyond HI: +inf, saturated to 1
            scaled = np.rint(np.clip((x - lo) / (hi - lo), 0.0, 1.0) * 255.0)
    else:
        scaled = np.where(x > hi, 255.0, 0.0)
    grey = np.where(valid, scaled, 0.0).astype(np.uint8)
    return grey, limits
