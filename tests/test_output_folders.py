"""Missing parent folders of outputs are made, for -o (templates too) as for -O, for fit -o,
--save-matrix and matrix ... -o (issue 14); a run that fails removes those it made that are
still empty; a file where a folder must be, or an output inside a folder the run reads, is
refused before anything is made."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from chanmix.errors import DataError
from chanmix.io.folders import missing_folders, output_folders
from helpers import error_line, ok, pillow_array


@pytest.fixture
def photos(tmp_path, monkeypatch):
    """Two RGB PNGs in photos/ and a damaged one in bad/, with the current folder at tmp_path."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(14)
    (tmp_path / "photos").mkdir()
    for name in ("a", "b"):
        pixels = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / "photos" / f"{name}.png")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    return tmp_path


def entries(folder) -> list[str]:
    """Every file and folder below `folder`, as sorted relative paths."""
    found = []
    for root, dirs, names in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, n), folder) for n in dirs + names]
    return sorted(found)


def test_a_template_writes_into_folders_it_makes_as_outdir_does(run, photos):
    inputs = ["photos/a.png", "photos/b.png"]
    ok(run("apply", *inputs, "-p", "sepia", "-o", "sepia/{stem}/out.png", "-q"))
    ok(run("apply", *inputs, "-p", "sepia", "-O", "by-dir/x", "-q"))
    for name in ("a", "b"):
        made = pillow_array(photos / "sepia" / name / "out.png")
        np.testing.assert_array_equal(made, pillow_array(photos / "by-dir" / "x" / f"{name}.png"))
        assert made.shape == (6, 7, 3)


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "photos/a.png", "-p", "sepia", "-o", "x.png", "--save-matrix", "new/deep/m.json"],
        ["fit", "pca", "photos/a.png", "-k", "2", "-o", "new/deep/m.json"],
        ["fit", "lstsq", "photos/a.png", "--target", "photos/b.png", "-o", "new/deep/m.json"],
        ["matrix", "compose", "preset:sepia", "preset:invert", "-o", "new/deep/m.json"],
        ["matrix", "invert", "preset:ycbcr-bt601", "-o", "new/deep/m.json"],
    ],
    ids=["save-matrix", "fit-pca", "fit-lstsq", "compose", "invert"],
)
def test_matrix_outputs_go_into_folders_made_for_them(run, photos, args):
    ok(run(*args, "-q") if args[0] in ("apply", "fit") else run(*args))
    assert "weights" in json.loads((photos / "new" / "deep" / "m.json").read_text())


@pytest.mark.parametrize(("target", "name"), [("vips", "m.mat"), ("torch", "m.npz")])
def test_matrix_export_writes_into_folders_it_makes(run, photos, target, name):
    ok(run("matrix", "export", "preset:gray-rec709", "--to", target, "-o", f"new/deep/{name}"))
    assert (photos / "new" / "deep" / name).stat().st_size > 0
    error_line(run("matrix", "export", "preset:invert", "--to", "vips", "-o", "gone/m.mat"), 2)  # a bias
    assert not (photos / "gone").exists()


def test_calibrate_writes_into_a_folder_it_makes(run, photos, samples):
    ok(run("matrix", "calibrate", samples / "landsat" / "l8_MTL.txt", "--bands", "2-4", "-o", "cal/l8.json"))
    assert len(json.loads((photos / "cal" / "l8.json").read_text())["weights"]) == 3


def test_a_failed_run_removes_the_folders_it_made(run, photos):
    before = entries(photos)
    result = run("apply", "bad/c.png", "-p", "sepia", "-o", "out/deep/c.png", "--save-matrix", "m/s.json")
    assert "bad/c.png" in error_line(result, 1)
    assert entries(photos) == before
    # a batch whose every input fails made its -O folder for nothing: removed
    result = run("apply", "bad/c.png", "bad/c.png", "-p", "sepia", "-o", "out/{index}.png")
    assert result.exit_code == 1 and entries(photos) == before
    # one of them written: the folder stays, with it
    result = run("apply", "photos/a.png", "bad/c.png", "-p", "sepia", "-O", "out/x")
    assert result.exit_code == 1
    assert entries(photos) == sorted(before + ["out", "out/x", "out/x/a.png"])


def test_a_failed_fit_makes_no_folder(run, photos):
    before = entries(photos)
    assert "bad/c.png" in error_line(run("fit", "pca", "bad/c.png", "-k", "1", "-o", "fits/p.json"), 1)
    assert entries(photos) == before


def test_a_folder_the_run_did_not_make_is_kept_when_it_fails(run, photos):
    (photos / "out").mkdir()
    run("apply", "bad/c.png", "-p", "sepia", "-o", "out/new/c.png")
    assert (photos / "out").is_dir() and not (photos / "out" / "new").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "photos/a.png", "-p", "sepia", "-o", "photos/a.png/x/y.png"],
        ["apply", "photos/a.png", "photos/b.png", "-p", "sepia", "-O", "photos/a.png/x"],
        ["apply", "photos/a.png", "-p", "sepia", "-o", "o/x.png", "--save-matrix", "photos/b.png/m.json"],
        ["fit", "pca", "photos/a.png", "-k", "2", "-o", "photos/a.png/m.json"],
        ["matrix", "invert", "preset:sepia", "-o", "photos/a.png/new/m.json"],
    ],
)
def test_a_file_where_a_folder_must_be_is_refused_before_anything_is_made(run, photos, args):
    before = entries(photos)
    line = error_line(run(*args), 1)
    assert "cannot write (is not a folder: photos/" in line and ".png)" in line
    assert entries(photos) == before


def test_a_link_to_a_file_is_not_a_folder_and_a_link_to_a_folder_is(photos):
    os.symlink("photos/a.png", "file-link")
    os.symlink("photos", "folder-link")
    os.symlink("nowhere", "dangling")
    with pytest.raises(DataError, match=r"is not a folder: file-link\)"):
        missing_folders("file-link/new/x.png")
    with pytest.raises(DataError, match=r"is not a folder: dangling\)"):
        missing_folders("dangling/x.png")
    assert missing_folders("folder-link/new/deeper/x.png") == ["folder-link/new", "folder-link/new/deeper"]
    assert missing_folders("photos/x.png") == [] and missing_folders("x.png") == []


def test_output_folders_removes_only_what_it_made_and_what_is_empty(photos):
    with pytest.raises(RuntimeError):
        with output_folders(["one/two/x.png", "one/three/y.png", "-", "photos/z.png"]) as made:
            assert made == ["one", "one/two", "one/three"]
            (photos / "one" / "three" / "kept.txt").write_text("someone's file")
            raise RuntimeError("the run failed")
    assert entries(photos / "one") == ["three", "three/kept.txt"] and (photos / "photos").is_dir()
    with output_folders(["ok/x.png"]):
        pass
    assert (photos / "ok").is_dir()


def test_an_output_inside_a_store_the_run_reads_makes_no_folder_there(run, photos):
    pytest.importorskip("zarr")
    ok(run("apply", "photos/a.png", "-c", "1,0,0;0,1,0;0,0,1", "-o", "s.zarr", "-q"))
    before = entries(photos)
    line = error_line(run("apply", "s.zarr", "-p", "sepia", "-o", "s.zarr/new/x.tif"), 2)
    assert "inside INPUT s.zarr" in line
    assert entries(photos) == before


def test_a_folder_that_cannot_be_made_is_one_line_and_the_others_made_are_removed(run, photos, monkeypatch):
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):
        if os.fspath(path).endswith("locked"):  # as a read-only folder says it, even to root
            raise PermissionError(13, "Permission denied", path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    before = entries(photos)
    line = error_line(run("apply", "photos/a.png", "-p", "sepia", "-o", "new/locked/x.png"), 1)
    assert line == "Error: new/locked: cannot create the output folder (Permission denied)"
    assert entries(photos) == before


def test_a_clash_between_two_inputs_names_the_option_used(run, photos):
    (photos / "more").mkdir()
    (photos / "more" / "a.png").write_bytes((photos / "photos" / "a.png").read_bytes())
    two = ["photos/a.png", "more/a.png"]
    line = error_line(run("apply", *two, "-p", "sepia", "-O", "out"), 2)
    assert line == (
        f"Error: -O: inputs 1 (photos/a.png) and 2 (more/a.png) would both be written to "
        f"{os.path.join('out', 'a.png')}; add -o {{index}}-{{name}} to tell them apart"
    )
    line = error_line(run("apply", *two, "-p", "sepia", "-o", "out/{stem}.png"), 2)
    assert line.startswith("Error: -o: inputs 1 (photos/a.png) and 2 (more/a.png) would both be written")
    assert line.endswith("put {index} in it to tell them apart")
    # the same input twice is a clash too; {index} tells them apart
    assert "-O: inputs 1 (photos/a.png) and 2 (photos/a.png)" in error_line(
        run("apply", "photos/a.png", "photos/a.png", "-p", "sepia", "-O", "out"), 2
    )
    ok(run("apply", *two, "-p", "sepia", "-O", "out", "-o", "{index}-{name}", "-q"))
    assert entries(photos / "out") == ["1-a.png", "2-a.png"]
