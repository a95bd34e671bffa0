"""Block -> block: normalize, mix, rescale, round and saturate into the output sample type.

A :class:`Mix` is compiled once per (input dtype, output dtype) into a :class:`Plan`, in which
the normalization scales and any rescale are folded into the weights and bias, so that the
inner loop works on raw sample values: ``out_raw = rint(W' @ in_raw + b')`` then saturation.

The NumPy path is the reference. Blocks go through it in chunks of :data:`CHUNK_PIXELS`
pixels and preallocated float buffers, so no whole-image float temporary is ever made. Two
shortcuts give exactly its bytes and are taken where they apply:

- a plan whose outputs are copies of inputs (identity, permutation, duplication of bands,
  integer samples of one type) is a copy;
- a term-by-term mix of a C-contiguous block is done by the numba loops of
  :mod:`chanmix.kernel_compiled` (3 -> 3 uint8: 10 ms for 24 MP instead of 95 ms), once the
  process has spent :data:`COMPILED_AFTER` seconds on blocks that kernel could have taken.
  Numba takes about that long to start, so a process that mixes little never pays for it,
  and one that mixes much pays once, no more than it has already spent. The environment
  variable ``CHANMIX_KERNEL`` chooses: ``auto`` (the default), ``numpy`` (never the compiled
  kernel) or ``numba`` (from the first block; an error when numba cannot be imported).

Every pixel is computed with the same operations in the same order whatever the block or
chunk it falls in, so results do not depend on block shapes, layouts or thread counts.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numpy.typing import DTypeLike

from .choices import OUTPUT_DTYPES
from .dtypes import compute_dtype, dtype_max, value_range
from .errors import UsageError
from .mix import Mix
from .transfer import decode_srgb, encode_srgb

__all__ = ["CHUNK_PIXELS", "COMPILED_AFTER", "KERNEL_ENV", "Plan", "compile_plan", "mix_block",
           "mix_numpy", "nodata_mask"]

#: Pixels per chunk: small enough for the float buffers to stay in the L2 cache.
CHUNK_PIXELS = 1 << 15

#: Up to this many multiply-adds per pixel, the mix is accumulated term by term in a fixed
#: order; above it, a matrix product does the work (also in a fixed chunk grid).
_TERMWISE_MAX = 64

#: The environment variable that chooses the kernel, and its values.
KERNEL_ENV = "CHANMIX_KERNEL"
_KERNEL_MODES = ("auto", "numpy", "numba")

#: Seconds of NumPy-path mixing (of blocks the compiled kernel could take) after which a
#: process loads the compiled kernel: about what importing numba and loading its cached
#: machine code cost (0.3 to 0.55 s on a 2-core x86_64; the more when SciPy is installed,
#: as numba then imports scipy.linalg for BLAS).
COMPILED_AFTER = 0.4


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
    terms : tuple of M tuples of int
        The inputs each output adds up, in order. Between integer types the inputs with a
        zero weight are left out (they could only change the sign of a zero before rounding).
    copies : tuple of M int, or None
        Set when output ``m`` is exactly input ``copies[m]`` (integer samples of one type).
    fusable : bool
        The compiled kernel reproduces this plan: term by term, no linear light, types of
        :data:`~chanmix.choices.OUTPUT_DTYPES`, sums that cannot overflow to inf or NaN.
    """

    weights: np.ndarray
    bias: np.ndarray
    in_dtype: np.dtype
    out_dtype: np.dtype
    compute: np.dtype
    linear: bool
    post_scale: np.ndarray | None
    post_offset: np.ndarray | None
    terms: tuple[tuple[int, ...], ...]
    copies: tuple[int, ...] | None
    fusable: bool

    @property
    def n_inputs(self) -> int:
        return int(self.weights.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.weights.shape[0])

    @property
    def termwise(self) -> bool:
        """Accumulated term by term (else by a matrix product)."""
        return self.weights.size <= _TERMWISE_MAX


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
    m, n = mix.n_outputs, mix.n_inputs
    scale = np.ones(m) if scale is None else np.asarray(scale, dtype=np.float64)
    offset = np.zeros(m) if offset is None else np.asarray(offset, dtype=np.float64)
    in_max, out_max = dtype_max(in_dtype), dtype_max(out_dtype)
    every_input = (tuple(range(n)),) * m
    if linear:
        return Plan(
            mix.weights.astype(ct), mix.bias.astype(ct), in_dtype, out_dtype, ct, True,
            scale, offset, every_input, None, False,
        )
    weights = (mix.weights * (scale * out_max / in_max)[:, None]).astype(ct)
    bias = ((mix.bias * scale + offset) * out_max).astype(ct)
    integers = in_dtype.kind in "ui" and out_dtype.kind in "ui"
    terms = tuple(tuple(int(i) for i in np.flatnonzero(row)) for row in weights)
    one_hot = all(len(t) == 1 for t in terms) and np.all(weights.sum(axis=1) == 1)
    copies = (tuple(t[0] for t in terms)
              if integers and in_dtype == out_dtype and one_hot and not bias.any() else None)
    return Plan(weights, bias, in_dtype, out_dtype, ct, False, None, None,
                terms if integers else every_input, copies, _fusable(weights, bias, in_dtype, out_dtype))


def _fusable(weights: np.ndarray, bias: np.ndarray, in_dtype: np.dtype, out_dtype: np.dtype) -> bool:
    """Whether the compiled kernel gives the NumPy path's bytes for these folded weights.

    Integer samples give NaN on the NumPy path only through an overflow (``inf - inf``), and
    NumPy's cast of NaN to an integer type is left to the platform: such weights stay there.
    """
    if weights.size > _TERMWISE_MAX or {in_dtype.name, out_dtype.name} - set(OUTPUT_DTYPES):
        return False
    if in_dtype.kind == "f":
        return True
    lo, hi = value_range(in_dtype)
    bound = np.abs(weights.astype(np.float64)).sum(axis=1) * max(-lo, hi) + np.abs(bias)
    return bool(np.all(bound < np.finfo(weights.dtype).max / 2))


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

    Raises
    ------
    UsageError
        When ``CHANMIX_KERNEL`` holds an unknown value, or ``numba`` and numba is missing.
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
    if plan.copies is not None:
        _copy(src, dst, plan.copies)
        return out
    if not (plan.fusable and src.flags.c_contiguous and dst.flags.c_contiguous):
        mix_numpy(src, dst, plan)
    elif (compiled := _COMPILED.module()) is not None:
        compiled.mix_contiguous(src.reshape(-1), dst.reshape(-1), plan.weights, plan.bias)
    else:
        start = time.perf_counter()
        mix_numpy(src, dst, plan)
        _COMPILED.spent(time.perf_counter() - start)
    return out


def mix_numpy(src: np.ndarray, dst: np.ndarray, plan: Plan) -> None:
    """The reference path: mix ``src`` (P, N) into ``dst`` (P, M) a chunk at a time."""
    n_pix = src.shape[0]
    size = min(CHUNK_PIXELS, max(n_pix, 1))
    xbuf = np.empty((plan.n_inputs, size), dtype=plan.compute)
    ybuf = np.empty((plan.n_outputs, size), dtype=plan.compute)
    tmp = np.empty(size, dtype=plan.compute)
    reads = sorted(set().union(*plan.terms)) if plan.termwise else range(plan.n_inputs)
    for start in range(0, n_pix, CHUNK_PIXELS):
        stop = min(start + CHUNK_PIXELS, n_pix)
        k = stop - start
        x, y = xbuf[:, :k], ybuf[:, :k]
        for n in reads:  # a band at a time, and only the bands the mix reads
            np.copyto(x[n], src[start:stop, n], casting="unsafe")
        _mix_chunk(x, y, tmp[:k], plan)
        _store(y, dst[start:stop].T, plan)


def _mix_chunk(x: np.ndarray, y: np.ndarray, tmp: np.ndarray, plan: Plan) -> None:
    """y (M, k) = W @ x (N, k) + b, with normalization and transfer for the linear path."""
    if plan.linear:
        x *= plan.compute.type(1.0 / dtype_max(plan.in_dtype))
        decode_srgb(x)
    w, b = plan.weights, plan.bias
    if plan.termwise:
        for m, terms in enumerate(plan.terms):
            row = y[m]
            if not terms:
                row.fill(0)
            else:
                np.multiply(x[terms[0]], w[m, terms[0]], out=row)
            for n in terms[1:]:
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


def _copy(src: np.ndarray, dst: np.ndarray, copies: tuple[int, ...]) -> None:
    """dst[:, m] = src[:, copies[m]] for (P, N) and (P, M) blocks of one integer type."""
    if copies == tuple(range(src.shape[1])):
        np.copyto(dst, src)
        return
    for start in range(0, src.shape[0], CHUNK_PIXELS):  # each chunk of src read once from memory
        chunk = slice(start, start + CHUNK_PIXELS)
        for m, n in enumerate(copies):
            np.copyto(dst[chunk, m], src[chunk, n])


class _CompiledKernel:
    """:mod:`chanmix.kernel_compiled`, loaded for the process when ``CHANMIX_KERNEL`` and the
    time spent on the NumPy path ask for it (shared by every thread, which never waits for
    another thread's loading in ``auto`` mode: it takes the NumPy path meanwhile)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = 0.0
        self._module: ModuleType | None = None
        self._missing: ImportError | None = None

    def spent(self, seconds: float) -> None:
        """Count NumPy-path time that the compiled kernel could have saved."""
        self._seconds += seconds

    def module(self) -> ModuleType | None:
        """The compiled kernel's module, or None for the NumPy path."""
        mode = os.environ.get(KERNEL_ENV) or "auto"
        if mode not in _KERNEL_MODES:
            raise UsageError(f"{KERNEL_ENV}: expected one of {', '.join(_KERNEL_MODES)}, not {mode!r}")
        if mode == "numpy":
            return None
        forced = mode == "numba"
        due = self._seconds >= COMPILED_AFTER and self._missing is None
        if self._module is None and (forced or due) and self._lock.acquire(blocking=forced):
            try:
                self._import(forced=forced)
            finally:
                self._lock.release()
        return self._module

    def _import(self, *, forced: bool) -> None:
        if self._module is not None:
            return
        try:
            from . import kernel_compiled
        except ImportError as exc:
            self._missing = exc
            if forced:
                raise UsageError(f"{KERNEL_ENV}=numba, but numba cannot be loaded: {exc}") from exc
            return
        self._module = kernel_compiled


_COMPILED = _CompiledKernel()
