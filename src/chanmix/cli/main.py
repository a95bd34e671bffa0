"""The ``chanmix`` command group and the one place where errors become exit codes.

Every error reaches the user as one line on stderr: usage errors (bad options, impossible
requests) exit 2, data and I/O errors exit 1. No traceback is ever shown for bad input.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click
from click.shell_completion import CompletionItem

from .._version import __version__
from ..errors import ChanmixError
from .flags import flag_message
from .progress import say
from .stdio import silence_stdout

#: Command name -> (module of chanmix.cli, command object, one-line help). A command's module,
#: and the NumPy, tifffile... it needs, is imported only when that command runs, so that
#: ``chanmix --help`` starts at once.
COMMANDS = {
    "apply": ("apply", "apply_cmd", "Mix the channels of images: out = W @ in + b."),
    "fit": ("fit", "fit_cmd", "Learn a matrix from the data: PCA, least squares, MNF, MAF, ICA."),
    "info": ("info", "info_cmd", "Size, bands, type, layout, statistics, georeferencing."),
    "matrix": ("matrix", "matrix_cmd", "Show, compose, invert and export matrix files."),
    "presets": ("presets", "presets_cmd", "List the built-in matrices, or show one."),
    "sheet": ("sheet", "sheet_cmd", "A contact sheet: every band as a stretched, labelled thumbnail."),
}


#: Loggers of the libraries that log what chanmix reports itself: tifffile logs every tag it
#: cannot parse at ERROR level, Pillow the TIFFs it refuses.
_LIBRARY_LOGS = ("tifffile", "PIL")


class Interrupted(BaseException):
    """SIGINT or SIGTERM: unwinds like Ctrl-C (temporary files removed on the way), but is
    reported by :func:`interrupted` alone: Click would add a line for a KeyboardInterrupt."""


def _interrupt(signum: int, frame: Any) -> None:
    """Raise :class:`Interrupted` where the main thread is, unless that is inside Python's
    import machinery: an exception raised in its module-lock callbacks is dropped ("Exception
    ignored") and leaves the lock half released, so that every thread importing waits forever.
    There, the signal is sent again a moment later, to be taken where it is safe."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            threading.Timer(0.01, os.kill, (os.getpid(), signum)).start()
            return
        frame = frame.f_back
    raise Interrupted


class CommandError(Exception):
    """A command's :class:`~chanmix.errors.ChanmixError`: its message as the command line shows
    it (naming the command's options, see :mod:`chanmix.cli.flags`) and its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message, self.exit_code = message, exit_code


def fail(message: str, code: int) -> None:
    """Print one line on stderr and exit with ``code`` (a library's message that spans lines is
    joined into one)."""
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    click.echo(f"Error: {one_line}", err=True)
    sys.exit(code)


class ChanmixGroup(click.Group):
    """A group whose errors are printed as a single line and whose commands load on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][2]) for name in sorted(COMMANDS)])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (with their one-line help) and the group's options, for shell
        completion, without importing any command's module."""
        names = [
            CompletionItem(name, help=COMMANDS[name][2])
            for name in sorted(COMMANDS)
            if name.startswith(incomplete)
        ]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChanmixError as exc:  # here, where the command is known, its options are named
            raise CommandError(flag_message(exc, ctx.invoked_subcommand), exc.exit_code) from exc

    # Click's main() also takes complete_var, standalone_mode... positionally; this one takes
    # them by keyword only and always runs with standalone_mode=False, hence the narrower signature.
    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:  # a signal may land anywhere from here on, in setting up the run too
            if threading.current_thread() is threading.main_thread():
                # kill/timeout send SIGTERM: unwind like Ctrl-C, so no temporary file stays behind
                signal.signal(signal.SIGTERM, _interrupt)
                signal.signal(signal.SIGINT, _interrupt)
            with _quiet_libraries():
                self._run(args, prog_name, extra)
        except (Interrupted, KeyboardInterrupt):
            interrupted()

    def _run(self, args: Any, prog_name: str | None, extra: dict[str, Any]) -> None:
        """Run the command and end the process with its exit code (one line on any error)."""
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message(), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:  # Click's own Ctrl-C, in a prompt
            interrupted()
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code)
        except CommandError as exc:
            fail(exc.message, exc.exit_code)
        except ChanmixError as exc:  # outside any command (see invoke)
            fail(flag_message(exc), exc.exit_code)
        except BrokenPipeError:  # the reader of stdout went away: nothing to say to it
            silence_stdout()
            sys.exit(1)
        except MemoryError:
            fail("out of memory (a lower --max-memory refuses such images before reading them)", 1)
        except OSError as exc:  # writing stdout (a full disk, /dev/full), or an I/O error unnamed
            silence_stdout()
            where = os.fsdecode(exc.filename) if exc.filename else "stdout"
            fail(f"{where}: cannot write ({exc.strerror or exc})", 1)
        except Exception as exc:
            if _caused_by_interrupt(exc):  # Python 3.11 wraps it, raised in __set_name__, say
                interrupted()
            raise
        try:
            sys.stdout.flush()  # here, where a failure can still be reported in one line
        except BrokenPipeError:
            silence_stdout()
            sys.exit(1)
        except OSError as exc:
            silence_stdout()
            fail(f"stdout: cannot write ({exc.strerror or exc})", 1)
        sys.exit(code if isinstance(code, int) else 0)


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while handling, or because of, a SIGINT/SIGTERM: Python 3.11
    turns an exception raised in a class's ``__set_name__`` (a signal arriving while a module
    that defines a dataclass is imported) into a RuntimeError whose cause it is."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, (Interrupted, KeyboardInterrupt)):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """While a command runs: no log lines from tifffile or Pillow (chanmix says what matters
    in its own error), each Python warning as one line ``Warning: <message>``, and Python's
    stderr on its own copy of file descriptor 2, so that capturing what libtiff prints there
    (:mod:`chanmix.io.capture`) never swallows chanmix's messages. All restored afterwards."""
    logs = [logging.getLogger(name) for name in _LIBRARY_LOGS]
    levels, show = [log.level for log in logs], warnings.showwarning
    for log in logs:
        log.setLevel(logging.CRITICAL + 1)
    warnings.showwarning = _show_warning
    stderr = sys.stderr
    own = _own_stderr(stderr)
    if own is not None:
        sys.stderr = own
    try:
        yield
    finally:
        for log, level in zip(logs, levels):
            log.setLevel(level)
        warnings.showwarning = show
        if own is not None:
            sys.stderr = stderr
            own.close()


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    text = " ".join(str(message).split())
    say(f"Warning: {text}")  # above a progress bar


def _own_stderr(stderr: Any) -> TextIO | None:
    """A text stream like `stderr` on a duplicate of its descriptor; None when it has none
    (a test runner's capture)."""
    try:
        stderr.flush()
        fd = os.dup(stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    encoding = getattr(stderr, "encoding", None) or "utf-8"
    return _WithoutLibraryLines(fd, encoding)


class _WithoutLibraryLines(io.TextIOWrapper):
    """A text stream that drops the lines libraries write to Python's stderr themselves:
    imagecodecs writes each of libpng's warnings ("PNG warning: sBIT: bad length") there,
    from whichever thread decodes. chanmix reports what matters in its own line."""

    _PREFIXES = ("PNG warning: ",)

    def __init__(self, fd: int, encoding: str) -> None:
        raw = io.BufferedWriter(io.FileIO(fd, "w"))
        super().__init__(raw, encoding=encoding, errors="backslashreplace", line_buffering=True)

    def write(self, text: str) -> int:
        if text.startswith(self._PREFIXES):
            return len(text)
        return super().write(text)


def interrupted() -> None:
    """End an interrupted run (Ctrl-C, SIGTERM): remove every temporary file, stop every output
    from being committed, and exit 130 at once, without waiting for worker threads."""
    from ..io.atomic import abandon_outputs

    abandon_outputs()
    click.echo("Error: interrupted", err=True)
    if threading.active_count() == 1:
        sys.exit(130)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)  # workers still mixing would otherwise be waited for


@click.group(cls=ChanmixGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="chanmix")
def cli() -> None:
    """Mix image channels with a 1x1 convolution: out = W @ in + b, pixel by pixel.

    Values are in normalized units: integer samples are divided by their type's maximum
    (uint8 255, uint16 65535, ...), float samples are used as they are; results are scaled to
    the output type, rounded to nearest and saturated.

    \b
    Examples:
      chanmix apply sample_images/astronaut.png -p sepia -o sepia.png
      chanmix apply sample_images/multispectral.tif --bands 7,4,3 \\
          -c "1,0,0; 0,1,0; 0,0,1" --rescale percentile --dtype uint8 -o false-colour.png
      chanmix presets
      chanmix info sample_images/multispectral.tif
    """
