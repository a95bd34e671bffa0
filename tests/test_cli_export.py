"""``chanmix matrix export``: each format run through the real tool (GDAL through rasterio,
ImageMagick, ffmpeg, libvips through pyvips) and compared with chanmix's own output; the
torch state_dict read back by chanmix. A test whose tool is absent is skipped, saying so."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chanmix import Mix, get_preset, load_matrix, matrix_json
from helpers import error_line, gdal_pixels, ok, pillow_array

pytestmark = pytest.mark.usefixtures("quiet_rasterio")

#: A 3 -> 3 mix with a bias, in normalized units, that saturates little on photographs.
BIASED = Mix([[0.5, 0.3, 0.2], [-0.1, 0.9, 0.1], [0.2, 0.1, 0.6]], [0.1, -0.05, 0.2])
#: A bias-free 3 -> 3 mix with negative weights, for ffmpeg and libvips.
PLAIN = Mix([[0.6, 0.3, 0.1], [-0.2, 0.9, 0.25], [0.1, -0.15, 0.8]])


def tool(name: str) -> str:
    """The path of a command-line peer; skips the test when it is not installed."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture
def gdal():
    """rasterio, when its GDAL computes VRTProcessedDataset (3.9 or newer); else a skip."""
    rasterio = pytest.importorskip("rasterio")
    version = tuple(int(p) for p in rasterio.__gdal_version__.split(".")[:2])
    if version < (3, 9):
        pytest.skip(f"GDAL {rasterio.__gdal_version__} has no VRTProcessedDataset (3.9 or newer)")
    return rasterio


@pytest.fixture
def matrices(tmp_path):
    """BIASED and PLAIN as JSON files."""
    paths = {}
    for name, mix in (("biased", BIASED), ("plain", PLAIN)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(matrix_json(mix))
    return paths


def chanmix_float(run, image, matrix, out):
    """chanmix's ``apply --dtype float32`` output of `image`, channels-last."""
    ok(run("apply", image, "-m", matrix, "--dtype", "float32", "-o", out))
    return gdal_pixels(out)


# --- gdal-vrt ---------------------------------------------------------------------------


def test_vrt_on_uint16_landsat_equals_chanmix_float32(run, gdal, samples, tmp_path):
    image = samples / "landsat" / "l8_stack.tif"
    vrt = tmp_path / "tc.vrt"
    ok(
        run(
            "matrix",
            "export",
            "preset:landsat8-tasseled-cap",
            "--to",
            "gdal-vrt",
            "--input",
            image,
            "-o",
            vrt,
        )
    )
    expected = chanmix_float(run, image, "preset:landsat8-tasseled-cap", tmp_path / "tc.tif")
    with gdal.open(vrt) as ds, gdal.open(image) as src, gdal.open(tmp_path / "tc.tif") as mixed:
        assert ds.dtypes == ("float32",) * 6 and ds.crs == src.crs and ds.transform == src.transform
        assert (
            ds.descriptions
            == mixed.descriptions
            == ("brightness", "greenness", "wetness", "tct4", "tct5", "tct6")
        )
        got = np.moveaxis(ds.read(), 0, -1)
    assert np.abs(got - expected).max() < 1e-5  # measured: 6e-8


def test_vrt_carries_nodata_of_rgb_byte(run, gdal, corpus, matrices, tmp_path):
    image = corpus / "rasterio" / "RGB.byte.tif"
    vrt = tmp_path / "rgb.vrt"
    ok(run("matrix", "export", matrices["biased"], "--to", "gdal-vrt", "--input", image, "-o", vrt))
    expected = chanmix_float(run, image, matrices["biased"], tmp_path / "rgb.tif")
    with gdal.open(vrt) as ds:
        assert ds.nodatavals == (0.0, 0.0, 0.0)
        got = np.moveaxis(ds.read(), 0, -1)
    raw = gdal_pixels(image)
    nodata = (raw == 0).any(axis=-1)
    assert nodata.any() and (~nodata).any()
    assert np.all(got[nodata] == 0) and np.all(expected[nodata] == 0)
    assert np.abs(got - expected).max() < 1e-5  # measured: 1.2e-7


def test_vrt_names_its_source_relative_to_itself(run, gdal, corpus, matrices, tmp_path, monkeypatch):
    tree = tmp_path / "tree"
    (tree / "data").mkdir(parents=True)
    (tree / "vrts").mkdir()
    shutil.copy(corpus / "rasterio" / "RGB.byte.tif", tree / "data" / "in.tif")
    monkeypatch.chdir(tree / "data")
    ok(
        run(
            "matrix",
            "export",
            matrices["biased"],
            "--to",
            "gdal-vrt",
            "--input",
            "in.tif",
            "-o",
            "../vrts/m.vrt",
        )
    )
    source = ET.parse(tree / "vrts" / "m.vrt").getroot().find("Input/SourceFilename")
    assert source is not None and source.text == "../data/in.tif" and source.get("relativeToVRT") == "1"
    moved = tmp_path / "moved"
    tree.rename(moved)  # the VRT and its image moved together: still read
    monkeypatch.chdir(tmp_path)
    with gdal.open(moved / "vrts" / "m.vrt") as ds:
        assert ds.read().shape == (3, 718, 791)


def test_vrt_on_stdout_names_its_source_absolutely(run, gdal, samples, tmp_path, monkeypatch):
    monkeypatch.chdir(samples)
    result = ok(
        run(
            "matrix",
            "export",
            "preset:landsat8-tasseled-cap",
            "--to",
            "gdal-vrt",
            "--input",
            "landsat/l8_stack.tif",
        )
    )
    source = ET.fromstring(result.stdout).find("Input/SourceFilename")
    assert source is not None and source.text == str(samples / "landsat" / "l8_stack.tif")
    (tmp_path / "elsewhere.vrt").write_text(result.stdout)
    with gdal.open(tmp_path / "elsewhere.vrt") as ds:
        assert ds.count == 6


def test_vrt_refusals(run, samples, tmp_path):
    image = samples / "landsat" / "l8_stack.tif"
    line = error_line(run("matrix", "export", "preset:sepia", "--to", "gdal-vrt"), 2)
    assert "--to gdal-vrt needs --input" in line
    line = error_line(run("matrix", "export", "preset:sepia", "--to", "gdal-vrt", "--input", image), 2)
    assert "3 channels" in line and "6" in line
    np.save(tmp_path / "x.npy", np.zeros((4, 4, 3), np.uint8))
    line = error_line(
        run("matrix", "export", "preset:sepia", "--to", "gdal-vrt", "--input", tmp_path / "x.npy"), 2
    )
    assert "GDAL does not read" in line


# --- imagemagick ------------------------------------------------------------------------


@pytest.mark.parametrize("matrix", ["biased", "preset:sepia"])
def test_imagemagick_matches_chanmix_uint8(run, matrices, samples, tmp_path, matrix):
    convert = tool("convert-im6.q16")
    source = matrices.get(matrix, matrix)
    image = samples / "astronaut.png"
    argument = ok(run("matrix", "export", source, "--to", "imagemagick")).stdout.strip()
    magick = tmp_path / "magick.png"
    subprocess.run([convert, image, "-color-matrix", argument, f"PNG24:{magick}"], check=True)
    ok(run("apply", image, "-m", source, "-o", tmp_path / "chanmix.png"))
    diff = np.abs(pillow_array(magick).astype(int) - pillow_array(tmp_path / "chanmix.png").astype(int))
    assert diff.max() <= 1  # measured: at most 1, 58 % (biased) and 60 % (sepia) of samples equal


# --- ffmpeg -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png"])
def test_ffmpeg_matches_chanmix_uint8(run, matrices, samples, tmp_path, name):
    ffmpeg = tool("ffmpeg")
    image = samples / name
    filter_text = ok(run("matrix", "export", matrices["plain"], "--to", "ffmpeg")).stdout.strip()
    out = tmp_path / "ffmpeg.png"
    subprocess.run(
        [ffmpeg, "-y", "-loglevel", "error", "-i", image, "-vf", filter_text, "-pix_fmt", "rgb24", out],
        check=True,
    )
    ok(run("apply", image, "-m", matrices["plain"], "-o", tmp_path / "chanmix.png"))
    diff = np.abs(pillow_array(out).astype(int) - pillow_array(tmp_path / "chanmix.png").astype(int))
    # ffmpeg mixes through integer lookup tables (peers.md): measured at most 1 on both images
    assert diff.max() <= 2 and np.mean(diff <= 1) >= 0.999


def test_ffmpeg_and_vips_refuse_a_bias(run, matrices, tmp_path):
    existing = tmp_path / "out.txt"
    existing.write_text("untouched")
    for target, why in (("ffmpeg", "colorchannelmixer has no offset"), ("vips", "recomb has no offset")):
        line = error_line(run("matrix", "export", matrices["biased"], "--to", target, "-o", existing), 2)
        assert line.startswith(f"Error: --to {target}: {why}, and this mix has a bias (0.1, -0.05, 0.2)")
    assert existing.read_text() == "untouched"
    line = error_line(run("matrix", "export", "preset:gray-rec601", "--to", "ffmpeg"), 2)
    assert "3 -> 1" in line
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"weights": [[2.5, 0, 0], [0, 1, 0], [0, 0, 1]]}))
    assert "rr is 2.5" in error_line(run("matrix", "export", big, "--to", "ffmpeg"), 2)


# --- vips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "matrix", "scale"),
    [("astronaut.png", "plain", 255), ("landsat/l8_stack.tif", "preset:landsat8-tasseled-cap", 65535)],
)
def test_vips_recomb_matches_chanmix_float(run, matrices, samples, tmp_path, image, matrix, scale):
    pyvips = pytest.importorskip("pyvips")
    source = matrices.get(matrix, matrix)
    ok(run("matrix", "export", source, "--to", "vips", "-o", tmp_path / "m.mat"))
    mixed = pyvips.Image.new_from_file(str(samples / image)).recomb(
        pyvips.Image.matrixload(str(tmp_path / "m.mat"))
    )
    expected = chanmix_float(run, samples / image, source, tmp_path / "chanmix.tif")
    # recomb has no bias, so its weights act on raw samples: divide by the type's maximum
    assert np.abs(mixed.numpy() / scale - expected).max() < 1e-6  # measured: 1.8e-7 and 9e-8


# --- torch ------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", [".npz", ".safetensors"])
def test_torch_state_dict_round_trips_exactly(run, samples, tmp_path, extension):
    if extension == ".safetensors":
        pytest.importorskip("safetensors")
    rng = np.random.default_rng(3)
    mix = Mix(rng.normal(size=(4, 3)) / 3, rng.normal(size=4) / 7)
    (tmp_path / "m.json").write_text(matrix_json(mix))
    exported = tmp_path / f"conv{extension}"
    result = ok(run("matrix", "export", tmp_path / "m.json", "--to", "torch", "-o", exported))
    assert result.stdout == ""
    back = load_matrix(exported)
    assert isinstance(back, Mix)
    assert np.array_equal(back.weights, mix.weights) and np.array_equal(back.bias, mix.bias)
    image = samples / "astronaut.png"
    ok(run("apply", image, "-m", exported, "--dtype", "float32", "-o", tmp_path / "a.tif"))
    ok(run("apply", image, "-m", tmp_path / "m.json", "--dtype", "float32", "-o", tmp_path / "b.tif"))
    assert np.array_equal(gdal_pixels(tmp_path / "a.tif"), gdal_pixels(tmp_path / "b.tif"))


def test_torch_safetensors_read_by_the_safetensors_package(run, tmp_path):
    numpy_io = pytest.importorskip("safetensors.numpy")
    ok(run("matrix", "export", "preset:sepia", "--to", "torch", "-o", tmp_path / "s.safetensors"))
    tensors = numpy_io.load_file(str(tmp_path / "s.safetensors"))
    assert tensors["weight"].shape == (3, 3, 1, 1) and tensors["bias"].shape == (3,)
    assert np.array_equal(tensors["weight"][:, :, 0, 0], load_matrix(tmp_path / "s.safetensors").weights)


def test_torch_needs_a_file_named_npz_or_safetensors(run, tmp_path):
    for extra in ([], ["-o", "-"], ["-o", tmp_path / "conv.pt"]):
        line = error_line(run("matrix", "export", "preset:sepia", "--to", "torch", *extra), 2)
        assert "give -o FILE.npz or FILE.safetensors" in line
    assert not (tmp_path / "conv.pt").exists()


# --- layers and the command's own checks -------------------------------------------------


def test_layers_with_relu_are_refused_and_linear_layers_composed(run, samples, tmp_path):
    line = error_line(run("matrix", "export", samples / "network.json", "--to", "vips"), 2)
    assert "RELU" in line and "cannot be collapsed" in line
    rng = np.random.default_rng(9)
    first, second = rng.normal(size=(5, 3)), rng.normal(size=(3, 5))
    np.savez(tmp_path / "net.npz", **{"0.weight": first, "2.weight": second})
    text = ok(run("matrix", "export", tmp_path / "net.npz", "--to", "vips")).stdout
    head, *rows = text.splitlines()
    assert head == "3 3"
    np.testing.assert_allclose([[float(v) for v in row.split()] for row in rows], second @ first, rtol=1e-12)
    line = error_line(
        run("matrix", "export", tmp_path / "net.npz", "--activation", "relu", "--to", "vips"), 2
    )
    assert "RELU" in line


def test_text_formats_go_to_a_file_atomically_or_to_stdout(run, tmp_path):
    printed = ok(run("matrix", "export", "preset:sepia", "--to", "ffmpeg")).stdout
    assert printed == ok(run("matrix", "export", "preset:sepia", "--to", "ffmpeg", "-o", "-")).stdout
    ok(run("matrix", "export", "preset:sepia", "--to", "ffmpeg", "-o", tmp_path / "f.txt"))
    assert (tmp_path / "f.txt").read_text() == printed and printed.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_the_output_may_not_be_the_matrix(run, matrices):
    line = error_line(run("matrix", "export", matrices["plain"], "--to", "vips", "-o", matrices["plain"]), 2)
    assert "-o" in line
    assert load_matrix(matrices["plain"]) == PLAIN


def test_the_readme_examples_run(samples, tmp_path):
    """README.md's "Exporting a mix to other tools" commands, run by bash with chanmix, ImageMagick
    and ffmpeg on PATH, on a copy of sample_images/; their outputs read by the tools' peers."""
    import os

    from subprocesses import environment

    for name in ("bash", "convert-im6.q16", "ffmpeg"):
        tool(name)
    text = (samples.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Exporting a mix to other tools\n") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("```\n", start)]
    shutil.copytree(samples, tmp_path / "sample_images")
    (tmp_path / "bin").mkdir()
    wrapper = tmp_path / "bin" / "chanmix"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m chanmix "$@"\n')
    wrapper.chmod(0o755)
    env = environment()
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"
    subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, env=env, check=True)
    assert all(
        (tmp_path / n).is_file() for n in ("sepia.mat", "sepia.npz", "sepia-magick.png", "sepia-ffmpeg.png")
    )
    assert np.array_equal(load_matrix(tmp_path / "sepia.npz").weights, get_preset("sepia").mix.weights)
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(tmp_path / "tasseled-cap.vrt") as ds:
        assert ds.count == 6 and ds.read().shape == (6, 128, 128)


@pytest.mark.parametrize("name", ["float_nan.tif", "float_raster_with_nodata.tif"])
def test_vrt_on_float_inputs_with_nan_or_huge_nodata(run, gdal, corpus, tmp_path, name):
    image = corpus / "rasterio" / name
    (tmp_path / "m.json").write_text(matrix_json(Mix([[2.0]], [0.25])))
    ok(
        run(
            "matrix",
            "export",
            tmp_path / "m.json",
            "--to",
            "gdal-vrt",
            "--input",
            image,
            "-o",
            tmp_path / "m.vrt",
        )
    )
    expected = chanmix_float(run, image, tmp_path / "m.json", tmp_path / "m.tif")
    with gdal.open(tmp_path / "m.vrt") as ds, gdal.open(image) as src:
        assert np.array_equal(ds.nodatavals, src.nodatavals, equal_nan=True)
        got = np.moveaxis(ds.read(), 0, -1)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(got, expected, equal_nan=True)  # float input: both compute w * x + b in float32


def test_vrt_over_an_envi_header_reads_its_data_file(run, gdal, samples, tmp_path):
    header = samples / "hyperspectral" / "cube.hdr"
    rng = np.random.default_rng(4)
    (tmp_path / "m.json").write_text(matrix_json(Mix(rng.normal(size=(3, 40)), [0.1, 0, -0.1])))
    vrt = tmp_path / "m.vrt"
    ok(run("matrix", "export", tmp_path / "m.json", "--to", "gdal-vrt", "--input", header, "-o", vrt))
    assert ET.parse(vrt).getroot().findtext("Input/SourceFilename", "").endswith("hyperspectral/cube.img")
    expected = chanmix_float(run, header, tmp_path / "m.json", tmp_path / "m.tif")
    with gdal.open(vrt) as ds:
        got = np.moveaxis(ds.read(), 0, -1)
    assert np.abs(got - expected).max() < 1e-5  # measured: 1.8e-7


def test_input_and_inputs_are_one_or_the_other(run, samples):
    image = samples / "astronaut.png"
    line = error_line(
        run("matrix", "export", "preset:sepia", "--to", "vips", "--input", image, "--inputs", "3"), 2
    )
    assert "--inputs" in line and "--input " in line


def test_input_tells_a_bias_column_in_a_text_matrix(run, samples, tmp_path):
    table = tmp_path / "m.csv"
    table.write_text("0.5,0.3,0.2,0.1\n0,1,0,0\n0,0,1,0\n")
    argument = ok(run("matrix", "export", table, "--to", "imagemagick", "--input", samples / "astronaut.png"))
    full = np.reshape([float(v) for v in argument.stdout.split()], (6, 6))
    assert full[0, 5] == 0.1 and np.array_equal(full[0, :3], [0.5, 0.3, 0.2])
    line = error_line(run("matrix", "export", table, "--to", "imagemagick"), 2)
    assert "4 -> 3" in line  # without --input, four columns are four inputs


@pytest.mark.parametrize("name", ["RGBA.uint16.tif", "alpha.tif"])
def test_vrt_passes_alpha_through_last_as_apply_does(run, gdal, corpus, matrices, tmp_path, name):
    image = corpus / "rasterio" / name
    vrt = tmp_path / "m.vrt"
    ok(run("matrix", "export", matrices["biased"], "--to", "gdal-vrt", "--input", image, "-o", vrt))
    expected = chanmix_float(run, image, matrices["biased"], tmp_path / "m.tif")
    with gdal.open(vrt) as ds:
        assert ds.count == 4 and ds.colorinterp[3] == gdal.enums.ColorInterp.alpha
        got = np.moveaxis(ds.read(), 0, -1)
    assert np.abs(got - expected).max() < 1e-5  # measured: 3e-8 (uint16) and 1.2e-7 (uint8)


def test_torch_safetensors_without_the_package(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    out = tmp_path / "s.safetensors"
    line = error_line(run("matrix", "export", "preset:sepia", "--to", "torch", "-o", out), 2)
    assert "needs the safetensors package (pip install safetensors)" in line
    assert list(tmp_path.iterdir()) == []


def test_vrt_of_a_calibration_on_a_real_landsat_band(run, gdal, corpus, tmp_path):
    """A real uint16 OLI band and its MTL file: TOA reflectance (weights near 65535 * 2e-5,
    a negative bias) computed by GDAL from the VRT as by apply."""
    band = corpus / "landsat8" / "l8_B4.tif"
    cal = tmp_path / "cal.json"
    ok(run("matrix", "calibrate", corpus / "landsat8" / "l8_MTL.txt", "--bands", "4", "-o", cal))
    ok(run("matrix", "export", cal, "--to", "gdal-vrt", "--input", band, "-o", tmp_path / "toa.vrt"))
    expected = chanmix_float(run, band, cal, tmp_path / "toa.tif")
    with gdal.open(tmp_path / "toa.vrt") as ds:
        got = np.moveaxis(ds.read(), 0, -1)
    assert 0.01 < expected.min() and expected.max() < 0.5
    assert np.abs(got - expected).max() < 1e-5  # measured: 3e-8
