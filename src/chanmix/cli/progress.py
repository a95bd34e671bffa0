"""A progress line on stderr for long work: files done, pixels per second, time left.

Shown only when stderr is a terminal and ``-q`` is not given; scripts and pipes see nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

import click

_INTERVAL = 0.2  # seconds between redraws


class Progress:
    """Progress of ``total`` files, fed from any thread."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.done = 0
        self.pixels = 0
        self._fraction: dict[int, float] = {}
        self._lock = threading.Lock()
        self._drawn = 0.0
        self._width = 0

    @staticmethod
    def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
        """Whether to show progress: a terminal on stderr and no ``-q``."""
        stream = stream or sys.stderr
        return not quiet and hasattr(stream, "isatty") and stream.isatty()

    def rows(self, index: int, rows: int, height: int, width: int) -> None:
        """``rows`` more rows of file ``index`` (``height`` x ``width`` pixels) are written."""
        with self._lock:
            self.pixels += rows * width
            self._fraction[index] = min(1.0, self._fraction.get(index, 0.0) + rows / max(height, 1))
            self._draw(force=False)

    def file_done(self, index: int) -> None:
        """File ``index`` is finished (written, skipped or failed)."""
        with self._lock:
            self.done += 1
            self._fraction.pop(index, None)
            self._draw(force=True)

    def message(self, text: str) -> None:
        """Print a line above the progress line."""
        with self._lock:
            self._clear()
            click.echo(text, file=self.stream)
            self._draw(force=True)

    def close(self) -> None:
        """Remove the progress line."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < _INTERVAL:
            return
        self._drawn = now
        elapsed = now - self.start
        fraction = (self.done + sum(self._fraction.values())) / max(self.total, 1)
        rate = self.pixels / elapsed / 1e6 if elapsed > 0 else 0.0
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        eta = "--:--" if left is None else f"{int(left) // 60}:{int(left) % 60:02d}"
        text = f"[{self.done}/{self.total}] {fraction:4.0%}  {rate:6.1f} MP/s  {eta} left"
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)
