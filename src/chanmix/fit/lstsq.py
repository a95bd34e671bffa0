"""Least squares (optionally ridge) from input bands to target bands, as a Mix.

Finds ``W`` (M x N) and ``b`` (M) minimizing ``sum ||y - W x - b||^2 + ridge * ||W||_F^2``
over all pixel pairs, as scikit-learn's ``Ridge`` does (the intercept is not penalized), from
the :class:`~chanmix.fit.moments.CrossMoments` of the pixels, by the normal equations:

- with a bias: ``(Sxx + ridge I) W^T = Sxy`` on the centred scatter matrices, then
  ``b = mean_y - W mean_x``;
- without: the same on the uncentred sums ``sum x x^T`` and ``sum x y^T``, ``b = 0``.

The system is solved by a pseudo-inverse from the eigen-decomposition of the Gram matrix
scaled to unit diagonal (so that the tolerance does not depend on the bands' units):
eigenvalues below :data:`RANK_RTOL` times the largest count as zero. A rank-deficient input
(a duplicated band, a band that is a sum of others, a constant band when there is a bias)
then gives the minimum-norm solution in those scaled units rather than an error, and the
dependent bands are reported: they are the bands with a substantial loading on the null
space, grouped by the coupling ``P = V0 V0^T`` of the null-space eigenvectors ``V0``.

Forming the Gram matrix squares the condition number of the pixel matrix, which is harmless
here: the statistics are float64 sums over centred chunks, and the eigenvalue cut-off sits
far above their round-off.

References
----------
G. H. Golub and C. F. Van Loan, *Matrix Computations*, 4th ed., Johns Hopkins, 2013
(sections 5.3 normal equations, 5.5 rank-deficient least squares).
A. E. Hoerl and R. W. Kennard, "Ridge regression: biased estimation for nonorthogonal
problems", Technometrics 12(1):55-67, 1970.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, UsageError
from ..mix import Mix
from .moments import CONSTANT_RTOL, CrossMoments, frozen_array

__all__ = ["RANK_RTOL", "LstsqFit", "check_ridge", "fit_lstsq"]

#: Eigenvalues of the unit-diagonal Gram matrix under this fraction of the largest count as
#: zero: a band whose part not explained by the others has under 1e-5 of its spread
#: (singular value ratio) is treated as a linear combination of them.
RANK_RTOL = 1e-10

_LOADING = 1e-2  # null-space projector diagonal (squared loading) that makes a band dependent
_COUPLING = 1e-3  # off-diagonal projector entry that puts two bands in the same group


@dataclass(frozen=True, eq=False)
class LstsqFit:
    """The result of :func:`fit_lstsq`.

    Attributes
    ----------
    mix : Mix
        ``M x N`` weights and bias (normalized units); provenance: ``method`` ("lstsq"),
        ``rmse``, ``r2``, ``n_pixels``, ``ridge``, ``fit_bias``, ``rank``, ``collinear``.
    rmse : (M,) ndarray
        Root mean square residual of each target band, normalized units.
    r2 : (M,) ndarray
        Coefficient of determination of each target band (1 - SSE / SST, SST about the
        target's mean; for a constant target 1 when it is predicted exactly, else 0).
    rank : int
        Numerical rank of the input Gram matrix (N when no band depends on the others).
    collinear : list of list of int
        Groups of 0-based input band indices that are (near-)linearly dependent; empty
        when the rank is full.
    warnings : tuple of str
        One sentence per group, naming the bands 1-based (and by name when given).
    n_pixels : int
        Number of pixel pairs fitted.
    """

    mix: Mix
    rmse: np.ndarray
    r2: np.ndarray
    rank: int
    collinear: list[list[int]]
    warnings: tuple[str, ...]
    n_pixels: int


def fit_lstsq(
    cross: CrossMoments,
    *,
    bias: bool = True,
    ridge: float = 0.0,
    input_names: Sequence[str] | None = None,
) -> LstsqFit:
    """Fit the least-squares (or ridge) mix from the inputs to the targets.

    Parameters
    ----------
    cross : CrossMoments
        Joint statistics of N input and M target bands, normalized units.
    bias : bool
        Fit an intercept per target band (not penalized by the ridge).
    ridge : float
        Ridge penalty ``lambda >= 0`` on the squared weights, in units of the sums of
        squares (as scikit-learn's ``Ridge(alpha=lambda)``).
    input_names : sequence of N str, optional
        Band names used in :attr:`LstsqFit.warnings`.

    Returns
    -------
    LstsqFit

    Raises
    ------
    DataError
        Fewer than 2 valid pixel pairs.
    UsageError
        A negative or non-finite ridge (the message names ``ridge``).
    """
    check_ridge(ridge)
    count, n = cross.count, cross.n_inputs
    if count < 2:
        raise DataError(f"least squares needs at least 2 valid pixels, got {count}")
    constant = cross.joint.constant_bands()
    gram, rhs, syy = cross.sxx, cross.sxy, cross.syy
    if bias:  # drop the round-off residue of constant bands: the bias accounts for them
        gram = np.where(constant[:n, None] | constant[None, :n], 0.0, gram)
        rhs = np.where(constant[:n, None] | constant[None, n:], 0.0, rhs)
    else:
        mx, my = cross.mean_x, cross.mean_y
        gram = gram + count * np.outer(mx, mx)
        rhs = rhs + count * np.outer(mx, my)
        syy = syy + count * np.outer(my, my)
    values, vectors, scale = _scaled_eigh(gram)
    null = values <= RANK_RTOL * max(values[-1], 0.0)
    groups = _groups(vectors[:, null]) if null.any() else []
    rank = n - int(np.count_nonzero(null))
    if ridge > 0:
        values, vectors, scale = _scaled_eigh(gram + ridge * np.eye(n))
    weights = _solve(values, vectors, scale, rhs).T
    offset = cross.mean_y - weights @ cross.mean_x if bias else np.zeros(cross.n_targets)

    sse = np.diag(syy) - 2 * np.einsum("mn,nm->m", weights, rhs)
    sse = np.maximum(sse + np.einsum("mn,nk,mk->m", weights, gram, weights), 0.0)
    rmse = np.sqrt(sse / count)
    r2 = _r2(sse, cross, constant[n:])
    warnings = tuple(_warning(g, bias, input_names) for g in groups)
    provenance = {
        "method": "lstsq",
        "rmse": rmse.tolist(),
        "r2": r2.tolist(),
        "n_pixels": count,
        "ridge": float(ridge),
        "fit_bias": bool(bias),
        "rank": rank,
        "collinear": groups,
    }
    mix = Mix(weights, offset, provenance=provenance)
    return LstsqFit(mix, frozen_array(rmse), frozen_array(r2), rank, groups, warnings, count)


def check_ridge(ridge: float) -> None:
    """Refuse a ridge penalty that is negative or not finite.

    Raises
    ------
    UsageError
        Naming ``ridge``.
    """
    if not (np.isfinite(ridge) and ridge >= 0):
        raise UsageError(f"ridge must be a finite number >= 0, got {ridge!r}", parameter="ridge")


def _scaled_eigh(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigen-decomposition (ascending) of ``gram`` scaled to unit diagonal, and the scale.

    A band with a zero diagonal keeps scale 1, so it shows as a zero eigenvalue.
    """
    diag = np.diag(gram)
    scale = np.where(diag > 0, np.sqrt(np.maximum(diag, 0.0)), 1.0)
    values, vectors = np.linalg.eigh(gram / np.outer(scale, scale))
    return values, vectors, scale


def _solve(values: np.ndarray, vectors: np.ndarray, scale: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Pseudo-inverse solution (N, M) of ``gram @ X = rhs`` from :func:`_scaled_eigh`'s output."""
    kept = values > RANK_RTOL * max(values[-1], 0.0)
    v = vectors[:, kept]
    return (v @ ((v.T @ (rhs / scale[:, None])) / values[kept][:, None])) / scale[:, None]


def _r2(sse: np.ndarray, cross: CrossMoments, constant: np.ndarray) -> np.ndarray:
    """1 - SSE / SST; for a constant target, 1 when predicted exactly and 0 otherwise
    (scikit-learn's ``r2_score`` convention), "exactly" meaning within the round-off that
    :meth:`Moments.constant_bands` allows."""
    sst = np.diag(cross.syy)
    exact = sse <= cross.count * (CONSTANT_RTOL * cross.mean_y) ** 2
    return np.where(constant, np.where(exact, 1.0, 0.0), 1.0 - sse / np.where(constant, 1.0, sst))


def _groups(null_vectors: np.ndarray) -> list[list[int]]:
    """Groups of bands coupled through the null space spanned by the columns given."""
    projector = null_vectors @ null_vectors.T  # does not depend on the basis chosen
    members = np.flatnonzero(np.diag(projector) > _LOADING)
    linked = np.abs(projector[np.ix_(members, members)]) > _COUPLING
    groups: list[list[int]] = []
    seen: set[int] = set()
    for i in range(members.size):
        if i in seen:
            continue
        stack, group = [i], set()
        while stack:
            j = stack.pop()
            if j not in group:
                group.add(j)
                stack.extend(np.flatnonzero(linked[j]).tolist())
        seen |= group
        groups.append(sorted(int(members[j]) for j in group))
    return groups


def _warning(group: list[int], bias: bool, names: Sequence[str] | None) -> str:
    """A sentence naming a group of dependent bands, 1-based."""
    labels = [f"{i + 1} ({names[i]})" if names else str(i + 1) for i in group]
    if len(group) == 1:
        what = "constant, which the bias already fits" if bias else "zero everywhere"
        return f"input band {labels[0]} is {what}: its weight is set to 0"
    listed = ", ".join(labels[:-1]) + " and " + labels[-1]
    return (
        f"input bands {listed} are linearly dependent: their weights are not unique "
        f"(the minimum-norm solution is used)"
    )
