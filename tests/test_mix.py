"""The Mix value: validation, composition, inversion."""

from __future__ import annotations

import numpy as np
import pytest

from chanmix import MatrixError, Mix, compose


def test_weights_and_bias_are_immutable_float64():
    mix = Mix([[1, 2], [3, 4]], [5, 6])
    assert mix.weights.dtype == np.float64 and mix.n_inputs == 2 and mix.n_outputs == 2
    with pytest.raises(ValueError):
        mix.weights[0, 0] = 9
    with pytest.raises(AttributeError):
        mix.bias = np.zeros(2)  # type: ignore[misc]


def test_bias_defaults_to_zero():
    mix = Mix([[0.5, 0.5]])
    np.testing.assert_array_equal(mix.bias, [0.0])
    assert not mix.has_bias


@pytest.mark.parametrize(
    "weights, bias, names, message",
    [
        ([[1.0, float("nan")]], None, None, "NaN or infinite"),
        ([[1.0, float("inf")]], None, None, "NaN or infinite"),
        ([1.0, 2.0], None, None, "M x N"),
        ([[1.0, 2.0], [3.0]], None, None, "numbers"),
        ([[]], None, None, "empty"),
        ([[1.0, 2.0]], [0.1, 0.2], None, "bias has 2 values but the weights have 1 rows"),
        ([[1.0, 2.0]], [float("nan")], None, "NaN"),
        ([[1.0, 2.0]], None, ["a", "b"], "2 channel names given for 1 output"),
        ([["a", "b"]], None, None, "numbers"),
    ],
)
def test_invalid_mixes_are_refused(weights, bias, names, message):
    with pytest.raises(MatrixError, match=message):
        Mix(weights, bias, names=names)


def test_compose_equals_applying_in_order():
    rng = np.random.default_rng(0)
    a = Mix(rng.normal(size=(4, 3)), rng.normal(size=4))
    b = Mix(rng.normal(size=(2, 4)), rng.normal(size=2), names=["x", "y"])
    x = rng.normal(size=(10, 3))
    step = (x @ a.weights.T + a.bias) @ b.weights.T + b.bias
    both = compose([a, b])
    np.testing.assert_allclose(x @ both.weights.T + both.bias, step, rtol=1e-12)
    assert both.names == ("x", "y")
    assert compose([a]) is a


def test_compose_refuses_channel_counts_that_do_not_chain():
    with pytest.raises(MatrixError, match="cannot chain a 2-output mix into a mix that reads 3"):
        compose([Mix(np.ones((2, 3))), Mix(np.ones((1, 3)))])
    with pytest.raises(MatrixError, match="no matrix"):
        compose([])


def test_inverse_undoes_an_affine_mix():
    rng = np.random.default_rng(1)
    mix = Mix(rng.normal(size=(3, 3)) + 3 * np.eye(3), rng.normal(size=3))
    round_trip = mix.then(mix.inverse())
    np.testing.assert_allclose(round_trip.weights, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(round_trip.bias, 0, atol=1e-12)


def test_inverse_of_a_reduction_is_the_least_squares_reconstruction():
    w = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    inv = Mix(w, [0.1, 0.2]).inverse()
    np.testing.assert_allclose(inv.weights, np.linalg.pinv(w))
    np.testing.assert_allclose(inv.bias, -np.linalg.pinv(w) @ [0.1, 0.2])


def test_inverse_about_a_point_keeps_its_component_outside_the_row_space():
    w = np.array([[1.0, 0.0, 0.0]])
    mean = np.array([0.5, 0.25, 0.75])
    inv = Mix(w, -w @ mean).inverse(about=mean)
    np.testing.assert_allclose(inv.weights @ [0.1] + inv.bias, [0.6, 0.25, 0.75])
    with pytest.raises(MatrixError, match="reference point has 2 values"):
        Mix(w).inverse(about=[1, 2])


def test_equality_and_dict():
    a = Mix([[1.0, 0.0]], [0.5], names=["g"], provenance={"name": "mine"})
    b = Mix([[1.0, 0.0]], [0.5], names=["g"])
    assert a == b and a != Mix([[1.0, 0.0]])
    d = a.to_dict()
    assert d == {"name": "mine", "weights": [[1.0, 0.0]], "bias": [0.5], "names": ["g"]}
    assert "mine" in repr(a) and "2 -> 1" in repr(a)
