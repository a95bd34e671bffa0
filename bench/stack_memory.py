"""Memory on a stack of band files: ``--stack`` against one file of the same pixels.

Seven single-band 8000 x 8000 uint16 TIFFs (Deflate, tiled 512 x 512, as Landsat's band files
come) are read as one 7-band image by ``chanmix apply --stack``, ``fit pca --stack`` and
``info --stack``; the same commands run on one 7-band TIFF holding the same pixels in the same
tiles. Each command is a new process; its wall time and peak resident memory (the child's
``ru_maxrss``, its VmHWM) are recorded.

    python bench/run.py stack            # writes the table into bench/README.md
    python bench/stack_memory.py         # the same
    python bench/run.py stack --quick    # 1024 x 1024, README untouched
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import tifffile
from bench_stream import measured
from run import chanmix_command, main, table

BANDS = 7
TILE = 512
#: A 7 -> 3 mix (band combinations of a multispectral scene).
COEFFS = "0.1,0.2,0.3,0.1,0.1,0.1,0.1; 0,0,0,0.5,0.5,0,0; 0.2,0.1,0,0,0,0.3,0.4"


def _tiles(side: int, band: int | None, pool: list[np.ndarray]) -> Iterator[np.ndarray]:
    """The tiles of band `band` (None: all bands, interleaved), row by row."""
    count = (-(-side // TILE)) ** 2
    for i in range(count):
        tile = pool[i % len(pool)]
        yield tile[:, :, band] if band is not None else tile


def make_inputs(folder: Path, side: int) -> tuple[list[Path], Path]:
    """BANDS band files ``B1.tif``... and ``all.tif`` holding the same pixels as one image;
    smooth values with 6 bits of noise, so that Deflate has something to do."""
    rng = np.random.default_rng(7)
    ramp = np.add.outer(np.arange(TILE), np.arange(TILE)).astype(np.uint16) * 24
    pool = [
        np.dstack([ramp + rng.integers(0, 64, (TILE, TILE), np.uint16) + 3000 * b for b in range(BANDS)])
        for _ in range(5)
    ]
    options = {
        "dtype": np.uint16,
        "tile": (TILE, TILE),
        "compression": "zlib",
        "predictor": True,
        "photometric": "minisblack",
    }
    bands = []
    for b in range(BANDS):
        path = folder / f"B{b + 1}.tif"
        tifffile.imwrite(path, _tiles(side, b, pool), shape=(side, side), **options)
        bands.append(path)
    whole = folder / "all.tif"
    tifffile.imwrite(
        whole, _tiles(side, None, pool), shape=(side, side, BANDS), planarconfig="contig", **options
    )
    return bands, whole


#: What is measured on each input: (label, chanmix arguments before the inputs, after them).
COMMANDS = (
    ("apply -c (7 -> 3), -j 2", ["apply"], ["-c", COEFFS, "-j", "2", "-o", "{out}"]),
    ("apply -c (7 -> 3), -j 1", ["apply"], ["-c", COEFFS, "-j", "1", "-o", "{out}"]),
    ("fit pca -k 3", ["fit", "pca"], ["-k", "3", "-q", "-o", "{json}"]),
    ("info", ["info"], []),
)


def run(quick: bool = False) -> str:
    side = 1024 if quick else 8000
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("CHANMIX_BENCH_TMP")) as tmp:
        folder = Path(tmp)
        bands, whole = make_inputs(folder, side)
        size = sum(p.stat().st_size for p in bands) / 1e6
        inputs = (
            (f"--stack of {BANDS} band files", ["--stack", *map(str, bands)]),
            (f"one {BANDS}-band file", [str(whole)]),
        )
        for label, before, after in COMMANDS:
            for what, paths in inputs:
                out, matrix = folder / "out.tif", folder / "pca.json"
                tail = [a.format(out=out, json=matrix) for a in after]
                command, env = chanmix_command(*before, *paths, *tail)
                wall, peak = measured(command, env)
                rows.append([label, what, f"{wall:.1f}", f"{peak:.0f} MB"])
                for made in (out, matrix):
                    made.unlink(missing_ok=True)
    header = ["command", "input", "wall s", "peak RSS"]
    raw = side * side * BANDS * 2 / 1e6
    return table(header, rows) + (
        f"\n\n{side} x {side} pixels x {BANDS} bands of uint16: {raw:.0f} MB of samples, "
        f"{size:.0f} MB as Deflate tiles of {TILE} x {TILE} (band files; the one file's are "
        "the same tiles interleaved). One run each: the peak memory does not vary from run to run."
    )


if __name__ == "__main__":  # this section of bench/run.py
    sys.argv[1:1] = ["stack"]
    main()
