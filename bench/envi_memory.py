"""Memory on an ENVI cube: the peak resident memory of chanmix on a band-sequential cube.

A BSQ uint16 cube of the given size (default 2 GB, 100 bands) is written in chunks of real
(random) data, then each command runs in a new process and its peak resident memory (the
child's ``ru_maxrss``, i.e. its VmHWM) is recorded:

- ``chanmix info cube.hdr``: per-band statistics over every sample;
- ``chanmix apply cube.img -c (3 x N) -o out.img``: three bands picked out (a selection, so
  their wavelengths are carried), written as ENVI;
- ``chanmix apply cube.img --pca 3 -o pcs.img``: a streamed fit, then the mix;
- for comparison, a plain ``numpy.memmap`` of the same file read band by band for the same
  statistics, without giving the pages back: every page read stays mapped and counts.

chanmix reads each band of rows through its own memory map of the part of the file that
holds it, closed once copied, so its peak stays at a few bands of rows however large the
cube; the file's pages stay in the system's cache, where the kernel can reclaim them.

    python bench/envi_memory.py               # a 2 GB cube
    python bench/envi_memory.py --gb 8 --bands 200
    python bench/run.py envi                  # the 2 GB table into bench/README.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_stream import measured
from run import chanmix_command, table

BANDS = 100
WIDTH = 2000
#: Rows written at a time: a chunk of one band.
CHUNK_ROWS = 256

_MEMMAP_STATS = (
    "import numpy as np, sys; h, w, b = map(int, sys.argv[2:5]); "
    "m = np.memmap(sys.argv[1], np.uint16, 'r', shape=(b, h, w)); "
    "print([float(m[i].mean(dtype=np.float64)) for i in range(b)][:1])"
)


def write_cube(folder: Path, gigabytes: float, bands: int) -> tuple[Path, int]:
    """A BSQ uint16 cube of about `gigabytes` GB and its header in `folder`; returns the data
    file and its height. Written a chunk of rows of one band at a time."""
    height = max(1, int(gigabytes * 1e9 / (WIDTH * bands * 2)))
    data = folder / "cube.img"
    rng = np.random.default_rng(7)
    with open(data, "wb") as file:
        for band in range(bands):
            level = 1000 + 300 * band
            for start in range(0, height, CHUNK_ROWS):
                rows = min(CHUNK_ROWS, height - start)
                chunk = rng.integers(level, level + 4000, size=(rows, WIDTH), dtype=np.uint16)
                file.write(chunk.tobytes())
    wavelengths = ", ".join(f"{400 + 20 * b}" for b in range(bands))
    (folder / "cube.hdr").write_text(
        f"ENVI\nsamples = {WIDTH}\nlines = {height}\nbands = {bands}\nheader offset = 0\n"
        f"file type = ENVI Standard\ndata type = 12\ninterleave = bsq\nbyte order = 0\n"
        f"wavelength units = Nanometers\nwavelength = {{{wavelengths}}}\n"
        "map info = {UTM, 1, 1, 500000, 4200000, 30, 30, 33, North, WGS-84}\n"
    )
    return data, height


def run(quick: bool = False, gigabytes: float = 2.0, bands: int = BANDS) -> str:
    if quick:
        gigabytes, bands = 0.05, 20
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("CHANMIX_BENCH_TMP")) as tmp:
        folder = Path(tmp)
        data, height = write_cube(folder, gigabytes, bands)
        size = data.stat().st_size / 1e9
        shape = f"{height} x {WIDTH} x {bands} uint16 BSQ"
        picks = [[1.0 if b == band else 0.0 for b in range(bands)] for band in (bands // 2, bands // 4, 0)]
        coeffs = "; ".join(",".join(f"{v:g}" for v in row) for row in picks)
        commands = [
            ("chanmix info cube.hdr", ["info", str(folder / "cube.hdr")]),
            (
                "chanmix apply -c (3 x N selection) -o out.img",
                ["apply", str(data), "-c", coeffs, "-o", str(folder / "out.img")],
            ),
            (
                "chanmix apply --pca 3 -o pcs.img",
                ["apply", str(data), "--pca", "3", "-q", "-o", str(folder / "pcs.img")],
            ),
        ]
        for what, args in commands:
            command, env = chanmix_command(*args)
            wall, peak = measured(command, env)
            rows.append([shape, f"{size:.1f} GB", what, f"{wall:.1f}", f"{peak:.0f} MB"])
        memmap = [sys.executable, "-c", _MEMMAP_STATS, str(data), str(height), str(WIDTH), str(bands)]
        wall, peak = measured(memmap)
        rows.append(
            [
                shape,
                f"{size:.1f} GB",
                "numpy.memmap, band means (pages kept)",
                f"{wall:.1f}",
                f"{peak:.0f} MB",
            ]
        )
    header = ["cube", "size", "command", "wall s", "peak RSS"]
    return table(header, rows) + (
        "\n\nOne run each, each a new process; peak RSS is the process's high-water mark (VmHWM), "
        "mapped file pages included."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="cube size in GB (default 2)")
    parser.add_argument("--bands", type=int, default=BANDS, help=f"bands (default {BANDS})")
    args = parser.parse_args()
    print(run(gigabytes=args.gb, bands=args.bands))


if __name__ == "__main__":
    main()
