"""``-m preset:NAME``: presets and matrix files chained in the order given, wherever a matrix
file is named (apply -m, matrix show|compose|invert)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from chanmix import get_preset, load_matrix
from helpers import error_line, ok

RGB = np.random.default_rng(7).integers(0, 256, size=(6, 5, 3), dtype=np.uint8)


@pytest.fixture
def rgb(tmp_path):
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, RGB, photometric="rgb")
    return path


def test_a_preset_through_m_is_the_preset_through_p(run, rgb, tmp_path):
    ok(run("apply", rgb, "-m", "preset:sepia", "-o", tmp_path / "m.tif"))
    ok(run("apply", rgb, "-p", "sepia", "-o", tmp_path / "p.tif"))
    assert np.array_equal(tifffile.imread(tmp_path / "m.tif"), tifffile.imread(tmp_path / "p.tif"))


def test_files_and_presets_compose_in_the_order_given(run, rgb, tmp_path):
    half = {"weights": [[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]], "bias": [0.25, 0, 0]}
    (tmp_path / "half.json").write_text(json.dumps(half))
    used = tmp_path / "used.json"
    args = ["-m", tmp_path / "half.json", "-m", "preset:swap-rb", "-m", "preset:gray-rec709"]
    ok(run("apply", rgb, *args, "--dtype", "float64", "-o", tmp_path / "o.tif", "--save-matrix", used))
    x = RGB.reshape(-1, 3) / 255
    halved = x @ np.array(half["weights"]).T + half["bias"]
    swapped = halved[:, ::-1]
    grey = swapped @ np.array([0.2126, 0.7152, 0.0722])
    np.testing.assert_allclose(tifffile.imread(tmp_path / "o.tif").reshape(-1), grey, atol=1e-6)
    mix = load_matrix(used)
    assert mix.weights.shape == (1, 3) and mix.names == ("Y",)  # one composed mix


def test_an_unknown_preset_gets_the_hint_p_gives(run, rgb, tmp_path):
    out = tmp_path / "o.tif"
    hint = "Error: unknown preset 'sepa'; did you mean 'sepia'? (see 'chanmix presets')"
    assert error_line(run("apply", rgb, "-m", "preset:sepa", "-o", out), 2) == hint
    assert error_line(run("apply", rgb, "-p", "sepa", "-o", out), 2) == hint
    assert error_line(run("matrix", "show", "preset:sepa"), 2) == hint
    assert not out.exists()


def test_presets_that_do_not_chain(run, rgb, tmp_path):
    message = error_line(
        run("apply", rgb, "-m", "preset:gray-rec709", "-m", "preset:sepia", "-o", tmp_path / "o.tif"), 2
    )
    assert message == "Error: preset:sepia: the matrix reads 3 channels; the input has 1"


def test_the_prefix_wins_over_a_file_of_that_name(run, rgb, tmp_path, monkeypatch):
    """A file called ``preset:sepia`` in the current folder is ``./preset:sepia``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "preset:sepia").write_text("0 0 1\n0 1 0\n1 0 0\n")  # not a .json, .csv...: unread
    ok(run("apply", rgb, "-m", "preset:sepia", "-o", "p.tif"))
    ok(run("apply", rgb, "-p", "sepia", "-o", "sepia.tif"))
    assert np.array_equal(tifffile.imread("p.tif"), tifffile.imread("sepia.tif"))
    (tmp_path / "preset:swap.csv").write_text("0,0,1\n0,1,0\n1,0,0\n")
    assert "unknown preset 'swap.csv'" in error_line(
        run("apply", rgb, "-m", "preset:swap.csv", "-o", "x.tif"), 2
    )
    ok(run("apply", rgb, "-m", "./preset:swap.csv", "-o", "f.tif"))
    assert np.array_equal(tifffile.imread("f.tif"), RGB[:, :, ::-1])


def test_a_preset_is_not_a_file_the_run_reads(run, rgb, tmp_path, monkeypatch):
    """The output may be a file called like the preset: the preset is not read from it."""
    monkeypatch.chdir(tmp_path)
    ok(run("matrix", "compose", "preset:swap-rb", "preset:swap-rb", "-o", "preset:swap-rb"))
    assert json.loads((tmp_path / "preset:swap-rb").read_text())["weights"] == np.eye(3).tolist()


def test_matrix_show_compose_invert_take_presets(run, tmp_path):
    shown = ok(run("matrix", "show", "preset:ycbcr-bt601")).output.splitlines()
    assert shown[:2] == ["preset:ycbcr-bt601: 3 inputs -> 3 outputs", "  name: ycbcr-bt601"]
    assert shown[-3].split()[0] == "Y"

    ok(
        run(
            "matrix",
            "compose",
            "preset:ycbcr-bt601",
            "preset:rgb-from-ycbcr-bt601",
            "-o",
            tmp_path / "id.json",
        )
    )
    identity = load_matrix(tmp_path / "id.json")
    np.testing.assert_allclose(identity.weights, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(identity.bias, 0, atol=1e-12)

    ok(run("matrix", "invert", "preset:ycbcr-bt601", "-o", tmp_path / "inv.json"))
    inverse, published = load_matrix(tmp_path / "inv.json"), get_preset("rgb-from-ycbcr-bt601").mix
    np.testing.assert_allclose(inverse.weights, published.weights, atol=1e-12)
    np.testing.assert_allclose(inverse.bias, published.bias, atol=1e-12)
