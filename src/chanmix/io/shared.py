"""Images kept open by a process for the many tasks it runs on them (a cluster's workers).

A worker that mixes the windows of one image, or gathers the statistics of its row bands,
is sent one task per window: it opens the image once, on the first, and keeps it open for
the next. A file is known by its path and by what ``os.stat`` says of it (device, inode,
size, modification time), so that a file rewritten between runs is opened afresh.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

from .blocks import BlockReader
from .stack import open_image

__all__ = ["shared_reader"]

#: Images a process keeps open; the least recently used is let go beyond this.
KEEP = 4

_lock = threading.Lock()
_open: OrderedDict[tuple, BlockReader] = OrderedDict()


def _identity(path: str) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def shared_reader(
    source: str | Sequence[str], *, page: int = 0, series: int | None = None, orient: bool = False
) -> BlockReader:
    """The image `source` (a path, or paths stacked as one image: see
    :func:`~chanmix.io.open_image`; with `orient`, turned as its EXIF orientation says) opened
    once for this process and shared by its threads.

    Readers are safe to share between threads, as the local pipeline's threads share one. A
    reader let go is dropped; its file is closed when Python collects it.
    """
    files = (source,) if isinstance(source, str) else tuple(source)
    try:
        key = (files, page, series, orient, tuple(_identity(f) for f in files))
    except OSError:
        key = None  # let open_image report the missing or unreadable file
    with _lock:
        reader = _open.pop(key, None) if key is not None else None
        if reader is None:
            paths = source if isinstance(source, str) else list(files)
            reader = open_image(paths, page=page, series=series, orient=orient)
        if key is not None:
            _open[key] = reader
            while len(_open) > KEEP:
                _open.popitem(last=False)
    return reader
