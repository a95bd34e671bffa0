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

With the dask extra (``pip install 'chanmix[dask]'``), two submodules that ``import chanmix``
never loads: ``import chanmix.dask`` mixes and fits dask arrays chunk by chunk, and
``import chanmix.xarray`` mixes xarray DataArrays along their band dimension.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

#: The public API: name -> the module that defines it. Everything else lives in submodules and
#: may change between releases. Loaded on first use, so that importing the package (and
#: starting the command line) does not load NumPy.
_EXPORTS = {
    # errors: one family, ChanmixError, with the command line's exit codes (2 usage, 1 data)
    "ChanmixError": "errors",
    "DataError": "errors",
    "MatrixError": "errors",
    "UsageError": "errors",
    # the mix value, and mixing arrays in memory
    "Mix": "mix",
    "compose": "mix",
    "Layers": "layers",
    "apply": "blockmix",
    "Rescale": "rescale",
    # presets and matrix files
    "PRESETS": "presets",
    "Preset": "presets",
    "get_preset": "presets",
    "load_matrix": "matrixfiles",
    "read_matrix": "matrixfiles",
    "resolve_matrix": "matrixfiles",
    "parse_coeffs": "matrixfiles",
    "matrix_json": "matrixfiles",
    # calibration from sensor metadata: DN to reflectance or radiance (Landsat 8/9 MTL files)
    "CalibrationOptions": "calibration",
    "calibration_mix": "calibration",
    # fits: mergeable statistics of arrays and the solvers that turn them into a Mix...
    "Moments": "fit",
    "NoiseMoments": "fit",
    "CrossMoments": "fit",
    "DifferenceMoments": "fit",
    "fit_pca": "fit",
    "fit_mnf": "fit",
    "fit_maf": "fit",
    "fit_ica": "fit",
    "fit_lstsq": "fit",
    "PCAFit": "fit",
    "MNFFit": "fit",
    "MAFFit": "fit",
    "ICAFit": "fit",
    "LstsqFit": "fit",
    # ...and the same fits streamed from image files, on the bands a BandSpec chooses
    "FitOptions": "fitfiles",
    "BandSpec": "bandspec",
    "pca_from_files": "fitfiles",
    "mnf_from_files": "fitfiles",
    "maf_from_files": "fitfiles",
    "ica_from_files": "fitfiles",
    "lstsq_from_files": "fitfiles",
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
    return sorted(__all__)
