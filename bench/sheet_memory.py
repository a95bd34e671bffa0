"""Memory of ``chanmix sheet`` on images far larger than their sheet.

Two inputs: one 16000 x 16000 x 4 uint16 TIFF of uncompressed strips (2 GB: every kept row is
read alone), and the seven 8000 x 8000 uint16 band files of ``stack_memory`` (Deflate tiles of
512 x 512: at ``--size 256`` one row of tiles is decoded per kept row, at ``--size 1024`` the
image is read in bands of tile rows). Each command is a new process; its wall time and peak
resident memory (the child's ``ru_maxrss``) are recorded.

    python bench/run.py sheet            # writes the table into bench/README.md
    python bench/sheet_memory.py         # the same
    python bench/run.py sheet --quick    # small images, README untouched
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import tifffile
from bench_stream import measured
from run import chanmix_command, main, table
from stack_memory import make_inputs

BANDS = 4
#: Rows written at a time into the strip TIFF.
CHUNK_ROWS = 1000


def make_strips(path: Path, side: int) -> None:
    """A ``side`` x ``side`` x BANDS uint16 TIFF of uncompressed strips: ramps per band."""
    image = tifffile.memmap(path, shape=(side, side, BANDS), dtype=np.uint16, photometric="minisblack")
    columns = np.arange(side, dtype=np.uint32)
    for start in range(0, side, CHUNK_ROWS):
        rows = np.arange(start, min(start + CHUNK_ROWS, side), dtype=np.uint32)
        ramp = (np.add.outer(rows, columns) % 65536).astype(np.uint16)
        for b in range(BANDS):
            image[rows[0] : rows[-1] + 1, :, b] = ramp // (b + 1)
    image.flush()
    del image


def run(quick: bool = False) -> str:
    strip_side, tile_side = (2000, 1024) if quick else (16000, 8000)
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("CHANMIX_BENCH_TMP")) as tmp:
        folder = Path(tmp)
        strips = folder / "strips.tif"
        make_strips(strips, strip_side)
        bands, _ = make_inputs(folder, tile_side)
        out = folder / "sheet.png"
        cases = (
            (f"{strip_side}^2 x {BANDS} uint16, uncompressed strips", [str(strips)], "256"),
            ("--stack of 7 band files, Deflate tiles", ["--stack", *map(str, bands)], "256"),
            ("--stack of 7 band files, Deflate tiles", ["--stack", *map(str, bands)], "1024"),
        )
        for what, inputs, size in cases:
            command, env = chanmix_command("sheet", *inputs, "--size", size, "-q", "-o", str(out))
            wall, peak = measured(command, env)
            rows.append([what, size, f"{wall:.1f}", f"{peak:.0f} MB"])
            out.unlink()
        raw = strips.stat().st_size / 1e9
    header = ["input", "--size", "wall s", "peak RSS"]
    return table(header, rows) + (
        f"\n\nThe strip TIFF holds {raw:.1f} GB of samples; the band files {tile_side} x {tile_side} "
        "x 7 uint16. One run each: the peak memory does not vary from run to run."
    )


if __name__ == "__main__":  # this section of bench/run.py
    sys.argv[1:1] = ["sheet"]
    main()
