"""``-`` as input (an image on stdin) and ``-o -`` (the output on stdout, format from ``--format``).

Both go through a temporary file, so that every reader and writer works the same on pipes as
on files and the bytes on stdout are exactly those a file would hold; stdout receives
nothing when the run fails. Messages name those files ``stdin`` and ``stdout`` (:func:`shown`),
never by their temporary paths.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import click

from ..errors import ChanmixError, DataError

#: ``--format`` values and the extension that selects the writer.
FORMATS = {
    "tif": ".tif",
    "tiff": ".tif",
    "png": ".png",
    "jpg": ".jpg",
    "jpeg": ".jpg",
    "webp": ".webp",
    "avif": ".avif",
    "jxl": ".jxl",
    "npy": ".npy",
}
#: Temporary file -> the name messages give it ("stdin", "stdout"), while :func:`piped` runs.
_NAMES: dict[str, str] = {}


@contextmanager
def piped(
    inputs: tuple[str, ...], output: str | None, fmt: str | None, *, one_image: bool = False
) -> Iterator[tuple[tuple[str, ...], str | None]]:
    """Swap ``-`` for temporary files: yields (inputs, output) to use; on success, the output
    file (if it was ``-``) is copied to stdout. With `one_image` (``--stack``), the inputs make
    one image, which stdout can take."""
    if inputs.count("-") > 1:
        raise click.UsageError("stdin ('-') can be read only once")
    to_stdout = output == "-"
    if to_stdout and len(inputs) != 1 and not one_image:
        raise click.UsageError("-o - writes one image to stdout: give one INPUT")
    if to_stdout and fmt is None:
        raise click.UsageError(
            "-o - needs --format (tif, png, jpg, webp, avif, jxl or npy) to choose the output format"
        )
    if fmt is not None and not to_stdout:
        raise click.UsageError("--format is for -o - (stdout); a file's extension chooses its format")
    if "-" not in inputs and not to_stdout:
        yield inputs, output
        return
    import shutil  # only for pipes: 2 ms of imports that file-to-file runs skip
    import tempfile

    with tempfile.TemporaryDirectory(prefix="chanmix-") as folder:
        stdin_path = str(Path(folder) / "stdin")
        target = str(Path(folder) / f"stdout{FORMATS[fmt]}") if to_stdout and fmt else output
        names = {stdin_path: "stdin"}
        if to_stdout and target is not None:
            names[target] = "stdout"
        _NAMES.update(names)
        try:
            if "-" in inputs:
                with open(stdin_path, "wb") as file:
                    shutil.copyfileobj(sys.stdin.buffer, file)
                inputs = tuple(stdin_path if i == "-" else i for i in inputs)
            yield inputs, target
            if to_stdout and target is not None:
                with open(target, "rb") as file:
                    copy_to_stdout(file)
        except ChanmixError as exc:
            exc.args = (shown(str(exc)),)
            raise
        except click.ClickException as exc:
            exc.message = shown(exc.message)  # type: ignore[misc]  # Final in Click's stubs
            raise
        finally:
            for path in names:
                _NAMES.pop(path, None)


def shown(text: str) -> str:
    """`text` with the temporary files standing for ``-`` named as the user knows them:
    ``stdin`` and ``stdout``."""
    for path, name in list(_NAMES.items()):
        text = text.replace(path, name)
    return text


def copy_to_stdout(file: BinaryIO) -> None:
    """Copy a file to stdout; DataError (not a traceback) when stdout cannot take it.

    A broken pipe is left to the caller (the reader went away: exit 1 without a message).
    After any failure, stdout is pointed at /dev/null, so that Python's own flush at exit
    does not print a second error.
    """
    import shutil

    try:
        shutil.copyfileobj(file, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        silence_stdout()
        raise
    except OSError as exc:
        silence_stdout()
        raise DataError(f"stdout: cannot write ({exc.strerror or exc})") from exc


def silence_stdout() -> None:
    """Send whatever is still buffered for stdout to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
