"""Min/max autocorrelation factors (MAF): components ordered by spatial autocorrelation.

Switzer & Green's MAF transform finds the linear combinations of the bands whose values change
least from a pixel to its neighbours, relative to their variance: its components ``v`` solve
the generalized symmetric eigenproblem

    Sigma_delta v = lambda Sigma v,

where ``Sigma`` is the pixels' covariance and ``Sigma_delta`` the covariance of the one-pixel
differences between neighbours, horizontal and vertical pooled. For a component ``y = v.x`` of
unit variance, ``lambda = var(y[p] - y[q])`` over neighbouring pixels ``p, q`` and its
autocorrelation at one pixel is ``1 - lambda / 2``. The components come smallest ``lambda``
first: the most autocorrelated (smooth, signal) first, the least (noise) last. Computed with
NumPy only, as MNF is:

1. ``T`` (N, N) with ``T^T Sigma T = I`` (eigh of the unit-diagonal covariance);
2. ``T^T Sigma_delta T = Q diag(lambda) Q^T`` (eigh), ``lambda`` increasing;
3. the components are the rows of ``W = (T Q)^T``, each of unit variance.

As for PCA, each component's sign makes its largest-magnitude weight positive and the bias is
``-W @ mean``. The differences come from :class:`DifferenceMoments`: horizontal ones within a
block's rows, vertical ones between its consecutive rows and between the row just above the
block (``above``) and its first row, so an image fed as row bands of any height, in any order,
counts each neighbour pair once.

References
----------
P. Switzer and A. A. Green, "Min/max autocorrelation factors for multivariate spatial
imagery", Technical Report 6, Department of Statistics, Stanford University, 1984.
A. A. Nielsen, "Kernel maximum autocorrelation factor and minimum noise fraction
transformations", IEEE Trans. Image Process. 20(3):612-624, 2011.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError, UsageError
from ..mix import Mix
from . import chunks
from ._components import n_components, names, orient
from .chunks import accumulate, pairwise_merge
from .moments import PRODUCTS, Moments, _mask, frozen_array

__all__ = ["DifferenceMoments", "MAFFit", "fit_maf"]


def _differences(
    first: np.ndarray, second: np.ndarray, ok_first: np.ndarray | None, ok_second: np.ndarray | None
) -> tuple[int, np.ndarray, np.ndarray]:
    """Statistics of ``second - first`` ((r, c, N) each) where both pixels are valid."""
    n = first.shape[-1]
    pairs = None if ok_first is None or ok_second is None else (ok_first & ok_second).reshape(-1)
    diffs = (second.astype(np.float64) - first).reshape(-1, n)
    return accumulate([diffs], pairs)


@dataclass(frozen=True, eq=False)
class DifferenceMoments(Moments):
    """Statistics of the one-pixel differences between neighbours, horizontal and vertical.

    The attributes are those of :class:`~chanmix.fit.moments.Moments`, over the differences
    ``x[i, j+1] - x[i, j]`` and ``x[i+1, j] - x[i, j]`` together (``count`` is the number of
    neighbour pairs); values merge with ``+``.
    """

    @classmethod
    def of(
        cls,
        block: np.ndarray,
        valid: np.ndarray | None = None,
        *,
        above: np.ndarray | None = None,
        above_valid: np.ndarray | None = None,
        products: str = PRODUCTS[0],
    ) -> DifferenceMoments:
        """The differences of one block of rows: horizontal within its rows, vertical between
        its consecutive rows and, with ``above``, between that row and the block's first row.

        Parameters
        ----------
        block : (h, w, N) ndarray of any real dtype
            Rows of the image.
        valid : (h, w) bool ndarray, optional
            A difference counts when both of its pixels are valid and finite.
        above : (w, N) or (1, w, N) ndarray, optional
            The image row just above the block (None for the image's first row).
        above_valid : (w,) or (1, w) bool ndarray, optional
            Its valid pixels.
        products : str
            Accepted as :meth:`Moments.of` takes it; differences are always formed and
            multiplied in float64.
        """
        arr = cls._block(block)
        mask = _mask(valid, arr.shape[:2])
        ok = None if mask is None else mask.reshape(arr.shape[:2])
        stats = cls.horizontal(arr, ok)
        if above is not None:
            top = np.asarray(above).reshape(1, arr.shape[1], arr.shape[2])
            if ok is not None or above_valid is not None:
                top_ok = (
                    np.ones((1, arr.shape[1]), bool)
                    if above_valid is None
                    else np.asarray(above_valid, bool).reshape(1, -1)
                )
                ok_full = np.ones(arr.shape[:2], bool) if ok is None else ok
                return stats + cls.vertical(np.concatenate([top, arr]), np.concatenate([top_ok, ok_full]))
            return stats + cls.vertical(np.concatenate([top, arr]))
        return stats + cls.vertical(arr, ok)

    @classmethod
    def horizontal(cls, block: np.ndarray, valid: np.ndarray | None = None) -> DifferenceMoments:
        """The differences between horizontally adjacent pixels of an (h, w, N) block."""
        arr = cls._block(block)
        h, w, n = arr.shape
        ok = _mask(valid, (h, w))
        result = (0, np.zeros(n), np.zeros((n, n)))
        rows = max(1, chunks.CHUNK_PIXELS // max(w, 1))
        for r in range(0, h, rows):
            part = arr[r : r + rows]
            m = None if ok is None else ok.reshape(h, w)[r : r + rows]
            pair = _differences(
                part[:, :-1], part[:, 1:], None if m is None else m[:, :-1], None if m is None else m[:, 1:]
            )
            result = pairwise_merge(result, pair)
        return cls(*result)

    @classmethod
    def vertical(cls, block: np.ndarray, valid: np.ndarray | None = None) -> DifferenceMoments:
        """The differences between vertically adjacent pixels of an (h, w, N) block."""
        arr = cls._block(block)
        h, w, n = arr.shape
        ok = _mask(valid, (h, w))
        result = (0, np.zeros(n), np.zeros((n, n)))
        rows = max(1, chunks.CHUNK_PIXELS // max(w, 1))
        for r in range(0, h - 1, rows):
            part = arr[r : r + rows + 1]
            m = None if ok is None else ok.reshape(h, w)[r : r + rows + 1]
            pair = _differences(
                part[:-1], part[1:], None if m is None else m[:-1], None if m is None else m[1:]
            )
            result = pairwise_merge(result, pair)
        return cls(*result)

    @staticmethod
    def _block(block: np.ndarray) -> np.ndarray:
        arr = np.asarray(block)
        if arr.ndim != 3 or arr.dtype.kind not in "uif":
            raise UsageError(f"neighbour differences need an (h, w, N) block of rows, got {arr.shape}")
        return arr


@dataclass(frozen=True, eq=False)
class MAFFit:
    """The result of :func:`fit_maf`.

    Attributes
    ----------
    mix : Mix
        ``K x N`` weights (components of unit variance), bias ``-W @ mean``, names
        ``MAF1..MAFK``; provenance: ``method`` ("maf"), ``mean``, ``eigenvalues``,
        ``autocorrelation``, ``n_pixels``, ``n_pairs``.
    eigenvalues : (N,) ndarray
        All generalized eigenvalues ``lambda`` (difference variance over variance), increasing.
    autocorrelation : (K,) ndarray
        One-pixel autocorrelation of each kept component, ``1 - lambda / 2``.
    mean : (N,) ndarray
        Mean of the pixels, normalized units.
    n_pixels, n_pairs : int
        Pixels and neighbour pairs fitted.
    """

    mix: Mix
    eigenvalues: np.ndarray
    autocorrelation: np.ndarray
    mean: np.ndarray
    n_pixels: int
    n_pairs: int


def fit_maf(moments: Moments, differences: DifferenceMoments, k: int) -> MAFFit:
    """Fit the min/max autocorrelation factors.

    Parameters
    ----------
    moments : Moments
        Statistics of the N-band pixels, normalized units.
    differences : DifferenceMoments
        Statistics of the neighbour differences of the same pixels.
    k : int
        Components to keep, from 1 to N (the most autocorrelated first).

    Raises
    ------
    DataError
        Fewer than 2 valid pixels or neighbour pairs, a constant band, or a singular
        covariance (bands that are linear combinations of others).
    UsageError
        ``k`` out of range (naming ``k``), or statistics of different band counts.
    """
    n = moments.n_bands
    if differences.n_bands != n:
        raise UsageError(f"the difference statistics have {differences.n_bands} bands, the pixels {n}")
    if isinstance(k, float) and not float(k).is_integer():
        raise UsageError(f"k must be a number of components from 1 to {n} for MAF, got {k!r}", parameter="k")
    kept = n_components(int(k), np.full(n, 1.0 / n))
    if moments.count < 2 or differences.count < 2:
        raise DataError(
            f"MAF needs at least 2 valid pixels and 2 pairs of valid neighbours, got {moments.count} "
            f"pixels and {differences.count} pairs"
        )
    whitener = whitening(moments.covariance(ddof=1), "MAF")
    values, vectors = np.linalg.eigh(whitener.T @ differences.covariance(ddof=1) @ whitener)
    weights = orient((whitener @ vectors).T[:kept])
    autocorrelation = 1.0 - values[:kept] / 2.0
    mean = moments.mean
    provenance = {
        "method": "maf",
        "mean": mean.tolist(),
        "eigenvalues": values.tolist(),
        "autocorrelation": autocorrelation.tolist(),
        "n_pixels": moments.count,
        "n_pairs": differences.count,
        "differences": "horizontal and vertical one-pixel neighbours, pooled",
    }
    mix = Mix(weights, -weights @ mean, names=names("MAF", kept), provenance=provenance)
    return MAFFit(
        mix, frozen_array(values), frozen_array(autocorrelation), mean, moments.count, differences.count
    )


def whitening(covariance: np.ndarray, method: str) -> np.ndarray:
    """``T`` (N, N) with ``T^T covariance T = I``, via eigh of the unit-diagonal matrix.

    Raises
    ------
    DataError
        A constant band, or a singular covariance (naming ``method``).
    """
    diag = np.diag(covariance)
    flat = np.flatnonzero(diag <= 0)
    if flat.size:
        listed = ", ".join(str(i + 1) for i in flat)
        raise DataError(f"{method} needs every band to vary: band(s) {listed} are constant")
    scale = np.sqrt(diag)
    values, vectors = np.linalg.eigh(covariance / np.outer(scale, scale))
    if values[0] <= values[-1] * values.size * 1e3 * np.finfo(np.float64).eps:
        raise DataError(
            f"{method} needs independent bands: their covariance is singular (some bands are "
            f"linear combinations of others): fit fewer bands"
        )
    return vectors / np.sqrt(values) / scale[:, None]
