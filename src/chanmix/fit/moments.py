"""Mergeable sufficient statistics of pixel blocks, accumulated in float64.

A fit streams an image block by block; each block gives a small statistics value (count,
mean, scatter matrix), and values merge by the pairwise update of Chan, Golub & LeVeque, so
the statistics of an image do not depend on how it was cut into blocks, files or workers
(up to rounding), and no pass ever forms the ill-conditioned raw sum of squares.

Within a block, pixels go in chunks of rows, each shifted to its own (approximate) mean before
its products are formed by BLAS ``syrk``; the chunks then merge with the same pairwise update.
Shifting before the product is what keeps the precision: the textbook
``sum(x x^T) - n mean mean^T`` loses a factor of about ``(mean / spread)^2`` -- for 2e6 uint16
pixels of mean 0.9 and spread 2e-3, a relative error of 5e-6 in float64 (and 100% in float32).
Two ways of forming the products (:data:`PRODUCTS`):

- float32 (the default, for 8/16-bit integer and float32 samples): chunks of
  :data:`FLOAT32_CHUNK_PIXELS` rows are converted and shifted in one pass (the C kernel's
  ``shift``), and one ``ssyrk`` of ``[x - shift, 1]`` gives the products, the sums and the
  count, corrected and merged in float64: scikit-learn's float32 speed, within about 1e-6;
- float64: chunks of :data:`CHUNK_PIXELS` rows are copied to float64, centred on their mean
  (one gemv for the column sums) and multiplied by ``dsyrk``: 1e-14, at twice the time.

Values are used as given (the caller normalizes integer samples); rows that hold a
non-finite value are left out, as are pixels outside an optional ``valid`` mask. Rows are
tested for finiteness one by one only in a chunk whose sums are not finite.

References
----------
T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a pairwise algorithm for
computing sample variances", Technical Report STAN-CS-79-773, Stanford University, 1979.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..choices import PRODUCTS
from ..errors import DataError, UsageError
from ..kernel import _whole_samples, compiled_kernel

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

#: Rows converted to float64 at a time: a 4096 x 200 buffer (6.5 MB) stays in the L3 cache.
CHUNK_PIXELS = 4096

#: Rows shifted and multiplied at a time with float32 products: a 16384 x 200 buffer (13 MB)
#: makes 61 float64 merges per million pixels where 4096 rows made 244, for the same errors.
FLOAT32_CHUNK_PIXELS = 16384

#: The float32 path's shift is the mean of about this many evenly spaced rows of the chunk.
_SHIFT_ROWS = 512


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


def _chunk_stats(x: np.ndarray, ones: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, mean and scatter of the finite rows of a float64 chunk, centring it in place."""
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite rows are dropped below
        total = ones[: x.shape[0]] @ x  # BLAS gemv: the column sums
    if not np.all(np.isfinite(total)):  # rare: find the rows at fault only when needed
        x = x[np.isfinite(x).all(axis=1)]
        total = x.sum(axis=0)
    count = x.shape[0]
    if count == 0:
        return 0, np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    mean = total / count
    x -= mean
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e154 and beyond: inf,
        return count, mean, x.T @ x  # refused by covariance(); one operand: BLAS syrk


def _merge(
    a: tuple[int, np.ndarray, np.ndarray], b: tuple[int, np.ndarray, np.ndarray]
) -> tuple[int, np.ndarray, np.ndarray]:
    """Chan, Golub & LeVeque's pairwise update of (count, mean, scatter)."""
    na, ma, sa = a
    nb, mb, sb = b
    if nb == 0:
        return a
    if na == 0:
        return b
    n = na + nb
    with np.errstate(over="ignore", invalid="ignore"):  # inf: refused by covariance()
        delta = mb - ma
        return n, ma + delta * (nb / n), sa + sb + np.outer(delta, delta * (na * nb / n))


def check_products(products: str) -> None:
    """Raise a UsageError unless `products` is one of :data:`PRODUCTS`."""
    if products not in PRODUCTS:
        raise UsageError(
            f"products must be one of {', '.join(PRODUCTS)}, got {products!r}", parameter="products"
        )


def _float32_products(parts: list[np.ndarray], products: str) -> bool:
    """Whether the chunks of these parts take the float32 path (:data:`PRODUCTS`): with "auto",
    when every part holds float16 or float32 samples; with "float32", when every part converts
    to float32 without rounding (those, and integers of up to 16 bits)."""
    if products == "auto":
        return all(part.dtype.kind == "f" and part.dtype.itemsize <= 4 for part in parts)
    return products == "float32" and all(
        part.dtype.itemsize <= (4 if part.dtype.kind == "f" else 2) for part in parts
    )


def _gather(parts: list[np.ndarray], rows: slice, keep: np.ndarray | None, out: np.ndarray) -> None:
    """Copy the rows ``rows`` (those where ``keep`` holds) of the parts side by side into ``out``."""
    col = 0
    for part in parts:
        src = part[rows] if keep is None else part[rows][keep]
        np.copyto(out[:, col : col + part.shape[1]], src, casting="unsafe")
        col += part.shape[1]


#: Each thread's chunk buffers, by sample type, kept from one block to the next.
_buffers = threading.local()


def _chunk_buffer(rows: int, cols: int, dtype: type[np.floating]) -> np.ndarray:
    """A (rows, cols) scratch array of this thread, reused by the blocks that follow: a new
    13 MB buffer per block cost as much in page faults as the float32 products it holds (each
    thread keeps its largest, e.g. 13 MB for float32 chunks of 200 bands)."""
    key = np.dtype(dtype).name
    held = getattr(_buffers, key, None)
    if held is None or held.size < rows * cols:
        held = np.empty(rows * cols, dtype=dtype)
        setattr(_buffers, key, held)
    return held[: rows * cols].reshape(rows, cols)


def _accumulate(
    parts: list[np.ndarray], mask: np.ndarray | None, products: str = PRODUCTS[0]
) -> tuple[int, np.ndarray, np.ndarray]:
    """Statistics of the rows of ``np.hstack(parts)`` (each (P, N_i)) where ``mask`` holds.

    ``products`` chooses how each chunk's products are formed (see :data:`PRODUCTS`); the chunks
    merge in float64 either way.
    """
    check_products(products)
    rows = parts[0].shape[0]
    width = sum(part.shape[1] for part in parts)
    result = (0, np.zeros(width), np.zeros((width, width)))
    single = _float32_products(parts, products)
    size = FLOAT32_CHUNK_PIXELS if single else CHUNK_PIXELS
    # float32 chunks carry a last column of ones: one syrk gives the products and the sums.
    buf = _chunk_buffer(min(size, rows), width + single, np.float32 if single else np.float64)
    ones = np.ones(buf.shape[0], dtype=buf.dtype)
    if single:
        buf[:, width] = 1.0
    direct = single and mask is None and len(parts) == 1 and parts[0].dtype in _SHIFTED_DIRECTLY
    for start in range(0, rows, size):
        stop = min(start + size, rows)
        keep = None if mask is None else mask[start:stop]
        k = stop - start if keep is None else int(np.count_nonzero(keep))
        if k == 0:
            continue
        if direct:  # converted and shifted straight from the block into the buffer
            chunk = _chunk_stats32(parts[0][start:stop], buf[:k])
        elif single:
            _gather(parts, slice(start, stop), keep, buf[:k, :width])
            chunk = _chunk_stats32(buf[:k, :width], buf[:k])
        else:
            _gather(parts, slice(start, stop), keep, buf[:k])
            chunk = _chunk_stats(buf[:k], ones)
        if chunk is None:  # the float32 path declined: this chunk in float64
            x = np.empty((k, width))
            _gather(parts, slice(start, stop), keep, x)
            chunk = _chunk_stats(x, np.ones(k))
        result = _merge(result, chunk)
    return result


#: float32 products are used when every centred product stays between these bounds (else the
#: chunk is redone in float64): no overflow, and no loss of precision to subnormal numbers.
_F32_RANGE = (1e-30, 1e30)


#: Sample types the float32 path converts and shifts in one pass (the C kernel's ``shift``).
_SHIFTED_DIRECTLY = tuple(np.dtype(t) for t in ("uint8", "uint16", "int16", "float32"))


def _shift_into(src: np.ndarray, shift: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = src.astype(float32) - shift``: by the C kernel when there is one (one pass,
    about 1.6 times NumPy's speed), else by NumPy; the same bytes either way."""
    kernel = compiled_kernel()
    if kernel is not None and src.dtype in _SHIFTED_DIRECTLY and _whole_samples(src) and _whole_samples(out):
        kernel.shift(src, out, shift)
    else:
        np.subtract(src, shift, out=out, dtype=np.float32)


def _chunk_stats32(src: np.ndarray, buf: np.ndarray) -> tuple[int, np.ndarray, np.ndarray] | None:
    """Count, mean and scatter of a (k, N) chunk ``src`` of float32-exact samples, from float32
    products of the chunk shifted by its approximate mean, formed in ``buf`` ((k, N + 1)
    float32, last column ones; ``src`` may be its first N columns); None when a value is not
    finite or the products would leave float32's safe range (the caller redoes the chunk in
    float64).

    The shift is the float32 mean of about :data:`_SHIFT_ROWS` evenly spaced rows: it only has
    to be near the chunk's mean (a shift off by a fraction f of the spread costs a factor
    1 + f^2 of precision), as the sums of the shifted values correct for it exactly. BLAS
    ``ssyrk`` of ``[x - shift, 1]`` gives the shifted products, their sums and the count in one
    call, converted to float64 for the correction and the merges.
    """
    k, width = src.shape
    sample = src[:: max(1, k // _SHIFT_ROWS)].astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        shift = np.ones(sample.shape[0], dtype=np.float32) @ sample  # BLAS sgemv: column sums
        if not np.all(np.isfinite(shift)):
            return None
        shift /= np.float32(sample.shape[0])
        _shift_into(src, shift, buf[:, :width])
        products = buf.T @ buf  # one operand: BLAS ssyrk
    diag = np.diag(products)[:width]
    low, high = _F32_RANGE
    if not (np.all(np.isfinite(products)) and np.all((diag == 0) | (diag >= k * low)) and diag.max() <= high):
        return None
    zero = np.flatnonzero(diag == 0)  # a constant band, or squares lost to underflow?
    if zero.size and np.any(buf[:, zero]):
        return None
    g = products.astype(np.float64)
    sums = g[:width, width]
    scatter = g[:width, :width] - np.outer(sums, sums / k)
    # a constant band, shifted by a rounded mean, can leave a residue of either sign: not below 0
    np.fill_diagonal(scatter, np.maximum(np.diag(scatter), 0.0))
    return k, shift.astype(np.float64) + sums / k, scatter


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
        return cls(*_accumulate([x], _mask(valid, np.shape(block)[:-1]), products))

    def merge(self: _M, other: _M) -> _M:
        """The statistics of the pixels of both (Chan, Golub & LeVeque's pairwise update)."""
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(self).__name__} with {type(other).__name__}")
        if other.n_bands != self.n_bands:
            raise UsageError(f"cannot merge statistics of {self.n_bands} and {other.n_bands} bands")
        return type(self)(
            *_merge((self.count, self.mean, self.scatter), (other.count, other.mean, other.scatter))
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
        rows = max(1, CHUNK_PIXELS // max(w, 1))
        for r in range(0, h, rows):
            band = arr[r : r + rows].astype(np.float64)
            diffs = (band[:, 1:] - band[:, :-1]).reshape(-1, n)
            pairs = None
            if mask is not None:
                ok = mask.reshape(h, w)[r : r + rows]
                pairs = (ok[:, 1:] & ok[:, :-1]).reshape(-1)
            result = _merge(result, _accumulate([diffs], pairs, products))
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
        return cls(Moments(*_accumulate([px, py], mask, "float64")), px.shape[1])

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
