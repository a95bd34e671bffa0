"""A progress bar on stderr for long work: rows or tiles done, MB/s, time left.

Shown only when stderr is a terminal (:func:`is_terminal`) and ``-q`` is not given, so scripts
and pipes see nothing; and only once the run has lasted :data:`DELAY` seconds, so quick runs
do not flicker. A thread of its own redraws it every :data:`INTERVAL` seconds from counters
that the work updates (:class:`~chanmix.progress.Progress`, from any thread); the work never
writes to the terminal. When the run ends, fails or is interrupted, the bar is erased before
anything else is printed, so the next line (a summary, ``Error: ...``) starts clean.

One image (``apply`` of one input, a ``fit``, ``info`` of one input) shows its current pass:
``pass 2 mixing rows 1200/5000 24% 35.2 MB/s 0:12 left`` (passes are numbered when a run makes
several: a rescale's or a fit's measuring passes, then the mixing pass). Several images show
files done and the same share of them in percent: ``[1/3] 33% 35.2 MB/s 0:40 left``; the
time left also counts the parts of the files in progress.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

import click

__all__ = ["DELAY", "INTERVAL", "Bar", "is_terminal", "progress_bar", "say"]

#: Seconds a run lasts before its bar first shows.
DELAY = 1.0
#: Seconds between redraws.
INTERVAL = 0.25

#: The bar on the screen, if any: :func:`say` prints above it.
_shown: list[Bar] = []


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (the one place the bar asks; tests replace it)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # closed
        return False


def say(text: str, *, err: bool = True) -> None:
    """Print a line on stderr (on stdout with ``err=False``, the same terminal maybe), where
    the progress bar is when one is shown: it is drawn again below at the next redraw."""
    if _shown:
        _shown[-1].message(text, err=err)
    else:
        click.echo(text, err=err)


@contextmanager
def progress_bar(quiet: bool, *, files: int = 1, passes: int = 1) -> Iterator[Bar | None]:
    """A :class:`Bar` on stderr for the ``with`` block, or None when `quiet` or stderr is no
    terminal. `files`: images processed one by one (1: one image, in one or several passes);
    `passes`: the passes each makes at least (numbered on the bar when more than 1), the
    last one mixing or reading, the others fitting or measuring."""
    stream = sys.stderr
    if quiet or not is_terminal(stream):
        yield None
        return
    bar = Bar(stream, files=files, passes=passes)
    _shown.append(bar)
    bar.begin()
    try:
        yield bar
    finally:
        bar.close()
        _shown.remove(bar)


@dataclass
class _Pass:
    """Where one image's current pass stands."""

    number: int  # 1-based, counted over the image's passes
    name: str
    unit: str
    total: int
    started: float
    done: int = 0
    nbytes: int = 0


class FileProgress:
    """The :class:`~chanmix.progress.Progress` of one image of a :class:`Bar`."""

    def __init__(self, bar: Bar, key: int) -> None:
        self.bar, self.key = bar, key

    def stage(self, name: str, total: int, unit: str) -> None:
        """The image's next pass begins."""
        self.bar.stage_of(self.key, name, total, unit)

    def advance(self, units: int, nbytes: int) -> None:
        """`units` more of the image's pass are done (`nbytes` bytes read)."""
        self.bar.advance_of(self.key, units, nbytes)


class Bar:
    """The progress bar of a run of `files` images; a :class:`~chanmix.progress.Progress`
    itself for work on all of them at once (a fit), and :meth:`file` for each one's."""

    def __init__(
        self,
        stream: TextIO,
        *,
        files: int = 1,
        passes: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream, self.files, self.passes, self.clock = stream, files, passes, clock
        self.start = clock()
        self.files_done = 0
        self.nbytes = 0
        self._passes: dict[int, _Pass] = {}  # image (0-based; -1: all of them) -> its pass
        self._lock = threading.Lock()
        self._width = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what the work reports (any thread) --------------------------------------------

    def file(self, index: int) -> FileProgress:
        """The progress of image `index` (0-based)."""
        return FileProgress(self, index)

    def stage(self, name: str, total: int, unit: str) -> None:
        """A pass begins: over every image at once (a fit), or over the one image of a run of one."""
        self.stage_of(self._all, name, total, unit)

    def advance(self, units: int, nbytes: int) -> None:
        """`units` more of that pass are done (`nbytes` bytes read)."""
        self.advance_of(self._all, units, nbytes)

    @property
    def _all(self) -> int:
        return 0 if self.files == 1 else -1

    def stage_of(self, key: int, name: str, total: int, unit: str) -> None:
        """Image `key` (-1: all of them at once) begins its next pass."""
        with self._lock:
            previous = self._passes.get(key)
            number = 1 if previous is None else previous.number + 1
            self._passes[key] = _Pass(number, name, unit, max(total, 0), self.clock())
            if key >= 0:
                self._passes.pop(-1, None)

    def advance_of(self, key: int, units: int, nbytes: int) -> None:
        """`units` more of the pass of image `key` are done (`nbytes` bytes read)."""
        with self._lock:
            current = self._passes.get(key)
            if current is not None:
                current.done = min(current.total, current.done + units)
                current.nbytes += nbytes
            self.nbytes += nbytes

    def file_done(self, index: int) -> None:
        """Image `index` is finished (written, skipped or failed)."""
        with self._lock:
            self.files_done += 1
            self._passes.pop(index, None)

    # --- the screen --------------------------------------------------------------------

    def text(self) -> str | None:
        """The bar's line now; None while there is nothing to show."""
        with self._lock:
            return self._text(self.clock())

    def _text(self, now: float) -> str | None:
        if self.files > 1 and (self.files_done or set(self._passes) - {-1}):
            return self._files_text(now)
        current = self._passes.get(self._all)
        if current is None:
            return None
        numbered = self.passes > 1 or current.number > 1
        label = f"pass {current.number} {current.name}" if numbered else current.name
        elapsed = now - current.started
        percent = current.done * 100 // current.total if current.total else 100
        left = _eta(elapsed, current.done / current.total if current.total else 1.0)
        rate = _rate(current.nbytes, elapsed)
        return f"{label} {current.unit} {current.done}/{current.total} {percent}% {rate} {left}"

    def _files_text(self, now: float) -> str | None:
        """Files done and that share in percent; the time left counts partly done files too.
        None once every file is done (what follows is the summary)."""
        if self.files_done >= self.files:
            return None
        elapsed = now - self.start
        partly = sum(_share(p, self.passes) for key, p in self._passes.items() if key >= 0)
        percent = self.files_done * 100 // self.files
        left = _eta(elapsed, (self.files_done + partly) / self.files)
        return f"[{self.files_done}/{self.files}] {percent}% {_rate(self.nbytes, elapsed)} {left}"

    def begin(self) -> None:
        """Start redrawing, from :data:`DELAY` seconds after the run began."""
        self._thread = threading.Thread(target=self._redraw, name="chanmix-progress", daemon=True)
        self._thread.start()

    def _redraw(self) -> None:
        while not self._stop.wait(INTERVAL):
            if self.clock() - self.start >= DELAY:
                self.draw()

    def draw(self) -> None:
        """Draw the bar now (over its previous line), cut to the terminal's width."""
        with self._lock:
            text = self._text(self.clock())
            if text is None:
                return
            text = text[: max(shutil.get_terminal_size().columns - 1, 20)]
            self.stream.write("\r" + text.ljust(self._width))
            self.stream.flush()
            self._width = len(text)

    def message(self, text: str, *, err: bool = True) -> None:
        """Print a line where the bar is, on the bar's stream (stdout with ``err=False``); the
        bar is drawn again below it at the next redraw."""
        with self._lock:
            self._clear()
            click.echo(text, file=self.stream if err else None)

    def close(self) -> None:
        """Stop redrawing and erase the bar."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


#: Passes that come before an image's last one, however many there are (a percentile may
#: take several measuring passes).
_PREPARING = ("fitting", "measuring")


def _share(current: _Pass, passes: int) -> float:
    """How much of its image is done, 0 to 0.99, when the image is in pass `current` of at
    least `passes`: each pass an equal part, the preparing ones (:data:`_PREPARING`) never
    more than their part together, so that the share grows from pass to pass; 0.99 while a
    PNG or JPEG output is encoded after its last pass."""
    fraction = current.done / current.total if current.total else 1.0
    if current.name == "encoding":  # every pixel mixed
        return 0.99
    if current.name in _PREPARING:
        share = min(current.number - 1 + fraction, passes - 1) / passes
    else:
        share = (passes - 1 + fraction) / passes
    return min(share, 0.99)


def _rate(nbytes: int, seconds: float) -> str:
    """Megabytes (10^6) per second."""
    return f"{nbytes / seconds / 1e6 if seconds > 0 else 0.0:.1f} MB/s"


def _eta(elapsed: float, fraction: float) -> str:
    """The time left when `fraction` of the work took `elapsed` seconds: ``m:ss left``
    (``h:mm:ss`` from an hour on), ``--:-- left`` before anything is done."""
    if fraction <= 0:
        return "--:-- left"
    seconds = int(elapsed * (1 - fraction) / fraction)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}") + " left"
