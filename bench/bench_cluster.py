"""Cluster section: what ``--scheduler`` costs on one machine, per file and per window.

Two workloads, each run by ``chanmix apply`` in a new process (start-up included), the
candidates alternating:

- a batch of 64 files, 1024 x 1024 RGB uint8 TIFFs (3 MB each), mixed 3 -> 3 to TIFF;
- one image of 2^30 pixels, 32768 x 32768 RGB uint8 in 512 x 512 tiles (3 GB), mixed
  3 -> 1 to a tiled TIFF (1 GB): 4096 windows, mixed on the workers and written by the
  client in order; and to a Zarr store in 512 x 512 chunks, which the workers write
  themselves (compared with the local path to the same store).

Candidates: the local threaded path (``-j 2``); a LocalCluster of 1 and of 2 worker
processes (one thread each), started once before the runs and reached with ``--scheduler
ADDRESS``; and ``--scheduler local -j 2``, which starts its own cluster in every run (its
start-up is the difference). The machine has 2 cores: the figures are overheads (per task,
per file, per window), not a speed-up. The client's peak resident memory is recorded.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from bench_stream import measured
from run import chanmix_command, median, table

#: Files of the batch, their side, and the side of the large image.
FILES, FILE_SIDE, BIG_SIDE, BIG_TILE = 64, 1024, 32768, 512
QUICK = {"FILES": 8, "FILE_SIDE": 256, "BIG_SIDE": 4096}
MIX_33 = "0.393,0.769,0.189; 0.349,0.686,0.168; 0.272,0.534,0.131"
MIX_31 = "0.2126,0.7152,0.0722"


def make_batch(folder: Path, count: int, side: int) -> list[str]:
    rng = np.random.default_rng(3)
    paths = []
    for i in range(count):
        path = folder / f"f{i:03d}.tif"
        tifffile.imwrite(path, rng.integers(0, 256, (side, side, 3), dtype=np.uint8), photometric="rgb")
        paths.append(str(path))
    return paths


def make_big(path: Path, side: int) -> None:
    """A side x side RGB uint8 TIFF in 512 x 512 tiles, written tile by tile from a pool."""
    rng = np.random.default_rng(4)
    pool = [rng.integers(0, 256, size=(BIG_TILE, BIG_TILE, 3), dtype=np.uint8) for _ in range(7)]
    count = (-(-side // BIG_TILE)) ** 2
    tiles = (pool[i % len(pool)] for i in range(count))
    tifffile.imwrite(
        path, tiles, shape=(side, side, 3), dtype=np.uint8, tile=(BIG_TILE, BIG_TILE), photometric="rgb"
    )


def _clusters(workers: tuple[int, ...]) -> dict[int, object]:
    from distributed import LocalCluster

    return {
        n: LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        for n in workers
    }


def _time_local_cluster_start(repeats: int) -> float:
    from distributed import Client, LocalCluster

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as c:
            with Client(c):
                pass
        times.append(time.perf_counter() - start)
    return median(times)


def _runs(
    candidates: dict[str, list[str]], out: Path, repeats: int, clean: bool = True
) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, args in candidates.items():
            if clean:
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
            command, env = chanmix_command(*args)
            results[name].append(measured(command, env))
    return results


def _output(name: str) -> str:
    """The output a candidate writes: "to .zarr, ..." candidates a Zarr store, the others a TIFF."""
    return name.split(",")[0] if name.startswith("to ") else "to .tif"


def _rows(results: dict[str, list[tuple[float, float]]], tasks: int, unit: str) -> list[list[str]]:
    """A row per candidate, its time against the local threaded run to the same output."""
    walls = {name: median([w for w, _ in runs]) for name, runs in results.items()}
    local = {_output(name): wall for name, wall in walls.items() if "local, threads" in name}
    rows = []
    for name, runs in results.items():
        wall, base = walls[name], local[_output(name)]
        peak = max(m for _, m in runs)
        extra = (wall - base) / tasks * 1e3
        rows.append([name, f"{wall:.2f}", f"{wall / base:.2f}", f"{extra:+.1f}", f"{peak:.0f} MB"])
    return [[unit, *row] for row in rows]


def run(quick: bool = False) -> str:
    files, side, big = (
        (QUICK["FILES"], QUICK["FILE_SIDE"], QUICK["BIG_SIDE"]) if quick else (FILES, FILE_SIDE, BIG_SIDE)
    )
    repeats = 2 if quick else 5
    big_repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        (folder / "batch").mkdir()
        batch = make_batch(folder / "batch", files, side)
        make_big(folder / "big.tif", big)
        clusters = _clusters((1, 2))
        try:
            out = folder / "out"
            batch_args = ["apply", *batch, "-c", MIX_33, "-O", str(out), "-q"]
            batch_candidates = {
                "local, threads (-j 2)": [*batch_args, "-j", "2"],
                "cluster, 1 worker": [*batch_args, "--scheduler", clusters[1].scheduler_address],
                "cluster, 2 workers": [*batch_args, "--scheduler", clusters[2].scheduler_address],
                "--scheduler local -j 2 (starts its cluster)": [
                    *batch_args,
                    "--scheduler",
                    "local",
                    "-j",
                    "2",
                ],
            }
            batch_results = _runs(batch_candidates, out, repeats)
            one_args = ["apply", batch[0], "-c", MIX_33, "-o", str(out / "one.tif"), "-q"]
            fixed_candidates = {
                "local, threads (-j 2)": [*one_args, "-j", "2"],
                "cluster, 2 workers": [*one_args, "--scheduler", clusters[2].scheduler_address],
            }
            fixed_results = _runs(fixed_candidates, out, repeats)
            big_args = ["apply", str(folder / "big.tif"), "-c", MIX_31, "-o", str(out / "grey.tif"), "-q"]
            zarr_args = [*big_args[:-3], "-o", str(out / "grey.zarr"), "-q"]
            big_candidates = {
                "local, threads (-j 2)": [*big_args, "-j", "2"],
                "cluster, 1 worker": [*big_args, "--scheduler", clusters[1].scheduler_address],
                "cluster, 2 workers": [*big_args, "--scheduler", clusters[2].scheduler_address],
                "to .zarr, local, threads (-j 2)": [*zarr_args, "-j", "2"],
                "to .zarr, cluster, 2 workers (they write the chunks)": [
                    *zarr_args,
                    "--scheduler",
                    clusters[2].scheduler_address,
                ],
            }
            big_results = _runs(big_candidates, out, big_repeats)
        finally:
            for cluster in clusters.values():
                cluster.close()
        start_up = _time_local_cluster_start(3 if quick else 5)
    windows = (-(-big // BIG_TILE)) ** 2
    fixed = median([w for w, _ in fixed_results["cluster, 2 workers"]]) - median(
        [w for w, _ in fixed_results["local, threads (-j 2)"]]
    )
    header = [
        "workload",
        "candidate",
        "median wall s",
        "time / local (same output)",
        "extra ms per file or window",
        "client peak RSS",
    ]
    rows = _rows(
        batch_results, files, f"{files} files of {side} x {side} RGB uint8, 3 -> 3 (a task per file)"
    )
    rows += _rows(
        big_results,
        windows,
        f"{big} x {big} RGB uint8 ({big * big / 2**30:g} Gpx), 3 -> 1, {windows} windows",
    )
    return table(header, rows) + (
        f"\n\nRuns of each candidate, alternating: {repeats} for the batch, {big_repeats} for the large "
        f"image; each a new `chanmix apply` process. Starting a LocalCluster of 2 worker processes "
        f"and connecting: median {start_up:.2f} s. The fixed cost of `--scheduler ADDRESS` in a new "
        f"process (importing distributed, connecting), one {side} x {side} file with and without it: "
        f"median {fixed:.2f} s; it is included in 'extra ms per file' above."
    )
