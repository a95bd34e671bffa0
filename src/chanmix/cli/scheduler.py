"""``--scheduler``: the cluster a command's work goes to, or None to run here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cluster import Cluster


@contextmanager
def scheduled(address: str | None, *, workers: int | None = None) -> Iterator[Cluster | None]:
    """The cluster at `address` (``local``: `workers` processes here) for the command's
    duration, closed afterwards; None when no scheduler is given. Dask is imported only here,
    and only then."""
    if not address:
        yield None
        return
    from ..cluster import connect

    with connect(address, workers=workers) as cluster:
        yield cluster
