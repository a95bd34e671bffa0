"""Files section: file to file in three formats, against libvips and ImageMagick.

A 6000 x 4000 RGB uint8 photograph (``sample_images/astronaut.png`` enlarged bicubically,
with Gaussian noise of sigma 3 so that it compresses about as a real photograph does, about
2:1) is mixed 3 -> 3 (bench_stream.MATRIX) from and to: an uncompressed TIFF; a Deflate TIFF
(horizontal predictor, written by tifffile) to a Deflate TIFF; a PNG to a PNG. Each run is a
new process, timed with its start-up, its peak resident memory recorded
(bench_stream.measured); the candidates alternate:

- ``chanmix apply IN -c ... -o OUT`` (``--compress deflate`` for the Deflate case);
- libvips' ``recomb`` through pyvips, sequential access, cast to uchar
  (``compression="deflate"`` for the Deflate case);
- ImageMagick, ``magick`` (7) or ``convert`` (6), ``IN -color-matrix '3x3: ...' OUT``
  (``-compress zip`` for the Deflate case); reported as n/a when it is not installed.

The three write Deflate TIFFs with the horizontal predictor; PNG encoders choose their own
filters and effort, hence the output sizes in the table.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import tifffile
from bench_stream import COEFFS, MATRIX, alternate_measured, vips_command
from run import HERE, chanmix_command, median, table

#: Format -> (input and output suffix, chanmix options, pyvips save options, ImageMagick options).
FORMATS = {
    "uncompressed TIFF": (".tif", [], {}, []),
    "Deflate TIFF": (
        "-deflate.tif",
        ["--compress", "deflate"],
        {"compression": "deflate"},
        ["-compress", "zip"],
    ),
    "PNG": (".png", [], {}, []),
}


def imagemagick() -> tuple[str, str] | None:
    """The ImageMagick command (path) and its version line, or None when not installed.

    ``magick`` (ImageMagick 7) is preferred to ``convert`` (6). A script of that name on the
    PATH (a shim or wrapper) is passed over: its interpreter's start-up would be timed too.
    """
    for name in ("magick", "convert"):
        for folder in os.get_exec_path():
            path = Path(folder) / name
            if not (path.is_file() and os.access(path, os.X_OK)):
                continue
            with open(path, "rb") as head:
                if head.read(2) == b"#!":
                    continue
            version = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
            if version.startswith("Version: ImageMagick"):
                return str(path), " ".join(version.split()[1:4])
    return None


def photograph(height: int, width: int) -> np.ndarray:
    """The astronaut enlarged to height x width, with sensor-like noise, RGB uint8."""
    small = cv2.cvtColor(cv2.imread(str(HERE.parent / "sample_images" / "astronaut.png")), cv2.COLOR_BGR2RGB)
    big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    big += np.random.default_rng(3).normal(0, 3, big.shape).astype(np.float32)
    return np.clip(np.rint(big), 0, 255).astype(np.uint8)


def write_input(path: Path, rgb: np.ndarray, fmt: str) -> None:
    if fmt == "PNG":
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    else:
        compression = {"compression": "zlib", "predictor": True} if fmt == "Deflate TIFF" else {}
        tifffile.imwrite(path, rgb, photometric="rgb", **compression)


def run(quick: bool = False) -> str:
    height, width = (400, 600) if quick else (4000, 6000)
    repeats = dict.fromkeys(FORMATS, 2) if quick else {"uncompressed TIFF": 9, "Deflate TIFF": 5, "PNG": 5}
    magick = imagemagick()
    im_name = f"ImageMagick -color-matrix ({magick[1]})" if magick else "ImageMagick -color-matrix"
    rgb = photograph(height, width)
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("CHANMIX_BENCH_TMP")) as tmp:
        for fmt, (suffix, cm_options, vips_options, im_options) in FORMATS.items():
            src, out = Path(tmp) / f"in{suffix}", Path(tmp) / "out"
            write_input(src, rgb, fmt)
            outputs = {
                "chanmix apply": f"{out}-c{suffix}",
                "libvips recomb (pyvips)": f"{out}-v{suffix}",
                im_name: f"{out}-m{suffix}",
            }
            commands = {
                "chanmix apply": chanmix_command(
                    "apply", str(src), "-c", COEFFS, "-o", outputs["chanmix apply"], *cm_options
                ),
                "libvips recomb (pyvips)": (
                    vips_command(src, Path(outputs["libvips recomb (pyvips)"]), **vips_options),
                    None,
                ),
            }
            if magick:
                matrix = "3x3: " + " ".join(str(v) for row in MATRIX for v in row)
                commands[im_name] = (
                    [magick[0], str(src), "-color-matrix", matrix, *im_options, outputs[im_name]],
                    None,
                )
            results = alternate_measured(commands, repeats[fmt])
            walls = {name: median([w for w, _ in r]) for name, r in results.items()}
            best = min((w for n, w in walls.items() if n != "chanmix apply"))
            for name, r in results.items():
                rows.append(
                    [
                        f"{fmt} ({src.stat().st_size / 1e6:.0f} MB)",
                        name,
                        f"{walls[name]:.2f}",
                        f"{walls[name] / best:.2f}",
                        f"{median([p for _, p in r]):.0f} MB",
                        f"{Path(outputs[name]).stat().st_size / 1e6:.0f} MB",
                    ]
                )
            if not magick:
                rows.append([fmt, im_name, "n/a: not installed", "", "", ""])
    runs = ", ".join(f"{n} {fmt}" for fmt, n in repeats.items())
    return (
        table(
            [
                f"{width} x {height} RGB uint8, 3 -> 3 (input size)",
                "candidate",
                "median wall s",
                "time / best peer",
                "peak RSS",
                "output",
            ],
            rows,
        )
        + f"\n\nRuns of each candidate, alternating: {runs}. Each run is a new process."
    )
