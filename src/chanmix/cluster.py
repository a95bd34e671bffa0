"""Hand chanmix's work to a dask.distributed cluster: ``--scheduler ADDRESS`` (or CHANMIX_SCHEDULER).

Nothing here changes what is computed. The command line's units of work stay what they are
in a local run -- one job per input file, one mix per window of a large image, one statistics
value per row band of a fit -- and :class:`Cluster` runs them on the workers instead of on
threads: :meth:`Cluster.call` runs one call remotely and waits for it (a batch keeps as many
waiting as the cluster has worker threads), :meth:`Cluster.ordered_map` runs many and yields
their results in order with a bounded number in flight, so that the client writes windows
in order and folds statistics in the same order as a local run; :meth:`Cluster.unordered_map`
yields them as they come, for windows the workers write themselves (Zarr). Outputs are therefore
byte-identical to a run without a scheduler.

Workers read and write the files themselves (a shared file system, or one machine), with the
same atomic writes; a worker that dies has its tasks run again by the scheduler (Dask retries
a task whose worker was lost, up to ``distributed.scheduler.allowed-failures`` times), and a
file job killed half way leaves nothing behind, since its output was an unnamed temporary.

Only the command line imports this module, and only with ``--scheduler``: it needs the
``dask`` extra (``pip install 'chanmix[dask]'``).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any, TypeVar

from .errors import ChanmixError, DataError, UsageError

__all__ = ["ENV", "Cluster", "connect"]

#: The environment variable that gives a scheduler when ``--scheduler`` does not.
ENV = "CHANMIX_SCHEDULER"
#: Tasks in flight per worker thread in :meth:`Cluster.ordered_map`: one running, one queued...
_IN_FLIGHT_PER_THREAD = 2
#: ...and at most this many in all, whatever the cluster's size: the results of the tasks in
#: flight wait here (at most about 16 MB each, see chanmix.windowjobs.TASK_BYTES).
_MOST_IN_FLIGHT = 256
#: Seconds to wait for a scheduler to answer, or a local cluster to start (distributed's default: 30).
_TIMEOUT = 10

T = TypeVar("T")
R = TypeVar("R")


class Cluster:
    """A connected dask.distributed client, with the two ways chanmix uses it."""

    def __init__(self, client: Any, address: str) -> None:
        self.client = client
        self.address = address

    @property
    def threads(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        info = self.client.scheduler_info(n_workers=-1)
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def call(self, function: Callable[..., R], *args: Any) -> R:
        """``function(*args)`` on a worker; its result or its ChanmixError here.

        Raises
        ------
        ChanmixError
            As the function raised it.
        DataError
            When the cluster could not run it (its worker was lost more often than the
            scheduler allows, the connection closed...).
        """
        future = self.client.submit(function, *args, pure=False)
        return self._result(future)

    def ordered_map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``map(function, items)`` on the workers, in order, with a bounded number of tasks in
        flight (two per worker thread, 256 at most): memory stays bounded however many items
        there are, and however many workers.

        ``function`` is sent to the scheduler once and shared by every task.
        """
        shared, limit = self._shared(function)
        pending: deque[Any] = deque()
        try:
            for item in items:
                pending.append(self.client.submit(_call, shared, item, pure=False))
                if len(pending) > limit:
                    yield self._result(pending.popleft())
            while pending:
                yield self._result(pending.popleft())
        finally:
            for future in pending:  # stopped early: a failure, or interrupted
                future.cancel()

    def unordered_map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """As :meth:`ordered_map`, but each result as soon as its task is done, in any order:
        for tasks whose results carry their place (windows a worker writes itself), so that a
        slow task does not hold back the submission of the others."""
        from distributed import as_completed

        shared, limit = self._shared(function)
        waiting = iter(items)
        running = {self.client.submit(_call, shared, item, pure=False) for item in islice(waiting, limit)}
        done = as_completed(list(running))
        try:
            for future in done:
                running.discard(future)
                result = self._result(future)
                for item in islice(waiting, 1):
                    task = self.client.submit(_call, shared, item, pure=False)
                    running.add(task)
                    done.add(task)
                yield result
        finally:
            for future in running:  # stopped early: a failure, or interrupted
                future.cancel()

    def _shared(self, function: Callable[[T], R]) -> tuple[Any, int]:
        """`function` sent to the cluster once for all its tasks, and how many tasks may be in
        flight: two per worker thread, 256 at most."""
        [shared] = self.client.scatter([function], broadcast=False, hash=False)
        return shared, min(_IN_FLIGHT_PER_THREAD * self.threads, _MOST_IN_FLIGHT)

    def _result(self, future: Any) -> Any:
        try:
            return future.result()
        except ChanmixError:
            raise
        except Exception as exc:  # the worker lost too often, a closed connection, a crash
            raise DataError(f"the cluster at {self.address} could not run a task: {_one_line(exc)}") from exc


def _call(function: Callable[[T], R], item: T) -> R:
    return function(item)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


def _quiet_distributed() -> None:
    """distributed logs its start-up, workers joining and leaving, at INFO and WARNING on
    stderr: chanmix says what matters in its own lines."""
    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def connect(address: str, *, workers: int | None = None) -> Iterator[Cluster]:
    """Connect to the scheduler at ``address`` (``tcp://host:8786``, ``host:8786``...), or start
    a local cluster of processes for ``"local"`` (``workers`` processes of one thread each, by
    default one per core); the cluster is closed, and its workers stopped, on the way out.

    Raises
    ------
    UsageError
        When the dask extra is not installed.
    DataError
        When no scheduler answers at ``address`` within 10 s, or no worker joins it.
    """
    try:
        import dask  # noqa: F401
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise UsageError(
            f"scheduler needs the dask extra: pip install 'chanmix[dask]' ({exc})", parameter="scheduler"
        ) from exc
    _quiet_distributed()
    local = None
    try:
        if address == "local":
            local = LocalCluster(
                n_workers=workers or os.cpu_count() or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: its HTTP server is always started
                silence_logs=logging.ERROR,
            )
            client = Client(local, timeout=_TIMEOUT)
        else:
            client = Client(address, timeout=_TIMEOUT)
    except OSError as exc:  # no scheduler there (distributed raises OSError on time-out)
        if local is not None:
            local.close()
        raise DataError(
            f"scheduler: cannot reach a scheduler at {address} ({_one_line(exc)})", parameter="scheduler"
        ) from exc
    try:
        try:
            client.wait_for_workers(1, timeout=_TIMEOUT)
        except TimeoutError as exc:
            raise DataError(
                f"scheduler: the scheduler at {address} has no worker (none joined within {_TIMEOUT} s)",
                parameter="scheduler",
            ) from exc
        yield Cluster(client, address)
    finally:
        client.close()
        if local is not None:
            local.close()
