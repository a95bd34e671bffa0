"""Block -> block: normalize, mix, rescale, round and saturate into the output sample type.

A :class:`Mix` is compiled once per (input dtype, output dtype) into a :class:`Plan`, in which
the normalization scales and any rescale are folded into the weights and bias, so that the
inner loop works on raw sample values: ``out_raw = rint(W' @ in_raw + b')`` then saturation.

The NumPy path is the reference. Blocks go through it in chunks of :data:`CHUNK_PIXELS`
pixels and preallocated float buffers, so no whole-image float temporary is ever made. Two
shortcuts give exactly its bytes and are taken where they apply:

- a plan whose outputs are copies of inputs (identity, permutation, duplication of bands,
  integer samples of one type) is a copy;
- a term-by-term mix (``N * M <= 64``, not linear light, no colour preserved) is done by
  the C loops of ``chanmix._mixloops`` (``_mixloops.c``), which repeat the NumPy path's
  operations sample by sample without its passes over memory (3 -> 3 uint8: about 11 ms for
  24 MP instead of about 100 ms) and release the GIL. The C kernel is built when chanmix is installed; where
  no C compiler was found, the NumPy path does everything. The environment variable
  ``CHANMIX_KERNEL`` chooses: ``auto`` (the default: the C kernel when it is built),
  ``numpy`` (never the C kernel) or ``compiled`` (an error when it is not built).

Every pixel is computed with the same operations in the same order whatever the block or
chunk it falls in, so results do not depend on block shapes, layouts or thread counts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

import numpy as np
from numpy.typing import DTypeLike

from .choices import OUTPUT_DTYPES
from .dtypes import compute_dtype, dtype_max, value_range
from .errors import DataError, MatrixError, UsageError
from .mix import Mix
from .nodata import Nodata
from .preserve import Preserve
from .transfer import decode_srgb, encode_srgb

try:
    from . import _mixloops
except ImportError:  # installed without a C compiler: the NumPy path does everything
    _mixloops = None

__all__ = [
    "CHUNK_PIXELS",
    "KERNEL_ENV",
    "Plan",
    "compile_plan",
    "compiled_kernel",
    "mix_block",
    "mix_numpy",
    "nodata_mask",
]

#: Pixels per chunk: small enough for the float buffers to stay in the L2 cache.
CHUNK_PIXELS = 1 << 15

#: Up to this many multiply-adds per pixel, the mix is accumulated term by term in a fixed
#: order; above it, a matrix product does the work (also in a fixed chunk grid).
_TERMWISE_MAX = 64

#: The environment variable that chooses the kernel, and its values.
KERNEL_ENV = "CHANMIX_KERNEL"
_KERNEL_MODES = ("auto", "numpy", "compiled")


@dataclass(frozen=True, eq=False)
class Plan:
    """A mix compiled for one input and one output sample type.

    Attributes
    ----------
    weights : (M, N) ndarray of the compute dtype
        Applied to raw input samples (scales folded in), or to normalized values (linear
        light when ``linear`` is set) when the plan is :attr:`normalized`.
    bias : (M,) ndarray of the compute dtype
        Added after the weights, in raw output units (normalized units when normalized).
    post_scale, post_offset : (M,) ndarray or None
        Normalized plans only (else None): the rescale applied after re-encoding and
        preserving, in normalized units; None applies none.
    terms : tuple of M tuples of int
        The inputs each output adds up, in order. Between integer types the inputs with a
        zero weight are left out (they could only change the sign of a zero before rounding).
    copies : tuple of M int, or None
        Set when output ``m`` is exactly input ``copies[m]`` (integer samples of one type).
    fusable : bool
        The compiled kernel reproduces this plan: term by term, no linear light, native
        types of :data:`~chanmix.choices.OUTPUT_DTYPES`, sums that cannot overflow to inf
        or NaN.
    bounded : bool
        Integer samples in and out, and no pixel can mix to a raw value beyond 2^30 (2^62
        in float64), so the compiled kernel may round in integers.
    preserve : Preserve or None
        The colour measure kept after the mix (3 -> 3 only), before the rescale.
    limits : (float, float) or None
        The normalized range ``preserve`` saturates to: the output type's, for integer
        outputs without a rescale; None otherwise (floats, or a rescale stretching after).
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
    bounded: bool
    preserve: Preserve | None = None
    limits: tuple[float, float] | None = None

    @property
    def normalized(self) -> bool:
        """Mixed in normalized units (linear light, or a colour preserved), not raw samples."""
        return self.linear or self.preserve is not None

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
    preserve: Preserve | None = None,
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
    preserve : Preserve, optional
        A colour measure kept after the mix (before any rescale), in linear light when
        ``linear`` is set.

    Raises
    ------
    UsageError
        A colour preserved by a mix that is not 3 -> 3.
    MatrixError
        A mix whose outputs overflow the arithmetic.
    """
    in_dtype, out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
    ct = compute_dtype(in_dtype, out_dtype)
    m, n = mix.n_outputs, mix.n_inputs
    rescaled = scale is not None or offset is not None
    scale = np.ones(m) if scale is None else np.asarray(scale, dtype=np.float64)
    offset = np.zeros(m) if offset is None else np.asarray(offset, dtype=np.float64)
    in_max, out_max = dtype_max(in_dtype), dtype_max(out_dtype)
    _check_range(mix, scale, offset, out_max, ct)
    every_input = (tuple(range(n)),) * m
    if linear or preserve is not None:
        limits = None
        if preserve is not None:
            preserve.check(n, m)
        if preserve is not None and out_dtype.kind in "ui" and not rescaled:
            lo, hi = value_range(out_dtype)
            limits = (lo / out_max, hi / out_max)
        return Plan(
            mix.weights.astype(ct),
            mix.bias.astype(ct),
            in_dtype,
            out_dtype,
            ct,
            linear,
            scale,
            offset,
            every_input,
            None,
            False,
            False,
            preserve,
            limits,
        )
    weights = np.ascontiguousarray(mix.weights * (scale * out_max / in_max)[:, None], dtype=ct)
    bias = np.ascontiguousarray((mix.bias * scale + offset) * out_max, dtype=ct)
    integers = in_dtype.kind in "ui" and out_dtype.kind in "ui"
    terms = tuple(tuple(int(i) for i in np.flatnonzero(row)) for row in weights)
    one_hot = all(len(t) == 1 for t in terms) and np.all(weights.sum(axis=1) == 1)
    copies = (
        tuple(t[0] for t in terms)
        if integers and in_dtype == out_dtype and one_hot and not bias.any()
        else None
    )
    bound = _raw_bound(weights, bias, in_dtype)
    return Plan(
        weights,
        bias,
        in_dtype,
        out_dtype,
        ct,
        False,
        None,
        None,
        terms if integers else every_input,
        copies,
        _fusable(weights, in_dtype, out_dtype, bound),
        integers and bound <= (2.0**62 if ct == np.float64 else 2.0**30),
    )


def _check_range(mix: Mix, scale: np.ndarray, offset: np.ndarray, out_max: float, ct: np.dtype) -> None:
    """Refuse a mix whose outputs overflow the arithmetic for samples of the unit range.

    Each output reaches at most ``sum_n |W[m, n]| + |b[m]|`` on normalized samples within
    [-1, 1] (every integer type; floats in their usual range), then scaled to the output type;
    that must stay finite in ``ct``, or the output would hold inf and NaN.

    Raises
    ------
    MatrixError
        Naming the output, the magnitude reached and the limit of ``ct``.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        reach = (np.abs(mix.weights).sum(axis=1) + np.abs(mix.bias)) * np.abs(scale) + np.abs(offset)
        reach = reach * out_max
    limit = float(np.finfo(ct).max)
    worst = int(np.argmax(np.where(np.isfinite(reach), reach, np.inf)))
    if not reach[worst] < limit:
        raise MatrixError(
            f"output {worst + 1} of the mix reaches {reach[worst]:.3g}, beyond what {ct.name} "
            f"arithmetic holds ({limit:.3g}): the weights or bias are too large"
        )


def _raw_bound(weights: np.ndarray, bias: np.ndarray, in_dtype: np.dtype) -> float:
    """The largest magnitude the folded mix can reach from integer samples (inf for floats)."""
    if in_dtype.kind == "f":
        return np.inf
    lo, hi = value_range(in_dtype)
    return float(np.max(np.abs(weights.astype(np.float64)).sum(axis=1) * max(-lo, hi) + np.abs(bias)))


def _fusable(weights: np.ndarray, in_dtype: np.dtype, out_dtype: np.dtype, bound: float) -> bool:
    """Whether the compiled kernel gives the NumPy path's bytes for these folded weights.

    Integer samples give NaN on the NumPy path only through an overflow (``inf - inf``), and
    NumPy's cast of NaN to an integer type is left to the platform: such weights stay there.
    """
    if weights.size > _TERMWISE_MAX or {in_dtype.name, out_dtype.name} - set(OUTPUT_DTYPES):
        return False
    if not (in_dtype.isnative and out_dtype.isnative):
        return False
    return in_dtype.kind == "f" or bound < np.finfo(weights.dtype).max / 2


def nodata_mask(block: np.ndarray, nodata: Nodata) -> np.ndarray:
    """True where any band of a ``(..., N)`` block equals ``nodata`` (compared in its dtype):
    one value for every band, or N values, one per band (None: the band has none)."""
    if isinstance(nodata, tuple):
        if len(nodata) != block.shape[-1]:
            raise ValueError(f"{len(nodata)} nodata values for {block.shape[-1]} bands")
        mask = np.zeros(block.shape[:-1], dtype=bool)
        for band, value in enumerate(nodata):
            if value is not None:
                mask |= nodata_mask(block[..., band : band + 1], value)
        return mask
    if np.isnan(nodata):
        return (
            np.isnan(block).any(axis=-1)
            if block.dtype.kind == "f"
            else np.zeros(block.shape[:-1], dtype=bool)
        )
    typed = np.array(nodata).astype(block.dtype) if block.dtype.kind == "f" else nodata
    return (block == typed).any(axis=-1)


def mix_block(
    block: np.ndarray, plan: Plan, out: np.ndarray | None = None, *, nodata: Nodata | None = None
) -> np.ndarray:
    """Mix one channels-last block.

    Parameters
    ----------
    block : (..., N) ndarray of ``plan.in_dtype``
        Raw samples; any leading shape (rows x columns, or a flat run of pixels).
    plan : Plan
        From :func:`compile_plan`.
    out : (..., M) ndarray of ``plan.out_dtype``, optional
        Where to write the result (allocated when omitted).
    nodata : float or tuple of (float or None), optional
        Pixels holding it in any channel (one value, or one per channel: see
        :func:`nodata_mask`) are not checked for overflow (their outputs are replaced by the
        caller).

    Returns
    -------
    (..., M) ndarray of ``plan.out_dtype``
        Rounded to nearest (ties to even) and saturated for integer outputs; NaN inputs give
        0 in integer outputs.

    Raises
    ------
    UsageError
        When ``CHANMIX_KERNEL`` holds an unknown value, or ``compiled`` and the C kernel
        was not built.
    DataError
        When a float output holds inf or NaN made from finite samples (an overflow of the
        compute type or of the output type).
    """
    if block.shape[-1] != plan.n_inputs:
        raise ValueError(f"block has {block.shape[-1]} channels, the plan reads {plan.n_inputs}")
    lead = block.shape[:-1]
    if out is None:
        out = np.empty(lead + (plan.n_outputs,), dtype=plan.out_dtype)
    src = block.reshape(-1, plan.n_inputs)
    dst = out.reshape(-1, plan.n_outputs)
    if out.size and not np.shares_memory(dst, out):  # (an empty block shares no memory)
        raise ValueError("out must be reshapeable to (pixels, M) without a copy")
    if plan.copies is not None:
        _copy(src, dst, plan.copies)
        return out
    kernel = compiled_kernel()
    if kernel is not None and plan.fusable and _whole_samples(src) and _whole_samples(dst):
        overflowed = kernel.mix(src, dst, plan.weights, plan.bias, plan.bounded)
    else:
        overflowed = mix_numpy(src, dst, plan)
    if overflowed and plan.out_dtype.kind == "f" and _overflowed(src, dst, nodata):
        raise DataError(
            f"finite samples mix to values beyond {plan.compute.name}'s range "
            f"({float(np.finfo(plan.compute).max):.3g}) or the output's: mix into float64, or scale "
            "the data or the weights down"
        )
    return out


def compiled_kernel() -> ModuleType | None:
    """The C kernel's module (``chanmix._mixloops``), or None when ``CHANMIX_KERNEL`` asks for
    the NumPy path or, in ``auto`` mode, when chanmix was installed without the C kernel.

    Raises
    ------
    UsageError
        When ``CHANMIX_KERNEL`` holds an unknown value, or ``compiled`` and the C kernel
        was not built.
    """
    mode = os.environ.get(KERNEL_ENV) or "auto"
    if mode not in _KERNEL_MODES:
        raise UsageError(f"{KERNEL_ENV}: expected one of {', '.join(_KERNEL_MODES)}, not {mode!r}")
    if mode == "compiled" and _mixloops is None:
        raise UsageError(
            f"{KERNEL_ENV}=compiled, but chanmix was installed without its C kernel "
            "(no C compiler was found): reinstall with one"
        )
    return None if mode == "numpy" else _mixloops


def _whole_samples(a: np.ndarray) -> bool:
    """Strides that are whole samples (true of every array NumPy makes, not of every view)."""
    return all(s % a.itemsize == 0 for s in a.strides)


def mix_numpy(src: np.ndarray, dst: np.ndarray, plan: Plan) -> bool:
    """The reference path: mix ``src`` (P, N) into ``dst`` (P, M) a chunk at a time.

    Returns True when an operation overflowed (an infinite value from finite ones) while
    mixing into a float output, as the C kernel reports it; integer outputs saturate.
    """
    n_pix = src.shape[0]
    size = min(CHUNK_PIXELS, max(n_pix, 1))
    xbuf = np.empty((plan.n_inputs, size), dtype=plan.compute)
    ybuf = np.empty((plan.n_outputs, size), dtype=plan.compute)
    tmp = np.empty(size, dtype=plan.compute)
    reads = sorted(set().union(*plan.terms)) if plan.termwise else range(plan.n_inputs)
    overflows: list[str] = []
    watch: Literal["call", "ignore"] = "call" if plan.out_dtype.kind == "f" else "ignore"
    with np.errstate(over=watch, invalid="ignore", call=lambda kind, flag: overflows.append(kind)):
        for start in range(0, n_pix, CHUNK_PIXELS):
            stop = min(start + CHUNK_PIXELS, n_pix)
            k = stop - start
            x, y = xbuf[:, :k], ybuf[:, :k]
            for n in reads:  # a band at a time, and only the bands the mix reads
                np.copyto(x[n], src[start:stop, n], casting="unsafe")
            _mix_chunk(x, y, tmp[:k], plan)
            _store(y, dst[start:stop].T, plan)
    return bool(overflows)


def _overflowed(src: np.ndarray, dst: np.ndarray, nodata: Nodata | None) -> bool:
    """Whether a pixel of finite samples (not nodata) was mixed into an inf or NaN."""
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(src).all(axis=1) & ~np.isfinite(dst).all(axis=1)
        if nodata is not None:
            bad &= ~nodata_mask(src, nodata)
    return bool(bad.any())


def _mix_chunk(x: np.ndarray, y: np.ndarray, tmp: np.ndarray, plan: Plan) -> None:
    """y (M, k) = W @ x (N, k) + b, with normalization, transfer and colour preservation for
    normalized plans."""
    if plan.normalized:
        x *= plan.compute.type(1.0 / dtype_max(plan.in_dtype))
    if plan.linear:
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
    if plan.preserve is not None:
        plan.preserve(x, y, 1.0 / dtype_max(plan.in_dtype), plan.limits)
    if plan.linear:
        encode_srgb(y)
    if plan.normalized:
        if plan.post_scale is not None:
            y *= plan.post_scale.astype(plan.compute)[:, None]
        if plan.post_offset is not None:
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
