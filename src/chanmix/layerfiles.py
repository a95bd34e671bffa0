"""Layer files: layers of 1x1 convolutions as JSON, .npz or .safetensors.

- JSON: ``{"layers": [{"weights": [[...]], "bias": [...], "activation": "relu"|"none"}, ...],
  "names": [...]}``: applied in order, each activation after its layer (``"none"`` when
  omitted); ``names`` name the last layer's outputs; other keys are kept as provenance.
- .npz and .safetensors: a PyTorch ``nn.Sequential`` state_dict of Conv2d 1x1 layers
  (``0.weight`` (M, N, 1, 1) or (M, N), ``0.bias`` (M), ``2.weight``, ...; any common
  prefix, ``net.0.weight``), read as layers in index order. The activation between layers is
  the reader's ``activation`` (``--activation``; ``"none"`` by default, when the layers
  collapse into one mix); there is never one after the last layer, as a state_dict does not
  record it. Any other array (a BatchNorm's running mean...) is refused: only 1x1
  convolutions are read.

A .safetensors file is parsed here, without the safetensors package: an 8-byte
little-endian header length, a JSON header of ``{name: {"dtype", "shape", "data_offsets"}}``,
then raw little-endian data. Every size is checked against the file and against
:data:`~chanmix.matrixfiles.MAX_MATRIX_VALUES` before anything is allocated; nothing in the
file is ever executed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MatrixError
from .layers import ACTIVATIONS, Model, collapse
from .mix import Mix, real_array

__all__ = ["LayersSource", "layers_from_json", "layers_from_state_dict", "read_safetensors"]

#: The longest .safetensors header read: far more than any stack of layers describes.
MAX_SAFETENSORS_HEADER = 1 << 20

#: safetensors dtypes read, as NumPy little-endian types (BF16 is widened by hand).
_SAFETENSORS_DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "BF16": "<u2"}

_LAYER_KEY = re.compile(r"^(.*?)(\d+)\.(weight|bias)$")


@dataclass(frozen=True, eq=False)
class LayersSource:
    """Layers as read from a file, before they meet an image (see
    :class:`~chanmix.matrixfiles.MatrixSource`)."""

    origin: str
    model: Model

    def mix_for(self, n_inputs: int | None = None) -> Model:
        """The model, checked against an input of ``n_inputs`` channels.

        Raises
        ------
        MatrixError
            Naming the origin, when the first layer does not read ``n_inputs`` channels.
        """
        if n_inputs is not None and self.model.n_inputs != n_inputs:
            raise MatrixError(
                f"{self.origin}: the first layer reads {self.model.n_inputs} channels; "
                f"the input has {n_inputs}"
            )
        return self.model


def _layer_mix(weights: Any, bias: Any, what: str) -> Mix:
    arr = real_array(weights, f"{what}: weights")
    if arr.ndim == 4 and arr.shape[2:] == (1, 1):
        arr = arr[:, :, 0, 0]
    if arr.ndim != 2 or arr.size == 0:
        raise MatrixError(
            f"{what}: expected M x N weights (or a Conv2d 1x1 weight M x N x 1 x 1), got shape {arr.shape}"
        )
    try:
        return Mix(arr, None if bias is None else real_array(bias, f"{what}: bias"))
    except MatrixError as exc:
        raise MatrixError(f"{what}: {exc}") from exc


def _chain(mixes: list[Mix], labels: list[str], origin: str) -> None:
    for before, after, label in zip(mixes, mixes[1:], labels[1:]):
        if after.n_inputs != before.n_outputs:
            raise MatrixError(
                f"{origin}: {label} reads {after.n_inputs} channels but the layer before writes "
                f"{before.n_outputs}"
            )


def layers_from_json(data: Mapping[str, Any], origin: str) -> LayersSource:
    """The layers of a JSON matrix file's object (one with a ``"layers"`` key)."""
    from .matrixfiles import MAX_MATRIX_VALUES

    layers = data["layers"]
    if not isinstance(layers, list) or not layers:
        raise MatrixError(f'{origin}: "layers" must be a non-empty list of layers')
    mixes, activations, labels = [], [], []
    total = 0
    for index, layer in enumerate(layers, 1):
        what = f"layer {index}"
        if not isinstance(layer, dict) or "weights" not in layer:
            raise MatrixError(f'{origin}: {what} must be an object with a "weights" key')
        activation = layer.get("activation", "none")
        if activation not in ACTIVATIONS:
            raise MatrixError(
                f"{origin}: {what}: unknown activation {activation!r} "
                f"(expected one of {', '.join(ACTIVATIONS)})"
            )
        mix = _layer_mix(layer["weights"], layer.get("bias"), f"{origin}: {what}")
        total += mix.weights.size
        if total > MAX_MATRIX_VALUES:
            raise MatrixError(f"{origin}: more than the {MAX_MATRIX_VALUES} numbers a matrix file may hold")
        mixes.append(mix)
        activations.append(activation)
        labels.append(what)
    _chain(mixes, labels, origin)
    names = data.get("names")
    if names is not None:
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise MatrixError(f'{origin}: "names" must be a list of strings')
        if len(names) != mixes[-1].n_outputs:
            raise MatrixError(f"{origin}: {len(names)} names for {mixes[-1].n_outputs} output channels")
        mixes[-1] = mixes[-1].with_info(names=names)
    provenance = {k: v for k, v in data.items() if k not in ("layers", "names")}
    provenance.setdefault("source", origin)
    return LayersSource(origin, collapse(zip(mixes, activations), provenance))


def layers_from_state_dict(arrays: Mapping[str, Any], origin: str, activation: str) -> LayersSource:
    """The layers of a state_dict (keys ``[prefix]K.weight``, ``[prefix]K.bias``), in the
    order of K, with ``activation`` between them (none after the last).

    ``arrays`` maps each key to its array (or to something NumPy makes one of).

    Raises
    ------
    MatrixError
        A key that is not a layer's weight or bias, several prefixes, a bias without its
        weight, a layer of the wrong shape or that does not chain, naming the key.
    """
    if activation not in ACTIVATIONS:
        raise MatrixError(
            f"activation: expected one of {', '.join(ACTIVATIONS)}, not {activation!r}",
            parameter="activation",
        )
    found: dict[int, dict[str, str]] = {}
    prefixes = set()
    for key in arrays:
        match = _LAYER_KEY.match(key)
        if match is None:
            raise MatrixError(
                f"{origin}: {key!r} is not a layer's weight or bias (K.weight, K.bias): only "
                "layers of 1x1 convolutions are read"
            )
        prefixes.add(match.group(1))
        found.setdefault(int(match.group(2)), {})[match.group(3)] = key
    if len(prefixes) > 1:
        raise MatrixError(f"{origin}: layers under several prefixes ({', '.join(sorted(prefixes))})")
    mixes, labels = [], []
    for index in sorted(found):
        keys = found[index]
        if "weight" not in keys:
            raise MatrixError(f"{origin}: {keys['bias']} has no {keys['bias'][: -len('bias')]}weight")
        bias = arrays[keys["bias"]] if "bias" in keys else None
        mixes.append(_layer_mix(arrays[keys["weight"]], bias, f"{origin}: {keys['weight']}"))
        labels.append(f"layer {keys['weight']}")
    if not mixes:
        raise MatrixError(f"{origin}: no layers found")
    _chain(mixes, labels, origin)
    steps = [(mix, activation) for mix in mixes[:-1]] + [(mixes[-1], "none")]
    return LayersSource(origin, collapse(steps, {"source": origin}))


def read_safetensors(path: Path, origin: str) -> dict[str, np.ndarray]:
    """The arrays of a .safetensors file, as float64, sizes checked before reading.

    Raises
    ------
    MatrixError
        A header length beyond the file or :data:`MAX_SAFETENSORS_HEADER`, a header that is
        not JSON of tensors, an unsupported dtype, offsets outside the data or that disagree
        with the shape, more than :data:`~chanmix.matrixfiles.MAX_MATRIX_VALUES` values.
    """
    from .matrixfiles import MAX_MATRIX_VALUES

    size = path.stat().st_size
    with open(path, "rb") as file:
        head = file.read(8)
        if len(head) < 8:
            raise MatrixError(f"{origin}: not a safetensors file (shorter than its 8-byte header length)")
        length = int.from_bytes(head, "little")
        if length > min(size - 8, MAX_SAFETENSORS_HEADER):
            raise MatrixError(
                f"{origin}: not a safetensors file (a header of {length} bytes in a file of {size})"
            )
        try:
            header = json.loads(file.read(length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise MatrixError(f"{origin}: not a safetensors file (its header is not JSON)") from exc
        if not isinstance(header, dict):
            raise MatrixError(f"{origin}: not a safetensors file (its header is not a JSON object)")
        start, data_size = 8 + length, size - 8 - length
        entries = []
        total = 0
        for name, info in header.items():
            if name == "__metadata__":
                continue
            entries.append(_tensor_entry(name, info, data_size, origin))
            total += math.prod(entries[-1][2])
            if total > MAX_MATRIX_VALUES:
                raise MatrixError(
                    f"{origin}: declares more than the {MAX_MATRIX_VALUES} numbers a matrix file may hold"
                )
        arrays = {}
        for name, dtype, shape, begin, end in entries:
            file.seek(start + begin)
            raw = np.frombuffer(file.read(end - begin), dtype=_SAFETENSORS_DTYPES[dtype])
            if dtype == "BF16":
                raw = (raw.astype("<u4") << 16).view("<f4")
            arrays[name] = raw.astype(np.float64).reshape(shape)
    return arrays


def _tensor_entry(
    name: str, info: Any, data_size: int, origin: str
) -> tuple[str, str, tuple[int, ...], int, int]:
    what = f"{origin}: tensor {name!r}"
    if not isinstance(info, dict):
        raise MatrixError(f"{what}: not a tensor description")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if dtype not in _SAFETENSORS_DTYPES:
        raise MatrixError(
            f"{what}: unsupported dtype {dtype!r} (expected one of {', '.join(_SAFETENSORS_DTYPES)})"
        )
    if not (isinstance(shape, list) and all(type(d) is int and 0 <= d < 1 << 31 for d in shape)):
        raise MatrixError(f"{what}: the shape must be a list of sizes")
    if (
        not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets))
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise MatrixError(f"{what}: data offsets {offsets!r} outside the file's {data_size} bytes of data")
    count = math.prod(shape)
    itemsize = np.dtype(_SAFETENSORS_DTYPES[dtype]).itemsize
    if offsets[1] - offsets[0] != count * itemsize:
        raise MatrixError(
            f"{what}: {offsets[1] - offsets[0]} bytes of data for a {dtype} tensor of shape {tuple(shape)}"
        )
    return name, dtype, tuple(shape), offsets[0], offsets[1]
