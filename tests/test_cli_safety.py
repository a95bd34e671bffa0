"""No run writes over a file it reads, or one file twice; a failed run changes no output."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tifffile
from PIL import Image

from helpers import error_line


@pytest.fixture
def files(tmp_path, monkeypatch):
    """An RGB PNG, an RGB TIFF, a target TIFF, a mask and matrices, in the current folder."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save("img.png")
    tifffile.imwrite("x.tif", rng.integers(0, 65536, (12, 10, 3), dtype=np.uint16), photometric="rgb")
    tifffile.imwrite("t.tif", rng.integers(0, 65536, (12, 10, 3), dtype=np.uint16), photometric="rgb")
    tifffile.imwrite("m.tif", np.ones((12, 10), np.uint8))
    np.save("mat.npy", np.eye(3))
    (tmp_path / "a.json").write_text(json.dumps({"weights": np.eye(3).tolist()}))
    return tmp_path


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def refused(result, needle: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and needle in lines[0], result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "img.png", "-p", "sepia", "-o", "out.png", "--save-matrix", "img.png"],
        ["fit", "pca", "img.png", "-k", "2", "-o", "img.png"],
        ["apply", "img.png", "-m", "mat.npy", "-o", "mat.npy"],
        ["apply", "x.tif", "--fit", "t.tif", "-o", "t.tif"],
        ["fit", "pca", "x.tif", "--mask", "m.tif", "-k", "2", "-o", "m.tif"],
        ["fit", "lstsq", "x.tif", "--target", "t.tif", "-o", "t.tif"],
        ["fit", "mnf", "x.tif", "-k", "2", "-o", "x.tif"],
        ["apply", "img.png", "-p", "sepia", "-o", "img.png"],
        ["apply", "img.png", "-p", "sepia", "-o", "./sub/../img.png"],
        ["apply", "img.png", "x.tif", "-c", "1,0,0;0,1,0;0,0,1", "-o", "{index}.tif"],  # 2.tif...
        ["matrix", "compose", "a.json", "mat.npy", "-o", "a.json"],
        ["matrix", "invert", "a.json", "-o", "a.json"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_an_output_that_the_run_reads_is_refused_before_anything_happens(run, files, args):
    (files / "sub").mkdir()
    if "{index}.tif" in args:
        os.link("x.tif", "2.tif")  # the second input's output is a hard link to it
        args = [a.replace("x.tif", "2.tif") if a == "x.tif" else a for a in args]
    before = snapshot(files)
    refused(run(*args), "this run reads that file")
    assert snapshot(files) == before


def test_symbolic_and_hard_links_to_an_input_are_the_input(run, files):
    os.symlink("img.png", "link.png")
    os.link("img.png", "hard.png")
    before = snapshot(files)
    for out in ("link.png", "hard.png"):
        refused(run("apply", "img.png", "-p", "sepia", "-o", out), "this run reads that file")
        refused(run("apply", "img.png", "-p", "sepia", "-o", "o.png", "--save-matrix", out), "--save-matrix")
    assert snapshot(files) == before


def test_two_outputs_of_one_run_may_not_be_one_file(run, files):
    before = snapshot(files)
    result = run("apply", "img.png", "-p", "sepia", "-o", "o.png", "--save-matrix", "o.png")
    refused(result, "writes that file too")
    os.symlink("o.png", "alias.json")
    refused(
        run("apply", "img.png", "-p", "sepia", "-o", "o.png", "--save-matrix", "alias.json"),
        "writes that file too",
    )
    assert snapshot(files) == before


def test_every_output_is_checked_before_any_is_written(run, files):
    result = run("apply", "img.png", "-p", "sepia", "-o", "out.png", "--save-matrix", "a.json/no/m.json")
    assert error_line(result, 1) == "Error: a.json/no/m.json: cannot write (is not a folder: a.json)"
    assert not (files / "out.png").exists()
    (files / "used.json").mkdir()
    result = run("apply", "img.png", "-p", "sepia", "-o", "out.png", "--save-matrix", "used.json")
    assert error_line(result, 1) == "Error: used.json: cannot write (is a folder)"
    assert not (files / "out.png").exists()


def test_image_and_matrix_are_committed_together(run, files, monkeypatch):
    (files / "out.png").write_bytes(b"old image")
    (files / "used.json").write_bytes(b"old matrix")
    import chanmix.pipeline

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(chanmix.pipeline, "matrix_json", broken)  # the matrix fails after the image
        result = run("apply", "img.png", "-p", "sepia", "-o", "out.png", "--save-matrix", "used.json")
    assert error_line(result, 1) == "Error: used.json: cannot write (No space left on device)"
    assert (files / "out.png").read_bytes() == b"old image"
    assert (files / "used.json").read_bytes() == b"old matrix"
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == []
    result = run("apply", "img.png", "-p", "sepia", "-o", "out.png", "--save-matrix", "used.json")
    assert result.exit_code == 0
    assert json.loads((files / "used.json").read_text())["weights"]
    with Image.open(files / "out.png") as out:
        assert out.size == (10, 12)


def test_an_output_larger_than_the_free_space_fails_before_anything_is_read(run, files, monkeypatch):
    import chanmix.io.atomic

    monkeypatch.setattr(chanmix.io.atomic, "free_space", lambda folder: 4096)
    result = run("apply", "x.tif", "-c", "1,0,0;0,1,0;0,0,1", "-o", "big.npy")
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.stderr
    assert "big.npy" in lines[0] and "the disk has 4.0 KiB free" in lines[0]
    assert not (files / "big.npy").exists() and not [p for p in files.iterdir() if p.name.startswith(".")]
