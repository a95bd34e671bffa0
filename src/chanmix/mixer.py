"""Mix whole arrays: the public ``chanmix.apply``, with rescaling, nodata, alpha and threads.

The array is walked in blocks of rows on a fixed grid; each block goes through
:func:`chanmix.kernel.mix_block`, so ``jobs=1`` and ``jobs=N`` give identical bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from .dtypes import output_dtype, value_range
from .errors import MatrixError, UsageError
from .kernel import compile_plan, mix_block, nodata_mask
from .mix import Mix

__all__ = ["RESCALE_MODES", "ALPHA_MODES", "Rescale", "apply", "output_nodata", "rescale_map"]

RESCALE_MODES = ("clip", "minmax", "percentile")
ALPHA_MODES = ("keep", "drop", "mix")

#: Rows of a block: about this many pixels at a time per worker.
_BLOCK_PIXELS = 1 << 18


@dataclass(frozen=True)
class Rescale:
    """How mixed values are brought into the output range.

    ``clip``: as they are, saturated. ``minmax``: each band's minimum and maximum map to 0 and 1
    (normalized units). ``percentile``: each band's ``percentiles`` (LO, HI, in percent) map to
    0 and 1, and values beyond them saturate. Nodata pixels never count.
    """

    mode: str = "clip"
    percentiles: tuple[float, float] = (2.0, 98.0)

    def __post_init__(self) -> None:
        if self.mode not in RESCALE_MODES:
            raise UsageError(f"--rescale: expected one of {', '.join(RESCALE_MODES)}, not {self.mode!r}")
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            raise UsageError(f"--percentiles: need 0 <= LO < HI <= 100, got {lo:g},{hi:g}")


def _row_blocks(height: int, width: int) -> Iterator[slice]:
    rows = max(1, _BLOCK_PIXELS // max(width, 1))
    for r in range(0, height, rows):
        yield slice(r, min(r + rows, height))


def _as_image(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image[:, :, None]
    if image.ndim != 3:
        raise UsageError(f"expected an (H, W) or (H, W, N) array, got shape {image.shape}")
    return image


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


def rescale_map(
    image: np.ndarray,
    mix: Mix,
    rescale: Rescale,
    *,
    linear: bool = False,
    nodata: float | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-band ``(scale, offset)`` that take the mixed values onto [0, 1], or None for ``clip``.

    Statistics are taken on the mixed values in normalized units, over valid pixels only.
    A band with no spread maps to 0.
    """
    if rescale.mode == "clip":
        return None
    image = _as_image(image)
    plan = compile_plan(mix, image.dtype, np.float64, linear=linear)
    h, w = image.shape[:2]
    parts: list[np.ndarray] = []
    for rows in _row_blocks(h, w):
        block = image[rows]
        values = mix_block(block, plan).reshape(-1, mix.n_outputs)
        if nodata is not None:
            values = values[~nodata_mask(block, nodata).reshape(-1)]
        values = values[np.isfinite(values).all(axis=1)]
        if rescale.mode == "minmax" and values.size:
            values = np.stack([values.min(axis=0), values.max(axis=0)])
        parts.append(values)
    values = np.concatenate(parts) if parts else np.empty((0, mix.n_outputs))
    if values.shape[0] == 0:
        raise UsageError(f"--rescale {rescale.mode}: the image has no valid pixel to measure")
    if rescale.mode == "minmax":
        lo, hi = values.min(axis=0), values.max(axis=0)
    else:
        lo, hi = np.percentile(values, rescale.percentiles, axis=0)
    spread = hi - lo
    scale = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 0)
    return scale, -lo * scale


def apply(
    image: np.ndarray,
    mix: Mix,
    *,
    dtype: DTypeLike | str | None = None,
    rescale: Rescale | str = "clip",
    linear: bool = False,
    nodata: float | None = None,
    alpha: int | None = None,
    alpha_mode: str = "keep",
    jobs: int = 1,
) -> np.ndarray:
    """Mix the channels of an image.

    Parameters
    ----------
    image : (H, W, C) or (H, W) ndarray
        Raw samples of any integer or float type; integers are read in normalized units.
    mix : Mix
        N inputs (C, or C - 1 when an alpha channel is kept or dropped) to M outputs.
    dtype : dtype or "same", optional
        Output sample type; the input's by default.
    rescale : Rescale or {"clip", "minmax", "percentile"}
        How mixed values map onto the output range (see :class:`Rescale`).
    linear : bool
        Decode sRGB to linear light before the mix and encode after it.
    nodata : float, optional
        Input nodata value: a pixel with it in any band is nodata in every output band
        (see :func:`output_nodata`) and never counts in a rescale.
    alpha : int, optional
        Index of the image's alpha channel. With ``alpha_mode`` "keep" it is passed through
        (converted to the output type) as the last output channel, "drop" leaves it out, and
        "mix" treats it as an ordinary input channel.
    jobs : int
        Worker threads; the result is identical for any count.

    Returns
    -------
    (H, W, M) ndarray, or (H, W, M + 1) when an alpha channel is kept.
    """
    image = _as_image(np.asarray(image))
    if isinstance(rescale, str):
        rescale = Rescale(rescale)
    if alpha_mode not in ALPHA_MODES:
        raise UsageError(f"--alpha: expected one of {', '.join(ALPHA_MODES)}, not {alpha_mode!r}")
    out_dtype = output_dtype(dtype, image.dtype)
    colour, alpha_plane = image, None
    if alpha is not None and alpha_mode != "mix":
        colour = np.delete(image, alpha, axis=2)
        if alpha_mode == "keep":
            alpha_plane = image[:, :, alpha : alpha + 1]
    if colour.shape[2] != mix.n_inputs:
        raise MatrixError(
            f"the matrix reads {mix.n_inputs} channels but the image has {colour.shape[2]}"
        )
    scale_offset = rescale_map(colour, mix, rescale, linear=linear, nodata=nodata)
    scale, offset = scale_offset if scale_offset is not None else (None, None)
    plan = compile_plan(mix, image.dtype, out_dtype, linear=linear, scale=scale, offset=offset)
    alpha_plan = compile_plan(Mix.identity(1), image.dtype, out_dtype)
    h, w = image.shape[:2]
    out = np.empty((h, w, mix.n_outputs + (alpha_plane is not None)), dtype=out_dtype)
    fill = None if nodata is None else output_nodata(nodata, out_dtype)

    def work(rows: slice) -> None:
        block = colour[rows]
        if alpha_plane is None:
            mix_block(block, plan, out[rows])
        else:
            out[rows, :, :-1] = mix_block(block, plan)
            out[rows, :, -1:] = mix_block(alpha_plane[rows], alpha_plan)
        if fill is not None:
            out[rows, :, : mix.n_outputs][nodata_mask(block, nodata)] = fill

    blocks = list(_row_blocks(h, w))
    if jobs > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(work, blocks))
    else:
        for rows in blocks:
            work(rows)
    return out

