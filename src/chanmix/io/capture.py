"""What C libraries print on standard error, caught so that a failure is reported on one line.

libtiff (inside Pillow) prints its errors and warnings straight to file descriptor 2
(``"ThunderDecode: Not enough data at scanline 0"``), and Pillow's TIFF parser raises Python
warnings for damaged tags. :func:`captured_messages` collects both while a decode runs; the
reader uses them as the reason when the decode fails and drops them when it succeeds.

File descriptor 2 belongs to the whole process: while it is redirected, anything else written
to it goes to the capture too, and Python warnings raised by other threads are recorded here.
Captures are therefore serialised by a lock, and the command line writes its own messages to a
copy of the descriptor (:mod:`chanmix.cli.main`), which no capture touches.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

__all__ = ["Messages", "captured_messages"]

_LOCK = threading.Lock()
#: The file name Pillow gives libtiff for every file it decodes (the user never gave it).
_PILLOW_NAME = "tempfile.tif: "
_MAX_BYTES = 1 << 16
_MAX_CHARS = 200


class Messages:
    """The lines libraries printed, and the Python warnings raised, during a capture."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def first(self) -> str | None:
        """The first error line, else the first line at all (libtiff's warnings say
        ``"Warning"``), shortened to 200 characters; None when nothing was printed."""
        errors = [line for line in self.lines if "warning" not in line.lower()]
        line = next(iter(errors or self.lines), None)
        if line is not None and len(line) > _MAX_CHARS:
            line = line[: _MAX_CHARS - 3] + "..."
        return line


@contextmanager
def captured_messages() -> Iterator[Messages]:
    """Redirect file descriptor 2 to a temporary file and record Python warnings while the
    block runs; the yielded :class:`Messages` holds their lines once the block is left
    (normally or by an exception). Without a temporary file, nothing is captured."""
    messages = Messages()
    with _LOCK, ExitStack() as stack:
        import tempfile  # only for Pillow's TIFF decoding: runs reading TIFFs with tifffile skip it

        try:
            sink = stack.enter_context(tempfile.TemporaryFile())
            _flush()
            saved = os.dup(2)
        except OSError:
            yield messages
            return
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        os.dup2(sink.fileno(), 2)
        try:
            yield messages
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(_MAX_BYTES).decode("utf-8", "replace")
            messages.lines = [_clean(line) for line in text.splitlines() if line.strip()]
            messages.lines += [str(w.message).strip() for w in caught if str(w.message).strip()]


def _clean(line: str) -> str:
    """A line without Pillow's made-up file name, control characters escaped."""
    line = line.strip()
    line = line[len(_PILLOW_NAME) :] if line.startswith(_PILLOW_NAME) else line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def _flush() -> None:
    """Let what Python has buffered for stderr reach it before the descriptor is redirected."""
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
