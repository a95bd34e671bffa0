"""Independent component analysis (FastICA) on PCA-whitened pixels, as a Mix.

The pixels are whitened by the streamed PCA of all of them (:func:`~chanmix.fit.fit_pca`
with ``whiten``: K components of unit variance), then FastICA (Hyvarinen 1999; the logcosh
contrast ``G(u) = log cosh u``, ``g = tanh``, and symmetric decorrelation, as scikit-learn's
``FastICA(algorithm="parallel", fun="logcosh")``) finds the rotation ``R`` (K x K,
orthogonal) of the whitened sample that makes its components most non-Gaussian, iterating

    R <- E[g(R z) z^T] - diag(E[g'(R z)]) R,   R <- (R R^T)^(-1/2) R

until ``max |1 - |diag(R_new R^T)|| < tol``. The unmixing matrix is ``W = R @ P`` (K x N,
normalized units), ``P`` the whitening PCA's rows, and the bias ``-W @ mean``: each component
has mean 0 and unit variance over all the pixels, and they are uncorrelated, spanning the
first K principal components exactly. The iterations use a sample of pixels (chosen by the
caller, e.g. :class:`~chanmix.fit.SampleMask`); the starting rotation comes from
``numpy.random.default_rng(seed)``, so a fit is deterministic for a sample and a seed. The
components are ordered by decreasing non-Gaussianity (the negentropy approximation
``(E[G(y)] - E[G(nu)])^2``, ``nu`` standard normal) and signed like PCA's (largest weight
positive).

References
----------
A. Hyvarinen, "Fast and robust fixed-point algorithms for independent component analysis",
IEEE Trans. Neural Networks 10(3):626-634, 1999.
A. Hyvarinen and E. Oja, "Independent component analysis: algorithms and applications",
Neural Networks 13(4-5):411-430, 2000.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, UsageError
from ..mix import Mix
from ._components import names, orient
from .moments import Moments, frozen_array
from .pca import fit_pca

__all__ = ["DEFAULT_SAMPLE", "ICAFit", "fit_ica"]

#: Pixels FastICA iterates on when no sample size is given.
DEFAULT_SAMPLE = 100_000

#: E[log cosh(nu)] for a standard normal nu, the Gaussian reference of the negentropy.
_GAUSS_LOGCOSH = 0.3745672075


@dataclass(frozen=True, eq=False)
class ICAFit:
    """The result of :func:`fit_ica`.

    Attributes
    ----------
    mix : Mix
        ``K x N`` unmixing weights, bias ``-W @ mean``, names ``IC1..ICK``; provenance:
        ``method`` ("ica"), ``mean``, ``n_pixels``, ``n_sample``, ``seed``, ``iterations``,
        ``converged``, ``final_change``, ``tol``, ``negentropy``.
    iterations : int
        FastICA iterations run.
    converged : bool
        Whether the change fell below ``tol`` within ``max_iter`` iterations.
    final_change : float
        ``max |1 - |diag(R_new R^T)||`` at the last iteration.
    negentropy : (K,) ndarray
        Non-Gaussianity of each component on the sample, decreasing.
    mean : (N,) ndarray
        Mean of the pixels, normalized units.
    """

    mix: Mix
    iterations: int
    converged: bool
    final_change: float
    negentropy: np.ndarray
    mean: np.ndarray


def fit_ica(
    moments: Moments,
    sample: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    max_iter: int = 200,
    tol: float = 1e-4,
) -> ICAFit:
    """FastICA of the pixels summarized by ``moments``, iterated on ``sample``.

    Parameters
    ----------
    moments : Moments
        Statistics of all the N-band pixels (normalized units): the whitening PCA's.
    sample : (P, N) ndarray
        Pixels (normalized units) FastICA iterates on, e.g. a random sample of the same ones.
    k : int
        Components, from 1 to N.
    seed : int
        Seed of the starting rotation.
    max_iter : int
        Most iterations; a fit that has not converged by then is returned with
        ``converged`` False.
    tol : float
        Convergence threshold on the change of the rotation.

    Raises
    ------
    UsageError
        ``k`` out of range (naming ``k``), a sample of the wrong band count.
    DataError
        Fewer than 2 valid pixels or sampled pixels, or a component of zero variance among
        the first K principal components.
    """
    x = np.asarray(sample, dtype=np.float64)
    n = moments.n_bands
    if x.ndim != 2 or x.shape[1] != n:
        raise UsageError(f"the ICA sample must be (P, {n}) pixels, got {x.shape}")
    if isinstance(k, bool) or not float(k).is_integer() or not 1 <= k <= n:
        raise UsageError(f"k must be a number of components from 1 to {n} for ICA, got {k!r}", parameter="k")
    k = int(k)
    x = x[np.isfinite(x).all(axis=1)]
    if x.shape[0] < 2:
        raise DataError(f"ICA needs at least 2 valid sampled pixels, got {x.shape[0]}")
    pca = fit_pca(moments, k, whiten=True)
    z = x @ pca.mix.weights.T + pca.mix.bias  # (P, K), white over all the pixels
    rotation, iterations, change = _fastica(z, np.random.default_rng(seed).normal(size=(k, k)), max_iter, tol)
    y = z @ rotation.T
    negentropy = (np.mean(_logcosh(y), axis=0) - _GAUSS_LOGCOSH) ** 2
    order = np.argsort(-negentropy, kind="stable")
    weights = orient(rotation[order] @ pca.mix.weights)
    mean = moments.mean
    converged = change < tol
    provenance = {
        "method": "ica",
        "mean": mean.tolist(),
        "n_pixels": moments.count,
        "n_sample": int(x.shape[0]),
        "seed": int(seed),
        "contrast": "logcosh",
        "iterations": iterations,
        "converged": bool(converged),
        "final_change": float(change),
        "tol": float(tol),
        "negentropy": negentropy[order].tolist(),
    }
    mix = Mix(weights, -weights @ mean, names=names("IC", k), provenance=provenance)
    return ICAFit(mix, iterations, bool(converged), float(change), frozen_array(negentropy[order]), mean)


def _logcosh(u: np.ndarray) -> np.ndarray:
    """``log cosh u`` without overflow."""
    a = np.abs(u)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def _decorrelate(w: np.ndarray) -> np.ndarray:
    """``(W W^T)^(-1/2) W``: the nearest orthogonal matrix's rows."""
    values, vectors = np.linalg.eigh(w @ w.T)
    values = np.maximum(values, np.finfo(np.float64).tiny)
    return (vectors / np.sqrt(values)) @ vectors.T @ w


def _fastica(z: np.ndarray, start: np.ndarray, max_iter: int, tol: float) -> tuple[np.ndarray, int, float]:
    """The rotation of white ``z`` (P, K), the iterations run and the last change."""
    w = _decorrelate(start)
    change = np.inf
    p = z.shape[0]
    for iteration in range(1, max_iter + 1):
        g = np.tanh(z @ w.T)  # (P, K)
        g_prime = 1.0 - g**2
        new = _decorrelate(g.T @ z / p - g_prime.mean(axis=0)[:, None] * w)
        change = float(np.max(np.abs(np.abs(np.einsum("ij,ij->i", new, w)) - 1.0)))
        w = new
        if change < tol:
            return w, iteration, change
    return w, max_iter, change
