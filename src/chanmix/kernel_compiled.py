"""The mixing kernel compiled with numba: the NumPy path's arithmetic without its passes.

:func:`chanmix.kernel.mix_block` imports this module lazily (see its docstring for when), for
the term-by-term mixes (``N * M <= 64``, not linear light) of C-contiguous blocks.

Every pixel goes through exactly the operations of the NumPy path, in the same order and in
the same float type: ``y = x[0] * w[m, 0]``, then ``y = y + x[n] * w[m, n]`` for n = 1 ..
N - 1, then ``y = y + b[m]``; for integer outputs rint (ties to even), clip to the output
range and NaN -> 0; then the cast. Without ``fastmath`` LLVM neither fuses a multiply and an
add (no FMA) nor reorders the sums, so the bytes are the NumPy path's;
``tests/test_kernel_compiled.py`` checks that for every pair of sample types.

The weights are passed as tuples of tuples, so that N and M are part of the function's type:
each (N, M, input type, output type) is compiled once (0.3 to 1 s) and cached on disk beside
this file (or in numba's user cache when that is not writable), and LLVM unrolls the channel
loops and vectorizes the pixel loop. Two loops, the faster one for each case:

- fused: one pass over the interleaved samples, with the N loads and M stores of a pixel as
  interleaved vector groups (24 MP 3 -> 3 uint8: 10 ms on one core, NumPy 95 ms);
- planar: chunks of :data:`_CHUNK` pixels deinterleaved into float rows, mixed row by row, and
  interleaved back; used where LLVM does not vectorize the fused loop (see :func:`_fused_pays`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from .dtypes import value_range

__all__ = ["mix_contiguous"]

#: Pixels per chunk of the planar loop: its buffers, (N + M) x 512 samples, stay in L1.
_CHUNK = 512


def _finish(y, lo, hi):  # pragma: no cover - replaced by its overload in compiled code
    """``y`` rounded and saturated to [lo, hi] (NaN -> 0), or as it is when ``lo`` is None."""


@overload(_finish)
def _finish_overload(y, lo, hi):
    if isinstance(lo, types.NoneType):
        return lambda y, lo, hi: y

    def round_and_clip(y, lo, hi):
        return min(max(np.rint(y), lo), hi) if y == y else type(y)(0)

    return round_and_clip


@njit(nogil=True, cache=True)
def _fused(src, dst, weights, bias, lo, hi):  # pragma: no cover - compiled
    """``src`` (P * N,) interleaved samples -> ``dst`` (P * M,), one pixel at a time."""
    n_in, n_out = len(weights[0]), len(weights)
    ct = type(bias[0])
    for p in range(src.size // n_in):
        for m in range(n_out):
            y = ct(src[n_in * p]) * weights[m][0]
            for n in range(1, n_in):
                y = y + ct(src[n_in * p + n]) * weights[m][n]
            dst[n_out * p + m] = _finish(y + bias[m], lo, hi)


@njit(nogil=True, cache=True)
def _planar(src, dst, weights, bias, lo, hi, xbuf, ybuf):  # pragma: no cover - compiled
    """As :func:`_fused`, through ``xbuf`` (N, chunk) of the compute type and ``ybuf`` (M, chunk)
    of the output type."""
    n_in, n_out = len(weights[0]), len(weights)
    n_pix, chunk = src.size // n_in, xbuf.shape[1]
    for start in range(0, n_pix, chunk):
        k = min(chunk, n_pix - start)
        s = src[n_in * start:n_in * (start + k)]
        d = dst[n_out * start:n_out * (start + k)]
        for p in range(k):
            for n in range(n_in):
                xbuf[n, p] = s[n_in * p + n]
        for m in range(n_out):
            w, b = weights[m], bias[m]
            for p in range(k):
                y = xbuf[0, p] * w[0]
                for n in range(1, n_in):
                    y = y + xbuf[n, p] * w[n]
                ybuf[m, p] = _finish(y + b, lo, hi)
        for p in range(k):
            for m in range(n_out):
                d[n_out * p + m] = ybuf[m, p]


def _fused_pays(n_in: int, n_out: int, in_dtype: np.dtype, out_dtype: np.dtype) -> bool:
    """Whether LLVM vectorizes the fused loop: measured with numba 0.68 (LLVM 20) on AVX-512,
    it does for up to 4 x 4 channels, and for integer outputs from inputs other than float64
    up to 63 terms; elsewhere (interleaved groups of 5 to 8 floats) the planar loop is 2 to 10
    times faster."""
    if n_in <= 4 and n_out <= 4:
        return True
    return out_dtype.kind in "ui" and in_dtype != np.float64 and n_in * n_out < 64


def mix_contiguous(src: np.ndarray, dst: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> None:
    """Mix ``src`` into ``dst`` with the compiled loops.

    Parameters
    ----------
    src : (P * N,) C-contiguous ndarray
        P pixels of N interleaved raw samples.
    dst : (P * M,) C-contiguous ndarray
        Receives P pixels of M interleaved raw samples of its type, rounded and saturated
        for integer types.
    weights : (M, N) ndarray of the compute type (float32 or float64)
        Applied to raw samples (normalization folded in).
    bias : (M,) ndarray of the compute type
        Added last, in raw output units.
    """
    ct = bias.dtype.type
    w = tuple(tuple(ct(v) for v in row) for row in weights)
    b = tuple(ct(v) for v in bias)
    lo, hi = (None, None) if dst.dtype.kind == "f" else (ct(v) for v in value_range(dst.dtype))
    n_out, n_in = weights.shape
    if _fused_pays(n_in, n_out, src.dtype, dst.dtype):
        _fused(src, dst, w, b, lo, hi)
    else:
        xbuf = np.empty((n_in, _CHUNK), dtype=bias.dtype)
        ybuf = np.empty((n_out, _CHUNK), dtype=dst.dtype)
        _planar(src, dst, w, b, lo, hi, xbuf, ybuf)
