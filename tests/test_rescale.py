"""Rescale ranges measured over block streams: exact minmax and numpy's percentiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chanmix import Mix, Rescale
from chanmix import rescale as rescale_module
from chanmix.rescale import rescale_map


def blocks_of(image: np.ndarray, rows: int):
    return lambda: (image[r : r + rows] for r in range(0, image.shape[0], rows))


def expected(values: np.ndarray, q: tuple[float, float]):
    lo, hi = np.percentile(values, q, axis=0)
    scale = np.where(hi > lo, 1 / np.where(hi > lo, hi - lo, 1), 0)
    return scale, -lo * scale


@pytest.fixture
def small_gather(monkeypatch):
    """Force the multi-pass selection on small images."""
    monkeypatch.setattr(rescale_module, "GATHER_VALUES", 37)
    monkeypatch.setattr(rescale_module, "BINS", 8)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("q", [(2.0, 98.0), (0.0, 100.0), (33.3, 50.0)])
def test_selection_equals_numpy_percentile(small_gather, dtype, q):
    rng = np.random.default_rng(3)
    if dtype == "float32":
        image = rng.normal(size=(41, 23, 3)).astype(np.float32)
    else:
        image = rng.integers(0, 12, size=(41, 23, 3)).astype(dtype)  # many ties
    mix = Mix([[1.0, 0.5, 0.0], [0.0, 0.0, 1.0]], [0.1, 0.0])
    got = rescale_map(blocks_of(image, 5), mix, Rescale("percentile", q))
    values = image.reshape(-1, 3).astype(np.float64)
    if dtype != "float32":
        values = values / np.iinfo(dtype).max
    ref = expected(values @ mix.weights.T + mix.bias, q)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=200), st.floats(0, 99), st.integers(1, 9)
)
def test_selection_on_arbitrary_values(values, lo, rows):
    column = np.array(values, dtype=np.float32).reshape(-1, 1, 1)
    q = (lo, min(100.0, lo + 1.0))
    old = rescale_module.GATHER_VALUES, rescale_module.BINS
    rescale_module.GATHER_VALUES, rescale_module.BINS = 3, 4
    try:
        got = rescale_map(blocks_of(column, rows), Mix([[1.0]]), Rescale("percentile", q))
    finally:
        rescale_module.GATHER_VALUES, rescale_module.BINS = old
    ref = expected(column.reshape(-1, 1).astype(np.float64), q)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-9)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-9, atol=1e-12)


def test_nodata_and_non_finite_values_do_not_count(small_gather):
    image = np.arange(200, dtype=np.float32).reshape(20, 10, 1)
    image[0, :5] = -9999
    image[1, 0] = np.nan
    got = rescale_map(blocks_of(image, 3), Mix([[1.0]]), Rescale("percentile", (10, 90)), nodata=-9999)
    valid = image[np.isfinite(image) & (image != -9999)].astype(np.float64)[:, None]
    ref = expected(valid, (10, 90))
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_minmax_and_constant_bands():
    image = np.zeros((6, 7, 2), dtype=np.uint16)
    image[..., 0] = np.arange(42).reshape(6, 7) * 100
    scale, offset = rescale_map(blocks_of(image, 4), Mix.identity(2), Rescale("minmax"))
    assert scale[0] == pytest.approx(65535 / 4100) and offset[0] == 0
    assert scale[1] == 0 and offset[1] == 0  # no spread: maps to 0
    assert rescale_map(blocks_of(image, 4), Mix.identity(2), Rescale("clip")) is None


def test_a_value_filling_the_selected_interval_ends_the_selection(small_gather):
    """A black background (most samples 0) used to take one pass per halving of the interval
    down to the float spacing: 64 s for 6 megapixels; the run stops once one value fills it."""
    image = np.zeros((300, 200, 1), np.uint8)
    image[::50, ::40] = np.arange(30, dtype=np.uint8).reshape(6, 5, 1) * 3 + 10
    passes = []

    def blocks():
        passes.append(1)
        return (image[r : r + 16] for r in range(0, image.shape[0], 16))

    got = rescale_map(blocks, Mix([[1.0]]), Rescale("percentile", (2, 99.9)))
    np.testing.assert_allclose(got, expected(image.reshape(-1, 1) / 255, (2, 99.9)), rtol=1e-12)
    assert len(passes) <= 8
