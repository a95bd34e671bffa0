"""Mergeable sufficient statistics of pixel blocks, accumulated in float64.

A fit streams an image block by block; each block gives a small statistics value (count,
mean, scatter matrix), and values merge by the pairwise update of Chan, Golub & LeVeque, so
the statistics of an image do not depend on how it was cut into blocks, files or workers
(up to rounding), and no pass ever forms the ill-conditioned raw sum of squares.

Each block's statistics are gathered chunk by chunk (:mod:`chanmix.fit.chunks`: how the
pixels' products are formed, float32 or float64). Values are used as given (the caller
normalizes integer samples); rows that hold a non-finite value are left out, as are pixels
outside an optional ``valid`` mask.

References
----------
T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a pairwise algorithm for
computing sample variances", Technical Report STAN-CS-79-773, Stanford University, 1979.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..choices import PRODUCTS
from ..errors import DataError, UsageError
from . import chunks
from .chunks import CHUNK_PIXELS, FLOAT32_CHUNK_PIXELS, accumulate, check_products, pairwise_merge

__all__ = [
    "CHUNK_PIXELS",
    "CONSTANT_RTOL",
    "FLOAT32_CHUNK_PIXELS",
    "PRODUCTS",
    "CrossMoments",
    "Moments",
    "NoiseMoments",
    "check_products",
]

#: A band whose standard deviation is below this fraction of its mean's magnitude is constant:
#: an exactly constant band leaves a round-off residue near 1e-14 of its mean.
CONSTANT_RTOL = 1e-10

#: Moments or a subclass: what its constructors and merges return.
_M = TypeVar("_M", bound="Moments")


def frozen_array(values: np.ndarray) -> np.ndarray:
    """A read-only float64 copy."""
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _pixels(block: np.ndarray, what: str) -> np.ndarray:
    """View a (P, N) or (h, w, N) block as (P, N) rows of pixels."""
    arr = np.asarray(block)
    if arr.ndim not in (2, 3) or arr.dtype.kind not in "uif":
        raise UsageError(f"{what} must be a (P, N) or (h, w, N) array of numbers, got {arr.shape}")
    return arr.reshape(-1, arr.shape[-1])


def _mask(valid: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The valid mask flattened to (P,), checked against the block's pixel shape."""
    if valid is None:
        return None
    mask = np.asarray(valid, dtype=bool)
    if mask.shape != shape:
        raise UsageError(f"the valid mask has shape {mask.shape}, the block's pixels {shape}")
    return mask.reshape(-1)


@dataclass(frozen=True, eq=False)
class Moments:
    """Count, mean and scatter matrix of N-band pixels, mergeable with ``+``.

    Attributes
    ----------
    count : int
        Number of pixels that counted.
    mean : (N,) ndarray of float64
        Their mean, in the units of the data (normalized units for images).
    scatter : (N, N) ndarray of float64
        ``sum((x - mean)(x - mean)^T)`` over those pixels, in units squared.
    """

    count: int
    mean: np.ndarray
    scatter: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "count", int(self.count))
        object.__setattr__(self, "mean", frozen_array(self.mean))
        object.__setattr__(self, "scatter", frozen_array(self.scatter))

    @property
    def n_bands(self) -> int:
        """N, the number of bands."""
        return int(self.mean.shape[0])

    @classmethod
    def empty(cls: type[_M], n: int) -> _M:
        """The statistics of no pixel of N bands: the identity of ``+``."""
        return cls(0, np.zeros(n), np.zeros((n, n)))

    @classmethod
    def of(
        cls: type[_M], block: np.ndarray, valid: np.ndarray | None = None, *, products: str = PRODUCTS[0]
    ) -> _M:
        """The statistics of one block of pixels.

        Parameters
        ----------
        block : (P, N) or (h, w, N) ndarray of any real dtype
            Pixel values, used as they are; statistics in float64.
        valid : (P,) or (h, w) bool ndarray, optional
            The pixels that count (the block's leading shape). Rows holding a NaN or an
            infinity never count.
        products : {"auto", "float32", "float64"}
            How each chunk's centred products are formed (:data:`PRODUCTS`): "auto" (the
            default) in float32 for float32 blocks and in float64 for others, "float32" also
            for 8/16-bit integers (within about 1e-6 relative), "float64" always (1e-14, twice
            the time of float32).
        """
        x = _pixels(block, "a block")
        return cls(*accumulate([x], _mask(valid, np.shape(block)[:-1]), products))

    def merge(self: _M, other: _M) -> _M:
        """The statistics of the pixels of both (Chan, Golub & LeVeque's pairwise update)."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(self).__name__} with {type(other).__name__}")
        if other.n_bands != self.n_bands:
            raise UsageError(f"cannot merge statistics of {self.n_bands} and {other.n_bands} bands")
        return type(self)(
            *pairwise_merge((self.count, self.mean, self.scatter), (other.count, other.mean, other.scatter))
        )

    __add__ = merge

    def scaled(self: _M, factors: np.ndarray | float) -> _M:
        """The statistics of the pixels multiplied band by band by ``factors`` (N,) or a scalar:
        how raw integer samples become normalized units."""
        f = np.broadcast_to(np.asarray(factors, dtype=np.float64), self.mean.shape)
        with np.errstate(over="ignore", invalid="ignore"):  # inf: refused by covariance()
            return type(self)(self.count, self.mean * f, self.scatter * np.outer(f, f))

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """The (N, N) covariance matrix ``scatter / (count - ddof)``.

        Raises
        ------
        DataError
            When ``count <= ddof``, or the pixels' spread overflows float64.
        """
        if self.count <= ddof:
            raise DataError(f"need at least {ddof + 1} valid pixels, got {self.count}")
        return _finite(self.scatter / (self.count - ddof), "covariance")

    def constant_bands(self) -> np.ndarray:
        """(N,) bool: the bands that do not vary, up to the round-off of the statistics.

        True where ``scatter[i, i] <= count * (CONSTANT_RTOL * mean[i])**2``: a constant band's
        centred values are not exactly 0 when its mean is not exactly representable.
        """
        return np.diag(self.scatter) <= self.count * (CONSTANT_RTOL * self.mean) ** 2

    def second_moment(self) -> np.ndarray:
        """The (N, N) uncentred second moment ``E[x x^T]`` (``mean(x x^T)`` over the pixels).

        Raises
        ------
        DataError
            When no pixel counted, or the moment overflows float64.
        """
        if self.count == 0:
            raise DataError("no valid pixels")
        with np.errstate(over="ignore", invalid="ignore"):
            moment = self.scatter / self.count + np.outer(self.mean, self.mean)
        return _finite(moment, "second moment")


def _finite(matrix: np.ndarray, what: str) -> np.ndarray:
    """`matrix`, or a DataError when it holds NaN or inf: pixel values so large (beyond about
    1e154) that their products overflow float64 (sums of squares of finite values)."""
    if not np.all(np.isfinite(matrix)):
        raise DataError(f"the pixels' {what} overflows float64: values too large (beyond about 1e154) to fit")
    return matrix


@dataclass(frozen=True, eq=False)
class NoiseMoments(Moments):
    """Statistics of the differences between horizontally adjacent pixels, for noise estimates.

    The shift-difference estimator: for a pixel ``x[i, j] = s[i, j] + e[i, j]`` whose signal
    ``s`` varies little from one column to the next and whose noise ``e`` is independent between
    neighbours, ``d = x[i, j+1] - x[i, j] ~ e[i, j+1] - e[i, j]`` has covariance
    ``2 Sigma_noise``, so :meth:`noise_covariance` returns ``cov(d) / 2``. Centring ``d``
    removes a steady horizontal gradient; any remaining signal in the differences (edges,
    texture) inflates the estimate, so it is an upper bound on textured images.

    The attributes are those of :class:`Moments`, over the differences ``d``. Differences are
    taken within a block's rows only, so an image can be fed as row bands of any height (or
    as tiles, losing only the pairs that straddle tile edges).

    References
    ----------
    A. A. Green, M. Berman, P. Switzer and M. D. Craig, "A transformation for ordering
    multispectral data in terms of image quality with implications for noise removal",
    IEEE Trans. Geosci. Remote Sens. 26(1):65-74, 1988.
    """

    @classmethod
    def of(
        cls, block: np.ndarray, valid: np.ndarray | None = None, *, products: str = PRODUCTS[0]
    ) -> NoiseMoments:
        """The statistics of the horizontal differences of one row band.

        Parameters
        ----------
        block : (h, w, N) ndarray of any real dtype
            Whole rows of the image (a difference is taken between columns j and j+1).
        valid : (h, w) bool ndarray, optional
            A difference counts when both of its pixels are valid and finite.
        products : {"auto", "float32", "float64"}
            Accepted for :meth:`Moments.of`'s sake; the differences are formed in float64, so
            their products are too.
        """
        arr = np.asarray(block)
        if arr.ndim != 3:
            raise UsageError(f"noise statistics need an (h, w, N) block of rows, got {arr.shape}")
        mask = _mask(valid, arr.shape[:2])
        h, w, n = arr.shape
        result = (0, np.zeros(n), np.zeros((n, n)))
        rows = max(1, chunks.CHUNK_PIXELS // max(w, 1))
        for r in range(0, h, rows):
            band = arr[r : r + rows].astype(np.float64)
            diffs = (band[:, 1:] - band[:, :-1]).reshape(-1, n)
            pairs = None
            if mask is not None:
                ok = mask.reshape(h, w)[r : r + rows]
                pairs = (ok[:, 1:] & ok[:, :-1]).reshape(-1)
            result = pairwise_merge(result, accumulate([diffs], pairs, products))
        return cls(*result)

    def noise_covariance(self) -> np.ndarray:
        """The (N, N) noise covariance estimate ``cov(d) / 2`` (ddof 1), in units squared.

        Raises
        ------
        DataError
            When fewer than 2 pairs of adjacent valid pixels were seen.
        """
        if self.count < 2:
            raise DataError(
                f"need at least 2 pairs of horizontally adjacent valid pixels to estimate the "
                f"noise, got {self.count}"
            )
        return self.covariance(ddof=1) / 2.0


@dataclass(frozen=True, eq=False)
class CrossMoments:
    """Joint statistics of inputs X (N bands) and targets Y (M bands) at the same pixels.

    Held as the :class:`Moments` of the stacked vector ``[x, y]`` (N + M bands), whose scatter
    is ``[[Sxx, Sxy], [Sxy^T, Syy]]``; merging is the same pairwise update, cross term included.

    Attributes
    ----------
    joint : Moments
        Statistics of ``[x, y]``.
    n_inputs : int
        N, the number of input bands (the first N of ``joint``).
    """

    joint: Moments
    n_inputs: int

    @classmethod
    def empty(cls, n: int, m: int) -> CrossMoments:
        """The statistics of no pixel, N input and M target bands."""
        return cls(Moments.empty(n + m), n)

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray, valid: np.ndarray | None = None) -> CrossMoments:
        """The joint statistics of one block of input and target pixels.

        Parameters
        ----------
        x : (P, N) or (h, w, N) ndarray of any real dtype
            Input pixels.
        y : (P, M) or (h, w, M) ndarray of any real dtype
            Target pixels, the same leading shape as ``x``.
        valid : (P,) or (h, w) bool ndarray, optional
            The pixels that count; pixels with a non-finite input or target never count.

        The products are float64 (``products="float64"`` in :meth:`Moments.of`): least squares
        solves the normal equations, which square the inputs' condition number, so float32's
        rounding of ``Sxx`` would cost up to ``cond(Sxx) * 1e-7`` in the solution.
        """
        if np.shape(x)[:-1] != np.shape(y)[:-1]:
            raise UsageError(
                f"inputs {np.shape(x)[:-1]} and targets {np.shape(y)[:-1]} do not have the same size"
            )
        px, py = _pixels(x, "the inputs"), _pixels(y, "the targets")
        mask = _mask(valid, np.shape(x)[:-1])
        return cls(Moments(*accumulate([px, py], mask, "float64")), px.shape[1])

    def merge(self, other: CrossMoments) -> CrossMoments:
        """The joint statistics of the pixels of both."""
        if not isinstance(other, CrossMoments):
            raise TypeError(f"cannot merge CrossMoments with {type(other).__name__}")
        if other.n_inputs != self.n_inputs:
            raise UsageError(f"cannot merge statistics of {self.n_inputs} and {other.n_inputs} input bands")
        return CrossMoments(self.joint + other.joint, self.n_inputs)

    __add__ = merge

    def scaled(self, fx: np.ndarray | float, fy: np.ndarray | float) -> CrossMoments:
        """The statistics with the inputs multiplied by ``fx`` and the targets by ``fy``."""
        factors = np.concatenate(
            [
                np.broadcast_to(np.asarray(fx, dtype=np.float64), (self.n_inputs,)),
                np.broadcast_to(np.asarray(fy, dtype=np.float64), (self.n_targets,)),
            ]
        )
        return CrossMoments(self.joint.scaled(factors), self.n_inputs)

    @property
    def count(self) -> int:
        """Number of pixel pairs that counted."""
        return self.joint.count

    @property
    def n_targets(self) -> int:
        """M, the number of target bands."""
        return self.joint.n_bands - self.n_inputs

    @property
    def mean_x(self) -> np.ndarray:
        """(N,) mean of the inputs."""
        return self.joint.mean[: self.n_inputs]

    @property
    def mean_y(self) -> np.ndarray:
        """(M,) mean of the targets."""
        return self.joint.mean[self.n_inputs :]

    @property
    def sxx(self) -> np.ndarray:
        """(N, N) centred scatter of the inputs."""
        return self.joint.scatter[: self.n_inputs, : self.n_inputs]

    @property
    def sxy(self) -> np.ndarray:
        """(N, M) centred cross scatter ``sum((x - mean_x)(y - mean_y)^T)``."""
        return self.joint.scatter[: self.n_inputs, self.n_inputs :]

    @property
    def syy(self) -> np.ndarray:
        """(M, M) centred scatter of the targets."""
        return self.joint.scatter[self.n_inputs :, self.n_inputs :]
