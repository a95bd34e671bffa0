"""``chanmix fit maf|ica`` and ``apply --maf|--ica``: the help's examples on the sample images."""

from __future__ import annotations

import json

import numpy as np
import tifffile

from chanmix.matrixfiles import load_matrix


def test_fit_maf_writes_a_pca_like_matrix_ordered_by_autocorrelation(run, samples, tmp_path):
    out = tmp_path / "maf.json"
    result = run("fit", "maf", samples / "multispectral.tif", "-k", "3", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["component", "autocorrelation"]
    matrix = json.loads(out.read_text())
    assert matrix["method"] == "maf" and len(matrix["weights"]) == 3 and len(matrix["weights"][0]) == 8
    assert matrix["autocorrelation"] == sorted(matrix["autocorrelation"], reverse=True)
    mix = load_matrix(out)
    assert mix.names == ("MAF1", "MAF2", "MAF3")
    np.testing.assert_allclose(mix.bias, -mix.weights @ np.array(matrix["mean"]), atol=1e-12)


def test_fit_maf_refuses_a_fraction(run, samples, tmp_path):
    result = run("fit", "maf", samples / "multispectral.tif", "-k", "0.9", "-o", tmp_path / "m.json")
    assert result.exit_code == 2 and not (tmp_path / "m.json").exists()


def test_apply_maf_equals_the_fitted_matrix(run, samples, tmp_path):
    image = samples / "landsat" / "l8_stack.tif"
    assert run("fit", "maf", image, "-k", "3", "-o", tmp_path / "maf.json", "-q").exit_code == 0
    fitted = run("apply", image, "--maf", "3", "--dtype", "float32", "-o", tmp_path / "a.tif", "-q")
    given = run("apply", image, "-m", tmp_path / "maf.json", "--dtype", "float32", "-o", tmp_path / "b.tif")
    assert fitted.exit_code == given.exit_code == 0, fitted.output
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))


def test_fit_ica_is_deterministic_for_a_seed(run, samples, tmp_path):
    image = samples / "multispectral.tif"
    args = ("fit", "ica", image, "-k", "3", "--seed", "5", "--sample", "4000")
    first = run(*args, "-o", tmp_path / "a.json")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("FastICA: converged after ")
    assert run(*args, "-o", tmp_path / "b.json").exit_code == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    matrix = json.loads((tmp_path / "a.json").read_text())
    assert matrix["method"] == "ica" and matrix["names"] == ["IC1", "IC2", "IC3"]
    assert matrix["fitted_on"]["sample"] == 4000 and matrix["fitted_on"]["seed"] == 5


def test_fit_ica_warns_when_it_does_not_converge(run, samples, tmp_path):
    out = tmp_path / "ica.json"
    result = run("fit", "ica", samples / "multispectral.tif", "-k", "3", "--max-iter", "1", "-o", out, "-q")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith("Warning: FastICA did not converge in 1 iterations (final change ")
    assert json.loads(out.read_text())["converged"] is False


def test_apply_ica_equals_the_fitted_matrix(run, samples, tmp_path):
    image = samples / "multispectral.tif"
    assert (
        run("fit", "ica", image, "-k", "2", "--seed", "1", "-o", tmp_path / "ica.json", "-q").exit_code == 0
    )
    options = ("--dtype", "float32", "-q")
    fitted = run("apply", image, "--ica", "2", "--seed", "1", *options, "-o", tmp_path / "a.tif")
    given = run("apply", image, "-m", tmp_path / "ica.json", *options, "-o", tmp_path / "b.tif")
    assert fitted.exit_code == given.exit_code == 0, fitted.output
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))
