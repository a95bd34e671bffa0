"""ffmpeg's ``colorchannelmixer`` filter (libavfilter/vf_colorchannelmixer.c).

The filter maps R, G, B (and A) to as many channels: ``rr`` is red's weight in the red output,
``rg`` green's weight in it, and so on; every weight is limited to [-2, 2] and there is no
offset. Weights act on the samples as stored, so a bias-free mix in normalized units is the
same mix on 8- or 16-bit RGB.
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from ..mix import Mix
from .numbers import decimal, refuse_bias

__all__ = ["ffmpeg_colorchannelmixer"]

_CHANNELS = "rgba"
#: The range ffmpeg accepts for each weight.
_LIMIT = 2.0


def ffmpeg_colorchannelmixer(mix: Mix) -> str:
    """The ``colorchannelmixer=rr=...:rg=...`` filter (for ``ffmpeg -vf``) of a 3 x 3 or 4 x 4
    mix (RGB or RGBA), weights written as plain decimals.

    Raises
    ------
    UsageError
        Naming ``to``: the mix is not 3 -> 3 or 4 -> 4, has a bias, or a weight outside [-2, 2].
    """
    m, n = mix.weights.shape
    if m != n or n not in (3, 4):
        raise UsageError(
            f"to ffmpeg: colorchannelmixer maps RGB or RGBA to as many channels (3 -> 3 or 4 -> 4), "
            f"and this mix is {n} -> {m}",
            parameter="to",
        )
    refuse_bias(mix, "ffmpeg", "colorchannelmixer has no offset")
    outside = np.abs(mix.weights) > _LIMIT
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise UsageError(
            f"to ffmpeg: colorchannelmixer takes weights in [-2, 2], and "
            f"{_CHANNELS[row]}{_CHANNELS[col]} is {decimal(mix.weights[row, col])}",
            parameter="to",
        )
    options = (
        f"{_CHANNELS[row]}{_CHANNELS[col]}={decimal(mix.weights[row, col])}"
        for row in range(m)
        for col in range(n)
    )
    return "colorchannelmixer=" + ":".join(options)
