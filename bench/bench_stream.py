"""Streaming sections: peak memory as the image grows, and file to file against libvips.

``memory``: a 3-band uint16 TIFF tiled 512 x 512 (uncompressed) of about 1, 4 and 10 GB is
mixed 3 -> 3 by ``chanmix apply`` in a new process; its wall time and peak resident memory
(the child's ``ru_maxrss``) are recorded.

``vips``: a 6000 x 4000 RGB uint8 uncompressed TIFF mixed 3 -> 3 file to file by
``chanmix apply`` and by libvips' ``recomb`` (pyvips), each in a new process, alternately.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from run import chanmix_command, median, table

MATRIX = [[0.5, 0.3, 0.2], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]
COEFFS = "; ".join(",".join(str(v) for v in row) for row in MATRIX)
TILE = 512


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak resident MB of a command run in a new process (Linux only)."""
    runner = [sys.executable, "-c", _RUSAGE, *command]
    start = time.perf_counter()
    done = subprocess.run(runner, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return wall, float(done.stdout.strip().splitlines()[-1]) / 1024


def alternate_measured(
    commands: dict[str, tuple[list[str], dict[str, str] | None]], repeats: int
) -> dict[str, list[tuple[float, float]]]:
    """:func:`measured` (wall s, peak MB) of each (command, environment), in turn, ``repeats`` times."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, (command, env) in commands.items():
            results[name].append(measured(command, env))
    return results


#: Runs argv[1:] as a child and prints the child's peak RSS in KiB (ru_maxrss on Linux).
_RUSAGE = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def make_tiled(path: Path, side: int) -> None:
    """A side x side x 3 uint16 TIFF in 512 x 512 tiles, written tile by tile."""
    rng = np.random.default_rng(1)
    pool = [rng.integers(0, 65536, size=(TILE, TILE, 3), dtype=np.uint16) for _ in range(7)]
    per_side = -(-side // TILE)
    count = per_side * per_side
    tiles = (pool[i % len(pool)] for i in range(count))
    tifffile.imwrite(
        path,
        tiles,
        shape=(side, side, 3),
        dtype=np.uint16,
        tile=(TILE, TILE),
        photometric="rgb",
        bigtiff=True,
    )


#: What the memory section runs on each input: a given matrix, and a PCA fitted then applied.
MEMORY_COMMANDS = (("apply -c (3x3)", ["-c", COEFFS]), ("apply --pca 3 (fit, then mix)", ["--pca", "3"]))


def run_memory(quick: bool = False) -> str:
    sizes = [0.05, 0.2] if quick else [1, 4, 10]
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("CHANMIX_BENCH_TMP")) as tmp:
        for gigabytes in sizes:
            side = int((gigabytes * 1e9 / 6) ** 0.5) // TILE * TILE
            src, dst = Path(tmp) / "in.tif", Path(tmp) / "out.tif"
            make_tiled(src, side)
            size = src.stat().st_size / 1e9
            for what, options in MEMORY_COMMANDS:
                command, env = chanmix_command("apply", str(src), *options, "-o", str(dst))
                wall, peak = measured(command, env)
                rows.append(
                    [
                        f"{side} x {side} x 3 uint16",
                        f"{size:.1f} GB",
                        what,
                        f"{wall:.1f}",
                        f"{size / wall * 1e3:.0f} MB/s",
                        f"{peak:.0f} MB",
                    ]
                )
                dst.unlink()
            src.unlink()
    header = ["input (tiled 512, uncompressed)", "size", "command", "wall s", "input per second", "peak RSS"]
    return table(header, rows) + (
        "\n\nOne run each (the peak memory is what is measured; it does not vary from run to run). "
        "--pca reads the input twice, so its rate is the input's size over the wall time of both passes."
    )


_VIPS = (
    "import json, sys, pyvips; m = {matrix}; "
    "pyvips.Image.new_from_file(sys.argv[1], access='sequential').recomb(m).cast('uchar')"
    ".write_to_file(sys.argv[2], **json.loads(sys.argv[3]))"
)


def vips_command(src: Path, dst: Path, **save: object) -> list[str]:
    """A new Python process mixing ``src`` by MATRIX with libvips' recomb into ``dst``
    (uint8), with the given ``write_to_file`` options."""
    return [sys.executable, "-c", _VIPS.format(matrix=MATRIX), str(src), str(dst), json.dumps(save)]


def run_vips(quick: bool = False) -> str:
    repeats = 3 if quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "rgb.tif"
        rgb = np.random.default_rng(2).integers(0, 256, size=(4000, 6000, 3), dtype=np.uint8)
        tifffile.imwrite(src, rgb, photometric="rgb")
        chanmix, env = chanmix_command("apply", str(src), "-c", COEFFS, "-o", str(Path(tmp) / "c.tif"))
        vips = vips_command(src, Path(tmp) / "v.tif")
        candidates = {"chanmix apply": (chanmix, env), "libvips recomb (pyvips)": (vips, None)}
        results = alternate_measured(candidates, repeats)
    best = median([w for w, _ in results["libvips recomb (pyvips)"]])
    rows = [
        [
            name,
            f"{median([w for w, _ in r]):.3f}",
            f"{median([w for w, _ in r]) / best:.2f}",
            f"{median([p for _, p in r]):.0f} MB",
        ]
        for name, r in results.items()
    ]
    return (
        table(
            ["6000 x 4000 RGB uint8 TIFF -> TIFF, 3x3", "median wall s", "time / libvips", "peak RSS"], rows
        )
        + f"\n\n{repeats} runs each, alternating; each run is a new process."
    )
