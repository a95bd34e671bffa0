"""Matrix files and inline coefficients, as the command-line contract defines them.

- JSON: ``{"weights": [[...], ...], "bias": [...], "names": [...]}``; other keys are kept as
  provenance and written back.
- Text (.csv, .tsv, .txt): M rows of N or N+1 numbers separated by commas, tabs or spaces;
  ``#`` starts a comment.
- .npy: (M, N), (M, N+1) or a Conv2d weight (M, N, 1, 1).
- .npz: ``weight`` or ``weights`` (M, N) or (M, N, 1, 1), optional ``bias`` (M); a PyTorch
  ``state_dict`` saved with its keys (``conv.weight``, ``conv.bias``) also works.
- Layers of 1x1 convolutions: JSON ``{"layers": [...]}``, and .npz or .safetensors files of
  several Conv2d layers (``0.weight``, ``0.bias``, ``2.weight``, ...): see
  :mod:`chanmix.layerfiles`.

Binary files are read with ``allow_pickle=False``: a matrix file never runs code.

Wherever a matrix file is named, ``preset:NAME`` names a preset instead (:func:`resolve_matrix`),
so files and presets chain: ``-m cal.json -m preset:landsat8-tasseled-cap``. The prefix wins
over a file of that name: write ``./preset:NAME`` for a file called ``preset:NAME``.

In text, .npy and inline forms a row of N+1 numbers carries a bias in its last column, so
whether a (M, K) table has a bias column is decided against the image's band count N:
:class:`MatrixSource` holds the table until :meth:`MatrixSource.mix_for` is told N.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MatrixError
from .layerfiles import LayersSource, layers_from_json, layers_from_state_dict, read_safetensors
from .layers import Model
from .mix import Mix, real_array
from .presets import get_preset

__all__ = [
    "MatrixSource",
    "PRESET_PREFIX",
    "is_preset",
    "load_matrix",
    "matrix_json",
    "matrix_table",
    "parse_coeffs",
    "read_matrix",
    "resolve_matrix",
]

_TEXT_SPLIT = re.compile(r"[,\t ]+")


@dataclass(frozen=True, eq=False)
class MatrixSource:
    """A matrix as read from a file, inline text or a preset, before it meets an image.

    Attributes
    ----------
    origin : str
        What to name in error messages (a path, ``coefficients``).
    table : (M, K) ndarray
        The numbers as given.
    bias : (M,) ndarray or None
        An explicit bias (JSON, .npz); the table then holds weights only.
    bias_column : bool or None
        True/False when the format says whether the last column is a bias; None when it depends
        on the image's band count (text, .npy, inline).
    """

    origin: str
    table: np.ndarray
    bias: np.ndarray | None = None
    bias_column: bool | None = None
    names: tuple[str, ...] | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def mix_for(self, n_inputs: int | None = None) -> Mix:
        """The mix this source gives for an input of ``n_inputs`` channels.

        Raises
        ------
        MatrixError
            Naming the origin, when the numbers are not finite or do not fit N.
        """
        m, k = self.table.shape
        bias_column = self.bias_column
        if bias_column is None:
            if n_inputs is None or k == n_inputs:
                bias_column = False
            elif k == n_inputs + 1:
                bias_column = True
            else:
                raise MatrixError(
                    f"{self.origin}: rows have {k} numbers; the input has {n_inputs} channels "
                    f"(expected {n_inputs}, or {n_inputs + 1} with a bias last)"
                )
        weights, bias = (self.table[:, :-1], self.table[:, -1]) if bias_column else (self.table, self.bias)
        if n_inputs is not None and weights.shape[1] != n_inputs:
            raise MatrixError(
                f"{self.origin}: the matrix reads {weights.shape[1]} channels; the input has {n_inputs}"
            )
        provenance = dict(self.provenance)
        provenance.setdefault("source", self.origin)
        try:
            return Mix(weights, bias, names=self.names, provenance=provenance)
        except MatrixError as exc:
            raise MatrixError(f"{self.origin}: {exc}") from exc


def _table(values: Any, origin: str) -> np.ndarray:
    arr = real_array(values, f"{origin}: weights")
    if arr.ndim == 4 and arr.shape[2:] == (1, 1):
        arr = arr[:, :, 0, 0]
    if arr.ndim != 2 or arr.size == 0:
        raise MatrixError(
            f"{origin}: expected an M x N matrix (or a Conv2d weight M x N x 1 x 1), got shape {arr.shape}"
        )
    return arr


def _rows(lines: list[tuple[int, str]], origin: str, what: str) -> np.ndarray:
    """Parse numbered lines of numbers into a table, checking every row has the same length."""
    rows: list[list[float]] = []
    first_len = None
    for number, line in lines:
        fields = [f for f in _TEXT_SPLIT.split(line.strip()) if f]
        try:
            row = [float(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise MatrixError(f"{origin}: {what} {number}: {bad!r} is not a number") from None
        if first_len is None:
            first_len = len(row)
        elif len(row) != first_len:
            raise MatrixError(
                f"{origin}: {what} {number} has {len(row)} numbers, the first row has {first_len}"
            )
        rows.append(row)
    if not rows:
        raise MatrixError(f"{origin}: no numbers found")
    return np.array(rows, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_coeffs(text: str, origin: str = "coefficients") -> MatrixSource:
    """Inline coefficients: rows separated by ``;``, numbers by ``,`` or spaces.

    ``"0.5,0.5,0; 0,0,1"`` is a 2 x 3 matrix; ``"1,1,1,-1"`` reads three bands plus a bias when
    the input has 3 channels. Error messages call the text `origin`.
    """
    parts = [(i + 1, p) for i, p in enumerate(text.split(";")) if p.strip()]
    return MatrixSource(origin, _rows(parts, origin, "row"))


def _read_text(path: Path, origin: str, activation: str = "none") -> MatrixSource:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MatrixError(f"{origin}: not a text matrix file ({exc.reason})") from exc
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        if line.strip():
            lines.append((number, line))
    return MatrixSource(origin, _rows(lines, origin, "line"))


def _read_json(path: Path, origin: str, activation: str = "none") -> MatrixSource | LayersSource:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MatrixError(f"{origin}: not valid JSON ({exc})") from exc
    except RecursionError as exc:
        raise MatrixError(f"{origin}: not a matrix file (JSON nested too deeply)") from exc
    if isinstance(data, dict) and "layers" in data and "weights" not in data:
        return layers_from_json(data, origin)
    if not isinstance(data, dict) or "weights" not in data:
        raise MatrixError(
            f'{origin}: expected a JSON object with a "weights" key (or "layers", a list of layers)'
        )
    table = _table(data["weights"], origin)
    bias = None
    if data.get("bias") is not None:
        bias = real_array(data["bias"], f"{origin}: bias")
    names = data.get("names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise MatrixError(f'{origin}: "names" must be a list of strings')
    provenance = {k: v for k, v in data.items() if k not in ("weights", "bias", "names")}
    return MatrixSource(
        origin,
        table,
        bias,
        bias_column=False,
        names=tuple(names) if names is not None else None,
        provenance=provenance,
    )


def _read_npy(path: Path, origin: str, activation: str = "none") -> MatrixSource:
    arr = _load_numpy(path, origin)
    if not isinstance(arr, np.ndarray):
        raise MatrixError(f"{origin}: expected one array, found an archive (use .npz)")
    table = _table(arr, origin)
    return MatrixSource(origin, table, bias_column=False if arr.ndim == 4 else None)


def _read_npz(path: Path, origin: str, activation: str = "none") -> MatrixSource | LayersSource:
    archive = _load_numpy(path, origin)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise MatrixError(f"{origin}: not an .npz archive")
    with archive:
        keys = list(archive.keys())
        if len([k for k in keys if _STACKED.match(k)]) > 1:  # several Conv2d layers
            try:
                arrays = {k: archive[k] for k in keys}
            except Exception as exc:  # a damaged member: zipfile, zlib or NumPy's header parser
                raise _numpy_error(exc, origin) from exc
            return layers_from_state_dict(arrays, origin, activation)
        weight_key = _pick(keys, ("weight", "weights"), ".weight")
        if weight_key is None:
            raise MatrixError(f'{origin}: no "weight" or "weights" array (found: {", ".join(keys)})')
        stem = weight_key[: -len("weight")] if weight_key.endswith("weight") else ""
        bias_key = _pick(keys, (stem + "bias", "bias"), None)
        try:
            weights = archive[weight_key]
            bias_values = None if bias_key is None else archive[bias_key]
        except Exception as exc:  # a damaged member: zipfile, zlib or NumPy's header parser
            raise _numpy_error(exc, origin) from exc
    table = _table(weights, origin)
    bias = None if bias_values is None else real_array(bias_values, f"{origin}: bias")
    return MatrixSource(origin, table, bias, bias_column=False)


#: A layer's weight in a state_dict of several: ``0.weight``, ``net.2.weight``.
_STACKED = re.compile(r"^(.*?)\d+\.weight$")


def _read_safetensors(path: Path, origin: str, activation: str = "none") -> MatrixSource | LayersSource:
    arrays = read_safetensors(path, origin)
    weight_key = _pick(list(arrays), ("weight", "weights"), None)
    if weight_key is None:
        return layers_from_state_dict(arrays, origin, activation)
    bias = arrays.get("bias")
    return MatrixSource(origin, _table(arrays[weight_key], origin), bias, bias_column=False)


def _pick(keys: list[str], exact: tuple[str, ...], suffix: str | None) -> str | None:
    for key in exact:
        if key in keys:
            return key
    if suffix:
        found = [k for k in keys if k.endswith(suffix)]
        if len(found) == 1:
            return found[0]
    return None


#: The most numbers a .npy or .npz matrix file may declare: far more than any mix holds
#: (a 4096 x 4096 matrix), far less than what a lying header could make NumPy allocate.
MAX_MATRIX_VALUES = 1 << 24
#: The longest .npy header NumPy reads by default.
_MAX_HEADER = 10_000


def _load_numpy(path: Path, origin: str) -> Any:
    """``np.load`` of a matrix file, never unpickling, after checking the sizes it declares."""
    import zipfile  # here, not at the top: 4 ms that runs without .npy/.npz matrices skip

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                total = 0  # in all members: a stack of layers reads every one
                for member in archive.namelist():  # "weight" is read as "weight.npy" is
                    with archive.open(member) as file:
                        if file.read(6) == b"\x93NUMPY":
                            file.seek(0)
                            total += _check_declared_size(file, origin)
                if total > MAX_MATRIX_VALUES:
                    raise MatrixError(
                        f"{origin}: declares {total} numbers in all, more than the "
                        f"{MAX_MATRIX_VALUES} a matrix file may hold"
                    )
        else:
            with open(path, "rb") as file:
                _check_declared_size(file, origin)
        return np.load(path, allow_pickle=False)
    except MatrixError:
        raise
    except Exception as exc:  # a damaged file: NumPy, zipfile, zlib and tokenize raise anything
        raise _numpy_error(exc, origin) from exc


def _check_declared_size(file: Any, origin: str) -> int:
    """The number of values the array header at the file's position declares; MatrixError
    when that is too many."""
    version = np.lib.format.read_magic(file)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise MatrixError(f"{origin}: not a NumPy matrix (unknown .npy format version {version})")
    width = 2 if version == (1, 0) else 4
    declared = int.from_bytes(file.read(width), "little")  # the header's length, read by hand:
    if declared > _MAX_HEADER:  # NumPy would allocate whatever it says before looking
        raise MatrixError(f"{origin}: not a NumPy matrix (a header of {declared} bytes)")
    file.seek(-width, 1)
    read_header = (
        np.lib.format.read_array_header_1_0 if version == (1, 0) else (np.lib.format.read_array_header_2_0)
    )
    shape, _, dtype = read_header(file)
    if math.prod(shape) > MAX_MATRIX_VALUES:
        raise MatrixError(
            f"{origin}: declares an array of shape {shape}, more than the "
            f"{MAX_MATRIX_VALUES} numbers a matrix file may hold"
        )
    return math.prod(shape)


def _numpy_error(exc: Exception, origin: str) -> MatrixError:
    if "pickle" in str(exc):
        return MatrixError(f"{origin}: holds Python objects; chanmix never unpickles")
    detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, (ValueError, OSError)) else str(exc)
    return MatrixError(f"{origin}: not a NumPy matrix ({detail[:200]})")


_READERS = {
    ".json": _read_json,
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".safetensors": _read_safetensors,
    ".csv": _read_text,
    ".tsv": _read_text,
    ".txt": _read_text,
}


def read_matrix(path: str | os.PathLike[str], *, activation: str = "none") -> MatrixSource | LayersSource:
    """Read a matrix file in any format of the contract, chosen by its extension.

    ``activation`` ("none" or "relu") goes between the layers of an .npz or .safetensors
    file of several Conv2d layers (see :mod:`chanmix.layerfiles`); other files say their own.

    Raises
    ------
    MatrixError
        Naming the file, when it is missing, empty, malformed or not finite.
    """
    path = Path(path)
    origin = str(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise MatrixError(f"{origin}: unknown matrix format; use one of {', '.join(sorted(_READERS))}")
    if not path.is_file():
        raise MatrixError(f"{origin}: no such matrix file")
    if path.stat().st_size == 0:
        raise MatrixError(f"{origin}: the file is empty")
    return reader(path, origin, activation)


#: What starts a matrix source naming a preset rather than a file: ``preset:sepia``.
PRESET_PREFIX = "preset:"


def is_preset(source: str | os.PathLike[str]) -> bool:
    """Whether a matrix source names a preset: a str ``preset:NAME`` (a path object always
    names a file)."""
    return isinstance(source, str) and source.startswith(PRESET_PREFIX)


def resolve_matrix(
    source: str | os.PathLike[str], *, activation: str = "none"
) -> MatrixSource | LayersSource:
    """The matrix a source names: the preset ``preset:NAME`` (a str), else the file at that path.

    >>> resolve_matrix("preset:swap-rb").mix_for(3).weights.tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]

    Raises
    ------
    UsageError
        For ``preset:NAME`` when no preset has that name (suggesting the closest names).
    MatrixError
        Naming the file, as :func:`read_matrix` does.
    """
    if not is_preset(source):
        return read_matrix(source, activation=activation)
    mix = get_preset(str(source)[len(PRESET_PREFIX) :]).mix
    return MatrixSource(
        str(source),
        mix.weights,
        mix.bias,
        bias_column=False,
        names=mix.names,
        provenance=dict(mix.provenance),
    )


def load_matrix(path: str | os.PathLike[str], n_inputs: int | None = None) -> Model:
    """Read a matrix file into a :class:`Mix` for an input of ``n_inputs`` channels.

    Without ``n_inputs``, a text or .npy table is taken as weights only (no bias column).
    """
    return read_matrix(path).mix_for(n_inputs)


def _number(x: float) -> str:
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _inline(values: list[Any]) -> str:
    return "[" + ", ".join(_number(v) if isinstance(v, float) else json.dumps(v) for v in values) + "]"


def matrix_json(mix: Model) -> str:
    """The JSON text of a mix (or layers): one weight row per line, provenance keys kept,
    stable bytes."""
    data = mix.to_dict()
    lines = []
    for key, value in data.items():
        if key == "weights":
            rows = ",\n    ".join(_inline(row) for row in value)
            text = f"[\n    {rows}\n  ]"
        elif key == "layers":
            text = "[\n    " + ",\n    ".join(_layer_json(layer) for layer in value) + "\n  ]"
        elif isinstance(value, list) and all(isinstance(v, (int, float)) for v in value):
            text = _inline([float(v) for v in value])
        else:
            text = json.dumps(value, indent=2, sort_keys=False).replace("\n", "\n  ")
        lines.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _layer_json(layer: dict[str, Any]) -> str:
    rows = ",\n        ".join(_inline(row) for row in layer["weights"])
    return (
        f'{{\n      "weights": [\n        {rows}\n      ],\n      "bias": {_inline(layer["bias"])},\n'
        f'      "activation": {json.dumps(layer["activation"])}\n    }}'
    )


def matrix_table(mix: Mix, inputs: Sequence[str] | None = None) -> str:
    """A plain-text table of a mix: one row per output, one column per input, then the bias."""
    heads = list(inputs) if inputs else [f"in{n + 1}" for n in range(mix.n_inputs)]
    names = list(mix.names) if mix.names else [f"out{m + 1}" for m in range(mix.n_outputs)]
    header = heads + ["bias"]
    cells = [[f"{v:.6g}" for v in row] + [f"{b:.6g}"] for row, b in zip(mix.weights, mix.bias)]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    label = max(len(n) for n in names)
    lines = [" " * label + "  " + "  ".join(h.rjust(w) for h, w in zip(header, widths))]
    for name, row in zip(names, cells):
        lines.append(name.ljust(label) + "  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)
