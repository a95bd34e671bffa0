"""Mix images block by block: the :class:`Mixer` of one image, and the public ``chanmix.apply``.

A :class:`Mixer` holds everything an image's blocks need -- the compiled mix, the alpha
pass-through, the nodata fill -- so that any block, from any thread, is mixed the same way:
``jobs=1`` and ``jobs=N``, row bands of any height, give identical bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from .choices import ALPHA_MODES
from .dtypes import compute_dtype, output_dtype, value_range
from .errors import MatrixError, UsageError
from .kernel import CHUNK_PIXELS, Plan, compile_plan, mix_block, nodata_mask
from .layerkernel import LayerPlan, compile_model, mix_model_block
from .layers import Model
from .mix import Mix
from .nodata import Nodata, check_nodata, recorded_nodata
from .preserve import Preserve
from .rescale import Rescale, rescale_map

__all__ = [
    "ALPHA_MODES",
    "ApplyRequest",
    "Mixer",
    "apply",
    "argmax_dtype",
    "band_selection",
    "ordered_map",
    "output_nodata",
]


#: Rows of a block of an in-memory image: at least this many pixels at a time per worker...
_BLOCK_PIXELS = 1 << 18
#: ...and at most this many blocks per worker: a fresh output array is faulted in (zeroed by
#: the system, often 2 MB at a time) by the thread that first writes it, and threads that
#: write small blocks side by side wait on each other's pages (24 MP 3 -> 3 uint8 on two
#: threads: 19 ms in 92 blocks, 8.6 ms in 8).
_BLOCKS_PER_WORKER = 4


def output_nodata(nodata: float, out_dtype: DTypeLike) -> float:
    """The nodata value of an output: the input's when the output type holds it (a float
    type rounds it to its precision), else NaN for float outputs and the type's minimum for
    integer outputs."""
    dt = np.dtype(out_dtype)
    if dt.kind == "f":
        with np.errstate(over="ignore"):
            typed = float(np.array(nodata).astype(dt))
        return typed if np.isfinite(typed) else float("nan")
    lo, hi = value_range(dt)
    if np.isfinite(nodata) and float(nodata).is_integer() and lo <= nodata <= hi:
        return float(nodata)
    return lo


def argmax_dtype(
    n_outputs: int, dtype: DTypeLike | str | None = None, rescale: Rescale | str = "clip"
) -> np.dtype:
    """The sample type of an argmax output: uint8 for up to 256 channels, else uint16.

    Raises
    ------
    UsageError
        When ``dtype`` asks for another type, or ``rescale`` is not "clip" (indices are not
        rescaled).
    """
    if n_outputs > 1 << 16:
        raise UsageError(
            f"argmax: {n_outputs} channels are more than a uint16 index holds", parameter="argmax"
        )
    index = np.dtype(np.uint8 if n_outputs <= 256 else np.uint16)
    if dtype is not None and not (isinstance(dtype, str) and dtype == "same") and np.dtype(dtype) != index:
        raise UsageError(
            f"dtype: an argmax of {n_outputs} channels is written as {index.name}, "
            f"not {np.dtype(dtype).name}",
            parameter="dtype",
        )
    mode = rescale if isinstance(rescale, str) else rescale.mode
    if mode != "clip":
        raise UsageError(
            f"rescale: an argmax writes channel indices, which are not rescaled ({mode})", parameter="rescale"
        )
    return index


@dataclass(frozen=True, eq=False)
class Mixer:
    """A mix ready for the blocks of one image.

    A block holds the N mixed channels, then the alpha channel when ``alpha`` is set; the
    result holds the M mixed channels, then the alpha channel converted to the output type.
    Where any mixed channel is ``nodata`` (one value, or one per mixed channel), every mixed
    output channel is ``fill``.

    With ``index`` set (an argmax), the result holds one channel of that type instead of
    the M mixed ones: the 0-based index of the largest (the first of equal ones), computed
    in the float type the plan writes (``fill``, the type's maximum, where nodata).
    """

    plan: Plan | LayerPlan
    alpha: Plan | None
    nodata: Nodata | None
    fill: float | None
    index: np.dtype | None = None

    @classmethod
    def build(
        cls,
        mix: Model,
        in_dtype: DTypeLike,
        out_dtype: DTypeLike,
        *,
        linear: bool = False,
        scale_offset: tuple[np.ndarray, np.ndarray] | None = None,
        nodata: Nodata | None = None,
        alpha: bool = False,
        preserve: Preserve | None = None,
        argmax: bool = False,
    ) -> Mixer:
        """Compile ``mix`` for blocks of ``in_dtype``; ``scale_offset`` from :func:`rescale_map`
        (measured with the same ``preserve``). Per-channel nodata values fill with the first
        one's output value. With ``argmax``, ``out_dtype`` is :func:`argmax_dtype`'s, and the
        mix is computed in the float type the kernel chooses for ``in_dtype``."""
        scale, offset = scale_offset if scale_offset is not None else (None, None)
        index = np.dtype(out_dtype) if argmax else None
        mixed_dtype = compute_dtype(in_dtype) if argmax else out_dtype
        plan = compile_model(
            mix, in_dtype, mixed_dtype, linear=linear, scale=scale, offset=offset, preserve=preserve
        )
        alpha_plan = compile_plan(Mix.identity(1), in_dtype, out_dtype) if alpha else None
        recorded = recorded_nodata(nodata)
        if index is not None:
            fill = None if recorded is None else value_range(index)[1]
        else:
            fill = None if recorded is None else output_nodata(recorded, out_dtype)
        return cls(plan, alpha_plan, nodata, fill, index)

    @property
    def n_mixed(self) -> int:
        """Mixed channels of an output block: M, or 1 for an argmax."""
        return 1 if self.index is not None else self.plan.n_outputs

    @property
    def out_dtype(self) -> np.dtype:
        """Sample type of an output block."""
        return self.index if self.index is not None else self.plan.out_dtype

    @property
    def n_channels(self) -> int:
        """Channels of an output block (M, or 1 for an argmax, plus alpha)."""
        return self.n_mixed + (self.alpha is not None)

    def __call__(self, block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Mix a ``(h, W, N [+ 1])`` block into ``(h, W, M [+ 1])`` (into ``out`` if given)."""
        n, m = self.plan.n_inputs, self.n_mixed
        if out is None:
            out = np.empty(block.shape[:2] + (self.n_channels,), dtype=self.out_dtype)
        colour = block[:, :, :n] if self.alpha is not None else block
        if self.index is not None:
            self._argmax(colour, out[:, :, 0])
        elif self.alpha is None:
            mix_model_block(colour, self.plan, out, nodata=self.nodata)
        else:  # strided views, mixed in place
            mix_model_block(colour, self.plan, out[:, :, :m], nodata=self.nodata)
        if self.alpha is not None:
            mix_block(block[:, :, n:], self.alpha, out[:, :, m:])
        if self.nodata is not None:
            out[:, :, :m][nodata_mask(colour, self.nodata)] = self.fill
        return out

    def _argmax(self, colour: np.ndarray, out: np.ndarray) -> None:
        """out (h, w) = the index of the largest mixed channel, a chunk of rows at a time."""
        rows = max(1, CHUNK_PIXELS // max(colour.shape[1], 1))
        for start in range(0, colour.shape[0], rows):
            chunk = slice(start, start + rows)
            values = mix_model_block(colour[chunk], self.plan, nodata=self.nodata)
            np.copyto(out[chunk], np.argmax(values, axis=-1), casting="unsafe")


def band_selection(
    n_channels: int,
    alpha: int | None,
    bands: Sequence[int] | None,
    alpha_mode: str,
    origin: str,
    parameter: str = "bands",
) -> tuple[list[int], int | None]:
    """0-based (mixed channels, passed-through alpha channel) of an image.

    ``bands`` are 1-based. A selected alpha channel is mixed like any other band; an alpha
    channel that is not selected is kept or dropped as ``alpha_mode`` says. A band the image
    does not have is a UsageError naming ``parameter``, the argument that gave ``bands``.
    """
    if bands is None:
        mixed = [c for c in range(n_channels) if alpha_mode == "mix" or c != alpha]
    else:
        for b in bands:
            if not 1 <= b <= n_channels:
                raise UsageError(
                    f"{parameter}: {origin} has {n_channels} band{'s' * (n_channels != 1)}, "
                    f"there is no band {b}",
                    parameter=parameter,
                )
        mixed = [b - 1 for b in bands]
    kept = alpha if alpha_mode == "keep" and alpha is not None and alpha not in mixed else None
    return mixed, kept


def ordered_map(function: Callable, items: Iterable, jobs: int) -> Iterator:
    """``map(function, items)`` on ``jobs`` threads, in order, with at most ``jobs`` results
    waiting: memory stays bounded however many items there are."""
    if jobs <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = []
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) > jobs:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _row_slices(height: int, width: int, jobs: int) -> list[slice]:
    rows = max(1, _BLOCK_PIXELS // max(width, 1), -(-height // (_BLOCKS_PER_WORKER * max(jobs, 1))))
    return [slice(r, min(r + rows, height)) for r in range(0, height, rows)]


@dataclass(frozen=True)
class ApplyRequest:
    """What :func:`apply` makes of its arguments for an image: checked, resolved, ready to mix.

    Attributes
    ----------
    order : list of int
        0-based channels of the image in the order a :class:`Mixer` reads them: the N mixed
        channels, then a kept alpha channel.
    n_colour : int
        N, the channels mixed (the first N of ``order``).
    keep_alpha : bool
        Whether the last of ``order`` is an alpha channel passed through.
    out_dtype : numpy.dtype
        The output sample type.
    rescale : Rescale
        How mixed values map onto the output range.
    preserve : Preserve or None
        The colour measure kept by the 3 -> 3 mix, if any.
    """

    order: list[int]
    n_colour: int
    keep_alpha: bool
    out_dtype: np.dtype
    rescale: Rescale
    preserve: Preserve | None = None

    @classmethod
    def of(
        cls,
        shape: tuple[int, ...],
        in_dtype: DTypeLike,
        mix: Model,
        *,
        dtype: DTypeLike | str | None,
        rescale: Rescale | str,
        nodata: Nodata | None,
        alpha: int | None,
        alpha_mode: str,
        preserve: str | None = None,
        preserve_amount: float = 1.0,
        argmax: bool = False,
    ) -> ApplyRequest:
        """Check :func:`apply`'s arguments for an image of ``shape`` (H, W, C) and sample type
        ``in_dtype``; the other parameters are :func:`apply`'s.

        Raises
        ------
        UsageError
            A shape that is not (H, W, C), an unknown rescale, alpha mode or output type, an
            alpha channel the image does not have, per-band nodata values that are not one
            per mixed band, or a colour preserved (``preserve``, ``preserve_amount``) that is
            unknown, by an amount outside [0, 1] or by a mix that is not 3 -> 3.
        MatrixError
            When the mix does not read as many channels as are mixed.
        """
        if len(shape) != 3:
            raise UsageError(f"expected an (H, W) or (H, W, N) array, got shape {tuple(shape)}")
        if isinstance(rescale, str):
            rescale = Rescale(rescale)
        if alpha_mode not in ALPHA_MODES:
            modes = ", ".join(ALPHA_MODES)
            raise UsageError(
                f"alpha_mode: expected one of {modes}, not {alpha_mode!r}", parameter="alpha_mode"
            )
        if alpha is not None and not 0 <= alpha < shape[2]:
            raise UsageError(
                f"alpha: the image has channels 0 to {shape[2] - 1}, there is no channel {alpha}",
                parameter="alpha",
            )
        out_dtype = argmax_dtype(mix.n_outputs, dtype, rescale) if argmax else output_dtype(dtype, in_dtype)
        mixed, kept = band_selection(shape[2], alpha, None, alpha_mode, "the image")
        if len(mixed) != mix.n_inputs:
            raise MatrixError(f"the matrix reads {mix.n_inputs} channels but the image has {len(mixed)}")
        check_nodata(nodata, len(mixed))
        kept_colour = Preserve.of(preserve, preserve_amount)
        if kept_colour is not None:
            kept_colour.check(mix.n_inputs, mix.n_outputs)
        order = mixed + ([kept] if kept is not None else [])
        return cls(order, len(mixed), kept is not None, out_dtype, rescale, kept_colour)


def apply(
    image: np.ndarray,
    mix: Model,
    *,
    dtype: DTypeLike | str | None = None,
    rescale: Rescale | str = "clip",
    linear: bool = False,
    nodata: Nodata | None = None,
    alpha: int | None = None,
    alpha_mode: str = "keep",
    jobs: int = 1,
    preserve: str | None = None,
    preserve_amount: float = 1.0,
    axis: int = -1,
    argmax: bool = False,
) -> np.ndarray:
    """Mix the channels of an image.

    Parameters
    ----------
    image : (H, W, C) or (H, W) ndarray, or any array with its channels on ``axis``
        Raw samples of any integer or float type; integers are read in normalized units.
        A 2-D array with the default ``axis`` is one channel, (H, W).
    mix : Mix or Layers
        N inputs (C, or C - 1 when an alpha channel is kept or dropped) to M outputs: one
        affine map, or layers of them (:class:`~chanmix.layers.Layers`).
    dtype : dtype or "same", optional
        Output sample type; the input's by default.
    rescale : Rescale or {"clip", "minmax", "percentile"}
        How mixed values map onto the output range (see :class:`~chanmix.rescale.Rescale`).
    linear : bool
        Decode sRGB to linear light before the mix and encode after it.
    nodata : float or tuple of (float or None), optional
        Input nodata value, or one per mixed band (None for a band without): a pixel with it
        in any band is nodata in every output band (see :func:`output_nodata`; per band, the
        first band's value is the output's) and never counts in a rescale.
    alpha : int, optional
        Index of the image's alpha channel. With ``alpha_mode`` "keep" it is passed through
        (converted to the output type) as the last output channel, "drop" leaves it out, and
        "mix" treats it as an ordinary input channel.
    jobs : int
        Worker threads; the result is identical for any count.
    preserve : {"lum", "max", "avg", "sum", "nrm", "pwr", "none"}, optional
        For a 3 -> 3 mix: rescale each mixed pixel so that this measure of its colour equals
        the input pixel's, as ffmpeg's colorchannelmixer ``pc`` (see :mod:`chanmix.preserve`).
        It acts on the mixed values in normalized units (in linear light with ``linear``),
        before ``rescale``, rounding and saturation; alpha and nodata pixels are untouched.
    preserve_amount : float
        0 to 1: how much of the preserved colour replaces the plain mix (ffmpeg's ``pa``).
    axis : int
        The channel axis: an (N, C, H, W) batch mixes with ``axis=1``. The result equals
        moving that axis last, mixing, and moving the output channels back to it (the same
        bytes whatever the axis; statistics of a rescale are over the whole array).
    argmax : bool
        Write, instead of the M outputs, one channel holding the 0-based index of the
        largest output (the first of equal ones), uint8 (uint16 above 256 outputs); nodata
        pixels hold the type's maximum. ``dtype`` must be left unset and ``rescale`` "clip".

    Returns
    -------
    (H, W, M) ndarray, or (H, W, M + 1) when an alpha channel is kept ((H, W, 1) or
    (H, W, 2) with ``argmax``); with another ``axis``, the channels are on that axis.
    """
    image = np.asarray(image)
    if image.ndim == 2 and axis == -1:
        image = image[:, :, None]
    if image.ndim == 0 or not -image.ndim <= axis < image.ndim:
        raise UsageError(f"axis: {axis} is not an axis of an array of shape {image.shape}", parameter="axis")
    if axis % image.ndim != image.ndim - 1 or image.ndim != 3:
        moved = np.moveaxis(image, axis, -1)
        lead = moved.shape[:-1]
        rows = moved.reshape((-1,) + (lead[-1:] or (1,)) + moved.shape[-1:])
        out = apply(
            rows,
            mix,
            dtype=dtype,
            rescale=rescale,
            linear=linear,
            nodata=nodata,
            alpha=alpha,
            alpha_mode=alpha_mode,
            jobs=jobs,
            argmax=argmax,
        )
        return np.moveaxis(out.reshape(lead + out.shape[-1:]), -1, axis)
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
        argmax=argmax,
    )
    if request.order != list(range(image.shape[2])):
        image = image[:, :, request.order]
    slices = _row_slices(image.shape[0], image.shape[1], jobs)
    colour = image[:, :, : request.n_colour]
    blocks = lambda: (colour[s] for s in slices)  # noqa: E731
    scale_offset = None
    if not argmax:
        scale_offset = rescale_map(
            blocks, mix, request.rescale, linear=linear, nodata=nodata, preserve=request.preserve
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
        argmax=argmax,
    )
    out = np.empty(image.shape[:2] + (mixer.n_channels,), dtype=request.out_dtype)
    for _ in ordered_map(lambda s: mixer(image[s], out[s]), slices, jobs):
        pass
    return out
