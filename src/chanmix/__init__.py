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

from ._version import __version__
from .errors import ChanmixError, DataError, MatrixError, UsageError
from .kernel import Plan, compile_plan, mix_block
from .matrixfiles import load_matrix, matrix_json, parse_coeffs, read_matrix
from .mix import Mix, compose
from .mixer import apply
from .presets import PRESETS, Preset, get_preset
from .rescale import Rescale

__all__ = [
    "__version__",
    "ChanmixError", "DataError", "MatrixError", "UsageError",
    "Mix", "compose",
    "Plan", "compile_plan", "mix_block",
    "Rescale", "apply",
    "load_matrix", "matrix_json", "parse_coeffs", "read_matrix",
    "PRESETS", "Preset", "get_preset",
]
