"""A run of apply ends with one summary line on stderr, for one input as for several (issue
14); -q hides it; stdout holds nothing but the image of ``-o -``; README and --help say so."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import subprocesses
from helpers import ok, pillow_array

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def photo(tmp_path, monkeypatch):
    """An RGB PNG, photo.png, in the current folder (tmp_path)."""
    monkeypatch.chdir(tmp_path)
    pixels = np.random.default_rng(3).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    return tmp_path / "photo.png"


def test_one_input_says_where_it_went_on_stderr_only(run, photo):
    result = ok(run("apply", "photo.png", "-p", "sepia", "-o", "sepia/photo.png"))
    assert (result.stdout, result.stderr) == ("", "1 image mixed: photo.png -> sepia/photo.png\n")
    assert pillow_array("sepia/photo.png").shape == (5, 6, 3)


def test_quiet_says_nothing(run, photo):
    result = ok(run("apply", "photo.png", "-p", "sepia", "-o", "q.png", "-q"))
    assert (result.stdout, result.stderr) == ("", "")


def test_a_skipped_input_says_why(run, photo):
    ok(run("apply", "photo.png", "-p", "sepia", "-o", "s.png", "-q"))
    result = ok(run("apply", "photo.png", "-p", "sepia", "-o", "s.png", "--skip-existing"))
    assert result.stderr == "1 image skipped: s.png exists\n"
    result = ok(run("apply", "photo.png", "-p", "sepia", "-o", "s.png", "--newer"))
    assert result.stderr == "1 image skipped: s.png is newer than its input\n"
    os.utime("s.png", (0, 0))  # older than its input: mixed again
    result = ok(run("apply", "photo.png", "-p", "sepia", "-o", "s.png", "--newer"))
    assert result.stderr == "1 image mixed: photo.png -> s.png\n"


def test_stacked_files_are_counted(run, photo):
    for band in range(3):
        Image.fromarray(pillow_array(photo)[..., band]).save(f"b{band}.png")
    result = ok(run("apply", "--stack", "b0.png", "b1.png", "b2.png", "-c", "1,0,0", "-o", "r.png"))
    assert result.stderr == "1 image mixed: 3 stacked files -> r.png\n"
    np.testing.assert_array_equal(pillow_array("r.png"), pillow_array(photo)[..., 0])


def test_several_inputs_are_counted_as_before(run, photo):
    result = ok(run("apply", "photo.png", "photo.png", "-p", "sepia", "-o", "out/{index}.png"))
    assert result.stderr == "2 of 2 images mixed, 0 failed\n"


def test_stdout_holds_only_the_image_and_stderr_names_the_pipes(photo):
    """A real process, so that stdout and stderr are the process's own descriptors."""
    env = subprocesses.environment()
    args = [sys.executable, "-m", "chanmix", "apply", "-", "-p", "sepia", "-o", "-", "--format", "png"]
    done = subprocess.run(args, input=photo.read_bytes(), capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode() == "1 image mixed: stdin -> stdout\n"
    ok_file = subprocess.run(
        [*args[:4], str(photo), *args[5:8], "file.png"], capture_output=True, env=env, timeout=60
    )
    assert ok_file.returncode == 0, ok_file.stderr
    assert done.stdout == Path("file.png").read_bytes()  # the bytes a file holds, and nothing more
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(done.stdout))), pillow_array("file.png"))


def test_a_failed_run_has_no_summary(run, photo):
    Path("bad.png").write_bytes(b"not a png")
    result = run("apply", "bad.png", "-p", "sepia", "-o", "x.png")
    assert result.exit_code == 1 and result.stderr.startswith("Error: bad.png")
    assert "mixed" not in result.stderr


def test_help_and_readme_say_the_same(run):
    help_text = " ".join(ok(run("apply", "--help")).output.split())
    assert 'A run ends with one summary line on stderr: "1 image mixed: IN -> OUT" for one input' in help_text
    assert "-q hides it" in help_text
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "A run that succeeds ends with a summary line on stderr (stdout stays clean for `-o -`)" in readme
    assert "`1 image mixed: photo.jpg -> sepia/photo.png`" in readme
    assert "| `-q/--quiet` | no progress bar or summary line on stderr" in readme
