"""Memory of ``chanmix sheet`` on images far larger than their sheet.

Two inputs: one 16000 x 16000 x 4 uint16 TIFF of uncompressed strips (2 GB: every kept row is
read alone), and the seven 8000 x 8000 uint16 band files of ``stack_memory`` (Deflate tiles of
512 x 512: at ``--size 256`` one row of tiles is decoded per kept row, at ``--size 1024`` the
image is read in bands of tile rows). Each command is a new process; its wall time and peak
resident memory (the child's ``ru_maxrss``) are recorded; then both are given GDAL's internal
overviews (rasterio's ``build_overviews``, as ``gdaladdo``) and measured again.

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
    image = tifffile.memmap(
        path, shape=(side, side, BANDS), dtype=np.uint16, photometric="minisblack", planarconfig="contig"
    )
    columns = np.arange(side, dtype=np.uint32)
    for start in range(0, side, CHUNK_ROWS):
        rows = np.arange(start, min(start + CHUNK_ROWS, side), dtype=np.uint32)
        ramp = (np.add.outer(rows, columns) % 65536).astype(np.uint16)
        for b in range(BANDS):
            image[rows[0] : rows[-1] + 1, :, b] = ramp // (b + 1)
    image.flush()
    del image


def add_overviews(paths: list[Path]) -> None:
    """Internal overviews at 2, 4 ... 64 (average), as ``gdaladdo -r average`` adds them."""
    import rasterio
    from rasterio.enums import Resampling

    for path in paths:
        with rasterio.open(path, "r+") as ds:
            ds.build_overviews([2, 4, 8, 16, 32, 64], Resampling.average)


def _measured(what: str, inputs: list[str], size: str, out: Path) -> list[str]:
    """A table row: `what`, --size, wall seconds and peak RSS of one ``chanmix sheet`` run."""
    command, env = chanmix_command("sheet", *inputs, "--size", size, "-q", "-o", str(out))
    wall, peak = measured(command, env)
    out.unlink()
    return [what, size, f"{wall:.1f}", f"{peak:.0f} MB"]


def run(quick: bool = False) -> str:
    strip_side, tile_side = (2000, 1024) if quick else (16000, 8000)
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
        raw = strips.stat().st_size / 1e9
        rows = [_measured(what, inputs, size, out) for what, inputs, size in cases]
        add_overviews([strips, *bands])
        rows.append(_measured("the same strips, with GDAL overviews", [str(strips)], "256", out))
        rows.append(_measured("the same band files, with GDAL overviews", cases[1][1], "256", out))
    header = ["input", "--size", "wall s", "peak RSS"]
    return table(header, rows) + (
        f"\n\nThe strip TIFF holds {raw:.1f} GB of samples; the band files {tile_side} x {tile_side} "
        "x 7 uint16. One run each: the peak memory does not vary from run to run."
    )


if __name__ == "__main__":  # this section of bench/run.py
    sys.argv[1:1] = ["sheet"]
    main()
