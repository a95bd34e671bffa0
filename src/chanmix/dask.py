"""Mix and fit dask arrays chunk by chunk, with chanmix's own kernel and statistics.

Needs the dask extra: ``pip install 'chanmix[dask]'``. Arrays are channels-last, ``(H, W, C)``
or ``(H, W)``, chunked in any way over rows and columns; channels split over several chunks
are first rechunked into one (a pixel's bands are mixed together).

>>> import numpy as np, dask.array as da, chanmix, chanmix.dask
>>> rgb = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)
>>> image = da.from_array(rgb, chunks=(128, 128, 3))
>>> grey = chanmix.dask.apply(image, chanmix.get_preset("gray-rec601").mix)  # lazy
>>> grey.shape, grey.dtype, grey.chunksize
((300, 400, 1), dtype('uint8'), (128, 128, 1))
>>> bool((grey.compute() == chanmix.apply(rgb, chanmix.get_preset("gray-rec601").mix)).all())
True
>>> chanmix.dask.fit_pca(image, 2).mix.names
('PC1', 'PC2')

- :func:`apply` is ``map_blocks`` of the :class:`~chanmix.blockmix.Mixer` that
  :func:`chanmix.apply` uses, so every chunk is mixed as chanmix mixes its own blocks and the
  result is byte-identical to ``chanmix.apply`` on the computed array, whatever the chunks.
  With ``rescale`` "minmax" or "percentile", the mixed values are measured first, by the
  passes of :mod:`chanmix.rescale` run as dask computations of small per-chunk results:
  **those statistics are computed when apply is called** (one computation for minmax and for
  percentiles of up to :data:`~chanmix.rescale.GATHER_VALUES` values per band, one more per
  refinement pass above it), as the scale and offset must be known to build the lazy mix;
  the mix itself stays lazy. With "clip" (the default) nothing is computed.
- :func:`fit_pca`, :func:`fit_mnf`, :func:`fit_maf`, :func:`fit_ica` and :func:`fit_lstsq`
  compute the mergeable statistics of :mod:`chanmix.fit` per chunk (in raw sample units,
  scaled to normalized units after the merge, as :mod:`chanmix.fitfiles` does for files)
  and return the same fits as :mod:`chanmix.fit` (:func:`fit_ica` also gathers its pixel
  sample per chunk). They compute when called.

Per-chunk results are merged by a tree of delayed tasks, :data:`SPLIT_EVERY` results per
task: the results are Python values (a :class:`~chanmix.fit.Moments` holds a count, a mean
and a scatter matrix; a rescale pass holds histograms or gathered values per band) merged by
their own exact or pairwise-update merges, which ``dask.array.reduction`` cannot take without
packing them into arrays and unpacking them in every combine step. The tree keeps every task
small and the depth logarithmic in the number of chunks.

Both run on the dask scheduler in force: ``dask.config.set(scheduler=...)`` or a
``distributed.Client``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any, TypeVar

import numpy as np
from numpy.typing import DTypeLike

from . import fit as local
from .blockmix import ApplyRequest, Mixer
from .dtypes import dtype_max
from .errors import DataError, UsageError
from .fit import (
    DEFAULT_SAMPLE,
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
from .kernel import nodata_mask
from .mix import Mix
from .nodata import Nodata, check_nodata
from .rescale import BlockPass, Rescale, rescale_by_passes

try:
    import dask
    import dask.array as da
    from dask.delayed import Delayed, delayed
except ImportError as exc:
    raise ImportError("chanmix.dask needs the dask extra: pip install 'chanmix[dask]'") from exc

__all__ = ["SPLIT_EVERY", "apply", "fit_ica", "fit_lstsq", "fit_maf", "fit_mnf", "fit_pca"]

#: Per-chunk results merged by one task of the tree reduction.
SPLIT_EVERY = 8

_T = TypeVar("_T")


def _channels_last(array: Any, what: str = "array") -> da.Array:
    """``array`` as an (H, W, C) dask array whose channels are one chunk."""
    image = da.asarray(array)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise UsageError(f"{what}: expected an (H, W) or (H, W, N) array, got shape {image.shape}")
    return image.rechunk({2: -1})


def _tree(parts: Sequence[Delayed], merge: Callable[[_T, _T], _T]) -> Delayed:
    """One delayed value: ``parts`` (at least one) merged in order, by a tree of tasks that each
    merge up to :data:`SPLIT_EVERY` values."""
    while len(parts) > 1:
        groups = [parts[i : i + SPLIT_EVERY] for i in range(0, len(parts), SPLIT_EVERY)]
        parts = [g[0] if len(g) == 1 else delayed(reduce)(merge, list(g)) for g in groups]
    return parts[0]


class _DaskPasses:
    """A :class:`~chanmix.rescale.PassRunner` over the chunks of a dask array: each pass is one
    computation, a per-chunk result merged by :func:`_tree`."""

    def __init__(self, image: da.Array) -> None:
        self.blocks = image.to_delayed().ravel().tolist()

    def __call__(self, job: BlockPass[_T]) -> _T:
        parts = [delayed(job.measure)(block) for block in self.blocks]
        (result,) = dask.compute(_tree(parts, job.merge))
        return result


def apply(
    array: Any,
    mix: Mix,
    *,
    dtype: DTypeLike | str | None = None,
    rescale: Rescale | str = "clip",
    linear: bool = False,
    nodata: Nodata | None = None,
    alpha: int | None = None,
    alpha_mode: str = "keep",
    preserve: str | None = None,
    preserve_amount: float = 1.0,
) -> da.Array:
    """Mix the channels of a dask array, lazily: :func:`chanmix.apply` chunk by chunk.

    Parameters
    ----------
    array : (H, W, C) or (H, W) dask array (or array_like)
        Raw samples of any integer or float type, chunked in any way over rows and columns;
        channels split over several chunks are rechunked into one.
    mix : Mix
        N inputs (C, or C - 1 when an alpha channel is kept or dropped) to M outputs.
    dtype, rescale, linear, nodata, alpha, alpha_mode, preserve, preserve_amount
        As for :func:`chanmix.apply`. With ``rescale`` "minmax" or "percentile", the mixed
        values' statistics are computed now (see the module's documentation).

    Returns
    -------
    (H, W, M) dask array, or (H, W, M + 1) when an alpha channel is kept
        Lazy, chunked as ``array`` over rows and columns, one chunk of channels; computed, it
        holds the same bytes as ``chanmix.apply`` on the computed ``array``.

    Raises
    ------
    UsageError, MatrixError
        As :func:`chanmix.apply` does, before anything is computed; a rescale of an image
        without a valid pixel, when its statistics are computed.
    """
    image = _channels_last(array)
    request = ApplyRequest.of(
        image.shape,
        image.dtype,
        mix,
        dtype=dtype,
        rescale=rescale,
        nodata=nodata,
        alpha=alpha,
        alpha_mode=alpha_mode,
        preserve=preserve,
        preserve_amount=preserve_amount,
    )
    if request.order != list(range(image.shape[2])):
        image = image[:, :, request.order]
    colour = image[:, :, : request.n_colour]
    scale_offset = rescale_by_passes(
        _DaskPasses(colour), mix, request.rescale, linear=linear, nodata=nodata, preserve=request.preserve
    )
    mixer = Mixer.build(
        mix,
        image.dtype,
        request.out_dtype,
        linear=linear,
        scale_offset=scale_offset,
        nodata=nodata,
        alpha=request.keep_alpha,
        preserve=request.preserve,
    )
    return da.map_blocks(
        mixer,
        image,
        token="chanmix-mix",
        dtype=request.out_dtype,
        chunks=image.chunks[:2] + ((mixer.n_channels,),),
        meta=np.empty((0, 0, 0), dtype=request.out_dtype),
    )


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


def _moments_of(block: np.ndarray, valid: np.ndarray | None, nodata: Nodata | None) -> Moments:
    return Moments.of(block, _counted(block, valid, nodata))


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


def _moment_parts(image: da.Array, mask: da.Array | None, nodata: Nodata | None) -> list[Delayed]:
    blocks, masks = _grid(image, mask)
    return [
        delayed(_moments_of)(blocks[i, j], None if masks is None else masks[i, j], nodata)
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
    array: Any, k: int | float, valid: Any, nodata: Nodata | None
) -> tuple[da.Array, da.Array | None, float]:
    """The image, its valid mask and the factor to normalized units, with ``k`` and
    ``nodata`` checked against its bands."""
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
    image, mask, scale = _prepared(array, k, valid, nodata)
    (raw,) = dask.compute(_tree(_moment_parts(image, mask, nodata), Moments.merge))
    if raw.count == 0:
        raise _no_pixels()
    return local.fit_pca(raw.scaled(scale), k, center=center, whiten=whiten)


def fit_mnf(array: Any, k: int | float, *, valid: Any = None, nodata: Nodata | None = None) -> MNFFit:
    """Minimum noise fraction components of a dask array, as :func:`chanmix.fit_mnf`.

    The noise is estimated from the differences of horizontally adjacent pixels, every pair
    of the image once, across chunk edges too: as from the whole image, whatever the chunks.

    Parameters
    ----------
    array : (H, W, N) or (H, W) dask array (or array_like)
        Raw samples; integers are normalized by their type's maximum, floats used as they are.
    k
        As for :func:`chanmix.fit_mnf`.
    valid, nodata
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
    image, mask, scale = _prepared(array, k, valid, nodata)
    raw, noise = dask.compute(
        _tree(_moment_parts(image, mask, nodata), Moments.merge),
        _tree(_noise_parts(image, mask, nodata), NoiseMoments.merge),
    )
    if raw.count == 0:
        raise _no_pixels()
    return local.fit_mnf(raw.scaled(scale), noise.scaled(scale), k)


def fit_maf(array: Any, k: int, *, valid: Any = None, nodata: Nodata | None = None) -> MAFFit:
    """Min/max autocorrelation factors of a dask array, as :func:`chanmix.fit_maf`.

    Every horizontal and vertical pair of neighbouring pixels counts once, across row and
    column chunk edges too: the fit equals the one of the whole image, whatever the chunks.

    Parameters
    ----------
    array : (H, W, N) or (H, W) dask array (or array_like)
        Raw samples; integers are normalized by their type's maximum, floats used as they are.
    k : int
        As for :func:`chanmix.fit_maf`.
    valid, nodata
        As for :func:`fit_pca`; a difference counts when both of its pixels do.

    Raises
    ------
    UsageError
        A bad ``k``, ``nodata`` or ``valid`` mask, before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_maf` raises.
    """
    image, mask, scale = _prepared(array, k, valid, nodata)
    raw, differences = dask.compute(
        _tree(_moment_parts(image, mask, nodata), Moments.merge),
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
    valid, nodata
        As for :func:`fit_pca`.

    Raises
    ------
    UsageError
        A bad ``nodata``, ``valid`` mask or sample size, before anything is computed.
    DataError
        No valid pixel, or what :func:`chanmix.fit_ica` raises.
    """
    image, mask, scale = _prepared(array, k, valid, nodata)
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
        _tree(_moment_parts(image, mask, nodata), Moments.merge), _tree(parts, _joined_samples)
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
