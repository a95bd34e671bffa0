"""The sRGB transfer function (IEC 61966-2-1:1999), for mixes defined on linear light.

Both directions work in place on float arrays in normalized units and are extended
symmetrically to negative values (``f(-x) = -f(x)``), as scRGB does, so that a mix that
leaves the [0, 1] gamut loses nothing before the final saturation.

References
----------
IEC 61966-2-1:1999, Multimedia systems and equipment - Colour measurement and management -
Part 2-1: Default RGB colour space - sRGB, section 5.2 (equations 5 and 6).
"""

from __future__ import annotations

import numpy as np

__all__ = ["decode_srgb", "encode_srgb"]

_THRESHOLD_ENCODED = 0.04045
_THRESHOLD_LINEAR = 0.0031308
_SLOPE = 12.92
_A = 0.055
_GAMMA = 2.4


def decode_srgb(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values to linear light, in place; returns ``values``."""
    mag = np.abs(values)
    low = mag <= _THRESHOLD_ENCODED
    with np.errstate(over="ignore"):  # beyond the type's range: inf, saturated later
        high = np.power((mag + _A) / (1 + _A), _GAMMA)
    np.copyto(high, mag / _SLOPE, where=low)
    np.copysign(high, values, out=values)
    return values


def encode_srgb(values: np.ndarray) -> np.ndarray:
    """Linear light to sRGB-encoded values, in place; returns ``values``."""
    mag = np.abs(values)
    low = mag <= _THRESHOLD_LINEAR
    high = (1 + _A) * np.power(mag, 1 / _GAMMA) - _A
    np.copyto(high, mag * _SLOPE, where=low)
    np.copysign(high, values, out=values)
    return values
