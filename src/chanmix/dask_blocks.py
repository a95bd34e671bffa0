"""Dask arrays as chanmix's blocks: channels last in one chunk, results merged by a tree.

Shared by :mod:`chanmix.dask` (mixing) and :mod:`chanmix.dask_fits` (fits); importing it
without the dask extra raises the ImportError that says how to install it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any, TypeVar

from .errors import UsageError

try:  # the modules using dask take it from here, after this check
    import dask
    import dask.array as da
    from dask.delayed import Delayed, delayed
except ImportError as exc:
    raise ImportError("chanmix.dask needs the dask extra: pip install 'chanmix[dask]'") from exc

__all__ = ["SPLIT_EVERY", "Delayed", "channels_last", "da", "dask", "delayed", "tree"]

#: Per-chunk results merged by one task of the tree reduction.
SPLIT_EVERY = 8

_T = TypeVar("_T")


def channels_last(array: Any, what: str = "array") -> da.Array:
    """``array`` as an (H, W, C) dask array whose channels are one chunk."""
    image = da.asarray(array)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise UsageError(f"{what}: expected an (H, W) or (H, W, N) array, got shape {image.shape}")
    return image.rechunk({2: -1})


def tree(parts: Sequence[Delayed], merge: Callable[[_T, _T], _T]) -> Delayed:
    """One delayed value: ``parts`` (at least one) merged in order, by a tree of tasks that each
    merge up to :data:`SPLIT_EVERY` values."""
    while len(parts) > 1:
        groups = [parts[i : i + SPLIT_EVERY] for i in range(0, len(parts), SPLIT_EVERY)]
        parts = [g[0] if len(g) == 1 else delayed(reduce)(merge, list(g)) for g in groups]
    return parts[0]
