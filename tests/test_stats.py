"""chanmix info's band statistics (chanmix.stats) on data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chanmix.stats import band_stats


def row_bands(image: np.ndarray, rows: int) -> list[np.ndarray]:
    return [image[r : r + rows] for r in range(0, image.shape[0], rows)]


@pytest.mark.parametrize("rows", [1, 3, 64])
def test_a_large_offset_loses_no_precision(rows):
    # 1e12 + 0..n-1 is exact in float64: mean 1e12 + (n-1)/2, population std sqrt((n^2-1)/12)
    n = 64 * 50
    image = (1e12 + np.arange(n, dtype=np.float64)).reshape(64, 50, 1)
    (stats,) = band_stats(row_bands(image, rows))
    assert stats.valid == n
    assert (stats.min, stats.max) == (1e12, 1e12 + n - 1)
    assert stats.mean == 1e12 + (n - 1) / 2
    assert stats.std == pytest.approx(math.sqrt((n * n - 1) / 12), rel=1e-12)


def test_nodata_and_non_finite_samples_do_not_count_and_each_band_has_its_own():
    image = np.array(
        [[[1.0, 7.0], [np.nan, 7.0]], [[3.0, np.inf], [-9.0, -9.0]]], dtype=np.float32
    )  # (2, 2, 2); -9 is nodata
    first, second = band_stats(row_bands(image, 1), nodata=-9.0)
    assert (first.valid, first.min, first.max, first.mean, first.std) == (2, 1.0, 3.0, 2.0, 1.0)
    assert (second.valid, second.min, second.max, second.mean, second.std) == (2, 7.0, 7.0, 7.0, 0.0)


def test_a_band_with_no_valid_sample():
    image = np.full((3, 4, 1), 5, dtype=np.uint16)
    (stats,) = band_stats(row_bands(image, 2), nodata=5)
    assert stats.valid == 0 and all(math.isnan(v) for v in (stats.min, stats.max, stats.mean, stats.std))


def test_values_too_far_apart_for_float64_keep_their_count():
    image = np.array([[[-1.5e308], [1.5e308], [0.0]]])
    (stats,) = band_stats([image])
    assert (stats.valid, stats.min, stats.max) == (3, -1.5e308, 1.5e308)
    assert not math.isfinite(stats.mean) or not math.isfinite(stats.std)


def test_matches_numpy_on_random_integers_split_anyhow():
    image = np.random.default_rng(3).integers(0, 65535, size=(37, 29, 4), dtype=np.uint16)
    for stats, band in zip(band_stats(row_bands(image, 5)), np.moveaxis(image, 2, 0)):
        values = band.astype(np.float64)
        assert (stats.valid, stats.min, stats.max) == (values.size, values.min(), values.max())
        assert stats.mean == pytest.approx(values.mean(), rel=1e-14)
        assert stats.std == pytest.approx(values.std(), rel=1e-12)
