"""Block -> block for :class:`~chanmix.layers.Layers`: every layer but the last in floats,
the last one rounded and saturated like any mix.

A :class:`LayerPlan` holds the hidden layers in the compute type the kernel chooses for the
sample types (:func:`~chanmix.dtypes.compute_dtype`; the input's normalization folded into the
first layer) and the last layer compiled by :func:`~chanmix.kernel.compile_plan` for blocks
of that float type, with any rescale folded in. Intermediate values are never quantized. A
last layer followed by an activation is followed by an identity Mix, so that the rescale,
rounding and saturation come after the activation.

Each hidden layer is computed as the kernel computes a mix (term by term up to 64
multiply-adds, by a matrix product above), in chunks of :data:`~chanmix.kernel.CHUNK_PIXELS`
pixels from the start of the block: results do not depend on the block or thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from .dtypes import compute_dtype, dtype_max
from .errors import DataError, UsageError
from .kernel import _TERMWISE_MAX, CHUNK_PIXELS, Plan, compile_plan, mix_block, mix_numpy, nodata_mask
from .layers import Layers, Model, relu
from .mix import Mix
from .nodata import Nodata
from .preserve import Preserve

__all__ = ["LayerPlan", "compile_layers", "compile_model", "mix_layers", "mix_model_block"]


@dataclass(frozen=True, eq=False)
class LayerPlan:
    """Layers compiled for one input and one output sample type.

    Attributes
    ----------
    hidden : tuple of (weights (M, N), bias (M,), activation)
        Every layer but the last, in the compute type; the first layer's weights apply to raw
        samples (normalization folded in), the others to normalized values.
    last : Plan
        The last layer, compiled for blocks of the compute type.
    in_dtype : numpy.dtype
        Sample type of the blocks read.
    """

    hidden: tuple[tuple[np.ndarray, np.ndarray, str], ...]
    last: Plan
    in_dtype: np.dtype

    @property
    def n_inputs(self) -> int:
        return int(self.hidden[0][0].shape[1])

    @property
    def n_outputs(self) -> int:
        return self.last.n_outputs

    @property
    def out_dtype(self) -> np.dtype:
        return self.last.out_dtype

    @property
    def compute(self) -> np.dtype:
        return self.last.compute


def compile_layers(
    layers: Layers,
    in_dtype: DTypeLike,
    out_dtype: DTypeLike,
    *,
    linear: bool = False,
    scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> LayerPlan:
    """Compile ``layers`` as :func:`~chanmix.kernel.compile_plan` compiles a mix.

    Raises
    ------
    UsageError
        With ``linear``: linear light decodes before one mix and encodes after it, which
        layers do not define.
    """
    if linear:
        raise UsageError(
            "linear: linear light applies to a single mix, not to layers of 1x1 convolutions",
            parameter="linear",
        )
    if layers.linear:
        raise ValueError("one affine step is a plain mix: use compile_model or compile_plan")
    in_dtype, out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
    ct = compute_dtype(in_dtype, out_dtype)
    steps = list(layers.steps)
    if steps[-1][1] != "none":
        steps.append((Mix.identity(layers.n_outputs), "none"))
    hidden = []
    for index, (mix, activation) in enumerate(steps[:-1]):
        weights = mix.weights / (dtype_max(in_dtype) if index == 0 else 1.0)
        hidden.append((np.ascontiguousarray(weights, dtype=ct), mix.bias.astype(ct), activation))
    last = compile_plan(steps[-1][0], ct, out_dtype, scale=scale, offset=offset)
    return LayerPlan(tuple(hidden), last, in_dtype)


def compile_model(
    model: Model,
    in_dtype: DTypeLike,
    out_dtype: DTypeLike,
    *,
    linear: bool = False,
    scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    preserve: Preserve | None = None,
) -> Plan | LayerPlan:
    """:func:`~chanmix.kernel.compile_plan` for a Mix, :func:`compile_layers` for Layers (which
    keep no colour: `preserve` needs one 3 -> 3 mix)."""
    if isinstance(model, Layers) and model.linear:  # one affine step: a plain mix
        model = model.steps[0][0]
    if isinstance(model, Mix):
        return compile_plan(
            model, in_dtype, out_dtype, linear=linear, scale=scale, offset=offset, preserve=preserve
        )
    if preserve is not None:
        raise UsageError(
            f"preserve {preserve.mode} keeps the colour of one 3 -> 3 mix, not of layers with activations",
            parameter="preserve",
        )
    return compile_layers(model, in_dtype, out_dtype, linear=linear, scale=scale, offset=offset)


def mix_model_block(
    block: np.ndarray,
    plan: Plan | LayerPlan,
    out: np.ndarray | None = None,
    *,
    nodata: Nodata | None = None,
) -> np.ndarray:
    """:func:`~chanmix.kernel.mix_block` for either kind of plan (same parameters)."""
    if isinstance(plan, Plan):
        return mix_block(block, plan, out, nodata=nodata)
    if block.shape[-1] != plan.n_inputs:
        raise ValueError(f"block has {block.shape[-1]} channels, the plan reads {plan.n_inputs}")
    if out is None:
        out = np.empty(block.shape[:-1] + (plan.n_outputs,), dtype=plan.out_dtype)
    src = block.reshape(-1, plan.n_inputs)
    dst = out.reshape(-1, plan.n_outputs)
    if out.size and not np.shares_memory(dst, out):
        raise ValueError("out must be reshapeable to (pixels, M) without a copy")
    mix_layers(src, dst, plan)
    if plan.out_dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(src).all(axis=1) & ~np.isfinite(dst).all(axis=1)
            if nodata is not None:
                bad &= ~nodata_mask(src, nodata)
        if bad.any():
            raise DataError(
                f"finite samples mix to values beyond {plan.compute.name}'s range or the output's "
                "in a layer: mix into float64, or scale the data or the weights down"
            )
    return out


def mix_layers(src: np.ndarray, dst: np.ndarray, plan: LayerPlan) -> None:
    """Apply ``plan`` to ``src`` (P, N) into ``dst`` (P, M), a chunk at a time."""
    n_pix = src.shape[0]
    size = min(CHUNK_PIXELS, max(n_pix, 1))
    ct = plan.compute
    buffers = [np.empty((plan.n_inputs, size), dtype=ct)]
    buffers += [np.empty((w.shape[0], size), dtype=ct) for w, _, _ in plan.hidden]
    tmp = np.empty(size, dtype=ct)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n_pix, CHUNK_PIXELS):
            stop = min(start + CHUNK_PIXELS, n_pix)
            k = stop - start
            x = buffers[0][:, :k]
            for n in range(plan.n_inputs):
                np.copyto(x[n], src[start:stop, n], casting="unsafe")
            for (weights, bias, activation), buffer in zip(plan.hidden, buffers[1:]):
                y = buffer[:, :k]
                _affine(x, y, tmp[:k], weights, bias)
                if activation == "relu":
                    relu(y)
                x = y
            mix_numpy(x.T, dst[start:stop], plan.last)


def _affine(x: np.ndarray, y: np.ndarray, tmp: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    """y (M, k) = w @ x (N, k) + b, as the kernel computes a mix of the same size."""
    if w.size <= _TERMWISE_MAX:
        for m in range(w.shape[0]):
            row = y[m]
            np.multiply(x[0], w[m, 0], out=row)
            for n in range(1, w.shape[1]):
                np.multiply(x[n], w[m, n], out=tmp)
                row += tmp
            row += b[m]
    else:
        np.matmul(w, x, out=y)
        y += b[:, None]
