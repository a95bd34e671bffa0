"""chanmix: mix image channels with a 1x1 convolution.

Every output channel is a linear combination of the input channels plus a bias, pixel by
pixel: ``out = W @ in + b`` with ``W`` of shape (M outputs, N inputs). Values are in
normalized units (integer samples divided by their type's maximum, floats as they are).

>>> import numpy as np, chanmix
>>> rgb = np.array([[[255, 0, 0], [0, 255, 0]]], dtype=np.uint8)     # (H, W, N) = (1, 2, 3)
>>> chanmix.apply(rgb, chanmix.get_preset("gray-rec601").mix)[..., 0]
array([[ 76, 150]], dtype=uint8)
>>> mix = chanmix.Mix([[0.5, 0.5, 0.0]], bias=[0.1])
>>> chanmix.apply(rgb, mix, dtype="float32")[..., 0]
array([[0.6, 0.6]], dtype=float32)
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

#: Public name -> the module that defines it. Loaded on first use, so that importing the
#: package (and starting the command line) does not load NumPy.
_EXPORTS = {
    "ChanmixError": "errors",
    "DataError": "errors",
    "MatrixError": "errors",
    "UsageError": "errors",
    "Mix": "mix",
    "compose": "mix",
    "Plan": "kernel",
    "compile_plan": "kernel",
    "mix_block": "kernel",
    "Mixer": "mixer",
    "apply": "mixer",
    "Rescale": "rescale",
    "load_matrix": "matrixfiles",
    "matrix_json": "matrixfiles",
    "parse_coeffs": "matrixfiles",
    "read_matrix": "matrixfiles",
    "PRESETS": "presets",
    "Preset": "presets",
    "get_preset": "presets",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chanmix' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
