"""The mixing kernel and chanmix.apply against OpenCV, float64 references and hand values."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chanmix
from chanmix import Mix, Rescale, apply
from chanmix.blockmix import Mixer
from chanmix.errors import MatrixError, UsageError
from chanmix.transfer import decode_srgb, encode_srgb
from helpers import pillow_array

INT_TYPES = ["uint8", "uint16", "int16", "uint32", "int32"]
ALL_TYPES = INT_TYPES + ["float32", "float64"]


def maximum(dtype: str) -> float:
    dt = np.dtype(dtype)
    return float(np.iinfo(dt).max) if dt.kind in "ui" else 1.0


def reference(image: np.ndarray, mix: Mix, out_dtype: str) -> np.ndarray:
    """The contract, computed in float64 with nothing folded: normalize, mix, scale."""
    x = image.astype(np.float64) / maximum(image.dtype.name)
    y = (x @ mix.weights.T + mix.bias) * maximum(out_dtype)
    dt = np.dtype(out_dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        y = np.clip(np.rint(y), info.min, info.max)
    return y


@pytest.fixture(scope="module")
def photo(samples) -> np.ndarray:
    return pillow_array(samples / "astronaut.png", "RGB")


@pytest.mark.parametrize("seed", range(5))
def test_matches_cv2_transform_on_a_photograph(photo, seed):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-0.6, 1.4, size=(3, 3))
    bias = rng.uniform(-0.2, 0.2, size=3)
    ours = apply(photo, Mix(weights, bias))
    theirs = cv2.transform(photo, np.hstack([weights, (bias * 255)[:, None]]))
    assert ours.dtype == np.uint8 and ours.shape == photo.shape
    assert np.abs(ours.astype(int) - theirs.astype(int)).max() <= 1


def test_matches_cv2_transform_reducing_to_one_band_in_uint16(photo):
    img16 = photo.astype(np.uint16) * 257 + np.arange(photo.shape[1], dtype=np.uint16)[None, :, None]
    weights = np.array([[0.2, 0.7, 0.1]])
    ours = apply(img16, Mix(weights))
    theirs = cv2.transform(img16, weights)
    assert np.abs(ours[..., 0].astype(int) - theirs.astype(int)).max() <= 1


@pytest.mark.parametrize("dtype", ALL_TYPES)
def test_identity_is_exact_at_the_extremes_of_every_type(dtype):
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        values = [info.min, info.min + 1, 0, 1, info.max // 2, info.max - 1, info.max]
    else:
        values = [-2.5, -1.0, 0.0, 1e-30, 0.3, 1.0, 7.25]
    img = np.array(values, dtype=dt).reshape(1, -1, 1).repeat(3, axis=2)
    out = apply(img, Mix.identity(3))
    assert out.dtype == dt
    np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize(
    "dtype, expected",
    [
        # 0.5 * max, rounded half to even
        ("uint8", 128),
        ("uint16", 32768),
        ("int16", 16384),
        ("uint32", 2147483648),
        ("int32", 1073741824),
        ("float32", 0.5),
        ("float64", 0.5),
    ],
)
def test_a_bias_of_one_half_is_mid_grey_at_any_depth(dtype, expected):
    img = np.zeros((2, 2, 3), dtype=dtype)
    out = apply(img, Mix(np.zeros((1, 3)), [0.5]))
    assert out.dtype == np.dtype(dtype)
    assert np.all(out == expected)


@pytest.mark.parametrize("dtype", INT_TYPES)
def test_saturation_at_both_ends(dtype):
    info = np.iinfo(dtype)
    img = np.full((1, 4, 1), info.max, dtype=dtype)
    high = apply(img, Mix([[2.0]]))
    low = apply(img, Mix([[-2.0]]))
    assert np.all(high == info.max)
    assert np.all(low == info.min)


def test_float_outputs_are_not_clipped():
    img = np.full((1, 1, 2), 0.75, dtype=np.float32)
    out = apply(img, Mix([[2.0, 1.0], [-1.0, 0.0]], [0.25, 0.0]))
    np.testing.assert_allclose(out[0, 0], [2.5, -0.75])


@pytest.mark.parametrize(
    "src, dst, values, expected",
    [
        ("uint8", "uint16", [0, 1, 128, 255], [0, 257, 32896, 65535]),
        ("uint16", "uint8", [0, 128, 257, 32767, 32768, 65535], [0, 0, 1, 127, 128, 255]),
        ("uint8", "float32", [0, 51, 255], [0.0, 0.2, 1.0]),
        ("float32", "uint8", [-0.5, 0.0, 0.5, 1.0, 3.0], [0, 0, 128, 255, 255]),
        ("int16", "uint8", [-32768, -1, 0, 32767], [0, 0, 0, 255]),
        ("uint8", "int16", [0, 255], [0, 32767]),
    ],
)
def test_converting_between_types_scales_by_the_maxima(src, dst, values, expected):
    img = np.array(values, dtype=src).reshape(1, -1, 1)
    out = apply(img, Mix([[1.0]]), dtype=dst)
    assert out.dtype == np.dtype(dst)
    np.testing.assert_allclose(out[0, :, 0], expected, rtol=1e-6)


def test_nan_samples_become_zero_in_integer_outputs():
    img = np.array([[[np.nan], [0.5]]], dtype=np.float32)
    out = apply(img, Mix([[1.0]]), dtype="uint8")
    np.testing.assert_array_equal(out[0, :, 0], [0, 128])


@settings(max_examples=60, deadline=None)
@given(
    image=hnp.arrays(np.uint8, st.tuples(st.integers(1, 5), st.integers(1, 7), st.just(4))),
    weights=hnp.arrays(np.float64, (3, 4), elements=st.floats(-2, 2, width=32)),
    bias=hnp.arrays(np.float64, (3,), elements=st.floats(-1, 1, width=32)),
)
def test_uint8_matches_the_float64_contract_except_at_exact_ties(image, weights, bias):
    mix = Mix(weights, bias)
    ref = (image.astype(np.float64) @ weights.T) + bias * 255
    ours = apply(image, mix).astype(np.float64)
    expected = np.clip(np.rint(ref), 0, 255)
    near_tie = np.abs(np.abs(ref - np.floor(ref)) - 0.5) < 1e-3
    assert np.all((ours == expected) | near_tie)
    assert np.all(np.abs(ours - np.clip(ref, 0, 255)) <= 0.5 + 1e-3)


@pytest.mark.parametrize("shape", [(3, 2), (10, 200)])
def test_small_and_large_matrices_agree_with_float64(shape):
    m, n = shape
    rng = np.random.default_rng(1)
    img = rng.integers(0, 65536, size=(37, 1001, n), dtype=np.uint16)
    mix = Mix(rng.normal(size=(m, n)) / n, rng.normal(size=m) * 0.01)
    out = apply(img, mix, dtype="float32")
    np.testing.assert_allclose(out, reference(img, mix, "float32"), rtol=1e-5, atol=1e-5)


def test_results_do_not_depend_on_the_number_of_threads():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, size=(900, 700, 3), dtype=np.uint8)
    mix = Mix(rng.uniform(-1, 1, size=(3, 3)), [0.1, 0.2, -0.1])
    assert np.array_equal(apply(img, mix, jobs=1), apply(img, mix, jobs=4))


def test_layout_of_the_input_array_does_not_matter():
    rng = np.random.default_rng(3)
    planar = rng.integers(0, 65536, size=(3, 300, 200), dtype=np.uint16)
    interleaved = np.ascontiguousarray(planar.transpose(1, 2, 0))
    mix = Mix(rng.uniform(-1, 1, size=(2, 3)))
    assert np.array_equal(apply(planar.transpose(1, 2, 0), mix), apply(interleaved, mix))


def test_srgb_transfer_round_trip_and_known_values():
    x = np.linspace(-1, 1, 2001)
    np.testing.assert_allclose(encode_srgb(decode_srgb(x.copy())), x, atol=1e-12)
    np.testing.assert_allclose(
        decode_srgb(np.array([0.04045, 0.5, 1.0])), [0.04045 / 12.92, ((0.5 + 0.055) / 1.055) ** 2.4, 1.0]
    )


def test_linear_mixes_in_linear_light():
    img = np.array([[[255, 0, 0], [128, 128, 128]]], dtype=np.uint8)
    mix = Mix([[0.2126, 0.7152, 0.0722]])
    out = apply(img, mix, linear=True)
    lin = decode_srgb(img.astype(np.float64) / 255)
    expected = np.rint(encode_srgb(lin @ mix.weights.T) * 255)
    np.testing.assert_array_equal(out, expected)
    assert out[0, 1, 0] == 128  # grey stays grey


def test_minmax_rescale_stretches_each_band_to_the_full_range():
    img = np.array([[[10, 100], [20, 110], [30, 120]]], dtype=np.uint8)
    out = apply(img, Mix.identity(2), rescale="minmax")
    np.testing.assert_array_equal(out[0], [[0, 0], [128, 128], [255, 255]])


def test_percentile_rescale_uses_the_given_percentiles():
    values = np.arange(101, dtype=np.float32).reshape(1, -1, 1)
    out = apply(values, Mix([[1.0]]), rescale=Rescale("percentile", (10, 90)), dtype="float32")
    assert out[0, 10, 0] == pytest.approx(0.0) and out[0, 90, 0] == pytest.approx(1.0)
    assert out[0, 50, 0] == pytest.approx(0.5)
    out8 = apply(values, Mix([[1.0]]), rescale=Rescale("percentile", (10, 90)), dtype="uint8")
    assert out8[0, 0, 0] == 0 and out8[0, 100, 0] == 255


def test_nodata_propagates_and_stays_out_of_the_rescale():
    img = np.array([[[0, 5], [10, 20], [30, 40], [50, 0]]], dtype=np.uint8)
    out = apply(img, Mix([[1.0, 1.0]]), nodata=0, rescale="minmax")
    assert out[0, 0, 0] == 0 and out[0, 3, 0] == 0  # nodata kept (uint8 holds 0)
    assert out[0, 1, 0] == 0 and out[0, 2, 0] == 255  # stretched over valid pixels only
    out_f = apply(img, Mix([[1.0, 1.0]], [0.1]), nodata=0, dtype="float32")
    assert out_f[0, 0, 0] == 0.0  # float output holds 0 exactly
    assert out_f[0, 1, 0] == pytest.approx(30 / 255 + 0.1)
    nan_nodata = apply(
        np.array([[[np.nan, 1.0], [0.5, 0.5]]], dtype=np.float32), Mix([[1.0, 1.0]]), nodata=float("nan")
    )
    assert np.isnan(nan_nodata[0, 0, 0]) and nan_nodata[0, 1, 0] == 1.0


def test_nodata_that_the_output_type_cannot_hold():
    img = np.array([[[-9999, 5], [100, 200]]], dtype=np.int16)
    first = Mix([[1.0, 0.0]])
    valid = 100 / 32767  # the second pixel's first band in normalized units (int16 max 32767)
    # float32 holds -9999: the nodata value is carried as it is
    out = apply(img, first, nodata=-9999, dtype="float32")
    assert out.dtype == np.float32 and out.shape == (1, 2, 1) and out[0, 0, 0] == -9999
    np.testing.assert_allclose(out[0, 1, 0], valid, rtol=1e-6)
    # a nodata value that is not in the data changes nothing: float samples are used as they are
    out = apply(img.astype(np.float64), first, nodata=1e300, dtype="float32")
    np.testing.assert_array_equal(out, np.array([[[-9999.0], [100.0]]], dtype=np.float32), strict=True)
    # float32 cannot hold 1e300: the nodata pixel becomes NaN, the other is mixed
    big = np.array([[[1e300, 0.5], [0.25, 0.5]]])
    out = apply(big, first, nodata=1e300, dtype="float32")
    np.testing.assert_array_equal(out, np.array([[[np.nan], [0.25]]], dtype=np.float32), strict=True)
    # uint8 cannot hold -9999: nodata becomes the type's minimum, 0
    out = apply(img, first, nodata=-9999, dtype="uint8")
    np.testing.assert_array_equal(out, np.array([[[0], [np.rint(valid * 255)]]], dtype=np.uint8), strict=True)


@pytest.mark.parametrize("mode, channels", [("keep", 2), ("drop", 1)])
def test_alpha_is_passed_through_or_dropped(mode, channels):
    rgba = np.array([[[255, 0, 0, 7], [0, 0, 255, 200]]], dtype=np.uint8)
    out = apply(rgba, chanmix.get_preset("gray-rec601").mix, alpha=3, alpha_mode=mode)
    assert out.shape == (1, 2, channels)
    np.testing.assert_array_equal(out[0, :, 0], [76, 29])
    if mode == "keep":
        np.testing.assert_array_equal(out[0, :, 1], [7, 200])


def test_alpha_can_be_mixed_like_a_band_and_converted_when_kept():
    rgba = np.array([[[255, 0, 0, 128]]], dtype=np.uint8)
    out = apply(rgba, Mix([[0, 0, 0, 1.0]]), alpha=3, alpha_mode="mix")
    assert out[0, 0, 0] == 128
    kept16 = apply(rgba, Mix([[1.0, 0, 0]]), alpha=3, dtype="uint16")
    np.testing.assert_array_equal(kept16[0, 0], [65535, 128 * 257])


@pytest.mark.parametrize("shape", [(0, 4, 4), (3, 0, 4)])
def test_an_empty_block_mixes_into_an_empty_block(shape):
    """A Mixer given no pixels (an empty dask chunk) raised "out must be reshapeable"."""
    mixer = Mixer.build(Mix(np.ones((2, 3))), np.uint8, np.float32, alpha=True, nodata=0.0)
    out = mixer(np.zeros(shape, dtype=np.uint8))
    assert out.shape == shape[:2] + (3,) and out.dtype == np.float32


@pytest.mark.parametrize("alpha", [3, -1])
def test_an_alpha_channel_the_image_does_not_have_is_a_usage_error(alpha):
    """It was an IndexError (3), or -1 kept the last channel twice, mixed and passed through."""
    message = f"alpha: the image has channels 0 to 2, there is no channel {alpha}$"
    with pytest.raises(UsageError, match=message):
        apply(np.zeros((2, 2, 3), dtype=np.uint8), Mix.identity(3), alpha=alpha)


def test_per_band_nodata_values_are_one_per_mixed_band():
    """Two values for three bands was NumPy's ValueError from inside the mix."""
    with pytest.raises(UsageError, match="nodata: 2 values, one per band, for 3 bands"):
        apply(np.zeros((2, 2, 4), dtype=np.uint8), Mix.identity(3), nodata=(0.0, 1.0), alpha=3)


def test_wrong_channel_count_and_bad_options_are_usage_errors():
    img = np.zeros((2, 2, 3), dtype=np.uint8)
    with pytest.raises(MatrixError, match="reads 4 channels but the image has 3"):
        apply(img, Mix(np.ones((1, 4))))
    with pytest.raises(UsageError, match="^rescale: "):
        apply(img, Mix.identity(3), rescale="stretch")
    with pytest.raises(UsageError, match="^dtype: "):
        apply(img, Mix.identity(3), dtype="int8")
    with pytest.raises(UsageError, match="no valid pixel"):
        apply(img, Mix.identity(3), rescale="minmax", nodata=0)


def test_two_dimensional_images_are_one_band():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = apply(img, Mix([[2.0], [1.0]]))
    assert out.shape == (3, 4, 2)
    np.testing.assert_array_equal(out[..., 0], img * 2)


@pytest.mark.parametrize(
    "bands, mode, expected",
    [
        (None, "keep", ([0, 1, 2], 3)),
        (None, "drop", ([0, 1, 2], None)),
        (None, "mix", ([0, 1, 2, 3], None)),
        ((3, 1), "keep", ([2, 0], 3)),
        ((4, 1), "keep", ([3, 0], None)),  # a selected alpha is mixed, not passed through
    ],
)
def test_band_selection(bands, mode, expected):
    from chanmix.blockmix import band_selection

    assert band_selection(4, 3, bands, mode, "x.png") == expected
    with pytest.raises(UsageError, match="^bands: x.png has 4 bands, there is no band 5"):
        band_selection(4, 3, (5,), mode, "x.png")
