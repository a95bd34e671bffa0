"""ICA: known independent sources recovered (as scikit-learn recovers them), and on real data
the properties that do not depend on the run: uncorrelated components spanning the PCs."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from chanmix.errors import DataError, UsageError
from chanmix.fit import Moments, fit_ica, fit_pca
from chanmix.fitfiles import FitOptions, ica_from_files


def sources(seed: int = 0, height: int = 120, width: int = 100) -> np.ndarray:
    """Four independent non-Gaussian images: two uniform, two Laplace, unit variance."""
    rng = np.random.default_rng(seed)
    shape = (height, width)
    return np.stack(
        [
            rng.uniform(-np.sqrt(3), np.sqrt(3), shape),
            rng.laplace(0, 1 / np.sqrt(2), shape),
            rng.uniform(-np.sqrt(3), np.sqrt(3), shape),
            rng.laplace(0, 1 / np.sqrt(2), shape),
        ],
        axis=-1,
    )


def mixed(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The sources and the 4-band image a random matrix mixes them into (normalized units)."""
    truth = sources(seed)
    mixing = np.random.default_rng(seed + 100).normal(size=(4, 4)) * 0.05
    return truth, truth @ mixing.T + 0.5


def best_match(estimated: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each true source, the largest |correlation| with an estimated component."""
    k = truth.shape[1]
    corr = np.corrcoef(np.c_[estimated, truth].T)[:k, k:]
    return np.abs(corr).max(axis=0)


def test_known_sources_are_recovered():
    truth, img = mixed()
    pixels = img.reshape(-1, 4)
    fit = fit_ica(Moments.of(pixels), pixels, 4, seed=1)
    scores = pixels @ fit.mix.weights.T + fit.mix.bias
    assert best_match(scores, truth.reshape(-1, 4)).min() > 0.99
    assert fit.converged and fit.iterations < 200 and fit.final_change < 1e-4
    assert fit.mix.names == ("IC1", "IC2", "IC3", "IC4")
    assert np.all(np.diff(fit.negentropy) <= 0)
    np.testing.assert_allclose(np.cov(scores.T), np.eye(4), atol=1e-10)  # white over the pixels
    peaks = fit.mix.weights[np.arange(4), np.abs(fit.mix.weights).argmax(axis=1)]
    assert np.all(peaks > 0)
    provenance = fit.mix.provenance
    assert provenance["method"] == "ica" and provenance["converged"] and provenance["seed"] == 1


def test_it_agrees_with_scikit_learn():
    decomposition = pytest.importorskip("sklearn.decomposition")
    truth, img = mixed(3)
    pixels = img.reshape(-1, 4)
    theirs = decomposition.FastICA(4, whiten="unit-variance", random_state=0).fit_transform(pixels)
    fit = fit_ica(Moments.of(pixels), pixels, 4, seed=0)
    ours = pixels @ fit.mix.weights.T + fit.mix.bias
    assert best_match(theirs, truth.reshape(-1, 4)).min() > 0.99
    assert best_match(ours, theirs).min() > 0.999


def test_a_seed_gives_one_answer_and_a_sample_suffices():
    truth, img = mixed(5)
    pixels = img.reshape(-1, 4)
    moments = Moments.of(pixels)
    sample = pixels[np.random.default_rng(0).choice(len(pixels), 3000, replace=False)]
    a, b = fit_ica(moments, sample, 3, seed=7), fit_ica(moments, sample, 3, seed=7)
    assert np.array_equal(a.mix.weights, b.mix.weights)
    full = fit_ica(moments, pixels, 4, seed=7)
    part = fit_ica(moments, sample, 4, seed=2)
    assert best_match(pixels @ part.mix.weights.T, pixels @ full.mix.weights.T).min() > 0.98


def test_not_converging_is_reported():
    _, img = mixed()
    pixels = img.reshape(-1, 4)
    fit = fit_ica(Moments.of(pixels), pixels, 4, seed=0, max_iter=2)
    assert not fit.converged and fit.iterations == 2 and fit.final_change >= 1e-4
    assert fit.mix.provenance["converged"] is False


def test_bad_requests_are_refused():
    _, img = mixed()
    pixels = img.reshape(-1, 4)
    with pytest.raises(UsageError, match="k"):
        fit_ica(Moments.of(pixels), pixels, 5)
    with pytest.raises(UsageError, match="sample"):
        fit_ica(Moments.of(pixels), pixels[:, :3], 2)
    with pytest.raises(DataError, match="sampled"):
        fit_ica(Moments.of(pixels), pixels[:1], 2)


@pytest.fixture(scope="module")
def landsat(corpus, tmp_path_factory):
    bands = [tifffile.imread(corpus / "landsat8" / f"l8_B{i}.tif") for i in range(1, 8)]
    path = tmp_path_factory.mktemp("ica") / "stack.tif"
    tifffile.imwrite(path, np.stack(bands, axis=-1), photometric="minisblack", planarconfig="contig")
    return path


def test_on_landsat_the_components_are_uncorrelated_and_span_the_first_pcs(landsat):
    options = FitOptions(sample=20_000, seed=4)
    fit = ica_from_files([str(landsat)], 3, options=options)
    x = tifffile.imread(landsat).reshape(-1, 7) / 65535.0
    scores = x @ fit.mix.weights.T + fit.mix.bias
    np.testing.assert_allclose(np.cov(scores.T), np.eye(3), atol=1e-8)
    np.testing.assert_allclose(scores.mean(axis=0), 0, atol=1e-10)
    pcs = fit_pca(Moments.of(x), 3).mix.weights  # orthonormal rows
    residual = fit.mix.weights - fit.mix.weights @ pcs.T @ pcs  # what PCs 1-3 do not hold
    assert np.abs(residual).max() < 1e-8 * np.abs(fit.mix.weights).max()
    again = ica_from_files([str(landsat)], 3, options=options)
    assert np.array_equal(again.mix.weights, fit.mix.weights)
    fitted_on = fit.mix.provenance["fitted_on"]
    assert fitted_on["sample"] == 20_000 and fitted_on["pixels_used"] == x.shape[0]
    assert 0 < fit.mix.provenance["n_sample"] <= 20_000
