"""MNF: the generalized eigenproblem, its conventions, and a cube where PCA is fooled by noise."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chanmix.errors import DataError, UsageError
from chanmix.fit import Moments, NoiseMoments, fit_mnf, fit_pca

SIGMA = np.array([0.01, 0.01, 0.25, 0.01, 0.02, 0.01])  # band 3 (index 2) is very noisy


def scene(seed: int = 0, size: int = 160):
    """Two smooth latent fields mixed into 6 bands, plus white noise of SIGMA per band."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    latent = np.stack(
        [
            np.sin(2 * np.pi * (xx + 0.3 * yy)) + 0.5 * np.cos(5 * yy),
            np.cos(3 * np.pi * yy) * np.sin(np.pi * xx) + yy,
        ],
        axis=-1,
    )
    loadings = np.array([[0.10, 0.08, 0.05, -0.06, 0.12, 0.02], [0.03, -0.05, 0.04, 0.10, 0.02, 0.09]])
    clean = latent @ loadings + 0.4
    return clean + rng.normal(size=clean.shape) * SIGMA, latent


def stats(img: np.ndarray, rows: int = 16) -> tuple[Moments, NoiseMoments]:
    bands = range(0, img.shape[0], rows)
    n = img.shape[2]
    moments = sum((Moments.of(img[r : r + rows]) for r in bands), Moments.empty(n))
    noise = sum((NoiseMoments.of(img[r : r + rows]) for r in bands), NoiseMoments.empty(n))
    return moments, noise


def canonical_correlations(scores: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """Cosines of the principal angles between two sets of centred columns."""
    qa = np.linalg.qr(scores - scores.mean(axis=0))[0]
    qb = np.linalg.qr(latent - latent.mean(axis=0))[0]
    return np.linalg.svd(qa.T @ qb, compute_uv=False)


@pytest.fixture(scope="module")
def cube():
    return scene()


def test_pca_ranks_the_noisy_band_first_and_mnf_does_not(cube):
    img, latent = cube
    pixels = img.reshape(-1, 6)
    truth = latent.reshape(-1, 2)
    moments, noise = stats(img)
    pca = fit_pca(moments, 2)
    mnf = fit_mnf(moments, noise, 2)
    assert abs(pca.mix.weights[0, 2]) > 0.95  # PC1 is band 3's noise
    pca_scores = pixels @ pca.mix.weights.T + pca.mix.bias
    mnf_scores = pixels @ mnf.mix.weights.T + mnf.mix.bias
    assert np.min(canonical_correlations(pca_scores, truth)) < 0.5
    assert np.min(canonical_correlations(mnf_scores, truth)) > 0.98
    noise_share = np.abs(mnf.mix.weights[:, 2]) * SIGMA[2]  # noise band 3 brings to each
    assert np.all(noise_share < 0.1 * np.sqrt(np.sum((mnf.mix.weights * SIGMA) ** 2, axis=1)))
    assert np.all(mnf.snr > 20)
    assert np.allclose(fit_mnf(moments, noise, 6).snr[2:], 0, atol=0.05)


def test_noise_estimate_is_close_to_the_truth(cube):
    _, noise = stats(cube[0])
    assert np.allclose(np.sqrt(np.diag(noise.noise_covariance())), SIGMA, rtol=0.05)


def test_solves_the_generalized_eigenproblem(cube):
    moments, noise = stats(cube[0])
    fit = fit_mnf(moments, noise, 6)
    sigma, sigma_noise = moments.covariance(), noise.noise_covariance()
    w = fit.mix.weights
    assert np.allclose(w @ sigma_noise @ w.T, np.eye(6), atol=1e-9)  # unit noise variance
    assert np.allclose(w @ sigma @ w.T, np.diag(fit.eigenvalues), atol=1e-8 * fit.eigenvalues[0])
    reference = np.sort(np.linalg.eigvals(np.linalg.solve(sigma_noise, sigma)).real)[::-1]
    assert np.allclose(fit.eigenvalues, reference, rtol=1e-9)
    assert np.all(np.diff(fit.eigenvalues) <= 0)
    assert np.allclose(fit.snr, fit.eigenvalues - 1)
    assert np.all(w[np.arange(6), np.argmax(np.abs(w), axis=1)] > 0)
    assert np.allclose(fit.mix.bias, -w @ moments.mean)
    assert np.allclose(fit.noise_covariance, sigma_noise)


def test_k_and_provenance(cube):
    moments, noise = stats(cube[0])
    fit = fit_mnf(moments, noise, 0.9)
    ratios = fit.eigenvalues / fit.eigenvalues.sum()
    k = fit.mix.n_outputs
    assert np.sum(ratios[:k]) >= 0.9 > np.sum(ratios[: k - 1])
    back = json.loads(json.dumps(fit.mix.to_dict()))
    assert back["method"] == "mnf" and back["names"] == [f"MNF{i}" for i in range(1, k + 1)]
    assert len(back["eigenvalues"]) == 6 and len(back["snr"]) == k
    assert back["n_pixels"] == 160 * 160 and back["n_noise_pairs"] == 160 * 159
    with pytest.raises(UsageError, match="^k must be"):
        fit_mnf(moments, noise, 7)


def test_errors(cube):
    img = cube[0].copy()
    moments, noise = stats(img)
    with pytest.raises(UsageError, match="6 bands"):
        fit_mnf(Moments.empty(5), noise, 1)
    with pytest.raises(DataError, match="at least 2 valid pixels"):
        fit_mnf(Moments.of(img[:1, :1]), noise, 1)
    img[..., 4] = 0.3
    moments, noise = stats(img)
    with pytest.raises(DataError, match=r"band\(s\) 5 do not change"):
        fit_mnf(moments, noise, 2)
    img[..., 4] = img[..., 0] + img[..., 1]
    moments, noise = stats(img)
    with pytest.raises(DataError, match="singular"):
        fit_mnf(moments, noise, 2)
