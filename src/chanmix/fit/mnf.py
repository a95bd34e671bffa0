"""Minimum noise fraction (MNF): components ordered by signal-to-noise ratio, as a Mix.

PCA orders components by variance, so a band with strong noise can come first. The MNF
transform of Green, Berman, Switzer & Craig (1988) orders them by signal-to-noise ratio
instead: its components ``v`` solve the generalized symmetric eigenproblem

    Sigma v = lambda Sigma_noise v,

where ``Sigma`` is the pixels' covariance and ``Sigma_noise`` the noise covariance, and
``lambda`` = (signal + noise variance) / noise variance = SNR + 1 of the component. It is
the same as the noise-adjusted principal components of Lee, Woodyatt & Berman (1990): PCA of
the data after a linear map that makes the noise white with unit variance, which is how it is
computed here, with NumPy only:

1. ``Sigma_noise = D^1/2 U diag(e) U^T D^1/2`` (eigh of the noise covariance scaled to unit
   diagonal ``D``), so ``T = D^-1/2 U diag(e)^-1/2`` satisfies ``T^T Sigma_noise T = I``;
2. ``T^T Sigma T = Q diag(lambda) Q^T`` (eigh), ``lambda`` in decreasing order;
3. the components are the rows of ``W = (T Q)^T``: each has unit noise variance
   (``w^T Sigma_noise w = 1``, the ENVI convention) and variance ``lambda``.

As for PCA, each component's sign makes its largest-magnitude weight positive and the bias is
``-W @ mean``, so each output has mean 0. The noise covariance comes from
:class:`~chanmix.fit.moments.NoiseMoments` (differences of horizontally adjacent pixels).

References
----------
A. A. Green, M. Berman, P. Switzer and M. D. Craig, "A transformation for ordering
multispectral data in terms of image quality with implications for noise removal",
IEEE Trans. Geosci. Remote Sens. 26(1):65-74, 1988.
J. B. Lee, A. S. Woodyatt and M. Berman, "Enhancement of high spectral resolution
remote-sensing data by a noise-adjusted principal components transform",
IEEE Trans. Geosci. Remote Sens. 28(3):295-304, 1990.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, UsageError
from ..mix import Mix
from ._components import descending_eigh, n_components, names, orient
from .moments import Moments, NoiseMoments, frozen_array

__all__ = ["MNFFit", "fit_mnf"]


@dataclass(frozen=True, eq=False)
class MNFFit:
    """The result of :func:`fit_mnf`.

    Attributes
    ----------
    mix : Mix
        ``K x N`` weights (components with unit noise variance), bias ``-W @ mean``, names
        ``MNF1..MNFK``; provenance: ``method`` ("mnf"), ``mean``, ``eigenvalues``, ``snr``,
        ``explained_variance_ratio``, ``n_pixels``, ``n_noise_pairs``, ``noise_estimator``.
    eigenvalues : (N,) ndarray
        All generalized eigenvalues ``lambda`` (SNR + 1), decreasing.
    snr : (K,) ndarray
        Estimated signal-to-noise variance ratio of each kept component, ``lambda - 1``.
    explained_variance_ratio : (K,) ndarray
        Share of the variance of the noise-whitened data held by each kept component.
    mean : (N,) ndarray
        Mean of the pixels, normalized units.
    noise_covariance : (N, N) ndarray
        The noise covariance estimate used, normalized units squared.
    n_pixels : int
        Number of pixels fitted.
    """

    mix: Mix
    eigenvalues: np.ndarray
    snr: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    noise_covariance: np.ndarray
    n_pixels: int


def fit_mnf(moments: Moments, noise: NoiseMoments, k: int | float) -> MNFFit:
    """Fit the minimum noise fraction transform.

    Parameters
    ----------
    moments : Moments
        Statistics of the N-band pixels, normalized units.
    noise : NoiseMoments
        Statistics of the horizontal differences of the same image (or a part of it).
    k : int or float
        Components to keep: a count from 1 to N, or a fraction ``0 < k < 1`` of the variance
        of the noise-whitened data (the fewest components reaching it).

    Returns
    -------
    MNFFit

    Raises
    ------
    DataError
        Fewer than 2 valid pixels or adjacent pixel pairs, a band without any noise (no
        difference between neighbours), or a singular noise covariance.
    UsageError
        ``k`` out of range (naming ``k``), or statistics of different band counts.
    """
    if noise.n_bands != moments.n_bands:
        raise UsageError(
            f"the noise statistics have {noise.n_bands} bands, the pixel statistics {moments.n_bands}"
        )
    if moments.count < 2:
        raise DataError(f"MNF needs at least 2 valid pixels, got {moments.count}")
    sigma_noise = noise.noise_covariance()
    whitener = _noise_whitener(sigma_noise)
    eigenvalues, rotation = descending_eigh(whitener.T @ moments.covariance(ddof=1) @ whitener)
    total = float(np.sum(np.maximum(eigenvalues, 0.0)))
    if total <= 0.0:
        raise DataError("MNF is undefined: all valid pixels have the same value")
    ratios = np.maximum(eigenvalues, 0.0) / total
    kept = n_components(k, ratios)
    weights = orient(rotation[:kept] @ whitener.T)
    snr = eigenvalues[:kept] - 1.0
    mean = moments.mean
    provenance = {
        "method": "mnf",
        "mean": mean.tolist(),
        "eigenvalues": eigenvalues.tolist(),
        "snr": snr.tolist(),
        "explained_variance_ratio": ratios[:kept].tolist(),
        "n_pixels": moments.count,
        "n_noise_pairs": noise.count,
        "noise_estimator": "covariance of horizontal neighbour differences / 2",
    }
    mix = Mix(weights, -weights @ mean, names=names("MNF", kept), provenance=provenance)
    return MNFFit(
        mix,
        frozen_array(eigenvalues),
        frozen_array(snr),
        frozen_array(ratios[:kept]),
        mean,
        frozen_array(sigma_noise),
        moments.count,
    )


def _noise_whitener(sigma_noise: np.ndarray) -> np.ndarray:
    """``T`` (N, N) with ``T^T sigma_noise T = I``, via eigh of the unit-diagonal matrix."""
    diag = np.diag(sigma_noise)
    silent = np.flatnonzero(diag <= 0)
    if silent.size:
        listed = ", ".join(str(i + 1) for i in silent)
        raise DataError(
            f"MNF needs noise in every band: band(s) {listed} do not change between "
            f"horizontally adjacent pixels"
        )
    scale = np.sqrt(diag)
    values, vectors = np.linalg.eigh(sigma_noise / np.outer(scale, scale))
    if values[0] <= values[-1] * values.size * np.finfo(np.float64).eps:
        raise DataError(
            "MNF needs independent noise in the bands: the noise covariance is singular "
            "(some bands' noise is a linear combination of others')"
        )
    return vectors / np.sqrt(values) / scale[:, None]
