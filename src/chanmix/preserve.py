"""Colour-preserving mixes: ffmpeg's colorchannelmixer ``pc`` and ``pa``, in normalized units.

After a 3 -> 3 mix, each pixel is rescaled so that a measure of its colour equals the
input's, and the result is blended with the plain mix by an amount ``a`` in [0, 1]::

    c   = the mixed values (r, g, b), saturated as the output saturates them
    f   = c * measure(input) / measure(mixed)
    out = mixed + (f - mixed) * a

The measures are ffmpeg's (libavfilter/preserve_color.h, FFmpeg 5.1), taken on the input
and on the mixed values before saturation:

========  ==========================================================================
``lum``   max(r, g, b) + min(r, g, b) (twice the HSL lightness; no luma coefficients)
``max``   max(r, g, b)
``avg``   (r + g + b + q) / 3
``sum``   r + g + b
``nrm``   sqrt(r^2 + g^2 + b^2)
``pwr``   cbrt(r^3 + g^3 + b^3)
========  ==========================================================================

ffmpeg works in raw samples of one type whose maximum is ``max``; in normalized units that is
``q = 1 / max``, the input type's step (1 for float inputs, which ffmpeg's float path also
uses). ``avg`` adds one step. A measure of the mixed values at or below 0 is replaced, as
ffmpeg replaces it, by ``1 / (2 max)`` of its own unit: ``q^2 / 2`` for ``lum``, ``max``,
``avg`` and ``sum`` (raw units in ffmpeg), ``q / 2`` for ``nrm`` and ``pwr`` (normalized in
ffmpeg); so there is never a division by zero.

References
----------
FFmpeg 5.1, libavfilter/preserve_color.h and libavfilter/vf_colorchannelmixer.c
(``preserve_color``, ``preservel``, ``lerpf``); the filter's documentation, "colorchannelmixer".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .choices import PRESERVE_MODES
from .errors import UsageError

__all__ = ["PRESERVE_MODES", "Preserve", "measure"]

#: Modes whose measure ffmpeg takes in raw samples (the others in normalized units): their
#: replacement for a measure <= 0 is one more step smaller in normalized units.
_RAW_MEASURES = ("lum", "max", "avg", "sum")


@dataclass(frozen=True)
class Preserve:
    """A colour measure to keep (``mode``, one of :data:`PRESERVE_MODES` but ``none``) and by
    how much (``amount``, 0 = the plain mix, 1 = the measure kept exactly)."""

    mode: str
    amount: float = 1.0

    @classmethod
    def of(cls, mode: str | None, amount: float = 1.0) -> Preserve | None:
        """The Preserve of ``apply``'s ``preserve`` and ``preserve_amount`` arguments; None
        for ``None`` or ``"none"``.

        Raises
        ------
        UsageError
            An unknown mode, or an amount outside [0, 1].
        """
        if mode not in PRESERVE_MODES and mode is not None:
            raise UsageError(
                f"preserve: expected one of {', '.join(PRESERVE_MODES)}, not {mode!r}", parameter="preserve"
            )
        try:
            value = float(amount)
        except (TypeError, ValueError):
            value = float("nan")
        if not 0 <= value <= 1:
            raise UsageError(
                f"preserve_amount must be a number from 0 to 1, got {amount!r}", parameter="preserve_amount"
            )
        return None if mode in (None, "none") else cls(mode, value)

    def check(self, n_inputs: int, n_outputs: int) -> None:
        """Refuse a mix that is not 3 -> 3.

        Raises
        ------
        UsageError
            Naming ``preserve`` and the mix's shape.
        """
        if (n_inputs, n_outputs) != (3, 3):
            raise UsageError(
                f"preserve {self.mode} keeps a colour measure of 3 channels and needs a 3 -> 3 mix; "
                f"this mix is {n_inputs} -> {n_outputs}",
                parameter="preserve",
            )

    def __call__(
        self, x: np.ndarray, y: np.ndarray, quantum: float, limits: tuple[float, float] | None
    ) -> None:
        """Rescale mixed values ``y`` (3, k) in place to keep the measure of inputs ``x`` (3, k).

        Both are floats in normalized units; ``quantum`` is the input type's step (``q``
        above); ``limits`` the normalized range the output saturates to, applied to the
        rescaled values (None: no saturation, as for float outputs).
        """
        ct = y.dtype.type
        lin = measure(self.mode, x, quantum)
        lout = measure(self.mode, y, quantum)
        floor = quantum * quantum / 2 if self.mode in _RAW_MEASURES else quantum / 2
        np.copyto(lout, ct(floor), where=~(lout > 0))
        ratio = np.divide(lin, lout, out=lin)
        kept = y if limits is None else np.clip(y, ct(limits[0]), ct(limits[1]))
        kept = np.multiply(kept, ratio, out=None if limits is None else kept)
        kept -= y
        kept *= ct(self.amount)
        y += kept


def measure(mode: str, rgb: np.ndarray, quantum: float) -> np.ndarray:
    """The colour measure ``mode`` of each pixel of ``rgb`` (3, k), as a new (k,) array of its
    type (see the module's table; ``quantum`` is the input type's step, for ``avg``)."""
    r, g, b = rgb
    ct = rgb.dtype.type
    if mode == "lum":
        return np.maximum(np.maximum(r, g), b) + np.minimum(np.minimum(r, g), b)
    if mode == "max":
        return np.maximum(np.maximum(r, g), b)
    if mode == "avg":
        return (r + g + b + ct(quantum)) / ct(3)
    if mode == "sum":
        return r + g + b
    if mode == "nrm":
        return np.sqrt(r * r + g * g + b * b)
    if mode == "pwr":
        return np.cbrt(r * r * r + g * g * g + b * b * b)
    raise ValueError(f"unknown colour measure {mode!r}")
