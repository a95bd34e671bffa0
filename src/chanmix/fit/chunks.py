"""A block's statistics, chunk by chunk: how the pixels' products are formed, and merged.

Within a block, pixels go in chunks of rows, each shifted to its own (approximate) mean before
its products are formed by BLAS ``syrk``; the chunks then merge with the pairwise update of
Chan, Golub & LeVeque (:func:`pairwise_merge`). Shifting before the product is what keeps the
precision: the textbook ``sum(x x^T) - n mean mean^T`` loses a factor of about
``(mean / spread)^2`` -- for 2e6 uint16 pixels of mean 0.9 and spread 2e-3, a relative error of
5e-6 in float64 (and 100% in float32). Two ways of forming the products
(:data:`~chanmix.choices.PRODUCTS`; ``auto``, the default, takes float32 for float32 samples
and float64 for others):

- float32: chunks of :data:`FLOAT32_CHUNK_PIXELS` rows are converted and shifted in one pass
  (the C kernel's ``shift``), and one ``ssyrk`` of ``[x - shift, 1]`` gives the products, the
  sums and the count, corrected and merged in float64: scikit-learn's float32 speed, within
  about 1e-6;
- float64: chunks of :data:`CHUNK_PIXELS` rows are copied to float64, centred on their mean
  (one gemv for the column sums) and multiplied by ``dsyrk``: 1e-14, at twice the time.

Rows that hold a non-finite value are left out, as are pixels outside an optional mask. Rows
are tested for finiteness one by one only in a chunk whose sums are not finite.
"""

from __future__ import annotations

import threading

import numpy as np

from ..choices import PRODUCTS
from ..errors import UsageError
from ..kernel import _whole_samples, compiled_kernel

__all__ = ["CHUNK_PIXELS", "FLOAT32_CHUNK_PIXELS", "accumulate", "check_products", "pairwise_merge"]

#: Rows converted to float64 at a time: a 4096 x 200 buffer (6.5 MB) stays in the L3 cache.
CHUNK_PIXELS = 4096

#: Rows shifted and multiplied at a time with float32 products: a 16384 x 200 buffer (13 MB)
#: makes 61 float64 merges per million pixels where 4096 rows made 244, for the same errors.
FLOAT32_CHUNK_PIXELS = 16384

#: The float32 path's shift is the mean of about this many evenly spaced rows of the chunk.
_SHIFT_ROWS = 512


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


def pairwise_merge(
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


def accumulate(
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
        result = pairwise_merge(result, chunk)
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
