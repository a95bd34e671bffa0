"""Fits: mergeable statistics gathered block by block, and the solvers that turn them into a Mix.

A fit streams the image as blocks of pixels in normalized units; each block gives a small
statistics value (:class:`Moments`, :class:`CrossMoments`, :class:`NoiseMoments`) and values
merge with ``+``, exactly, whatever the block split. A solver then turns the merged
statistics into a :class:`~chanmix.mix.Mix` with its provenance:

>>> import numpy as np
>>> from chanmix.fit import Moments, fit_pca
>>> pixels = np.random.default_rng(0).normal(size=(1000, 3)) @ [[3, 0, 0], [1, 1, 0], [0, 0, 0.1]]
>>> stats = Moments.of(pixels[:600]) + Moments.of(pixels[600:])
>>> fit = fit_pca(stats, 2)
>>> fit.mix.names, fit.mix.weights.shape
(('PC1', 'PC2'), (2, 3))

- :func:`fit_pca`: principal components (centred or not, optionally whitened);
- :func:`fit_lstsq`: least squares / ridge from input bands to target bands;
- :func:`fit_mnf`: minimum noise fraction (components ordered by signal-to-noise ratio);
- :func:`fit_maf`: min/max autocorrelation factors (ordered by spatial autocorrelation);
- :func:`fit_ica`: FastICA on the PCA-whitened pixels, iterated on a sample;
- :class:`SampleMask`: a reproducible pixel subsample for ``--sample N --seed S``.
"""

from .ica import DEFAULT_SAMPLE, ICAFit, fit_ica
from .lstsq import RANK_RTOL, LstsqFit, fit_lstsq
from .maf import DifferenceMoments, MAFFit, fit_maf
from .mnf import MNFFit, fit_mnf
from .moments import CHUNK_PIXELS, PRODUCTS, CrossMoments, Moments, NoiseMoments
from .pca import PCAFit, fit_pca
from .sampling import SampleMask

__all__ = [
    "CHUNK_PIXELS",
    "PRODUCTS",
    "CrossMoments",
    "Moments",
    "NoiseMoments",
    "PCAFit",
    "fit_pca",
    "LstsqFit",
    "RANK_RTOL",
    "fit_lstsq",
    "MNFFit",
    "fit_mnf",
    "DifferenceMoments",
    "MAFFit",
    "fit_maf",
    "DEFAULT_SAMPLE",
    "ICAFit",
    "fit_ica",
    "SampleMask",
]
