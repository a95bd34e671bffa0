"""What the Zarr reader and writer share: names, paths, the zarr package, fill values.

A Zarr store is a folder (``NAME.zarr``). chanmix writes it as xarray writes a rioxarray
``DataArray`` (``da.to_dataset(name="band_data").to_zarr(path)``): a Zarr v3 group holding
the variable :data:`DATA` with dimensions ``(band, y, x)`` and its coordinates (see
:mod:`chanmix.io.zarr_write`). It reads that layout and the ones xarray and rioxarray write
(Zarr v2 or v3, dimensions in any order; see :mod:`chanmix.io.zarr_read`).

The zarr package is an optional dependency (``pip install 'chanmix[dask]'``): it is imported
only when a Zarr store is read or written (:func:`zarr_module`).
"""

from __future__ import annotations

import base64
import math
import os
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import DataError, UsageError

__all__ = [
    "BAND_DIMENSIONS",
    "DATA",
    "check_zarr_target",
    "decode_fill_value",
    "encode_fill_value",
    "is_zarr_path",
    "is_zarr_store",
    "zarr_module",
]

#: The data variable of a chanmix store: the name xarray's rasterio backend gives a raster.
DATA = "band_data"
#: Dimension names (compared in lower case) that make an array's band axis.
BAND_DIMENSIONS = ("band", "bands", "channel", "channels", "c")
#: The files that make a folder a Zarr store: v3 node metadata, v2 group, array, consolidated.
_STORE_FILES = ("zarr.json", ".zgroup", ".zarray", ".zmetadata")


def zarr_module(name: str, verb: str) -> ModuleType:
    """The zarr package, imported on first use.

    Parameters
    ----------
    name : str
        The store the package is needed for, named in the error.
    verb : str
        ``"reading"`` or ``"writing"``.

    Raises
    ------
    UsageError
        When zarr is not installed (exit 2), saying how to install it.
    """
    try:
        import zarr
    except ImportError:
        raise UsageError(
            f"{name}: {verb} Zarr stores needs the zarr package: pip install 'chanmix[dask]'"
        ) from None
    return zarr


def is_zarr_path(path: str | os.PathLike) -> bool:
    """Whether a path names a Zarr store by its extension: ``.zarr``, any case, with or
    without a trailing separator."""
    return os.fsdecode(path).rstrip("/" + os.sep).lower().endswith(".zarr")


def is_zarr_store(path: str | os.PathLike) -> bool:
    """Whether `path` is a folder holding a Zarr v3 or v2 store (its root metadata file)."""
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, f)) for f in _STORE_FILES)


def check_zarr_target(target: Path) -> None:
    """Refuse to replace anything but a Zarr store with a Zarr output.

    Raises
    ------
    DataError
        When `target` exists and is a file, or a folder that holds no Zarr store (exit 1).
    """
    if not os.path.lexists(target) or is_zarr_store(target):
        return
    what = "a folder that is not a Zarr store" if os.path.isdir(target) else "a file, not a Zarr store"
    raise DataError(f"{target}: cannot write (it exists and is {what}; only a Zarr store is replaced)")


def encode_fill_value(value: float, dtype: np.dtype) -> Any:
    """A nodata value as xarray writes it in a Zarr v3 ``_FillValue`` attribute: an integer
    for integer samples, the base64 text of its 8 little-endian bytes as a double for floats.

    Raises
    ------
    UsageError
        For a value that an integer sample type cannot hold.
    """
    if dtype.kind == "f":
        return base64.standard_b64encode(struct.pack("<d", float(value))).decode("ascii")
    limits = np.iinfo(dtype)
    if not (math.isfinite(value) and value == int(value) and limits.min <= value <= limits.max):
        raise UsageError(f"nodata {value} is not a {dtype.name} sample", parameter="nodata")
    return int(value)


def decode_fill_value(value: Any, dtype: np.dtype) -> float | None:
    """A Zarr ``_FillValue`` attribute as a number (see :func:`encode_fill_value`); a plain
    number is taken as it is, and anything else is None (not a nodata value)."""
    if isinstance(value, str) and dtype.kind == "f":
        try:
            raw = base64.b64decode(value.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            raw = b""
        return struct.unpack("<d", raw)[0] if len(raw) == 8 else _number(value)
    return _number(value)


def _number(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, str, np.number)):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None
