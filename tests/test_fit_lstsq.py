"""Least squares and ridge from streamed statistics against numpy.linalg.lstsq and scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from chanmix.errors import DataError, UsageError
from chanmix.fit import CrossMoments, fit_lstsq


def in_blocks(x: np.ndarray, y: np.ndarray, size: int = 1000) -> CrossMoments:
    parts = [CrossMoments.of(x[s : s + size], y[s : s + size]) for s in range(0, len(x), size)]
    return sum(parts[1:], parts[0])


def numpy_lstsq(x: np.ndarray, y: np.ndarray, bias: bool = True):
    """The reference: numpy.linalg.lstsq with a column of ones for the bias."""
    design = np.hstack([x, np.ones((len(x), 1))]) if bias else x
    solution = np.linalg.lstsq(design.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    return (solution[:-1].T, solution[-1]) if bias else (solution.T, np.zeros(y.shape[1]))


def noisy_problem(seed: int = 0, p: int = 5000, n: int = 6, m: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.random((p, n)) @ rng.normal(size=(n, n)) * 0.3 + 0.5
    y = x @ rng.normal(size=(n, m)) + 0.2 + 0.05 * rng.normal(size=(p, m))
    return x, y


def test_recovers_a_known_transform_of_float32_data():
    rng = np.random.default_rng(1)
    x = rng.random((20000, 4), dtype=np.float32)
    weights = rng.uniform(-1, 1, size=(3, 4))
    bias = rng.uniform(-0.2, 0.2, size=3)
    y = (x @ weights.T.astype(np.float32) + bias.astype(np.float32)).astype(np.float32)
    fit = fit_lstsq(in_blocks(x, y))
    assert np.max(np.abs(fit.mix.weights - weights)) < 1e-5
    assert np.max(np.abs(fit.mix.bias - bias)) < 1e-5
    assert np.all(fit.r2 > 1 - 1e-10) and np.all(fit.rmse < 1e-6)
    assert fit.rank == 4 and fit.collinear == [] and fit.warnings == ()


@pytest.mark.parametrize("bias", [True, False])
def test_matches_numpy_lstsq(bias):
    x, y = noisy_problem()
    fit = fit_lstsq(in_blocks(x, y), bias=bias)
    weights, offset = numpy_lstsq(x, y, bias)
    assert np.allclose(fit.mix.weights, weights, rtol=1e-9, atol=1e-10)
    assert np.allclose(fit.mix.bias, offset, rtol=1e-9, atol=1e-10)
    residual = y - (x @ weights.T + offset)
    assert np.allclose(fit.rmse, np.sqrt(np.mean(residual**2, axis=0)), rtol=1e-8)
    sst = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    assert np.allclose(fit.r2, 1 - np.sum(residual**2, axis=0) / sst, rtol=1e-8)
    assert fit.n_pixels == len(x) and fit.mix.provenance["fit_bias"] is bias


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("ridge", [0.1, 10.0, 1000.0])
def test_ridge_matches_sklearn(bias, ridge):
    x, y = noisy_problem(2)
    fit = fit_lstsq(in_blocks(x, y), bias=bias, ridge=ridge)
    sk = Ridge(alpha=ridge, fit_intercept=bias, solver="cholesky").fit(x, y)
    assert np.allclose(fit.mix.weights, sk.coef_, rtol=1e-8, atol=1e-10)
    assert np.allclose(fit.mix.bias, sk.intercept_ if bias else 0.0, rtol=1e-8, atol=1e-10)
    assert fit.mix.provenance["ridge"] == ridge
    if ridge >= 1000:  # the penalty shrinks the weights: a worse fit than without it
        assert np.all(fit.rmse > fit_lstsq(in_blocks(x, y), bias=bias).rmse)


def test_duplicate_band_is_reported_and_solved():
    x, y = noisy_problem(3, n=4)
    dup = np.hstack([x, x[:, 1:2]])  # band 5 repeats band 2
    fit = fit_lstsq(in_blocks(dup, y), input_names=["a", "b", "c", "d", "b2"])
    assert fit.rank == 4 and fit.collinear == [[1, 4]]
    assert len(fit.warnings) == 1 and "2 (b) and 5 (b2)" in fit.warnings[0]
    assert np.all(np.isfinite(fit.mix.weights))
    weights, offset = numpy_lstsq(dup, y)  # the minimum-norm solution splits the weight
    assert np.allclose(fit.mix.weights, weights, rtol=1e-7, atol=1e-9)
    assert np.allclose(fit.mix.bias, offset, rtol=1e-7, atol=1e-9)
    assert np.allclose(fit.rmse, fit_lstsq(in_blocks(x, y)).rmse, rtol=1e-9)
    assert fit.mix.provenance["collinear"] == [[1, 4]] and fit.mix.provenance["rank"] == 4


def test_dependent_groups_are_told_apart():
    rng = np.random.default_rng(4)
    base = rng.random((3000, 4))
    x = np.column_stack(
        [
            base[:, 0],
            base[:, 1],
            base[:, 0] + 2 * base[:, 1],  # 0, 1, 2 related
            base[:, 2],
            0.5 * base[:, 3],
            np.full(3000, 0.3),
            base[:, 3],
        ]
    )
    y = base @ rng.normal(size=(4, 2))
    fit = fit_lstsq(CrossMoments.of(x, y))
    assert fit.collinear == [[0, 1, 2], [4, 6], [5]]
    assert fit.rank == 4
    assert "constant" in fit.warnings[2] and "input band 6 " in fit.warnings[2]
    assert np.all(fit.r2 > 1 - 1e-10)
    no_bias = fit_lstsq(CrossMoments.of(x, y), bias=False)  # a constant band is then useful
    assert no_bias.collinear == [[0, 1, 2], [4, 6]] and no_bias.rank == 5


def test_near_but_not_exactly_dependent_bands_are_not_reported():
    x, y = noisy_problem(5, n=3)
    close = np.hstack([x, x[:, :1] + 1e-3 * np.random.default_rng(5).normal(size=(len(x), 1))])
    fit = fit_lstsq(CrossMoments.of(close, y))
    assert fit.rank == 4 and fit.collinear == []
    weights, _ = numpy_lstsq(close, y)
    assert np.allclose(fit.mix.weights, weights, rtol=1e-6, atol=1e-8)


def test_constant_target_and_masks():
    x, y = noisy_problem(6, m=2)
    y[:, 1] = 0.25
    fit = fit_lstsq(CrossMoments.of(x, y))
    assert fit.r2[1] == 1.0 and fit.rmse[1] < 1e-12 and abs(fit.mix.bias[1] - 0.25) < 1e-15
    assert np.all(fit.mix.weights[1] == 0)
    assert fit_lstsq(CrossMoments.of(x - 0.5, y), bias=False).r2[1] == 0.0  # cannot reach 0.25
    valid = np.random.default_rng(6).random(len(x)) < 0.5
    masked = fit_lstsq(CrossMoments.of(x, y, valid))
    alone = fit_lstsq(CrossMoments.of(x[valid], y[valid]))
    assert masked.n_pixels == int(valid.sum())
    assert np.allclose(masked.mix.weights, alone.mix.weights, rtol=1e-10, atol=1e-12)


def test_provenance_is_plain_json():
    x, y = noisy_problem(7)
    back = json.loads(json.dumps(fit_lstsq(CrossMoments.of(x, y)).mix.to_dict()))
    assert back["method"] == "lstsq" and back["rank"] == 6 and len(back["r2"]) == 3
    assert back["n_pixels"] == 5000 and back["ridge"] == 0.0 and back["collinear"] == []


def test_errors():
    x, y = noisy_problem(8)
    with pytest.raises(DataError, match="at least 2 valid pixels, got 1"):
        fit_lstsq(CrossMoments.of(x[:1], y[:1]))
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(UsageError, match="^ridge must be"):
            fit_lstsq(CrossMoments.of(x, y), ridge=bad)
