"""``chanmix apply`` and ``chanmix matrix`` with layers of 1x1 convolutions."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chanmix
from chanmix import Mix
from chanmix.layers import Layers
from helpers import error_line, ok
from test_layers import network, reference, write_network


@pytest.fixture
def net_files(tmp_path):
    steps = network(np.random.default_rng(21), [3, 6, 4, 3])
    return steps, write_network(tmp_path, steps)


def test_json_npz_safetensors_and_jobs_give_identical_bytes(run, corpus, tmp_path, net_files):
    rasterio = pytest.importorskip("rasterio")
    steps, paths = net_files
    src_path = corpus / "rasterio" / "RGB.byte.tif"
    outputs = []
    for i, path in enumerate(paths):
        for jobs in ("1", "2"):
            out = tmp_path / f"out{i}-{jobs}.tif"
            ok(run("apply", src_path, "-m", path, "--activation", "relu", "-j", jobs, "-o", out))
            outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    with rasterio.open(src_path) as src, rasterio.open(tmp_path / "out0-1.tif") as dst:
        assert dst.crs == src.crs and dst.transform == src.transform
        assert dst.nodata == src.nodata == 0
        original, mixed = src.read().transpose(1, 2, 0), dst.read().transpose(1, 2, 0)
    collar = (original == 0).any(axis=2)
    assert np.all(mixed[collar] == 0)
    want = reference(original[~collar], steps, np.uint8)
    assert np.abs(mixed[~collar].astype(int) - want).max() <= 1


def test_a_stack_without_activation_is_one_mix(run, tmp_path, net_files):
    steps, paths = net_files
    out = tmp_path / "linear.json"
    ok(run("matrix", "compose", paths[1], "-o", out))
    linear = Mix(np.eye(3))
    for mix, _ in steps:
        linear = linear.then(mix)
    np.testing.assert_allclose(json.loads(out.read_text())["weights"], linear.weights, rtol=1e-12)


def test_matrix_show_prints_the_layers(run, net_files):
    _, paths = net_files
    result = ok(run("matrix", "show", paths[1], "--activation", "relu"))
    assert "3 inputs -> 3 outputs, 3 layers" in result.output
    assert "layer 2: 6 -> 4, activation relu" in result.output
    assert "layer 3: 4 -> 3, activation none" in result.output


def test_matrix_compose_refuses_a_nonlinearity(run, tmp_path, net_files):
    _, paths = net_files
    line = error_line(run("matrix", "compose", paths[0], "-o", tmp_path / "x.json"), 2)
    assert "layer 1 is followed by a RELU" in line and "cannot be collapsed" in line
    assert not (tmp_path / "x.json").exists()
    line = error_line(run("matrix", "invert", paths[0], "-o", tmp_path / "x.json"), 2)
    assert "invert: layer 1" in line


def test_layers_compose_with_plain_matrices(run, tmp_path, net_files):
    steps, paths = net_files
    image = np.random.default_rng(1).random((6, 7, 3)).astype(np.float32)
    np.save(tmp_path / "in.npy", image)
    (tmp_path / "pre.csv").write_text("1,0,0\n0,0.5,0\n0,0,1\n")
    out = tmp_path / "out.npy"
    saved = tmp_path / "saved.json"
    ok(
        run(
            "apply",
            tmp_path / "in.npy",
            "-m",
            tmp_path / "pre.csv",
            "-m",
            paths[0],
            "-m",
            "preset:gray-rec601",
            "-o",
            out,
            "--save-matrix",
            saved,
        )
    )
    result = np.load(out)
    want_steps = [(Mix(np.diag([1, 0.5, 1])), "none"), *steps, (Mix([[0.299, 0.587, 0.114]]), "none")]
    np.testing.assert_allclose(result, reference(image, want_steps, np.float32), rtol=1e-4, atol=1e-5)
    assert "layers" in json.loads(saved.read_text())


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"layers": [{"weights": [[1, 2, 3]]}, {"weights": [[1, 2]]}]}', "layer 2 reads 2 channels"),
        (b'{"layers": [{"weights": [[1, 2, 3]], "activation": "sigmoid"}]}', "unknown activation"),
        (b'{"layers": [{"weights": [[1, NaN, 3]]}]}', "NaN or infinite"),
    ],
)
def test_hostile_layer_files_one_line_exit_2(run, samples, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    line = error_line(run("apply", samples / "astronaut.png", "-m", path, "-o", tmp_path / "o.png"), 2)
    assert message in line and str(path) in line
    assert not (tmp_path / "o.png").exists()


def test_hostile_safetensors_one_line_exit_2(run, samples, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes((1 << 40).to_bytes(8, "little") + b"{}")
    line = error_line(run("apply", samples / "astronaut.png", "-m", path, "-o", tmp_path / "o.png"), 2)
    assert "a header of" in line


def test_the_sample_network(run, samples, tmp_path):
    out = tmp_path / "scores.tif"
    ok(
        run(
            "apply",
            samples / "multispectral.tif",
            "-m",
            samples / "network.json",
            "--dtype",
            "uint8",
            "-o",
            out,
        )
    )
    result = ok(run("matrix", "show", samples / "network.json"))
    assert "layer 1: 8 -> 3, activation relu" in result.output


def test_the_sample_network_is_what_its_script_writes(samples, tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, samples / "make_network.py", tmp_path / "n.json"], check=True)
    assert (tmp_path / "n.json").read_bytes() == (samples / "network.json").read_bytes()


@pytest.mark.parametrize("extra", [[], ["--argmax"], ["--rescale", "percentile", "--nodata", "0"]])
def test_streamed_in_row_bands_on_threads_equals_the_in_memory_result(run, tmp_path, monkeypatch, extra):
    import tifffile

    from chanmix import pipeline

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 65536, size=(151, 103, 3), dtype=np.uint16)
    pixels[7, 9, 1] = 0
    tifffile.imwrite(
        tmp_path / "in.tif", pixels, photometric="minisblack", planarconfig="contig", rowsperstrip=16
    )
    steps = network(rng, [3, 9, 4])
    (tmp_path / "net.json").write_text(json.dumps(Layers(steps).to_dict()))
    outputs = []
    for jobs, band_bytes in [(1, 1 << 24), (2, 5000), (3, 12345)]:
        monkeypatch.setattr(pipeline, "BAND_BYTES", band_bytes)
        out = tmp_path / f"out-{jobs}-{band_bytes}.tif"
        ok(run("apply", tmp_path / "in.tif", "-m", tmp_path / "net.json", "-j", jobs, *extra, "-o", out))
        outputs.append(out.read_bytes())
    assert all(o == outputs[0] for o in outputs)
    options = {"argmax": "--argmax" in extra}
    if "--nodata" in extra:
        options.update(rescale=chanmix.Rescale("percentile"), nodata=0)
    want = chanmix.apply(pixels, Layers(steps), **options)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out-2-5000.tif").reshape(want.shape), want)
