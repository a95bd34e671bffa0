"""Layers of 1x1 convolutions: a sequence of (Mix, activation), applied in order.

A :class:`~chanmix.mix.Mix` stays one affine map. :class:`Layers` is the general per-pixel
model, ``x -> act_K(W_K ... act_1(W_1 x + b_1) ... + b_K)``, with the activation after each
layer: ``"none"`` (the identity) or ``"relu"`` (``max(x, 0)``). Neighbouring linear steps
collapse: a layer whose activation is ``"none"`` is composed with the next one into one Mix,
so a Layers value always holds a nonlinearity between any two of its layers, and a sequence
without any nonlinearity is a plain Mix (:func:`collapse`, :func:`compose_models`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import MatrixError, UsageError
from .mix import Mix

__all__ = ["ACTIVATIONS", "Layers", "Model", "collapse", "compose_models", "relu"]

#: The activations a layer may have after it.
ACTIVATIONS = ("none", "relu")


def relu(values: np.ndarray) -> np.ndarray:
    """``max(values, 0)`` in place (NaN stays NaN); returns ``values``."""
    np.maximum(values, 0, out=values)
    return values


@dataclass(frozen=True, eq=False, init=False)
class Layers:
    """An immutable sequence of (Mix, activation) steps, applied in order.

    Parameters
    ----------
    steps : sequence of (Mix, str)
        Each layer's affine map and the activation after it (one of :data:`ACTIVATIONS`).
        Each Mix must read as many channels as the one before writes.
    provenance : mapping, optional
        Free-form description of where the model comes from; kept when written to JSON.

    Neighbouring steps whose first has activation ``"none"`` are composed into one, so
    ``steps`` may come out shorter than given. Output names are the last layer's.

    Raises
    ------
    MatrixError
        An unknown activation, or layers whose channel counts do not chain (naming the layer,
        1-based).
    """

    steps: tuple[tuple[Mix, str], ...]
    provenance: Mapping[str, Any]

    def __init__(self, steps: Iterable[tuple[Mix, str]], provenance: Mapping[str, Any] | None = None) -> None:
        merged: list[tuple[Mix, str]] = []
        for index, (mix, activation) in enumerate(steps, 1):
            if activation not in ACTIVATIONS:
                raise MatrixError(
                    f"layer {index}: unknown activation {activation!r} (expected one of "
                    f"{', '.join(ACTIVATIONS)})"
                )
            if merged and merged[-1][0].n_outputs != mix.n_inputs:
                raise MatrixError(
                    f"layer {index} reads {mix.n_inputs} channels but the layer before writes "
                    f"{merged[-1][0].n_outputs}"
                )
            if merged and merged[-1][1] == "none":
                before = merged.pop()[0]
                mix = before.then(mix).with_info(provenance={})
            merged.append((mix, activation))
        if not merged:
            raise MatrixError("no layers")
        object.__setattr__(self, "steps", tuple(merged))
        object.__setattr__(self, "provenance", MappingProxyType(dict(provenance or {})))

    @property
    def n_inputs(self) -> int:
        """N, the channels the first layer reads."""
        return self.steps[0][0].n_inputs

    @property
    def n_outputs(self) -> int:
        """M, the channels the last layer writes."""
        return self.steps[-1][0].n_outputs

    @property
    def names(self) -> tuple[str, ...] | None:
        """Names of the output channels: the last layer's."""
        return self.steps[-1][0].names

    @property
    def copies(self) -> tuple[int | None, ...]:
        """No output copies an input (see :attr:`Mix.copies`): M Nones."""
        return (None,) * self.n_outputs

    @property
    def linear(self) -> bool:
        """True when the model is one affine map (one step, no activation)."""
        return len(self.steps) == 1 and self.steps[0][1] == "none"

    def with_info(
        self, *, names: Sequence[str] | None = None, provenance: Mapping[str, Any] | None = None
    ) -> Layers:
        """A copy with other output names (the last layer's) and/or provenance."""
        steps = list(self.steps)
        if names is not None:
            steps[-1] = (steps[-1][0].with_info(names=names), steps[-1][1])
        return Layers(steps, self.provenance if provenance is None else provenance)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: provenance keys, ``layers`` (weights, bias, activation), ``names``."""
        data: dict[str, Any] = {k: v for k, v in self.provenance.items()}
        data["layers"] = [
            {"weights": mix.weights.tolist(), "bias": mix.bias.tolist(), "activation": activation}
            for mix, activation in self.steps
        ]
        if self.names is not None:
            data["names"] = list(self.names)
        return data

    def describe(self) -> list[str]:
        """One line per layer: ``layer 1: 8 -> 16, relu``."""
        return [
            f"layer {i}: {mix.n_inputs} -> {mix.n_outputs}, activation {activation}"
            for i, (mix, activation) in enumerate(self.steps, 1)
        ]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layers):
            return NotImplemented
        return len(self.steps) == len(other.steps) and all(
            a == b and x == y for (a, x), (b, y) in zip(self.steps, other.steps)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shapes = " -> ".join(
            [str(self.n_inputs)] + [f"{m.n_outputs}{'*' * (a != 'none')}" for m, a in self.steps]
        )
        return f"<Layers {shapes}>"


#: What a matrix file or a recipe gives: one affine map, or layers of them.
Model = Mix | Layers


def collapse(steps: Iterable[tuple[Mix, str]], provenance: Mapping[str, Any] | None = None) -> Model:
    """The model of these steps: a Mix when they compose into one affine map, else Layers."""
    layers = Layers(steps, provenance)
    if layers.linear:
        mix = layers.steps[0][0]
        return mix.with_info(provenance=provenance) if provenance else mix
    return layers


def _steps(model: Model) -> tuple[tuple[Mix, str], ...]:
    return ((model, "none"),) if isinstance(model, Mix) else model.steps


def compose_models(models: Iterable[Model]) -> Model:
    """Models applied in the given order, as one: a Mix when every step is linear (as
    :func:`chanmix.mix.compose` gives it), else Layers with the linear steps collapsed.

    Raises
    ------
    MatrixError
        When the list is empty or the channel counts do not chain.
    """
    models = list(models)
    if not models:
        raise MatrixError("no matrix to compose")
    if all(isinstance(m, Mix) for m in models):
        from .mix import compose

        return compose(m for m in models if isinstance(m, Mix))
    if len(models) == 1:
        return models[0]
    for before, after in zip(models, models[1:]):
        if before.n_outputs != after.n_inputs:
            raise MatrixError(
                f"cannot chain a {before.n_outputs}-output mix into a mix that reads "
                f"{after.n_inputs} channels"
            )
    return collapse(step for model in models for step in _steps(model))


def single_mix(model: Model, what: str) -> Mix:
    """``model`` as one Mix; a UsageError saying why when a nonlinearity keeps its layers apart."""
    if isinstance(model, Mix):
        return model
    if model.linear:
        return model.steps[0][0]
    where = next(i for i, (_, a) in enumerate(model.steps, 1) if a != "none")
    raise UsageError(
        f"{what}: layer {where} is followed by a {model.steps[where - 1][1].upper()}, which is not "
        "linear: the layers cannot be collapsed into one matrix"
    )
