"""``chanmix fit`` and ``apply --pca/--fit`` on files, against scikit-learn and numpy.linalg."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from sklearn.decomposition import PCA

from chanmix import load_matrix
from helpers import error_line


@pytest.fixture(scope="module")
def cube(samples) -> np.ndarray:
    return tifffile.imread(samples / "multispectral.tif")


def oriented(components: np.ndarray) -> np.ndarray:
    """The contract's sign convention: each row's largest-magnitude weight positive."""
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    return components * signs[:, None]


def check_against_sklearn(matrix: dict, pixels: np.ndarray, k: int) -> None:
    ref = PCA(n_components=k, svd_solver="full").fit(pixels)
    np.testing.assert_allclose(matrix["weights"], oriented(ref.components_), atol=1e-6)
    np.testing.assert_allclose(matrix["explained_variance_ratio"], ref.explained_variance_ratio_, rtol=1e-6)
    np.testing.assert_allclose(matrix["mean"], ref.mean_, rtol=1e-9)
    np.testing.assert_allclose(matrix["bias"], -np.asarray(matrix["weights"]) @ ref.mean_, atol=1e-9)


def test_fit_pca_matches_scikit_learn(run, samples, cube, tmp_path):
    out = tmp_path / "pca.json"
    result = run("fit", "pca", samples / "multispectral.tif", "-k", "4", "-o", out)
    assert result.exit_code == 0, result.output
    matrix = json.loads(out.read_text())
    check_against_sklearn(matrix, cube.reshape(-1, 8) / 65535, 4)
    assert matrix["method"] == "pca" and matrix["names"] == ["PC1", "PC2", "PC3", "PC4"]
    assert matrix["fitted_on"]["pixels_used"] == cube.shape[0] * cube.shape[1]
    assert len(matrix["eigenvalues"]) == 8
    header, *rows, pixels = result.output.splitlines()
    assert header.split() == ["component", "variance", "explained", "cumulative"]
    assert len(rows) == 4
    ratios = np.asarray(matrix["explained_variance_ratio"])
    bars = []
    for i, row in enumerate(rows):
        name, variance, explained, cumulative, bar = row.split()
        assert name == f"PC{i + 1}" and float(variance) == pytest.approx(matrix["eigenvalues"][i], rel=1e-4)
        assert (explained, cumulative) == (f"{ratios[i]:.2%}", f"{ratios[: i + 1].sum():.2%}")
        bars.append(bar)
    assert all(set(bar) == {"#"} for bar in bars) and sorted(bars, key=len, reverse=True) == bars
    n = cube.shape[0] * cube.shape[1]
    assert pixels == f"pixels used: {n} of {n} (100.0%)"
    assert run("fit", "pca", samples / "multispectral.tif", "-k", "4", "-o", out, "-q").output == ""


def test_products_follow_the_samples_unless_asked(run, cube, tmp_path):
    """--products auto: float32 products on a float32 file, float64 on the uint16 one; float32
    on the uint16 file agrees with float64 on the leading components, within about 1e-6."""
    as_float = tmp_path / "float.tif"
    tifffile.imwrite(
        as_float, (cube / 65535).astype(np.float32), photometric="minisblack", planarconfig="contig"
    )
    src = tmp_path / "uint16.tif"
    tifffile.imwrite(src, cube, photometric="minisblack", planarconfig="contig")
    fits = {}
    for image in (as_float, src):
        for products in ("auto", "float32", "float64"):
            out = tmp_path / f"{image.stem}-{products}.json"
            result = run("fit", "pca", image, "-k", "3", "--products", products, "-o", out, "-q")
            assert result.exit_code == 0, result.output
            fits[image.stem, products] = out.read_bytes()
    assert fits["float", "auto"] == fits["float", "float32"] != fits["float", "float64"]
    assert fits["uint16", "auto"] == fits["uint16", "float64"] != fits["uint16", "float32"]
    fast, exact = (json.loads(fits["uint16", p]) for p in ("float32", "float64"))
    np.testing.assert_allclose(fast["weights"], exact["weights"], atol=1e-6)
    np.testing.assert_allclose(fast["eigenvalues"][:3], exact["eigenvalues"][:3], rtol=1e-6)
    result = run("fit", "pca", src, "-k", "3", "--products", "float16", "-o", tmp_path / "x.json")
    assert "--products" in error_line(result, 2)
    assert "--products" not in run("fit", "lstsq", "--help").output


@pytest.mark.parametrize("fit", ["--pca", "--maf", "--ica"])
def test_fits_with_float32_products_are_the_same_bits_for_any_jobs(run, cube, tmp_path, fit):
    """Float32 products round where chunks start: the row bands a fit reads do not depend on
    -j, so neither do the bits of the matrix or of the output."""
    src = tmp_path / "float.tif"
    image = np.tile((cube / 65535).astype(np.float32), (3, 1, 1))
    tifffile.imwrite(src, image, photometric="minisblack", planarconfig="contig", rowsperstrip=7)
    outputs = []
    for jobs in ("1", "2", "4"):
        out, matrix = tmp_path / f"out{jobs}.tif", tmp_path / f"m{jobs}.json"
        args = ["apply", src, fit, "3", "--dtype", "float32", "-j", jobs, "-q", "--save-matrix", matrix]
        result = run(*args, "-o", out)
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), json.loads(matrix.read_text())["weights"]))
    assert outputs[0] == outputs[1] == outputs[2]


def test_the_scene_has_three_signal_dimensions(run, samples, tmp_path):
    """Four endmembers summing to one: a 3-D affine subspace, found by a variance fraction."""
    out = tmp_path / "pca.json"
    assert run("fit", "pca", samples / "multispectral.tif", "-k", "0.999", "-o", out).exit_code == 0
    assert len(json.loads(out.read_text())["weights"]) == 3


def test_apply_pca_equals_fit_then_apply(run, samples, tmp_path):
    src = samples / "multispectral.tif"
    assert run("fit", "pca", src, "-k", "3", "-o", tmp_path / "pca.json", "-q").exit_code == 0
    result = run("apply", src, "-m", tmp_path / "pca.json", "--dtype", "float32", "-o", tmp_path / "a.tif")
    assert result.exit_code == 0
    result = run("apply", src, "--pca", "3", "--dtype", "float32", "-o", tmp_path / "b.tif")
    assert result.exit_code == 0 and result.stdout == ""
    *table, summary = result.stderr.splitlines()  # the fit's table, on stderr, then the summary
    assert [line.split()[0] for line in table] == ["component", "PC1", "PC2", "PC3", "pixels"]
    assert summary == f"1 image mixed: {src} -> {tmp_path / 'b.tif'}"
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))


def test_pca_then_its_inverse_reconstructs_the_bands(run, samples, cube, tmp_path):
    src = samples / "multispectral.tif"
    assert run("fit", "pca", src, "-k", "3", "-o", tmp_path / "pca.json", "-q").exit_code == 0
    assert run("matrix", "invert", tmp_path / "pca.json", "-o", tmp_path / "inv.json").exit_code == 0
    pcs = tmp_path / "pcs.tif"
    assert run("apply", src, "-m", tmp_path / "pca.json", "--dtype", "float64", "-o", pcs).exit_code == 0
    back_tif = tmp_path / "back.tif"
    assert run("apply", pcs, "-m", tmp_path / "inv.json", "--dtype", "uint16", "-o", back_tif).exit_code == 0
    back = tifffile.imread(back_tif) / 65535
    error = back - cube / 65535
    assert np.sqrt(np.mean(error**2)) < 0.003  # the noise (sigma 0.002) that the 5 dropped components held


def test_nodata_and_mask_leave_pixels_out_exactly(run, cube, tmp_path):
    img = cube.copy()
    img[:40, :, :] = 0  # a nodata collar
    tifffile.imwrite(tmp_path / "nd.tif", img, photometric="minisblack", planarconfig="contig")
    mask = np.zeros(img.shape[:2], dtype=np.uint8)
    mask[:, 100:] = 255
    tifffile.imwrite(tmp_path / "mask.tif", mask)
    out = tmp_path / "pca.json"
    result = run(
        "fit",
        "pca",
        tmp_path / "nd.tif",
        "-k",
        "3",
        "--nodata",
        "0",
        "--mask",
        tmp_path / "mask.tif",
        "-o",
        out,
    )
    assert result.exit_code == 0, result.output
    valid = (img != 0).all(axis=2) & (mask != 0)
    matrix = json.loads(out.read_text())
    assert matrix["fitted_on"]["pixels_used"] == valid.sum()
    check_against_sklearn(matrix, img[valid] / 65535, 3)


def test_sample_is_reproducible_and_counted(run, samples, tmp_path):
    args = ["fit", "pca", samples / "multispectral.tif", "-k", "2", "--sample", "5000", "--seed", "7", "-q"]
    assert run(*args, "-o", tmp_path / "a.json").exit_code == 0
    assert run(*args, "-o", tmp_path / "b.json").exit_code == 0
    a = json.loads((tmp_path / "a.json").read_text())
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert a["fitted_on"]["pixels_used"] == 5000 and a["fitted_on"]["seed"] == 7
    assert run(*args[:-1], "--seed", "8", "-q", "-o", tmp_path / "c.json").exit_code == 0
    assert (tmp_path / "c.json").read_bytes() != (tmp_path / "a.json").read_bytes()


def test_lstsq_recovers_a_known_transform_on_float32(run, tmp_path):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, size=(120, 90, 4)).astype(np.float32)
    w = np.array([[0.3, -0.2, 0.5, 0.1], [1.0, 0.0, -0.5, 0.25]])
    b = np.array([0.05, -0.1])
    y = (x.astype(np.float64) @ w.T + b).astype(np.float32)
    tifffile.imwrite(tmp_path / "x.tif", x, photometric="minisblack", planarconfig="contig")
    tifffile.imwrite(tmp_path / "y.tif", y, photometric="minisblack", planarconfig="contig")
    out = tmp_path / "fit.json"
    result = run("fit", "lstsq", tmp_path / "x.tif", "--target", tmp_path / "y.tif", "-o", out)
    assert result.exit_code == 0, result.output
    fitted = load_matrix(out)
    np.testing.assert_allclose(fitted.weights, w, atol=1e-5)
    np.testing.assert_allclose(fitted.bias, b, atol=1e-5)
    header, *rows, pixels = result.output.splitlines()
    assert header.split() == ["output", "RMSE", "R^2"] and [row.split()[0] for row in rows] == ["1", "2"]
    for row in rows:  # an exact transform, up to float32 rounding of the target
        _, rmse, r2 = row.split()
        assert float(rmse) < 1e-6 and r2 == "1.000000"
    assert pixels == "pixels used: 10800 of 10800 (100.0%)"
    ones = np.hstack([x.reshape(-1, 4).astype(np.float64), np.ones((x.shape[0] * x.shape[1], 1))])
    ref = np.linalg.lstsq(ones, y.reshape(-1, 2).astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(fitted.weights, ref[:4].T, atol=1e-9)


def test_apply_fit_reproduces_the_target(run, samples, tmp_path):
    src = samples / "astronaut.png"
    coeffs = "0.7,0.1,0,0.02; 0,1,0,0; 0.2,0,0.7,0"
    assert run("apply", src, "-c", coeffs, "-o", tmp_path / "t.png").exit_code == 0
    result = run(
        "apply",
        src,
        "--fit",
        tmp_path / "t.png",
        "-o",
        tmp_path / "r.png",
        "--save-matrix",
        tmp_path / "used.json",
    )
    assert result.exit_code == 0, result.output
    used = load_matrix(tmp_path / "used.json")
    np.testing.assert_allclose(used.weights, [[0.7, 0.1, 0], [0, 1, 0], [0.2, 0, 0.7]], atol=2e-3)
    np.testing.assert_allclose(used.bias, [0.02, 0, 0], atol=2e-3)


def test_collinear_inputs_warn_and_still_fit(run, tmp_path):
    rng = np.random.default_rng(1)
    a = rng.uniform(size=(50, 60)).astype(np.float32)
    x = np.stack([a, rng.uniform(size=(50, 60)).astype(np.float32), a], axis=2)  # band 3 == band 1
    tifffile.imwrite(tmp_path / "x.tif", x, photometric="minisblack", planarconfig="contig")
    tifffile.imwrite(tmp_path / "y.tif", a * 2)
    out = tmp_path / "f.json"
    result = run("fit", "lstsq", tmp_path / "x.tif", "--target", tmp_path / "y.tif", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "Warning: input bands 1 and 3 are linearly dependent: their weights are not unique "
        "(the minimum-norm solution is used)\n"
    )
    fitted = load_matrix(tmp_path / "f.json")
    np.testing.assert_allclose(fitted.weights[0, 0] + fitted.weights[0, 2], 2.0, atol=1e-6)


def test_mnf_ranks_by_signal_to_noise(run, samples, tmp_path):
    out = tmp_path / "mnf.json"
    result = run("fit", "mnf", samples / "multispectral.tif", "-k", "3", "-o", out)
    assert result.exit_code == 0, result.output
    matrix = json.loads(out.read_text())
    assert matrix["method"] == "mnf" and len(matrix["weights"]) == 3
    assert matrix["snr"] == sorted(matrix["snr"], reverse=True)


def test_fit_errors(run, samples, corpus, tmp_path):
    nodata = corpus / "rasterio" / "all-nodata.tif"
    multi, photo = samples / "multispectral.tif", samples / "astronaut.png"
    result = run("fit", "pca", nodata, "-k", "2", "-o", tmp_path / "p.json")
    assert error_line(result, 1) == f"Error: no valid pixel to fit in {nodata} (all nodata or masked?)"
    result = run("fit", "pca", multi, "-k", "9", "-o", tmp_path / "p.json")
    assert error_line(result, 2) == (
        "Error: -k must be a number of components from 1 to 8 (the number of bands) "
        "or a variance fraction between 0 and 1, got 9"
    )
    result = run("fit", "pca", multi, "-k", "1.5", "-o", tmp_path / "p.json")
    assert error_line(result, 2) == (
        "Error: Invalid value for '-k': '1.5': use a whole number >= 1 or a fraction between 0 and 1"
    )
    result = run("fit", "pca", multi, photo, "-k", "2", "-o", tmp_path / "p.json")
    assert error_line(result, 2) == (
        f"Error: the inputs do not have the same number of bands to fit ({multi} 8, {photo} 3)"
    )
    result = run("fit", "lstsq", photo, "--target", samples / "coffee.png", "-o", tmp_path / "l.json")
    assert error_line(result, 2) == (
        f"Error: --target: {samples / 'coffee.png'} is 600 x 400 pixels, {photo} is 512 x 512"
    )
    result = run("apply", photo, "--pca", "2", "-p", "sepia", "-o", tmp_path / "x.png")
    assert error_line(result, 2) == (
        "Error: give the matrix one way: -m FILE (repeatable), -p PRESET, -c COEFFS, --pca K, "
        "--maf K, --ica K or --fit TARGET (got -p and --pca)"
    )
    assert list(tmp_path.iterdir()) == []  # no output left behind


def test_fitted_matrix_files_keep_their_provenance_when_read_back(run, samples, tmp_path):
    src = samples / "astronaut.png"
    assert run("fit", "lstsq", src, "--target", src, "-o", tmp_path / "l.json", "-q").exit_code == 0
    mix = load_matrix(tmp_path / "l.json")
    assert mix.provenance["fit_bias"] is True and mix.provenance["method"] == "lstsq"
    np.testing.assert_allclose(mix.weights, np.eye(3), atol=1e-9)


def test_whitened_components_match_scikit_learn(run, samples, cube, tmp_path):
    out = tmp_path / "w.json"
    result = run("fit", "pca", samples / "multispectral.tif", "-k", "3", "--whiten", "-q", "-o", out)
    assert result.exit_code == 0
    mix = load_matrix(out)
    pixels = cube.reshape(-1, 8) / 65535
    ref = PCA(n_components=3, whiten=True, svd_solver="full").fit(pixels)
    ours = pixels @ mix.weights.T + mix.bias
    theirs = ref.transform(pixels)
    signs = np.sign(np.sum(ours * theirs, axis=0))
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-6)
    assert np.allclose(ours.std(axis=0, ddof=1), 1.0)


def test_per_image_fits_each_input_alone(run, samples, cube, tmp_path):
    half = tmp_path / "half.tif"
    tifffile.imwrite(half, cube[:, :128], photometric="minisblack", planarconfig="contig")
    inputs = [samples / "multispectral.tif", half]
    args = ["--pca", "2", "--dtype", "float32", "-q"]
    assert run("apply", *inputs, *args, "--per-image", "-o", tmp_path / "{stem}-own.tif").exit_code == 0
    assert run("apply", *inputs, *args, "-o", tmp_path / "{stem}-all.tif").exit_code == 0
    assert run("apply", half, *args, "-o", tmp_path / "alone.tif").exit_code == 0
    own, alone = tifffile.imread(tmp_path / "half-own.tif"), tifffile.imread(tmp_path / "alone.tif")
    np.testing.assert_array_equal(own, alone)
    assert not np.allclose(tifffile.imread(tmp_path / "half-all.tif"), alone, atol=1e-3)
