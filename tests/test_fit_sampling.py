"""The --sample pixel subsample: the same pixels whatever the block split, uniform, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chanmix.errors import UsageError
from chanmix.fit import Moments, SampleMask


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5000), st.integers(0, 2**32), st.lists(st.integers(0, 3000), max_size=8))
def test_any_block_split_selects_the_same_pixels(n, seed, cuts):
    total = 3000
    sample = SampleMask(total, n, seed)
    whole = sample.mask(0, total)
    edges = [0, *sorted(cuts), total]
    pieces = np.concatenate([sample.mask(a, b) for a, b in zip(edges[:-1], edges[1:])])
    assert np.array_equal(pieces, whole)
    assert whole.sum() == sample.n_selected == min(n, total)


def test_reproducible_and_seed_dependent():
    a, b = SampleMask(10**6, 1000, 7), SampleMask(10**6, 1000, 7)
    assert np.array_equal(a.mask(0, 10**6), b.mask(0, 10**6))
    assert not np.array_equal(a.mask(0, 10**6), SampleMask(10**6, 1000, 8).mask(0, 10**6))


def test_every_pixel_is_equally_likely():
    total, n, trials = 50, 20, 4000
    hits = sum(SampleMask(total, n, seed).mask(0, total).astype(int) for seed in range(trials))
    expected = trials * n / total
    assert np.max(np.abs(hits - expected)) < 5 * np.sqrt(expected * (1 - n / total))
    dense = sum(SampleMask(total, 45, seed).mask(0, total).astype(int) for seed in range(trials))
    assert np.max(np.abs(dense - trials * 0.9)) < 5 * np.sqrt(trials * 0.9 * 0.1)


def test_large_images_and_use_as_a_valid_mask():
    sample = SampleMask(10**9, 10**5, 1)
    block = sample.mask(5 * 10**8, 5 * 10**8 + 2**20)
    assert 60 < block.sum() < 150  # about 10^5 * 2^20 / 10^9 = 105
    img = np.random.default_rng(0).random((100, 80, 3))
    sample = SampleMask(8000, 500, 3)
    chosen = sample.mask(0, 8000).reshape(100, 80)
    assert Moments.of(img, chosen).count == 500


def test_errors():
    with pytest.raises(UsageError, match="^sample must be"):
        SampleMask(100, 0, 1)
    with pytest.raises(UsageError, match="^seed must be"):
        SampleMask(100, 10, -1)
    with pytest.raises(ValueError, match="outside"):
        SampleMask(100, 10, 1).mask(50, 101)
    assert SampleMask(0, 10, 1).mask(0, 0).size == 0
