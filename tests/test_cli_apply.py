"""``chanmix apply`` through Click's CliRunner, outputs re-read with independent readers."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from chanmix import get_preset
from helpers import pillow_array


@pytest.fixture(scope="module")
def photo(samples) -> np.ndarray:
    return pillow_array(samples / "astronaut.png")


def contract_uint8(image: np.ndarray, weights, bias=None) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    bias = np.zeros(weights.shape[0]) if bias is None else np.asarray(bias)
    ref = image.astype(np.float64) @ weights.T + bias * 255
    return np.clip(np.rint(ref), 0, 255)


def test_sepia_on_a_photograph(run, samples, photo, tmp_path):
    out = tmp_path / "sepia.png"
    result = run("apply", samples / "astronaut.png", "-p", "sepia", "-o", out)
    assert result.exit_code == 0, result.output
    got = pillow_array(out)
    w = get_preset("sepia").mix.weights
    assert got.shape == photo.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - contract_uint8(photo, w)).max() <= 1
    theirs = cv2.transform(photo, w)
    assert np.abs(got.astype(int) - theirs.astype(int)).max() <= 1


def test_rec601_grey_matches_pillow(run, samples, photo, tmp_path):
    out = tmp_path / "grey.png"
    assert run("apply", samples / "astronaut.png", "-p", "gray-rec601", "-o", out).exit_code == 0
    ours = pillow_array(out)
    pillow = pillow_array(samples / "astronaut.png", "L")
    assert ours.shape == pillow.shape
    assert np.abs(ours.astype(int) - pillow.astype(int)).max() <= 1


def test_every_matrix_source_gives_the_same_bytes(run, samples, photo, tmp_path):
    w = np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [0.6, -0.2, 0.1]])
    b = np.array([0.05, 0.0, -0.1])
    (tmp_path / "m.json").write_text(json.dumps({"weights": w.tolist(), "bias": b.tolist()}))
    rows = [",".join(str(float(v)) for v in [*r, c]) for r, c in zip(w, b)]
    (tmp_path / "m.csv").write_text("\n".join(rows))
    np.save(tmp_path / "m.npy", np.hstack([w, b[:, None]]))
    np.savez(tmp_path / "m.npz", weight=w[:, :, None, None], bias=b)
    coeffs = ";".join(rows)
    outputs = []
    for i, source in enumerate(["m.json", "m.csv", "m.npy", "m.npz", None]):
        out = tmp_path / f"o{i}.tif"
        args = ["-m", tmp_path / source] if source else ["-c", coeffs]
        result = run("apply", samples / "astronaut.png", *args, "-o", out)
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert all(o == outputs[0] for o in outputs)
    got = tifffile.imread(tmp_path / "o0.tif")  # and those bytes are the mix
    assert got.shape == photo.shape and np.abs(got.astype(int) - contract_uint8(photo, w, b)).max() <= 1


def test_several_matrices_compose_into_their_product(run, samples, tmp_path):
    a = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    b = np.array([[1.0, -1.0, 0.5], [0.25, 0.75, 0.0]])
    np.savetxt(tmp_path / "a.txt", a)
    np.savetxt(tmp_path / "b.txt", b)  # 2 inputs + bias column
    product = b[:, :2] @ a
    bias = b[:, 2]
    (tmp_path / "ab.json").write_text(json.dumps({"weights": product.tolist(), "bias": bias.tolist()}))
    one, two = tmp_path / "one.tif", tmp_path / "two.tif"
    src = samples / "astronaut.png"
    assert (
        run(
            "apply",
            src,
            "-m",
            tmp_path / "a.txt",
            "-m",
            tmp_path / "b.txt",
            "-o",
            two,
            "--save-matrix",
            tmp_path / "used.json",
        ).exit_code
        == 0
    )
    assert run("apply", src, "-m", tmp_path / "ab.json", "-o", one).exit_code == 0
    np.testing.assert_array_equal(tifffile.imread(one), tifffile.imread(two))
    used = json.loads((tmp_path / "used.json").read_text())
    np.testing.assert_allclose(used["weights"], product)
    np.testing.assert_allclose(used["bias"], bias)


def test_bands_dtype_and_npy_output(run, samples, tmp_path):
    out = tmp_path / "sel.npy"
    result = run(
        "apply",
        samples / "multispectral.tif",
        "--bands",
        "7,4,3",
        "-c",
        "1,0,0;0,1,0;0,0,1",
        "--dtype",
        "float32",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    cube = tifffile.imread(samples / "multispectral.tif")
    got = np.load(out)
    assert got.dtype == np.float32 and got.shape == cube.shape[:2] + (3,)
    np.testing.assert_allclose(got, cube[:, :, [6, 3, 2]] / 65535, rtol=1e-6)


def test_percentile_stretch_to_uint8_png(run, samples, tmp_path):
    out = tmp_path / "fc.png"
    result = run(
        "apply",
        samples / "multispectral.tif",
        "--bands",
        "7,4,3",
        "-c",
        "1,0,0;0,1,0;0,0,1",
        "--dtype",
        "uint8",
        "--rescale",
        "percentile",
        "--percentiles",
        "1,99",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    got = pillow_array(out).reshape(-1, 3)
    cube = tifffile.imread(samples / "multispectral.tif")[:, :, [6, 3, 2]].reshape(-1, 3)
    for band in range(3):
        lo, hi = np.percentile(cube[:, band] / 65535, [1, 99])
        expected = np.clip(np.rint((cube[:, band] / 65535 - lo) / (hi - lo) * 255), 0, 255)
        assert np.abs(got[:, band].astype(int) - expected).max() <= 1


def test_sixteen_bit_rgb_png_output(run, samples, tmp_path):
    out = tmp_path / "rgb16.png"
    result = run(
        "apply", samples / "multispectral.tif", "--bands", "1,2,3", "-c", "1,0,0;0,1,0;0,0,1", "-o", out
    )
    assert result.exit_code == 0, result.output
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, tifffile.imread(samples / "multispectral.tif")[:, :, :3])


def test_planar_and_interleaved_tiffs_give_identical_results(run, tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 65536, size=(64, 80, 5), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "contig.tif", pixels, photometric="minisblack", planarconfig="contig")
    tifffile.imwrite(
        tmp_path / "planar.tif", pixels.transpose(2, 0, 1), photometric="minisblack", planarconfig="separate"
    )
    tifffile.imwrite(
        tmp_path / "tiled.tif",
        pixels,
        photometric="minisblack",
        planarconfig="contig",
        tile=(32, 32),
        compression="zlib",
    )
    coeffs = "0.1,0.2,0.3,0.2,0.2,0; 1,-1,0,0,0,0.5"
    outs = []
    for name in ("contig", "planar", "tiled"):
        out = tmp_path / f"{name}-out.tif"
        assert run("apply", tmp_path / f"{name}.tif", "-c", coeffs, "-o", out).exit_code == 0
        outs.append(tifffile.imread(out))
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])


def test_same_layout_invariance_on_real_geotiffs(run, corpus, tmp_path):
    arrays = []
    for name in ("RGB.byte.tif", "rgb_deflate.tif", "rgb_lzw.tif"):
        out = tmp_path / f"{name}.npy"
        result = run("apply", corpus / "rasterio" / name, "-p", "sepia", "-o", out)
        assert result.exit_code == 0, result.output
        arrays.append(np.load(out))
    assert np.array_equal(arrays[0], arrays[1]) and np.array_equal(arrays[0], arrays[2])


def test_geotiff_georeferencing_and_nodata_survive(run, corpus, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    src_path = corpus / "rasterio" / "RGB.byte.tif"
    out = tmp_path / "grey.tif"
    assert run("apply", src_path, "-p", "invert", "-o", out).exit_code == 0
    with rasterio.open(src_path) as src, rasterio.open(out) as dst:
        assert dst.crs == src.crs and dst.transform == src.transform
        assert dst.nodata == src.nodata == 0
        original, inverted = src.read(), dst.read()
    collar = (original == 0).any(axis=0)
    assert collar.any()
    assert np.all(inverted[:, collar] == 0)  # nodata stays nodata, not 255
    np.testing.assert_array_equal(inverted[:, ~collar], 255 - original[:, ~collar])


def test_alpha_is_kept_last_and_untouched(run, tmp_path):
    rgba = np.zeros((4, 5, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert run("apply", tmp_path / "in.png", "-p", "gray-rec709", "-o", out).exit_code == 0
    with Image.open(out) as back:
        assert back.mode == "LA"
        got = np.asarray(back)
    np.testing.assert_array_equal(got[..., 1], rgba[..., 3])
    assert np.all(got[..., 0] == round(200 * 0.2126))
    dropped = tmp_path / "dropped.png"
    result = run("apply", tmp_path / "in.png", "-p", "gray-rec709", "--alpha", "drop", "-o", dropped)
    assert result.exit_code == 0
    with Image.open(dropped) as back:
        assert back.mode == "L"


def test_linear_light_preset(run, samples, photo, tmp_path):
    out = tmp_path / "protan.png"
    assert run("apply", samples / "astronaut.png", "-p", "protanopia", "--linear", "-o", out).exit_code == 0
    w = get_preset("protanopia").mix.weights
    x = photo.astype(np.float64) / 255
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4) @ w.T
    enc = np.sign(lin) * np.where(
        np.abs(lin) <= 0.0031308, np.abs(lin) * 12.92, 1.055 * np.abs(lin) ** (1 / 2.4) - 0.055
    )
    expected = np.clip(np.rint(enc * 255), 0, 255)
    assert np.abs(pillow_array(out).astype(int) - expected).max() <= 1


def test_resolution_and_icc_are_carried(run, samples, tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with Image.open(samples / "astronaut.png") as photo:
        photo.save(tmp_path / "in.png", dpi=(300, 300), icc_profile=icc)
    assert run("apply", tmp_path / "in.png", "-p", "sepia", "-o", tmp_path / "out.jpg").exit_code == 0
    with Image.open(tmp_path / "out.jpg") as back:
        assert round(back.info["dpi"][0]) == 300 and back.info.get("icc_profile") == icc
    assert run("apply", tmp_path / "in.png", "-p", "gray-rec709", "-o", tmp_path / "g.png").exit_code == 0
    with Image.open(tmp_path / "g.png") as back:
        assert "icc_profile" not in back.info  # an RGB profile on grey would lie


def test_outputs_are_deterministic(run, samples, tmp_path):
    for ext in ("png", "tif", "jpg", "npy"):
        a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
        for out in (a, b):
            assert run("apply", samples / "astronaut.png", "-p", "sepia", "-o", out, "-j", "2").exit_code == 0
        assert a.read_bytes() == b.read_bytes(), ext


def test_templates_and_outdir_for_several_inputs(run, samples, tmp_path):
    inputs = [samples / "astronaut.png", samples / "coffee.png"]
    result = run("apply", *inputs, "-p", "gray-rec709", "-o", tmp_path / "{index}-{stem}-grey{ext}")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "1-astronaut-grey.png").is_file() and (tmp_path / "2-coffee-grey.png").is_file()
    assert "2 of 2 images mixed, 0 failed" in result.stderr
    outdir = tmp_path / "out"
    assert run("apply", *inputs, "-p", "invert", "-O", outdir, "-q").exit_code == 0
    assert sorted(p.name for p in outdir.iterdir()) == ["astronaut.png", "coffee.png"]


def test_one_failing_input_does_not_stop_the_others(run, samples, tmp_path):
    (tmp_path / "bad.png").write_text("not an image")
    result = run(
        "apply",
        samples / "astronaut.png",
        tmp_path / "bad.png",
        samples / "coffee.png",
        "-p",
        "sepia",
        "-O",
        tmp_path / "out",
    )
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["astronaut.png", "coffee.png"]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "bad.png" in lines[0] and "2 of 3 images mixed, 1 failed" in lines[1]
