"""Sample types and normalized units.

Integer samples are divided by their dtype's maximum (uint8 255, uint16 65535, int16 32767,
...); float samples are used as they are. Results are scaled back by the output dtype's
maximum, rounded to nearest (ties to even) and saturated to the dtype's range.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .choices import OUTPUT_DTYPES
from .errors import UsageError

__all__ = ["OUTPUT_DTYPES", "compute_dtype", "dtype_max", "output_dtype", "value_range"]


def dtype_max(dtype: DTypeLike) -> float:
    """The value that stands for 1.0 in normalized units: the integer maximum, or 1.0 for floats."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        return float(np.iinfo(dt).max)
    if dt.kind == "f":
        return 1.0
    raise UsageError(f"unsupported sample type {dt.name}")


def value_range(dtype: DTypeLike) -> tuple[float, float]:
    """The (min, max) raw values an integer dtype holds; (-inf, inf) for floats."""
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        return float(info.min), float(info.max)
    return -np.inf, np.inf


def compute_dtype(*dtypes: DTypeLike) -> np.dtype:
    """The float type a mix between these sample types is computed in.

    float32 is exact enough for samples of up to 16 bits and for float32 data (its 24-bit
    significand leaves at least 8 bits below the last integer step); 32-bit integers and
    float64 are mixed in float64 so that no input bit is lost.
    """
    wide = any(np.dtype(d).itemsize >= 4 and np.dtype(d).kind in "ui" for d in dtypes) or any(
        np.dtype(d) == np.float64 for d in dtypes
    )
    return np.dtype(np.float64 if wide else np.float32)


def output_dtype(name: DTypeLike | str | None, input_dtype: DTypeLike) -> np.dtype:
    """Resolve an output ``dtype``: ``None`` or ``"same"`` keeps the input's type.

    Raises
    ------
    UsageError
        When the type is not one of :data:`OUTPUT_DTYPES` (an input of another type, such as
        int8, must be given an explicit output type); the message names ``dtype``.
    """
    same = name is None or (isinstance(name, str) and name == "same")
    try:
        dt = np.dtype(input_dtype if same else name)
    except TypeError as exc:
        raise UsageError(f"dtype: {name!r} is not a sample type", parameter="dtype") from exc
    if dt.name not in OUTPUT_DTYPES:
        raise UsageError(
            f"dtype: chanmix writes {', '.join(OUTPUT_DTYPES)}, not {dt.name}", parameter="dtype"
        )
    return dt
