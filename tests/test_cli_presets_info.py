"""``chanmix presets``, ``chanmix info``, ``--version``, and a few runs of the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

import chanmix
import subprocesses
from chanmix import PRESETS
from helpers import ok, pillow_array


def test_version(run):
    result = run("--version")
    assert result.exit_code == 0 and chanmix.__version__ in result.output


def test_presets_lists_every_preset_with_its_source(run):
    result = run("presets")
    assert result.exit_code == 0
    unwrapped = " ".join(result.output.split())  # source lines are wrapped to the terminal
    for name, preset in PRESETS.items():
        assert name in result.output
        assert " ".join(preset.source.split()) in unwrapped


def test_preset_json_is_a_matrix_file(run, tmp_path):
    result = run("presets", "ycbcr-bt601", "--json")
    assert result.exit_code == 0
    (tmp_path / "p.json").write_text(result.output)
    assert chanmix.load_matrix(tmp_path / "p.json") == PRESETS["ycbcr-bt601"].mix
    data = json.loads(result.output)
    assert data["name"] == "ycbcr-bt601" and "source" in data


def test_preset_show(run):
    result = run("presets", "xyz-d65")
    assert result.exit_code == 0
    assert "linear light" in result.output and "0.4124" in result.output


def test_presets_json_listing(run):
    listing = json.loads(ok(run("presets", "--json")).output)
    assert [p["name"] for p in listing] == list(PRESETS)


def test_unknown_preset(run):
    result = run("presets", "gray")
    assert result.exit_code == 2 and "unknown preset 'gray'" in result.stderr


def test_info_on_the_multispectral_sample(run, samples):
    result = run("info", samples / "multispectral.tif", "--json")
    assert result.exit_code == 0
    d = json.loads(result.output)
    cube = tifffile.imread(samples / "multispectral.tif")
    assert (d["width"], d["height"], d["bands"], d["dtype"]) == (256, 192, 8, "uint16")
    assert d["layout"] == "interleaved"
    for b, s in enumerate(d["band_stats"]):
        band = cube[:, :, b].astype(np.float64)
        assert s["min"] == band.min() and s["max"] == band.max()
        assert s["mean"] == pytest.approx(band.mean(), rel=1e-12)
        assert s["std"] == pytest.approx(band.std(), rel=1e-9)
    text = ok(run("info", samples / "multispectral.tif")).output
    assert "256 x 192 pixels, 8 bands, uint16" in text


def test_info_reports_georeferencing_and_nodata(run, corpus):
    rasterio = pytest.importorskip("rasterio")
    path = corpus / "rasterio" / "RGB.byte.tif"
    d = json.loads(ok(run("info", path, "--json")).output)
    with rasterio.open(path) as src:
        assert d["crs"] == src.crs.to_string()
        np.testing.assert_allclose(d["transform"], list(src.transform)[:6])
        assert d["nodata"] == src.nodata
        pixels = src.read(1)
    valid = pixels[pixels != 0]
    assert d["band_stats"][0]["valid"] == valid.size
    assert d["band_stats"][0]["mean"] == pytest.approx(valid.mean())


def test_info_json_lines_for_several_inputs(run, samples):
    result = ok(run("info", samples / "astronaut.png", samples / "coffee.png", "--json"))
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["format"] for r in rows] == ["PNG", "PNG"]
    assert [(r["width"], r["height"]) for r in rows] == [(512, 512), (600, 400)]


def _installed_script() -> Path:
    script = Path(sys.executable).parent / "chanmix"
    if not script.exists():
        found = shutil.which("chanmix")
        if found is None:
            pytest.skip("the chanmix console script is not installed in this environment")
        script = Path(found)
    return script


def test_installed_script_end_to_end(samples, tmp_path):
    script = _installed_script()
    out = tmp_path / "g.png"
    done = subprocess.run(
        [script, "apply", samples / "astronaut.png", "-p", "gray-rec601", "-o", out],
        env=subprocesses.environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    ours = pillow_array(out).astype(int)
    pillow = pillow_array(samples / "astronaut.png", "L").astype(int)
    assert np.abs(ours - pillow).max() <= 1


def test_installed_script_errors(tmp_path):
    script = _installed_script()
    args = [script, "apply", tmp_path / "missing.tif", "-p", "sepia", "-o", tmp_path / "o.tif"]
    env = subprocesses.environment()
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "missing.tif" in done.stderr
    done = subprocess.run([script, "presets", "nope"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "nope" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command", [[], ["apply"], ["presets"], ["info"], ["matrix"], ["matrix", "calibrate"], ["sheet"]]
)
def test_help_examples_on_the_sample_images_run(run, samples, tmp_path, monkeypatch, command):
    """Each example naming a sample image runs, in order, in an empty folder (where an
    example may read what an earlier one wrote: ``-m cal.json``), its wildcards expanded as a
    shell does."""
    import glob
    import importlib.util
    import shlex

    monkeypatch.chdir(tmp_path)
    text = ok(run(*command, "--help")).output.replace("\\\n", " ")
    examples = [
        line.strip()
        for line in text.splitlines()
        if line.strip().startswith("chanmix ") and "sample_images/" in line
    ]
    assert examples  # every command's help shows one on the sample images
    for example in examples:
        words = shlex.split(example.replace("sample_images/", f"{samples}/"))[1:]
        args = [path for word in words for path in (sorted(glob.glob(word)) if "*" in word else [word])]
        if "-o" in args:
            args[args.index("-o") + 1] = str(tmp_path / Path(args[args.index("-o") + 1]).name)
        if any(a.endswith(".zarr") for a in args) and importlib.util.find_spec("zarr") is None:
            continue  # Zarr stores need the dask extra, absent here
        result = run(*args)
        assert result.exit_code == 0, (example, result.output)


@pytest.mark.parametrize("args", [["--help"], ["presets"], ["--version"]])
def test_quick_commands_do_not_load_numpy(args):
    """Start-up stays fast: listing and help never import NumPy (measured in bench/)."""
    code = (
        "import sys\nfrom chanmix.cli.main import cli\n"
        f"try:\n    cli({args!r})\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('numpy loaded' if 'numpy' in sys.modules else 'numpy not loaded', file=sys.stderr)"
    )
    env = subprocesses.environment()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.stderr.strip().endswith("numpy not loaded"), done.stderr


def test_tiff_to_tiff_loads_neither_pillow_nor_the_pipe_helpers(tmp_path):
    """A TIFF in, a TIFF out: Pillow (about 10 ms), what pipes need and zipfile stay unloaded.
    (difflib is not in the list: click imports it whenever a short option is parsed.)"""
    tifffile.imwrite(tmp_path / "in.tif", np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    args = ["apply", str(tmp_path / "in.tif"), "-p", "swap-rb", "-o", str(tmp_path / "out.tif")]
    code = (
        "import sys\nfrom chanmix.cli.main import cli\n"
        f"try:\n    cli({args!r})\nexcept SystemExit:\n    pass\n"
        "lazy = ('PIL', 'tempfile', 'zipfile')\n"
        "print(sorted(m for m in lazy if m in sys.modules), file=sys.stderr)"
    )
    env = subprocesses.environment()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert (tmp_path / "out.tif").exists(), done.stderr
    assert done.stderr.strip().endswith("[]"), done.stderr


def test_info_says_which_images_are_read_by_blocks(run, samples):
    rows = [
        json.loads(ok(run("info", samples / name, "--json")).output)
        for name in ("multispectral.tif", "coffee.png")
    ]
    assert [r["streamed"] for r in rows] == [True, False]
    assert "by blocks" in ok(run("info", samples / "multispectral.tif")).output
    assert "whole image at once" in ok(run("info", samples / "coffee.png")).output
