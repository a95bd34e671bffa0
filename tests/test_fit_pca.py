"""PCA from streamed statistics against scikit-learn, numpy's SVD and known ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage import data
from sklearn.decomposition import PCA

from chanmix.errors import DataError, UsageError
from chanmix.fit import Moments, fit_pca


def oriented(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The contract's sign convention applied to someone else's components, and the signs."""
    peak = rows[np.arange(len(rows)), np.argmax(np.abs(rows), axis=1)]
    signs = np.where(peak < 0, -1.0, 1.0)
    return rows * signs[:, None], signs


def by_rows(img: np.ndarray, rows: int) -> Moments:
    """Statistics of an (h, w, N) image streamed as row bands."""
    return sum(
        (Moments.of(img[r : r + rows]) for r in range(0, img.shape[0], rows)), Moments.empty(img.shape[2])
    )


def hyperspectral(seed: int = 0, shape=(60, 70, 40), factors: int = 5, noise: float = 0.01):
    """A cube of smooth spectra: latent abundances times loadings plus white noise."""
    rng = np.random.default_rng(seed)
    h, w, n = shape
    loadings = rng.normal(size=(factors, n)) * np.linspace(1, 0.3, factors)[:, None]
    latent = rng.normal(size=(h, w, factors))
    return latent @ loadings * 0.05 + 0.5 + noise * rng.normal(size=shape), loadings


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut() / 255.0


def test_matches_sklearn_on_a_photograph(astronaut):
    fit = fit_pca(by_rows(astronaut, 64), 3)
    sk = PCA(3).fit(astronaut.reshape(-1, 3))
    expected, _ = oriented(sk.components_)
    assert np.allclose(fit.mix.weights, expected, atol=1e-9)
    assert np.allclose(fit.explained_variance_ratio, sk.explained_variance_ratio_, rtol=1e-10)
    assert np.allclose(fit.eigenvalues, sk.explained_variance_, rtol=1e-10)
    assert np.allclose(fit.mean, sk.mean_, rtol=1e-12)
    assert np.allclose(fit.mix.bias, -fit.mix.weights @ sk.mean_, atol=1e-12)
    assert fit.n_pixels == 512 * 512 and fit.mix.names == ("PC1", "PC2", "PC3")


def test_each_component_has_its_largest_weight_positive(astronaut):
    weights = fit_pca(Moments.of(astronaut), 3).mix.weights
    assert np.all(weights[np.arange(3), np.argmax(np.abs(weights), axis=1)] > 0)


@pytest.mark.parametrize("whiten", [False, True])
def test_transform_matches_sklearn_on_a_hyperspectral_cube(whiten):
    cube, _ = hyperspectral()
    pixels = cube.reshape(-1, 40)
    fit = fit_pca(by_rows(cube, 9), 8, whiten=whiten)
    sk = PCA(8, whiten=whiten).fit(pixels)
    _, signs = oriented(sk.components_)
    ours = pixels @ fit.mix.weights.T + fit.mix.bias
    assert np.allclose(ours, sk.transform(pixels) * signs, atol=1e-8)
    if whiten:
        assert np.allclose(ours.var(axis=0, ddof=1), 1.0, rtol=1e-9)
    assert fit.mix.provenance["whiten"] is whiten


def test_k_as_a_variance_fraction():
    cube, _ = hyperspectral(1)
    stats = Moments.of(cube)
    for fraction in (0.5, 0.9, 0.99):
        fit = fit_pca(stats, fraction)
        k = fit.mix.n_outputs
        cumulative = np.cumsum(fit.eigenvalues) / fit.eigenvalues.sum()
        assert cumulative[k - 1] >= fraction and (k == 1 or cumulative[k - 2] < fraction)
        assert k == PCA(fraction).fit(cube.reshape(-1, 40)).n_components_
    assert fit_pca(stats, 0.999999999999).mix.n_outputs <= 40


def test_recovers_the_latent_factor_subspace():
    cube, loadings = hyperspectral(2, factors=4, noise=0.002)
    components = fit_pca(by_rows(cube, 13), 4).mix.weights
    truth = np.linalg.qr(loadings.T)[0]  # (40, 4) orthonormal basis of the loadings
    cosines = np.linalg.svd(components @ truth, compute_uv=False)  # principal angles
    assert np.max(np.arccos(np.clip(cosines, -1, 1))) < 0.01
    wrong = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 4)))[0]
    assert np.min(np.linalg.svd(components @ wrong, compute_uv=False)) < 0.9


def test_uncentred_pca_is_the_svd_of_the_raw_pixels(astronaut):
    pixels = astronaut.reshape(-1, 3)
    fit = fit_pca(Moments.of(astronaut), 2, center=False)
    _, s, vt = np.linalg.svd(pixels, full_matrices=False)
    expected, _ = oriented(vt[:2])
    assert np.allclose(fit.mix.weights, expected, atol=1e-9)
    assert np.allclose(fit.eigenvalues, s**2 / len(pixels), rtol=1e-10)
    assert np.allclose(fit.explained_variance_ratio, (s**2 / np.sum(s**2))[:2], rtol=1e-10)
    assert not fit.mix.has_bias and fit.mix.provenance["center"] is False


def test_provenance_is_plain_json():
    cube, _ = hyperspectral(3)
    fit = fit_pca(Moments.of(cube), 3)
    text = json.dumps(fit.mix.to_dict())
    back = json.loads(text)
    assert back["method"] == "pca" and back["n_pixels"] == 60 * 70
    assert len(back["eigenvalues"]) == 40 and len(back["mean"]) == 40
    assert back["explained_variance_ratio"] == fit.explained_variance_ratio.tolist()
    assert len(back["explained_variance"]) == 3 and back["whiten"] is False


def test_errors():
    with pytest.raises(DataError, match="at least 2 valid pixels, got 1"):
        fit_pca(Moments.of(np.ones((1, 3))), 1)
    with pytest.raises(DataError, match="same value"):
        fit_pca(Moments.of(np.full((10, 3), 0.5)), 1)
    stats = Moments.of(np.random.default_rng(0).normal(size=(100, 3)))
    for bad in (0, 4, -1, 1.0, 0.0, 1.5, True, "2"):
        with pytest.raises(UsageError, match="^k must be"):
            fit_pca(stats, bad)  # type: ignore[arg-type]
    dup = np.random.default_rng(1).normal(size=(200, 2))
    dup = np.hstack([dup, dup[:, :1]])
    assert fit_pca(Moments.of(dup), 3).mix.n_outputs == 3
    assert fit_pca(Moments.of(dup), 2, whiten=True).mix.n_outputs == 2
    with pytest.raises(DataError, match="PC3, it has zero variance.*at most 2"):
        fit_pca(Moments.of(dup), 3, whiten=True)


def test_multispectral_sample_is_a_three_dimensional_affine_mixture(samples: Path):
    """4 endmembers whose abundances sum to 1: 3 components, and the endmembers lie in
    mean + span(PC1..PC3) up to a small fraction of the noise."""
    truth = json.loads((samples / "multispectral_truth.json").read_text(encoding="utf-8"))
    cube = tifffile.imread(samples / "multispectral.tif") / truth["scale"]
    fit = fit_pca(by_rows(cube, 50), 3)
    assert fit.explained_variance_ratio.sum() > 0.999
    endmembers = np.array(truth["endmembers"]) - fit.mean
    weights = fit.mix.weights
    off_plane = endmembers - endmembers @ weights.T @ weights
    assert np.max(np.linalg.norm(off_plane, axis=1)) < 0.1 * truth["noise_sigma"]
    two = fit_pca(by_rows(cube, 50), 2).mix.weights
    assert np.max(np.linalg.norm(endmembers - endmembers @ two.T @ two, axis=1)) > 0.05
