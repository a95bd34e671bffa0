"""Principal component analysis from streamed statistics, as a Mix.

The components are the eigenvectors of the pixels' covariance matrix (ddof 1, as
scikit-learn's ``PCA.explained_variance_``), in order of decreasing eigenvalue, computed with
``numpy.linalg.eigh`` from a :class:`~chanmix.fit.moments.Moments` gathered block by block,
so the whole image is never held in memory. The fit follows the chanmix PCA conventions:

- each component's sign makes its largest-magnitude weight positive;
- centred by default: ``bias = -W @ mean`` (normalized units), so each output has mean 0;
- ``whiten`` divides each component by the square root of its eigenvalue (unit variance);
- uncentred (``center=False``): components of the second moment ``E[x x^T]``, bias 0, and
  explained variance ratios relative to its trace (the mean square, not the variance).

References
----------
I. T. Jolliffe, *Principal Component Analysis*, 2nd ed., Springer, 2002.
J. Cadima and I. T. Jolliffe, "On relationships between uncentred and column-centred principal
component analysis", Pakistan Journal of Statistics 25(4), 2009.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..mix import Mix
from ._components import descending_eigh, n_components, names, orient
from .moments import Moments, frozen_array

__all__ = ["PCAFit", "fit_pca"]


@dataclass(frozen=True, eq=False)
class PCAFit:
    """The result of :func:`fit_pca`.

    Attributes
    ----------
    mix : Mix
        ``K x N`` weights (the components, rows), bias, names ``PC1..PCK`` and a JSON-ready
        provenance: ``method`` ("pca"), ``mean``, ``eigenvalues``, ``explained_variance``,
        ``explained_variance_ratio``, ``n_pixels``, ``center``, ``whiten``.
    eigenvalues : (N,) ndarray
        All eigenvalues, decreasing (variances of the components, units squared; mean squares
        when uncentred).
    explained_variance_ratio : (K,) ndarray
        Share of the total variance (or mean square) held by each kept component.
    mean : (N,) ndarray
        Mean of the pixels, normalized units.
    n_pixels : int
        Number of pixels fitted.
    """

    mix: Mix
    eigenvalues: np.ndarray
    explained_variance_ratio: np.ndarray
    mean: np.ndarray
    n_pixels: int


def fit_pca(moments: Moments, k: int | float, *, center: bool = True, whiten: bool = False) -> PCAFit:
    """Fit PCA to the pixels summarized by ``moments``.

    Parameters
    ----------
    moments : Moments
        Statistics of N-band pixels, normalized units.
    k : int or float
        Components to keep: a count from 1 to N, or a fraction ``0 < k < 1`` meaning the
        fewest components whose cumulative explained variance ratio reaches it.
    center : bool
        Centre the pixels on their mean (bias ``-W @ mean``); else analyse ``E[x x^T]``.
    whiten : bool
        Scale each component to unit variance (unit mean square when uncentred).

    Returns
    -------
    PCAFit

    Raises
    ------
    DataError
        Fewer than 2 valid pixels; pixels without any variation; or, with ``whiten``, a kept
        component of zero variance (bands that are linear combinations of others), which
        cannot be scaled to unit variance: keep fewer components.
    UsageError
        ``k`` out of range (the message names ``k``).
    """
    if moments.count < 2:
        raise DataError(f"PCA needs at least 2 valid pixels, got {moments.count}")
    matrix = moments.covariance(ddof=1) if center else moments.second_moment()
    eigenvalues, vectors = descending_eigh(matrix)
    eigenvalues = np.maximum(eigenvalues, 0.0)  # round-off can make a zero slightly negative
    total = float(eigenvalues.sum())
    if total <= 0.0:
        raise DataError("PCA is undefined: all valid pixels have the same value")
    ratios = eigenvalues / total
    kept = n_components(k, ratios)
    weights = orient(vectors[:kept])
    if whiten:
        floor = eigenvalues[0] * eigenvalues.size * np.finfo(np.float64).eps
        flat = np.flatnonzero(eigenvalues[:kept] <= floor)
        if flat.size:
            raise DataError(
                f"k: cannot whiten component PC{flat[0] + 1}, it has zero variance (some bands are "
                f"linear combinations of others); keep at most {flat[0]} components",
                parameter="k",
            )
        weights = weights / np.sqrt(eigenvalues[:kept])[:, None]
    mean = moments.mean
    bias = -weights @ mean if center else np.zeros(kept)
    provenance = {
        "method": "pca",
        "mean": mean.tolist(),
        "eigenvalues": eigenvalues.tolist(),
        "explained_variance": eigenvalues[:kept].tolist(),
        "explained_variance_ratio": ratios[:kept].tolist(),
        "n_pixels": moments.count,
        "center": bool(center),
        "whiten": bool(whiten),
    }
    mix = Mix(weights, bias, names=names("PC", kept), provenance=provenance)
    return PCAFit(mix, frozen_array(eigenvalues), frozen_array(ratios[:kept]), mean, moments.count)
