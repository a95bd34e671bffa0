"""The memory budget: whatever chanmix decodes or encodes whole is checked against it first.

TIFF and ``.npy`` images are streamed a part at a time and need no budget. A few paths hold a
whole image instead: PNG, JPEG and Pillow's other formats are decoded whole
(:mod:`chanmix.io.png`, :mod:`chanmix.io.pillow`), so are TIFF layouts that cannot be read in
parts (:mod:`chanmix.io.tiff`), and PNG and JPEG outputs are gathered whole before they are
encoded (:mod:`chanmix.io.stream_write`). Each of those paths reads the image's size from the
file's header (or the request), works out the bytes its peak takes, and calls
:func:`check_whole` before allocating anything: over the budget, a :class:`BudgetError` (a
:class:`~chanmix.errors.DataError`, exit 1) says how much is needed and how to allow it.

The budget is, in this order:

1. the environment variable ``CHANMIX_MAX_MEMORY``, read at every check: a size such as
   ``512M``, ``8G``, ``1.5GiB`` or a number of bytes (:func:`parse_size`). The command line's
   ``--max-memory`` sets it for the run, so one value reaches every reader and writer (and
   any worker process);
2. else half the memory available when chanmix first needs the figure: ``MemAvailable`` from
   ``/proc/meminfo`` (lowered to what a cgroup v2 memory limit leaves, in a container), else
   the physical memory from :func:`os.sysconf`, else :data:`FALLBACK_AVAILABLE`; lowered to
   what an address-space limit (``ulimit -v``) leaves, where one is set.

The budget applies to each image on its own: several files processed in parallel may each
take up to it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable

from .errors import DataError, UsageError

__all__ = [
    "ENV",
    "BudgetError",
    "FALLBACK_AVAILABLE",
    "check_whole",
    "default_budget",
    "format_size",
    "memory_budget",
    "parse_size",
    "shape_text",
]

#: The environment variable holding the budget.
ENV = "CHANMIX_MAX_MEMORY"
#: The memory assumed available when the system says nothing (so the default budget is 1 GiB).
FALLBACK_AVAILABLE = 2 << 30

_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([KMGT])(?:I?B)?|B)?\s*", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_MEMINFO = "/proc/meminfo"
_CGROUP = "/sys/fs/cgroup"


class BudgetError(DataError):
    """Holding an image whole would take more memory than the budget allows (exit code 1)."""


def parse_size(text: str) -> int:
    """A size in bytes from ``"512M"``, ``"8G"``, ``"1.5GiB"``, ``"100MB"`` or ``"1048576"``.

    K, M, G and T are powers of 1024, written with or without ``B`` or ``iB``, in any case.

    Raises
    ------
    ValueError
        Saying what is expected.
    """
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size; use e.g. 512M, 8G or a number of bytes")
    number, unit = match.groups()
    return round(float(number) * _UNITS[(unit or "").upper()])


def format_size(size: int) -> str:
    """``"37.3 GiB"``, ``"512.0 MiB"``, ``"700 B"``: one decimal in the largest unit that fits."""
    for unit, name in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if size >= unit:
            return f"{size / unit:.1f} {name}"
    return f"{size} B"


def shape_text(shape: Iterable[int], dtype: object) -> str:
    """``"100000 x 100000 x 4 uint8"``: an image's ``(H, W, C)`` and sample type for messages."""
    return " x ".join(str(n) for n in shape) + f" {getattr(dtype, 'name', dtype)}"


def memory_budget() -> int:
    """The bytes an image held whole may take: ``CHANMIX_MAX_MEMORY``, else :func:`default_budget`.

    Raises
    ------
    UsageError
        When ``CHANMIX_MAX_MEMORY`` is set to something other than a size.
    """
    text = os.environ.get(ENV, "").strip()
    if not text:
        return default_budget()
    try:
        return parse_size(text)
    except ValueError as exc:
        raise UsageError(f"{ENV}: {exc}") from None


@functools.lru_cache(maxsize=1)
def default_budget() -> int:
    """Half the memory available when first asked (see the module docstring); the same
    figure afterwards, so that the memory chanmix itself holds does not shrink its budget."""
    return _available() // 2


def _available() -> int:
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            available = None
    if available is None or available <= 0:
        available = FALLBACK_AVAILABLE
    for limit in (_cgroup_room(), _address_space_room()):
        if limit is not None:
            available = min(available, limit)
    return available


def _address_space_room() -> int | None:
    """What a limit on the process's address space (``ulimit -v``, RLIMIT_AS) leaves above
    what the process maps already, or None without a limit (or where there is none to ask)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/statm", encoding="ascii") as file:
            mapped = int(file.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        mapped = 0
    return max(0, soft - mapped)


def _meminfo_available() -> int | None:
    """``MemAvailable`` in bytes, or None where /proc/meminfo does not say."""
    try:
        with open(_MEMINFO, encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    fields = line.split()
                    return int(fields[1]) * (1024 if fields[2:3] == ["kB"] else 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """What a cgroup v2 memory limit (``memory.max``) leaves above ``memory.current``."""
    try:
        with open(os.path.join(_CGROUP, "memory.max"), encoding="ascii") as file:
            limit = file.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(_CGROUP, "memory.current"), encoding="ascii") as file:
            current = int(file.read().strip())
        return max(0, int(limit) - current)
    except (OSError, ValueError):
        return None


def check_whole(name: str, what: str, nbytes: int) -> None:
    """Refuse to hold `nbytes` for an image when that is over the memory budget.

    Parameters
    ----------
    name : str
        The file (input or output) the memory is for.
    what : str
        What takes it, e.g. ``"decoding this 100000 x 100000 x 4 uint8 image whole"``.
    nbytes : int
        The peak it takes, counted before anything is allocated.

    Raises
    ------
    BudgetError
        A DataError: ``"big.png: decoding this ... whole needs 37.3 GiB, over the memory
        budget of 11.6 GiB; allow more with --max-memory or CHANMIX_MAX_MEMORY"``.
    UsageError
        When ``CHANMIX_MAX_MEMORY`` is not a size.
    """
    budget = memory_budget()
    if nbytes > budget:
        raise BudgetError(
            f"{name}: {what} needs {format_size(nbytes)}, over the memory budget of "
            f"{format_size(budget)}; allow more with --max-memory or {ENV}"
        )
