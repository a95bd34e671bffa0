"""Checks of one finished fuzz case (bench/fuzz.py): failure categories and their signatures.

A signature names a failure so that cases with one root cause group together: the category,
the innermost chanmix frame and the innermost frame of a traceback or of the stacks
faulthandler dumps, or the first stray stderr line with numbers and file names blurred.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fuzz import Result

CATEGORIES = (
    "hang",
    "crash",
    "memory",
    "traceback",
    "exit-code",
    "stderr",
    "warning",
    "leftover",
    "output-changed",
    "bad-output",
)
_WARNING = re.compile(r"\.py:\d+: (\w*Warning): ")
SENTINEL = b"chanmix fuzz sentinel: a failed run must leave this file as it is\n"


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


def _readable(path: Path) -> str | None:
    """Why a chanmix output cannot be read back, or None."""
    try:
        if path.suffix == ".json":
            text = path.read_text(encoding="utf-8")
            json.loads(text, parse_constant=_not_json)
        elif path.suffix == ".npy":
            import numpy as np

            np.load(path, mmap_mode="r", allow_pickle=False)
        elif path.suffix in (".img", ".bil", ".hdr"):
            _envi_readable(path)
        elif path.suffix in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                if path.stat().st_size < 256 << 20:
                    tif.asarray()
        elif path.suffix == ".jxl":  # libjxl itself: Pillow has no JPEG XL
            import imagecodecs

            imagecodecs.jpegxl_decode(path.read_bytes())
        else:
            from PIL import Image

            with Image.open(path) as image:
                image.load()
    except Exception as exc:  # noqa: BLE001
        return f"{path.name} unreadable ({type(exc).__name__}: {str(exc)[:100]})"
    return None


def _envi_readable(path: Path) -> None:
    """An ENVI output: a header beginning ``ENVI`` whose sizes and data type match the data
    file's length exactly (out.img / out.bil beside out.hdr)."""
    header = path if path.suffix == ".hdr" else path.with_suffix(".hdr")
    text = header.read_text(encoding="utf-8")
    if not text.startswith("ENVI"):
        raise ValueError("header does not begin with ENVI")
    fields = dict(
        (k.strip().lower(), v.strip())
        for k, v in (line.split("=", 1) for line in text.splitlines() if "=" in line)
    )
    size = {1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 12: 2, 13: 4, 14: 8, 15: 8}[int(fields["data type"])]
    count = int(fields["samples"]) * int(fields["lines"]) * int(fields["bands"])
    data = [p for p in path.parent.iterdir() if p.suffix in (".img", ".bil")]
    if len(data) != 1:
        raise ValueError(f"{len(data)} data files beside the header")
    want = int(fields.get("header offset", "0")) + count * size
    if data[0].stat().st_size != want:
        raise ValueError(f"data file of {data[0].stat().st_size} bytes, header says {want}")


def check(result: Result, folder: Path) -> None:
    """Fill in the failures, the primary one's signature and details of `result`."""
    case, code, err = result.case, result.returncode, result.stderr
    lines = err.splitlines()
    found: dict[str, str] = {}
    memory = any(
        w in err for w in ("MemoryError", "Unable to allocate", "bad_alloc", "Cannot allocate memory")
    )
    if code is None:  # grouped by the chanmix frame: the library frame varies along a loop
        stack = _sites(err, dump=True)
        found["hang"] = f"no exit in the time limit; {stack.split(' <- ')[0] or stack}"
        result.details.append(f"stack: {stack}")
    elif code < 0 and not memory and code != -signal.SIGKILL:
        found["crash"] = f"{signal.Signals(-code).name} {_sites(err, dump=True)}"
    elif memory or code == -signal.SIGKILL:
        if code < 0:
            found["memory"] = f"killed by {signal.Signals(-code).name} {_sites(err, dump=True)}"
        elif "Traceback" in err:
            found["memory"] = f"{_last_exception(err)} {_sites(err)}"
        else:  # caught and reported: the allocation was still tried, over the cap
            found["memory"] = f"tried over the cap, exit {code}: {_norm(_error_line(lines))}"
    if code is not None and "Traceback" in err and not found:
        found["traceback"] = f"{_last_exception(err)} {_sites(err)}"
    if "Traceback" in err:
        result.details.append(f"exception: {_last_exception(err, full=True)}")
    if code is not None and code not in (0, 1, 2) and code >= 0:
        found["exit-code"] = f"exit {code}: {_norm(lines[-1] if lines else '')}"
    if code not in (None, 0):
        extra = [line for line in lines if not line.startswith("Error: ")]
        if len(lines) != 1 or extra:
            line = extra[0] if extra else lines[-1] if lines else "(nothing)"
            found["stderr"] = "extra lines: " + _norm(re.sub(r"\(.*\)", "(...)", line))
    if code == 0 and (warning := _WARNING.search(err)):
        line = next(line for line in lines if warning.group(1) in line)
        found["warning"] = f"{warning.group(1)} on a successful run: {_norm(line.split(': ', 1)[-1])}"
    if code is not None:
        expected = {"in": set(case.files), "out": set(case.outputs), "tmp": set()}
        left = [
            f"{sub}/{p.name}"
            for sub in ("in", "out", "tmp")
            for p in (folder / sub).iterdir()
            if f"{sub}/{p.name}" not in expected[sub]
        ]
        left += [p.name for p in folder.iterdir() if p.name not in expected]
        if left:
            found["leftover"] = "left " + ", ".join(sorted(_norm(n) for n in left))
    for rel in case.outputs:
        path = folder / rel
        if code not in (None, 0):
            if not path.is_file() or path.read_bytes() != SENTINEL:
                what = "removed" if not path.exists() else "changed"
                found["output-changed"] = f"{rel} {what} by exit {code}: {_norm(_error_line(lines))}"
        elif code == 0:
            if not path.is_file() or path.read_bytes() == SENTINEL:
                found["bad-output"] = f"{rel} not written by a successful run"
            elif why := _readable(path):
                found["bad-output"] = why
    result.failures = tuple(c for c in CATEGORIES if c in found)
    result.details[:0] = [f"{c}: {found[c]}" for c in result.failures]
    if result.failures:
        first = result.failures[0]
        result.signature = f"{first}: {found[first]}"


_FRAME = re.compile(r'File "([^"]+)", line (\d+),? in (\S+)')


def _short(path: str) -> str:
    parts = Path(path).parts
    if "chanmix" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("chanmix") :])
    return "/".join(parts[-2:])


def _sites(err: str, dump: bool = False) -> str:
    """The innermost chanmix frame and the innermost frame of a traceback or a faulthandler dump."""
    if dump:  # faulthandler: most recent call first; the main thread's block
        block = err.split("Current thread", 1)[-1] if "Current thread" in err else err
        frames = _FRAME.findall(block)
    else:
        frames = _FRAME.findall(err)[::-1]
    if not frames:
        return ""
    ours = next((f for f in frames if "chanmix" in Path(f[0]).parts), None)
    text = f"in {_short(ours[0])}:{ours[2]}" if ours else ""
    if frames[0] is not ours:
        text += f" <- {_short(frames[0][0])}:{frames[0][2]}"
    return text.strip()


def _last_exception(err: str, full: bool = False) -> str:
    """The exception a traceback ends with: its type, or with `full` its message too."""
    after = err.rsplit("Traceback (most recent call last):", 1)[-1].splitlines()
    tail = [
        line for line in after if re.match(r"^[A-Za-z_][\w.]*(: |$)", line) and not line.startswith("Error: ")
    ]
    if not tail:
        return ""
    return tail[-1][:150] if full else tail[-1].split(":", 1)[0].rsplit(".", 1)[-1]


def _error_line(lines: list[str]) -> str:
    return next((line for line in lines if line.startswith("Error: ")), lines[-1] if lines else "")


def _norm(text: str) -> str:
    """A message with paths, numbers and random names blurred, for grouping."""
    text = re.sub(r"\b(in|out|tmp)/[\w.-]+", r"\1/FILE", text)
    text = re.sub(r"0x[0-9a-fA-F]+|\d+", "N", text)
    return text[:110]
