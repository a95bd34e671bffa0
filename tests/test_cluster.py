"""``--scheduler``: the command line's work on a dask.distributed cluster (LocalCluster processes).

Every output is compared byte for byte with the same run without a scheduler: batches (each
file a task on the workers), one large tiled or stripped image (its windows mixed on the
workers, written here), fits (the row bands' statistics on the workers, merged here in order).
A worker killed in the middle of a batch has its tasks run again: every output is complete
and nothing else is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402

from chanmix import cluster as cluster_module  # noqa: E402
from subprocesses import command  # noqa: E402


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of two worker processes of one thread each."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Inputs of several kinds: strips, tiles, planar, a PNG, a 16-bit image with nodata."""
    folder = tmp_path_factory.mktemp("in")
    rng = np.random.default_rng(12)
    tifffile.imwrite(
        folder / "strips.tif", rng.integers(0, 256, (301, 257, 3), dtype=np.uint8), rowsperstrip=7
    )
    tiled = rng.integers(0, 65536, (700, 530, 4), dtype=np.uint16)
    tifffile.imwrite(
        folder / "tiled.tif", tiled, tile=(128, 96), photometric="minisblack", planarconfig="contig"
    )
    planar = rng.random((3, 90, 120), dtype=np.float32)
    tifffile.imwrite(folder / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    from PIL import Image

    Image.fromarray(rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)).save(folder / "photo.png")
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_batch_on_the_cluster_equals_a_local_run(run, images, scheduler, tmp_path):
    inputs = [images / n for n in ("strips.tif", "planar.tif", "photo.png")]
    args = ("apply", *inputs, "-c", "0.2,0.3,0.5; 1,0,0", "--dtype", "uint16", "-o", "{stem}.tif")
    here = run(*args, "-O", tmp_path / "here", "-j", "2")
    there = run(*args, "-O", tmp_path / "there", "--scheduler", scheduler)
    assert here.exit_code == there.exit_code == 0, there.stderr
    assert "3 of 3 images mixed, 0 failed" in there.stderr
    assert _tree(tmp_path / "there") == _tree(tmp_path / "here")
    assert len(_tree(tmp_path / "here")) == 3


@pytest.mark.parametrize(
    "extra",
    [(), ("--rescale", "percentile", "--dtype", "uint8"), ("--tile", "none", "--compress", "deflate")],
    ids=["tiles", "percentile", "strips-deflate"],
)
@pytest.mark.parametrize("per_task", ["a task per window", "windows grouped in tasks"])
def test_one_image_mixed_by_window_on_the_cluster_equals_a_local_run(
    run, images, scheduler, tmp_path, monkeypatch, extra, per_task
):
    from chanmix import windowjobs

    if per_task == "a task per window":
        monkeypatch.setattr(windowjobs, "TASK_BYTES", 1)
    args = ("apply", images / "tiled.tif", "-c", "0.5,0.5,0,0,0; 0,0,1,-0.25,0.1", *extra)
    here = run(*args, "-o", tmp_path / "here.tif")
    there = run(*args, "-o", tmp_path / "there.tif", "--scheduler", scheduler)
    assert here.exit_code == there.exit_code == 0, there.stderr
    assert (tmp_path / "there.tif").read_bytes() == (tmp_path / "here.tif").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["here.tif", "there.tif"]


def _store(folder: Path) -> dict[str, bytes]:
    """Every file of a Zarr store (a folder tree), by its path inside it."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "source, extra",
    [("tiled.tif", ()), ("strips.tif", ("--tile", "64x128")), ("strips.tif", ("--rescale", "minmax"))],
    ids=["chunks-are-tiles", "rows-of-chunks", "minmax"],
)
def test_a_zarr_output_written_by_the_workers_equals_a_local_one(
    run, images, scheduler, tmp_path, monkeypatch, source, extra
):
    pytest.importorskip("zarr")
    from chanmix import pipeline, windowjobs

    elsewhere = []  # stores made here whose windows the workers wrote
    real = pipeline.write_zarr_store

    def spy(name, *args, **kwargs):
        elsewhere.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(pipeline, "write_zarr_store", spy)
    monkeypatch.setattr(windowjobs, "TASK_BYTES", 1)  # a task per window: both workers write chunks
    args = ("apply", images / source, "-c", "0.5,0.25,0.25,0; 0,0,1,0.1", "--bands", "1-3", *extra)
    here = run(*args, "-o", tmp_path / "here.zarr")
    there = run(*args, "-o", tmp_path / "there.zarr", "--scheduler", scheduler)
    assert here.exit_code == there.exit_code == 0, there.stderr
    assert elsewhere == [str(tmp_path / "there.zarr")]
    assert _store(tmp_path / "there.zarr") == _store(tmp_path / "here.zarr")
    assert len(_store(tmp_path / "here.zarr")) > 4
    assert sorted(os.listdir(tmp_path)) == ["here.zarr", "there.zarr"]  # no .part folder left
    back = run(
        "apply",
        tmp_path / "there.zarr",
        "-c",
        "1,0; 0,1",
        "-o",
        tmp_path / "back.tif",
        "--scheduler",
        scheduler,
    )
    assert back.exit_code == 0, back.stderr


@pytest.mark.parametrize(
    "fit",
    [
        ("pca", "-k", "3"),
        ("pca", "-k", "2", "--whiten", "--sample", "5000", "--seed", "3"),
        ("mnf", "-k", "3"),
        ("maf", "-k", "3"),
        ("maf", "-k", "2", "--sample", "20000", "--seed", "1"),
        ("ica", "-k", "2", "--sample", "5000", "--seed", "2"),
        ("lstsq", "--target", "TARGET"),
    ],
    ids=["pca", "pca-sample", "mnf", "maf", "maf-sample", "ica", "lstsq"],
)
def test_a_fit_on_the_cluster_writes_the_same_matrix(run, images, scheduler, tmp_path, monkeypatch, fit):
    from chanmix import windowjobs

    monkeypatch.setattr(windowjobs, "TASK_BYTES", 200_000)  # a few row bands to a task
    target = tmp_path / "target.tif"
    assert run("apply", images / "tiled.tif", "-c", "0.3,0.3,0.3,0.1; 1,-1,0,0", "-o", target).exit_code == 0
    fit = tuple(str(target) if a == "TARGET" else a for a in fit)
    args = ("fit", fit[0], images / "tiled.tif", *fit[1:], "-q")
    here = run(*args, "-o", tmp_path / "here.json")
    there = run(*args, "-o", tmp_path / "there.json", "--scheduler", scheduler)
    assert here.exit_code == there.exit_code == 0, there.stderr
    assert (tmp_path / "there.json").read_bytes() == (tmp_path / "here.json").read_bytes()


def test_apply_with_a_fit_and_the_scheduler_from_the_environment(
    run, images, scheduler, tmp_path, monkeypatch
):
    args = ("apply", images / "strips.tif", images / "planar.tif", "--pca", "2", "--dtype", "float32", "-q")
    here = run(*args, "-o", tmp_path / "here-{stem}.tif")
    monkeypatch.setenv("CHANMIX_SCHEDULER", scheduler)
    there = run(*args, "-o", tmp_path / "there-{stem}.tif")
    assert here.exit_code == there.exit_code == 0, there.stderr
    for stem in ("strips", "planar"):
        assert (tmp_path / f"there-{stem}.tif").read_bytes() == (tmp_path / f"here-{stem}.tif").read_bytes()


def test_a_failing_file_on_the_cluster_is_one_line_and_the_others_are_written(
    run, images, scheduler, tmp_path
):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00" + b"\xff" * 20)
    result = run(
        "apply", images / "strips.tif", bad, "-p", "sepia", "-O", tmp_path / "out", "--scheduler", scheduler
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 2
        and lines[0].startswith(f"Error: {bad}")
        and "1 of 2 images mixed, 1 failed" in lines[1]
    )
    assert os.listdir(tmp_path / "out") == ["strips.tif"]


def test_no_scheduler_there_is_one_line(run, images, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "_TIMEOUT", 1)
    result = run(
        "apply",
        images / "photo.png",
        "-p",
        "sepia",
        "-o",
        tmp_path / "x.png",
        "--scheduler",
        "tcp://127.0.0.1:9",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --scheduler: cannot reach a scheduler at tcp://127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()


def test_a_scheduler_without_workers_is_one_line(run, images, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster_module, "_TIMEOUT", 1)
    with LocalCluster(n_workers=0, processes=True, dashboard_address=":0") as empty:
        args = ("fit", "pca", images / "photo.png", "-k", "2", "-o", tmp_path / "m.json")
        result = run(*args, "--scheduler", empty.scheduler_address)
    assert result.exit_code == 1 and not (tmp_path / "m.json").exists()
    assert (
        result.stderr == f"Error: --scheduler: the scheduler at {empty.scheduler_address} has no worker "
        "(none joined within 1 s)\n"
    )


def test_without_the_dask_extra_the_scheduler_is_refused(run, images, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    result = run(
        "fit", "pca", images / "photo.png", "-k", "2", "-o", tmp_path / "m.json", "--scheduler", "local"
    )
    assert result.exit_code == 2
    assert "--scheduler needs the dask extra: pip install 'chanmix[dask]'" in result.stderr
    assert not (tmp_path / "m.json").exists()


def test_a_worker_killed_during_a_batch_leaves_complete_outputs_only(run, tmp_path):
    rng = np.random.default_rng(5)
    inputs = []
    for i in range(16):
        path = tmp_path / f"in{i:02d}.tif"
        tifffile.imwrite(path, rng.integers(0, 65536, (600, 700, 3), dtype=np.uint16), rowsperstrip=16)
        inputs.append(path)
    args = ("apply", *inputs, "-c", "0.5,0.5,0; 0,0.25,0.75", "--compress", "deflate", "-q")
    assert run(*args, "-O", tmp_path / "ref", "-j", "1").exit_code == 0
    reference = _tree(tmp_path / "ref")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        with Client(local) as client:
            pids = client.run(os.getpid)
        victim = sorted(pids.values())[0]
        out = tmp_path / "out"
        written_at_kill = []

        def kill_when_writing() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (out.exists() and len(os.listdir(out)) >= 3):
                time.sleep(0.005)
            written_at_kill.append(len(os.listdir(out)))
            os.kill(victim, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_writing)
        killer.start()
        result = run(*args, "-O", out, "--scheduler", local.scheduler_address)
        killer.join()
        with Client(local) as client:
            assert victim not in client.run(os.getpid).values()  # it was killed (the nanny made a new one)
    assert written_at_kill[0] < len(inputs) - 2  # killed with work left for it
    assert result.exit_code == 0, result.stderr
    assert _tree(out) == reference  # every output complete and correct, nothing else


def test_scheduler_local_from_the_installed_command(images, tmp_path):
    # a real process: `--scheduler local` starts worker processes that import chanmix anew
    base, env = command()
    args = ["apply", str(images / "strips.tif"), str(images / "photo.png"), "-p", "sepia", "-q"]
    here = subprocess.run(
        [*base, *args, "-O", str(tmp_path / "here")], env=env, capture_output=True, text=True
    )
    there = subprocess.run(
        [*base, *args, "-O", str(tmp_path / "there"), "--scheduler", "local", "-j", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert here.returncode == there.returncode == 0, there.stderr
    assert there.stderr == "" and _tree(tmp_path / "there") == _tree(tmp_path / "here")


def _slow_first(job: tuple[int, str]) -> int:
    """Item 0 ends only after another item has (each leaves a file in the folder), whatever
    the machine's load; the others at once."""
    item, folder = job
    if item == 0:
        deadline = time.monotonic() + 60
        while not os.listdir(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    else:
        Path(folder, str(item)).touch()
    return item


def test_unordered_results_come_as_tasks_end_and_ordered_ones_in_order(scheduler, tmp_path):
    # Zarr windows (written by the workers) are taken as they are done: a slow task holds
    # back only itself; windows the client writes come back in their order
    with Client(scheduler) as client:
        cluster = cluster_module.Cluster(client, scheduler)
        items = list(range(12))
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        unordered = list(cluster.unordered_map(_slow_first, [(i, str(tmp_path / "a")) for i in items]))
        assert sorted(unordered) == items and unordered[0] != 0
        assert list(cluster.ordered_map(_slow_first, [(i, str(tmp_path / "b")) for i in items])) == items
