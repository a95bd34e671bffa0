"""Block -> block: normalize, mix, rescale, round and saturate into the output sample type.

A :class:`Mix` is compiled once per (input dtype, output dtype) into a :class:`Plan`, in which
the normalization scales and any rescale are folded into the weights and bias, so that the
inner loop works on raw sample values: ``out_raw = rint(W' @ in_raw + b')`` then saturation.
Blocks are processed in chunks of :data:`CHUNK_PIXELS` pixels through preallocated float
buffers, so no whole-image float temporary is ever made.

Every pixel is computed with the same operations in the same order whatever the block or
chunk it falls in, so results do not depend on block shapes, layouts or thread counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from .dtypes import compute_dtype, dtype_max, value_range
from .mix import Mix
from .transfer import decode_srgb, encode_srgb

__all__ = ["CHUNK_PIXELS", "Plan", "compile_plan", "mix_block", "nodata_mask"]

#: Pixels per chunk: small enough for the float buffers to stay in the L2 cache.
CHUNK_PIXELS = 1 << 15

#: Up to this many multiply-adds per pixel, the mix is accumulated term by term in a fixed
#: order; above it, a matrix product does the work (also in a fixed chunk grid).
_TERMWISE_MAX = 64


@dataclass(frozen=True, eq=False)
class Plan:
    """A mix compiled for one input and one output sample type.

    Attributes
    ----------
    weights : (M, N) ndarray of the compute dtype
        Applied to raw input samples (scales folded in), or to normalized linear-light values
        when ``linear`` is set.
    bias : (M,) ndarray of the compute dtype
        Added after the weights, in raw output units (normalized units when ``linear``).
    post_scale, post_offset : (M,) ndarray or None
        Linear-light only: the rescale applied after re-encoding, in normalized units.
    """

    weights: np.ndarray
    bias: np.ndarray
    in_dtype: np.dtype
    out_dtype: np.dtype
    compute: np.dtype
    linear: bool
    post_scale: np.ndarray | None
    post_offset: np.ndarray | None

    @property
    def n_inputs(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.weights.shape[0])


def compile_plan(
    mix: Mix,
    in_dtype: DTypeLike,
    out_dtype: DTypeLike,
    *,
    linear: bool = False,
    scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> Plan:
    """Fold normalization (and an optional per-band rescale) into the mix.

    Parameters
    ----------
    mix : Mix
        The channel mix, in normalized units.
    in_dtype, out_dtype : dtype
        Sample types of the blocks read and written.
    linear : bool
        Decode the sRGB transfer function before mixing and encode it after.
    scale, offset : (M,) array_like, optional
        Per-band affine map applied to the mixed values (normalized units) before the
        output is scaled: ``y' = scale * y + offset``.
    """
    in_dtype, out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
    ct = compute_dtype(in_dtype, out_dtype)
    m = mix.n_outputs
    scale = np.ones(m) if scale is None else np.asarray(scale, dtype=np.float64)
    offset = np.zeros(m) if offset is None else np.asarray(offset, dtype=np.float64)
    in_max, out_max = dtype_max(in_dtype), dtype_max(out_dtype)
    if linear:
        return Plan(
            mix.weights.astype(ct), mix.bias.astype(ct), in_dtype, out_dtype, ct, True,
            scale, offset,
        )
    weights = mix.weights * (scale * out_max / in_max)[:, None]
    bias = (mix.bias * scale + offset) * out_max
    return Plan(weights.astype(ct), bias.astype(ct), in_dtype, out_dtype, ct, False, None, None)


def nodata_mask(block: np.ndarray, nodata: float) -> np.ndarray:
    """True where any band of a ``(..., N)`` block equals ``nodata`` (compared in its dtype)."""
    if np.isnan(nodata):
        return np.isnan(block).any(axis=-1) if block.dtype.kind == "f" else np.zeros(
            block.shape[:-1], dtype=bool
        )
    typed = np.array(nodata).astype(block.dtype) if block.dtype.kind == "f" else nodata
    return (block == typed).any(axis=-1)


def mix_block(block: np.ndarray, plan: Plan, out: np.ndarray | None = None) -> np.ndarray:
    """Mix one channels-last block.

    Parameters
    ----------
    block : (..., N) ndarray of ``plan.in_dtype``
        Raw samples; any leading shape (rows x columns, or a flat run of pixels).
    plan : Plan
        From :func:`compile_plan`.
    out : (..., M) ndarray of ``plan.out_dtype``, optional
        Where to write the result (allocated when omitted).

    Returns
    -------
    (..., M) ndarray of ``plan.out_dtype``
        Rounded to nearest (ties to even) and saturated for integer outputs; NaN inputs give
        0 in integer outputs.
    """
    if block.shape[-1] != plan.n_inputs:
        raise ValueError(f"block has {block.shape[-1]} channels, the plan reads {plan.n_inputs}")
    lead = block.shape[:-1]
    if out is None:
        out = np.empty(lead + (plan.n_outputs,), dtype=plan.out_dtype)
    src = block.reshape(-1, plan.n_inputs)
    dst = out.reshape(-1, plan.n_outputs)
    if not np.shares_memory(dst, out):
        raise ValueError("out must be reshapeable to (pixels, M) without a copy")
    n_pix = src.shape[0]
    size = min(CHUNK_PIXELS, max(n_pix, 1))
    xbuf = np.empty((plan.n_inputs, size), dtype=plan.compute)
    ybuf = np.empty((plan.n_outputs, size), dtype=plan.compute)
    tmp = np.empty(size, dtype=plan.compute)
    for start in range(0, n_pix, CHUNK_PIXELS):
        stop = min(start + CHUNK_PIXELS, n_pix)
        k = stop - start
        x, y = xbuf[:, :k], ybuf[:, :k]
        np.copyto(x, src[start:stop].T, casting="unsafe")
        _mix_chunk(x, y, tmp[:k], plan)
        _store(y, dst[start:stop].T, plan)
    return out


def _mix_chunk(x: np.ndarray, y: np.ndarray, tmp: np.ndarray, plan: Plan) -> None:
    """y (M, k) = W @ x (N, k) + b, with normalization and transfer for the linear path."""
    if plan.linear:
        x *= plan.compute.type(1.0 / dtype_max(plan.in_dtype))
        decode_srgb(x)
    w, b = plan.weights, plan.bias
    if w.size <= _TERMWISE_MAX:
        for m in range(plan.n_outputs):
            row = y[m]
            np.multiply(x[0], w[m, 0], out=row)
            for n in range(1, plan.n_inputs):
                np.multiply(x[n], w[m, n], out=tmp)
                row += tmp
            row += b[m]
    else:
        np.matmul(w, x, out=y)
        y += b[:, None]
    if plan.linear:
        encode_srgb(y)
        y *= plan.post_scale.astype(plan.compute)[:, None]
        y += plan.post_offset.astype(plan.compute)[:, None]
        y *= plan.compute.type(dtype_max(plan.out_dtype))


def _store(y: np.ndarray, dst: np.ndarray, plan: Plan) -> None:
    """Round, saturate and cast y (M, k) into dst (M, k) of the output dtype."""
    if plan.out_dtype.kind in "ui":
        lo, hi = value_range(plan.out_dtype)
        np.rint(y, out=y)
        np.clip(y, lo, hi, out=y)
        if plan.in_dtype.kind == "f":
            np.nan_to_num(y, copy=False, nan=0.0)
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes +-inf
        for row, target in zip(y, dst):  # a band at a time: 4x faster than one 2-D strided copy
            np.copyto(target, row, casting="unsafe")
