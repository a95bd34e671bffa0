"""Batch runs, stdin/stdout pipelines and the README's Makefile."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from chanmix import Mix, apply
from subprocesses import Pause, command, writing_into

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def photos(samples, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        shutil.copy(samples / ("astronaut.png" if i % 2 else "coffee.png"), folder / f"p{i}.png")
    return sorted(folder.iterdir())


def test_parallel_files_give_the_same_bytes(run, photos, tmp_path):
    for jobs in (1, 3):
        result = run("apply", *photos, "-p", "sepia", "-O", tmp_path / f"j{jobs}", "-j", jobs)
        assert result.exit_code == 0 and "5 of 5 images mixed, 0 failed" in result.stderr
        assert "\r" not in result.stderr  # no progress line outside a terminal
    for photo in photos:
        assert (tmp_path / "j1" / photo.name).read_bytes() == (tmp_path / "j3" / photo.name).read_bytes()


def test_skip_existing_and_newer(run, photos, tmp_path):
    out = tmp_path / "out"
    assert run("apply", *photos, "-p", "invert", "-O", out).exit_code == 0
    (out / "p0.png").write_bytes(b"kept")
    result = run("apply", *photos, "-p", "invert", "-O", out, "--skip-existing")
    assert "0 of 5 images mixed, 5 skipped, 0 failed" in result.stderr
    assert (out / "p0.png").read_bytes() == b"kept"
    old = time.time() - 1000
    os.utime(out / "p1.png", (old, old))  # older than its input: remade
    result = run("apply", *photos, "-p", "invert", "-O", out, "--newer")
    assert "1 of 5 images mixed, 4 skipped, 0 failed" in result.stderr
    assert (out / "p0.png").read_bytes() == b"kept" and os.path.getmtime(out / "p1.png") > old


def test_stdin_to_stdout_equals_a_file_run(run, samples, tmp_path):
    assert (
        run("apply", samples / "astronaut.png", "-p", "gray-rec709", "-o", tmp_path / "f.png").exit_code == 0
    )
    data = (samples / "astronaut.png").read_bytes()
    result = run("apply", "-", "-p", "gray-rec709", "-o", "-", "--format", "png", input=data)
    assert result.exit_code == 0
    assert result.stdout_bytes == (tmp_path / "f.png").read_bytes()
    tiff = run("apply", samples / "multispectral.tif", "-c", "1,0,0,0,0,0,0,0", "-o", "-", "--format", "tif")
    assert tifffile.imread(io.BytesIO(tiff.stdout_bytes)).shape == (192, 256)


def test_pipe_through_real_processes(samples, tmp_path):
    base, env = command()
    with open(samples / "astronaut.png", "rb") as source:
        piped = subprocess.run(
            [*base, "apply", "-", "-p", "sepia", "-o", "-", "--format", "png"],
            stdin=source,
            capture_output=True,
            env=env,
            timeout=120,
        )
    assert piped.returncode == 0, piped.stderr
    subprocess.run(
        [*base, "apply", samples / "astronaut.png", "-p", "sepia", "-o", tmp_path / "f.png"],
        check=True,
        env=env,
        timeout=120,
    )
    assert piped.stdout == (tmp_path / "f.png").read_bytes()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-o", "-"], "--format"),
        (["-o", "-", "--format", "png", "{extra}"], "one INPUT"),
        (["-o", "{out}", "--format", "png"], "--format is for -o -"),
        (["-o", "-", "--format", "jpg", "--dtype", "uint16"], "JPEG"),
    ],
)
def test_pipe_errors_write_nothing_to_stdout(run, samples, tmp_path, args, needle):
    args = [
        a.replace("{extra}", str(samples / "coffee.png")).replace("{out}", str(tmp_path / "o.png"))
        for a in args
    ]
    if str(samples / "coffee.png") in args:
        args.remove(str(samples / "coffee.png"))
        inputs = [samples / "astronaut.png", samples / "coffee.png"]
    else:
        inputs = [samples / "astronaut.png"]
    result = run("apply", *inputs, "-p", "sepia", *args)
    assert result.exit_code == 2 and needle in result.stderr
    assert result.stdout_bytes == b""


def makefile_from_readme() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```make\n(.*?)```", text, re.S)
    assert found, "README.md has a ```make example"
    return found.group(1)


WEIGHTS = [[0.5, 0.5, 0], [0, 1, 0], [0, 0.2, 0.8]]


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_the_readme_makefile_builds_once_and_recovers_from_a_killed_run(samples, tmp_path):
    (tmp_path / "Makefile").write_text(makefile_from_readme())
    (tmp_path / "matrix.json").write_text(json.dumps({"weights": WEIGHTS}))
    raw, mixed = tmp_path / "raw", tmp_path / "mixed"
    raw.mkdir()
    rng = np.random.default_rng(0)
    sources = {name: rng.integers(0, 65536, (64, 80, 3), dtype=np.uint16) for name in ("a", "b", "c")}
    sources["big"] = rng.integers(0, 65536, (600, 800, 3), dtype=np.uint16)
    for name, image in sources.items():
        tifffile.imwrite(raw / f"{name}.tif", image, photometric="rgb")

    # an interrupted build: make and chanmix killed while chanmix writes mixed/big.tif (held
    # there by the test's pause, after it wrote the first rows); the others may be done or not
    with Pause(tmp_path / "pause", "big.tif") as pause:
        base, env = command(pause)
        started = subprocess.Popen(
            ["make", "-j2", f"CHANMIX={' '.join(base)}"],
            cwd=tmp_path,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            writer = pause.wait(started)
            assert writing_into(mixed, writer)  # its temporary file is open, unnamed
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(started.pid, signal.SIGKILL)
            started.wait()
    left = {p.name: p.read_bytes() for p in mixed.iterdir()}
    assert "big.tif" not in left  # never a partial output, nor a temporary file
    assert set(left) <= {"a.tif", "b.tif", "c.tif"}, sorted(left)

    base, env = command()
    make = ["make", "-j2", f"CHANMIX={' '.join(base)}"]
    first = subprocess.run(make, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    outputs = sorted(p.name for p in mixed.iterdir())
    assert outputs == ["a.tif", "b.tif", "big.tif", "c.tif"]
    # big.tif is made; the complete outputs of the killed run are kept (a subset: a killed
    # process may finish the call that names its complete output after the listing above)
    remade = set(re.findall(r"-o mixed/(\w+\.tif)", first.stdout))
    assert "big.tif" in remade and remade <= set(outputs) - set(left), first.stdout
    weights = np.array(WEIGHTS)
    for name, source in sources.items():
        output = tifffile.imread(mixed / f"{name}.tif")
        if f"{name}.tif" in left:
            assert (mixed / f"{name}.tif").read_bytes() == left[f"{name}.tif"]
        # every band: the library's bytes, and within a step of the float64 mix
        np.testing.assert_array_equal(output, apply(source, Mix(weights)))
        exact = np.clip(np.rint(source.astype(np.float64) @ weights.T), 0, 65535)
        assert output.dtype == np.uint16 and np.abs(output - exact).max() <= 1
        np.testing.assert_array_equal(output[..., 1], source[..., 1])
    second = subprocess.run(make, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "apply" not in second.stdout  # nothing to do
