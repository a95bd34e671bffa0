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

from typing import Any, TypeVar

import numpy as np
from numpy.typing import DTypeLike

from .blockmix import ApplyRequest, Mixer
from .dask_blocks import SPLIT_EVERY, da, dask, delayed
from .dask_blocks import channels_last as _channels_last
from .dask_blocks import tree as _tree
from .dask_fits import fit_ica, fit_lstsq, fit_maf, fit_mnf, fit_pca
from .mix import Mix
from .nodata import Nodata
from .rescale import BlockPass, Rescale, rescale_by_passes

__all__ = ["SPLIT_EVERY", "apply", "fit_ica", "fit_lstsq", "fit_maf", "fit_mnf", "fit_pca"]

_T = TypeVar("_T")


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
