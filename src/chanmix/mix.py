"""The Mix value: an affine map from N input channels to M output channels.

One convention, everywhere in chanmix: ``W`` is ``(M, N)`` "out from in", rows are outputs,
and on a channels-last block ``out = block @ W.T + b``. Values are in normalized units
(integer samples divided by their dtype's maximum, float samples as they are), so a bias of
0.5 is mid-grey at any bit depth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .errors import MatrixError

__all__ = ["Mix", "compose", "real_array"]


def real_array(values: Any, what: str) -> np.ndarray:
    """``values`` as a float64 array; MatrixError for complex numbers or anything not numbers."""
    try:
        if np.asarray(values).dtype.kind == "c":
            raise MatrixError(f"{what} holds complex numbers; a mix is real")
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise MatrixError(f"{what} must be numbers ({str(exc)[:200]})") from exc


def _frozen_array(values: Any, what: str, ndim: int) -> np.ndarray:
    arr = real_array(values, what)
    if arr.ndim != ndim:
        shape = "a list of rows (M x N)" if ndim == 2 else "a list of numbers"
        raise MatrixError(f"{what} must be {shape}, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise MatrixError(f"{what} is empty")
    if not np.all(np.isfinite(arr)):
        raise MatrixError(f"{what} holds NaN or infinite values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False, init=False)
class Mix:
    """An immutable affine channel mix ``out = W @ in + b``, pixel by pixel.

    Parameters
    ----------
    weights : (M, N) array_like
        Row ``m`` holds the coefficients of output channel ``m`` over the N input channels.
    bias : (M,) array_like, optional
        Added to each output channel, in normalized units. Zero when omitted.
    names : sequence of M str, optional
        Names of the output channels (written as band descriptions where a format holds them).
    provenance : mapping, optional
        Free-form description of where the mix comes from (preset name, source, fit statistics).
        Preserved when the mix is written to JSON.

    Raises
    ------
    MatrixError
        When the weights are not a finite 2-D array, or the bias or names do not have M entries.
    """

    # The attributes, as the constructor stores them: read-only float64 arrays, a tuple of
    # names and a read-only mapping (the constructor takes looser types, see __init__).
    weights: np.ndarray
    bias: np.ndarray
    names: tuple[str, ...] | None
    provenance: Mapping[str, Any]

    def __init__(
        self,
        weights: ArrayLike,
        bias: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> None:
        frozen_weights = _frozen_array(weights, "weights", 2)
        m = frozen_weights.shape[0]
        if bias is None:
            frozen_bias = np.zeros(m)
            frozen_bias.setflags(write=False)
        else:
            frozen_bias = _frozen_array(bias, "bias", 1)
        if frozen_bias.shape != (m,):
            raise MatrixError(f"bias has {frozen_bias.size} values but the weights have {m} rows")
        name_tuple = None if names is None else tuple(str(n) for n in names)
        if name_tuple is not None and len(name_tuple) != m:
            raise MatrixError(f"{len(name_tuple)} channel names given for {m} output channels")
        object.__setattr__(self, "weights", frozen_weights)
        object.__setattr__(self, "bias", frozen_bias)
        object.__setattr__(self, "names", name_tuple)
        object.__setattr__(self, "provenance", MappingProxyType(dict(provenance or {})))

    @property
    def n_inputs(self) -> int:
        """N, the number of input channels the mix reads."""
        return int(self.weights.shape[1])

    @property
    def n_outputs(self) -> int:
        """M, the number of output channels the mix writes."""
        return int(self.weights.shape[0])

    @property
    def has_bias(self) -> bool:
        """True when any bias term is non-zero."""
        return bool(np.any(self.bias != 0))

    @property
    def copies(self) -> tuple[int | None, ...]:
        """For each output channel, the input channel it copies unchanged (its row holds a
        single 1 and its bias is 0), else None: M entries, 0-based.

        A band selection or permutation copies every channel, so per-band metadata such as
        wavelengths can follow it.
        """
        return tuple(
            int(np.flatnonzero(row)[0])
            if np.count_nonzero(row) == 1 and row.max() == 1 and bias == 0
            else None
            for row, bias in zip(self.weights, self.bias)
        )

    @classmethod
    def identity(cls, n: int) -> Mix:
        """The mix that copies N channels unchanged."""
        return cls(np.eye(n))

    def then(self, after: Mix) -> Mix:
        """The single mix equal to applying ``self`` and then ``after``.

        ``after.W @ (W @ x + b) + after.b``; output names come from ``after``.

        Raises
        ------
        MatrixError
            When ``after`` does not read as many channels as ``self`` writes.
        """
        if after.n_inputs != self.n_outputs:
            raise MatrixError(
                f"cannot chain a {self.n_outputs}-output mix into a mix that reads {after.n_inputs} channels"
            )
        return Mix(
            after.weights @ self.weights,
            after.weights @ self.bias + after.bias,
            names=after.names,
            provenance={"composed_of": [_describe(self), _describe(after)]},
        )

    def inverse(self, about: np.ndarray | Sequence[float] | None = None) -> Mix:
        """The mix that undoes this one: Moore-Penrose pseudo-inverse with its bias.

        For an invertible square mix this is the exact inverse. For a reduction (M < N) it is
        the least-squares reconstruction ``x = W+ @ (y - b) + (I - W+ W) @ about``: the point
        nearest ``about`` (N values, e.g. the mean a PCA was centred on; the origin when
        omitted) among those that the mix maps to ``y``.
        """
        pinv = np.linalg.pinv(self.weights)
        bias = -pinv @ self.bias
        if about is not None:
            about = np.asarray(about, dtype=np.float64)
            if about.shape != (self.n_inputs,):
                raise MatrixError(f"the reference point has {about.size} values, not {self.n_inputs}")
            bias = bias + about - pinv @ (self.weights @ about)
        return Mix(pinv, bias, provenance={"inverse_of": _describe(self)})

    def with_info(
        self, *, names: Sequence[str] | None = None, provenance: Mapping[str, Any] | None = None
    ) -> Mix:
        """A copy with other channel names and/or provenance."""
        return Mix(
            self.weights,
            self.bias,
            names=self.names if names is None else names,
            provenance=self.provenance if provenance is None else provenance,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: provenance keys first, then ``weights``, ``bias`` and ``names``."""
        data: dict[str, Any] = {k: v for k, v in self.provenance.items()}
        data["weights"] = self.weights.tolist()
        data["bias"] = self.bias.tolist()
        if self.names is not None:
            data["names"] = list(self.names)
        return data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mix):
            return NotImplemented
        return (
            np.array_equal(self.weights, other.weights)
            and np.array_equal(self.bias, other.bias)
            and self.names == other.names
        )

    # Unhashable, as arrays are: equality compares values. typeshed types object.__hash__ as a
    # method, so mypy rejects None, the documented way to opt out of hashing.
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        label = self.provenance.get("name") or self.provenance.get("source") or ""
        label = f" {label!r}" if label else ""
        return f"<Mix{label} {self.n_inputs} -> {self.n_outputs}>"


def _describe(mix: Mix) -> str:
    return str(mix.provenance.get("name") or f"{mix.n_inputs}->{mix.n_outputs} matrix")


def compose(mixes: Iterable[Mix]) -> Mix:
    """Collapse mixes applied in the given order into one.

    ``compose([a, b, c])`` equals applying ``a``, then ``b``, then ``c``; a single mix is
    returned unchanged.

    Raises
    ------
    MatrixError
        When the list is empty or the channel counts do not chain.
    """
    mixes = list(mixes)
    if not mixes:
        raise MatrixError("no matrix to compose")
    result = mixes[0]
    for step in mixes[1:]:
        result = result.then(step)
    return result
