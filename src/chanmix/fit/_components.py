"""Helpers shared by the eigen-decomposition fits (PCA, MNF): ordering, count, signs."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ..errors import UsageError


def descending_eigh(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (N,) in decreasing order and the eigenvectors as rows (N, N) of a symmetric matrix."""
    values, vectors = np.linalg.eigh(matrix)
    return values[::-1].copy(), vectors[:, ::-1].T.copy()


def n_components(k: int | float, ratios: np.ndarray) -> int:
    """Resolve ``k``: a count from 1 to N, or the fewest components whose cumulative
    explained variance ratio reaches a fraction ``0 < k < 1``.

    Raises
    ------
    UsageError
        When k is neither (the message names ``k``).
    """
    n = ratios.shape[0]
    if isinstance(k, Integral) and not isinstance(k, bool):
        if 1 <= k <= n:
            return int(k)
    elif isinstance(k, Real) and 0 < k < 1:
        cumulative = np.cumsum(ratios)
        return min(int(np.searchsorted(cumulative, float(k), side="left")) + 1, n)
    raise UsageError(
        f"k must be a number of components from 1 to {n} (the number of bands) "
        f"or a variance fraction between 0 and 1, got {k!r}",
        parameter="k",
    )


def orient(rows: np.ndarray) -> np.ndarray:
    """Flip the sign of each row so that its largest-magnitude entry is positive."""
    peak = rows[np.arange(rows.shape[0]), np.argmax(np.abs(rows), axis=1)]
    return rows * np.where(peak < 0, -1.0, 1.0)[:, None]


def names(prefix: str, k: int) -> tuple[str, ...]:
    """``(prefix1, ..., prefixK)``."""
    return tuple(f"{prefix}{i}" for i in range(1, k + 1))
