"""Fits of dask arrays: the mergeable statistics of :mod:`chanmix.fit` per chunk, merged by a
tree of tasks (:func:`~chanmix.dask_blocks.tree`); the public names are :mod:`chanmix.dask`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import fit as local
from .dask_blocks import Delayed, da, dask, delayed
from .dask_blocks import channels_last as _channels_last
from .dask_blocks import tree as _tree
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
)
from .fit._components import n_components
from .fit.lstsq import check_ridge
from .fit.moments import check_products
from .kernel import nodata_mask
from .nodata import Nodata, check_nodata

__all__ = ["fit_ica", "fit_lstsq", "fit_maf", "fit_mnf", "fit_pca"]


def _valid_mask(valid: Any, image: da.Array) -> da.Array | None:
    """The (H, W) bool mask ``valid`` chunked as ``image``'s rows and columns (None: all)."""
    if valid is None:
        return None
    mask = da.asarray(valid)
    if mask.shape != image.shape[:2]:
        raise UsageError(
            f"valid: the mask has shape {mask.shape}, the image {image.shape[:2]}", parameter="valid"
        )
    return mask.astype(bool).rechunk(image.chunks[:2])


def _counted(block: np.ndarray, valid: np.ndarray | None, nodata: Nodata | None) -> np.ndarray | None:
    """The (h, w) pixels of a block that count: in ``valid``, and not nodata (None: all)."""
    if nodata is None:
        return valid
    data = ~nodata_mask(block, nodata)
    return data if valid is None else valid & data


def _moments_of(block: np.ndarray, valid: np.ndarray | None, nodata: Nodata | None, products: str) -> Moments:
    return Moments.of(block, _counted(block, valid, nodata), products=products)


def _noise_of(
    block: np.ndarray,
    edge: np.ndarray | None,
    valid: np.ndarray | None,
    edge_valid: np.ndarray | None,
    nodata: Nodata | None,
) -> NoiseMoments:
    """The horizontal differences whose left pixel is in ``block``: with ``edge``, the next
    column of the image (None for the image's last chunk of columns)."""
    if edge is not None:
        block = np.concatenate([block, edge], axis=1)
        if valid is not None and edge_valid is not None:
            valid = np.concatenate([valid, edge_valid], axis=1)
    return NoiseMoments.of(block, _counted(block, valid, nodata))


def _cross_of(x: np.ndarray, y: np.ndarray, valid: np.ndarray | None, nodata: Nodata | None) -> CrossMoments:
    if isinstance(nodata, tuple):
        n = x.shape[2]
        valid = _counted(y, _counted(x, valid, nodata[:n]), nodata[n:])
    else:
        valid = _counted(y, _counted(x, valid, nodata), nodata)
    return CrossMoments.of(x, y, valid)


def _grid(image: da.Array, mask: da.Array | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The delayed chunks of ``image`` (rows x columns) and of ``mask`` (or None)."""
    return image.to_delayed()[:, :, 0], None if mask is None else mask.to_delayed()


def _moment_parts(
    image: da.Array, mask: da.Array | None, nodata: Nodata | None, products: str
) -> list[Delayed]:
    blocks, masks = _grid(image, mask)
    return [
        delayed(_moments_of)(blocks[i, j], None if masks is None else masks[i, j], nodata, products)
        for i in range(blocks.shape[0])
        for j in range(blocks.shape[1])
    ]


def _noise_parts(image: da.Array, mask: da.Array | None, nodata: Nodata | None) -> list[Delayed]:
    """Per chunk, the differences of its pixels with their right-hand neighbours, the first
    column of the next chunk included: every horizontal pair of the image exactly once."""
    blocks, masks = _grid(image, mask)
    ends = np.cumsum(image.chunks[1])
    parts = []
    for j, end in enumerate(ends):
        edges, edge_masks = (
            _grid(image[:, end : end + 1], None if mask is None else mask[:, end : end + 1])
            if end < image.shape[1]
            else (None, None)
        )
        for i in range(blocks.shape[0]):
            parts.append(
                delayed(_noise_of)(
                    blocks[i, j],
                    None if edges is None else edges[i, 0],
                    None if masks is None else masks[i, j],
                    None if edge_masks is None else edge_masks[i, 0],
                    nodata,
                )
            )
    return parts


def _joined(
    parts: Sequence[tuple[np.ndarray, np.ndarray | None] | None], axis: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The (block, mask) pairs present in ``parts`` joined along ``axis`` (mask None: all)."""
    present = [part for part in parts if part is not None]
    joined = np.concatenate([block for block, _ in present], axis=axis)
    if all(mask is None for _, mask in present):
        return joined, None
    full = [np.ones(block.shape[:2], bool) if mask is None else mask for block, mask in present]
    return joined, np.concatenate(full, axis=axis)


def _differences_of(
    block: np.ndarray,
    right: np.ndarray | None,
    above: np.ndarray | None,
    valid: np.ndarray | None,
    right_valid: np.ndarray | None,
    above_valid: np.ndarray | None,
    nodata: Nodata | None,
) -> DifferenceMoments:
    """The neighbour differences a chunk owns: horizontal ones whose left pixel is in it
    (``right``: the next column of the image, or None), vertical ones whose lower pixel is in
    it (``above``: the row above it, or None)."""
    wide, wide_valid = _joined([(block, valid), None if right is None else (right, right_valid)], axis=1)
    tall, tall_valid = _joined([None if above is None else (above, above_valid), (block, valid)], axis=0)
    horizontal = DifferenceMoments.horizontal(wide, _counted(wide, wide_valid, nodata))
    return horizontal + DifferenceMoments.vertical(tall, _counted(tall, tall_valid, nodata))


def _difference_parts(image: da.Array, mask: da.Array | None, nodata: Nodata | None) -> list[Delayed]:
    """Per chunk, the differences it owns (see :func:`_differences_of`): every horizontal and
    vertical pair of the image exactly once, across row and column chunk edges too."""
    blocks, masks = _grid(image, mask)
    width = image.shape[1]

    def edge(rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray | None]:
        return _grid(image[rows, cols], None if mask is None else mask[rows, cols])

    col_ends, row_starts = np.cumsum(image.chunks[1]), np.cumsum((0,) + image.chunks[0][:-1])
    rights = [edge(slice(None), slice(end, end + 1)) if end < width else (None, None) for end in col_ends]
    aboves = [
        edge(slice(start - 1, start), slice(None)) if start > 0 else (None, None) for start in row_starts
    ]
    parts = []
    for i in range(blocks.shape[0]):
        above, above_masks = aboves[i]
        for j in range(blocks.shape[1]):
            right, right_masks = rights[j]
            parts.append(
                delayed(_differences_of)(
                    blocks[i, j],
                    None if right is None else right[i, 0],
                    None if above is None else above[0, j],
                    None if masks is None else masks[i, j],
                    None if right_masks is None else right_masks[i, 0],
                    None if above_masks is None else above_masks[0, j],
                    nodata,
                )
            )
    return parts


def _prepared(
    array: Any, k: int | float, valid: Any, nodata: Nodata | None, products: str
) -> tuple[da.Array, da.Array | None, float]:
    """The image, its valid mask and the factor to normalized units, with ``k`` and
    ``nodata`` checked against its bands, and ``products``."""
    check_products(products)
    image = _channels_last(array)
    scale = 1.0 / dtype_max(image.dtype)
    n = image.shape[2]
    n_components(k, np.full(n, 1.0 / n))  # a UsageError now rather than after the computation
    check_nodata(nodata, n)
    return image, _valid_mask(valid, image), scale


def _no_pixels() -> DataError:
    return DataError("no valid pixel to fit in the array (all nodata, masked or not finite?)")


def fit_pca(
    array: Any,
    k: int | float,
    *,
    center: bool = True,
    whiten: bool = False,
    valid: Any = None,
    nodata: Nodata | None = None,
    products: str = PRODUCTS[0],
) -> PCAFit:
    """Principal components of the pixels of a dask array, as :func:`chanmix.fit_pca`.

    Parameters
    ----------
    array : (H, W, N) or (H, W) dask array (or array_like)
        Raw samples; integers are normalized by their type's maximum, floats used as they are.
    k, center, whiten
        As for :func:`chanmix.fit_pca`.
    valid : (H, W) bool dask array or ndarray, optional
        The pixels that count. Pixels with a non-finite sample never count.
    nodata : float or tuple of N (float or None), optional
        Pixels holding it in any band (one per band for a tuple) do not count.
    products : {"auto", "float32", "float64"}
        How each chunk's products are formed (:data:`chanmix.fit.PRODUCTS`): as the samples
        are given (auto), float32 (within about 1e-6, at twice the speed) or float64 (the same
        to 1e-12 for any chunks).

    Returns
    -------
    PCAFit
        Equal, up to the rounding of the merges, to ``chanmix.fit_pca`` on the
        :class:`~chanmix.fit.Moments` of all valid pixels in normalized units.

    Raises
    ------
    UsageError
        A bad ``k``, ``nodata`` or ``valid`` mask, before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_pca` raises.
    """
    image, mask, scale = _prepared(array, k, valid, nodata, products)
    (raw,) = dask.compute(_tree(_moment_parts(image, mask, nodata, products), Moments.merge))
    if raw.count == 0:
        raise _no_pixels()
    return local.fit_pca(raw.scaled(scale), k, center=center, whiten=whiten)


def fit_mnf(
    array: Any,
    k: int | float,
    *,
    valid: Any = None,
    nodata: Nodata | None = None,
    products: str = PRODUCTS[0],
) -> MNFFit:
    """Minimum noise fraction components of a dask array, as :func:`chanmix.fit_mnf`.

    The noise is estimated from the differences of horizontally adjacent pixels, every pair
    of the image once, across chunk edges too: as from the whole image, whatever the chunks.

    Parameters
    ----------
    array : (H, W, N) or (H, W) dask array (or array_like)
        Raw samples; integers are normalized by their type's maximum, floats used as they are.
    k
        As for :func:`chanmix.fit_mnf`.
    valid, nodata, products
        As for :func:`fit_pca`; a difference counts when both of its pixels do.

    Returns
    -------
    MNFFit

    Raises
    ------
    UsageError
        A bad ``k``, ``nodata`` or ``valid`` mask, before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_mnf` raises.
    """
    image, mask, scale = _prepared(array, k, valid, nodata, products)
    raw, noise = dask.compute(
        _tree(_moment_parts(image, mask, nodata, products), Moments.merge),
        _tree(_noise_parts(image, mask, nodata), NoiseMoments.merge),
    )
    if raw.count == 0:
        raise _no_pixels()
    return local.fit_mnf(raw.scaled(scale), noise.scaled(scale), k)


def fit_maf(
    array: Any, k: int, *, valid: Any = None, nodata: Nodata | None = None, products: str = PRODUCTS[0]
) -> MAFFit:
    """Min/max autocorrelation factors of a dask array, as :func:`chanmix.fit_maf`.

    Every horizontal and vertical pair of neighbouring pixels counts once, across row and
    column chunk edges too: the fit equals the one of the whole image, whatever the chunks.

    Parameters
    ----------
    array : (H, W, N) or (H, W) dask array (or array_like)
        Raw samples; integers are normalized by their type's maximum, floats used as they are.
    k : int
        As for :func:`chanmix.fit_maf`.
    valid, nodata, products
        As for :func:`fit_pca`; a difference counts when both of its pixels do.

    Raises
    ------
    UsageError
        A bad ``k``, ``nodata`` or ``valid`` mask, before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_maf` raises.
    """
    image, mask, scale = _prepared(array, k, valid, nodata, products)
    raw, differences = dask.compute(
        _tree(_moment_parts(image, mask, nodata, products), Moments.merge),
        _tree(_difference_parts(image, mask, nodata), DifferenceMoments.merge),
    )
    if raw.count == 0:
        raise _no_pixels()
    return local.fit_maf(raw.scaled(scale), differences.scaled(scale), k)


def _sampled_of(
    block: np.ndarray,
    valid: np.ndarray | None,
    nodata: Nodata | None,
    origin: tuple[int, int],
    width: int,
    sample: SampleMask,
) -> tuple[np.ndarray, np.ndarray]:
    """The pixel numbers (row-major in the image) and values of a chunk's sampled valid pixels;
    ``origin`` is the chunk's first row and column."""
    h, w = block.shape[:2]
    top, left = origin
    starts = (top + np.arange(h)) * width + left
    drawn = np.array([sample.mask(int(start), int(start) + w) for start in starts], dtype=bool).reshape(h, w)
    counted = _counted(block, valid, nodata)
    chosen = drawn if counted is None else drawn & counted
    return (starts[:, None] + np.arange(w))[chosen], block[chosen]


def _joined_samples(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]])


def fit_ica(
    array: Any,
    k: int,
    *,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    valid: Any = None,
    nodata: Nodata | None = None,
    max_iter: int = 200,
    tol: float = 1e-4,
    products: str = PRODUCTS[0],
) -> ICAFit:
    """FastICA of a dask array, as :func:`chanmix.fitfiles.ica_from_files` fits an image file.

    The whitening PCA uses the moments of every valid pixel; FastICA iterates on the valid
    ones among ``sample`` pixels drawn by ``seed`` (:class:`~chanmix.fit.SampleMask`, pixels
    numbered row-major), gathered per chunk and put back in that order: the same matrix as
    :func:`chanmix.fit_ica` on those pixels, whatever the chunks.

    Parameters
    ----------
    array : (H, W, N) or (H, W) dask array (or array_like)
        Raw samples; integers are normalized by their type's maximum, floats used as they are.
    k, seed, max_iter, tol
        As for :func:`chanmix.fit_ica`.
    sample : int
        Pixels drawn for the iterations.
    valid, nodata, products
        As for :func:`fit_pca`.

    Raises
    ------
    UsageError
        A bad ``nodata``, ``valid`` mask or sample size, before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_ica` raises.
    """
    image, mask, scale = _prepared(array, k, valid, nodata, products)
    height, width = image.shape[:2]
    drawn = SampleMask(height * width, sample, seed)
    blocks, masks = _grid(image, mask)
    tops, lefts = np.cumsum((0,) + image.chunks[0][:-1]), np.cumsum((0,) + image.chunks[1][:-1])
    parts = [
        delayed(_sampled_of)(
            blocks[i, j], None if masks is None else masks[i, j], nodata, (tops[i], lefts[j]), width, drawn
        )
        for i in range(blocks.shape[0])
        for j in range(blocks.shape[1])
    ]
    raw, (index, pixels) = dask.compute(
        _tree(_moment_parts(image, mask, nodata, products), Moments.merge), _tree(parts, _joined_samples)
    )
    if raw.count == 0:
        raise _no_pixels()
    ordered = pixels[np.argsort(index, kind="stable")].astype(np.float64) * scale
    return local.fit_ica(raw.scaled(scale), ordered, k, seed=seed, max_iter=max_iter, tol=tol)


def fit_lstsq(
    x: Any,
    y: Any,
    *,
    bias: bool = True,
    ridge: float = 0.0,
    valid: Any = None,
    nodata: Nodata | None = None,
) -> LstsqFit:
    """Least squares (or ridge) from the bands of ``x`` to those of ``y``, as :func:`chanmix.fit_lstsq`.

    Parameters
    ----------
    x : (H, W, N) or (H, W) dask array (or array_like)
        Input samples; integers are normalized by their type's maximum, floats used as they are.
    y : (H, W, M) or (H, W) dask array (or array_like)
        Target samples of the same height and width, normalized alike; rechunked as ``x``.
    bias, ridge
        As for :func:`chanmix.fit_lstsq`.
    valid : (H, W) bool dask array or ndarray, optional
        The pixels that count; a pixel with a non-finite input or target never counts.
    nodata : float or tuple of N + M (float or None), optional
        One value for inputs and targets alike, or one per band, inputs then targets: a pixel
        holding it in any band does not count.

    Returns
    -------
    LstsqFit

    Raises
    ------
    UsageError
        Inputs and targets of different sizes, a bad ``ridge``, ``nodata`` or ``valid`` mask,
        before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_lstsq` raises.
    """
    inputs, targets = _channels_last(x, "x"), _channels_last(y, "y")
    if targets.shape[:2] != inputs.shape[:2]:
        raise UsageError(
            f"y: the targets are {targets.shape[:2]} pixels, the inputs {inputs.shape[:2]}", parameter="y"
        )
    fx, fy = 1.0 / dtype_max(inputs.dtype), 1.0 / dtype_max(targets.dtype)
    check_ridge(ridge)
    check_nodata(nodata, inputs.shape[2] + targets.shape[2])
    targets = targets.rechunk(inputs.chunks[:2] + (-1,))
    mask = _valid_mask(valid, inputs)
    xs, masks = _grid(inputs, mask)
    ys, _ = _grid(targets, None)
    parts = [
        delayed(_cross_of)(xs[i, j], ys[i, j], None if masks is None else masks[i, j], nodata)
        for i in range(xs.shape[0])
        for j in range(xs.shape[1])
    ]
    (raw,) = dask.compute(_tree(parts, CrossMoments.merge))
    if raw.count == 0:
        raise _no_pixels()
    return local.fit_lstsq(raw.scaled(fx, fy), bias=bias, ridge=ridge)
