"""The writers of chanmix.export on small hand-made mixes: layouts, numbers, refusals."""

from __future__ import annotations

import io
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chanmix import Mix
from chanmix.errors import UsageError
from chanmix.export import (
    ffmpeg_colorchannelmixer,
    gdal_vrt,
    imagemagick_color_matrix,
    torch_state_dict,
    vips_matrix,
)
from chanmix.export.numbers import decimal

W3 = np.array([[0.5, 0.3, 0.2], [-0.1, 0.9, 0.1], [0.2, 0.1, 0.6]])


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_decimal_reads_back_exactly_without_exponent(x):
    text = decimal(x)
    assert float(text) == x
    assert "e" not in text and "np" not in text


def test_imagemagick_rgb_without_bias_is_3x3():
    numbers = [float(v) for v in imagemagick_color_matrix(Mix(W3)).split()]
    assert np.array_equal(np.reshape(numbers, (3, 3)), W3)


def test_imagemagick_bias_goes_to_the_offset_column_of_6x6():
    bias = [0.1, -0.05, 0.25]
    full = np.reshape([float(v) for v in imagemagick_color_matrix(Mix(W3, bias)).split()], (6, 6))
    assert np.array_equal(full[:3, :3], W3)
    assert np.array_equal(full[:3, 5], bias)
    expected_rest = np.eye(6)[3:]
    assert np.array_equal(full[3:], expected_rest) and np.array_equal(full[:3, 3:5], np.zeros((3, 2)))


def test_imagemagick_rgba_skips_black_k():
    w4 = np.arange(16, dtype=float).reshape(4, 4) / 10
    full = np.reshape([float(v) for v in imagemagick_color_matrix(Mix(w4)).split()], (5, 5))
    places = [0, 1, 2, 4]
    assert np.array_equal(full[np.ix_(places, places)], w4)
    assert np.array_equal(full[3], np.eye(5)[3]) and np.array_equal(full[:, 3], np.eye(5)[:, 3])


@pytest.mark.parametrize("writer", [imagemagick_color_matrix, ffmpeg_colorchannelmixer])
def test_rgb_tools_refuse_other_shapes(writer):
    with pytest.raises(UsageError, match="3 -> 1") as info:
        writer(Mix([[0.299, 0.587, 0.114]]))
    assert info.value.parameter == "to"


def test_ffmpeg_names_every_weight():
    text = ffmpeg_colorchannelmixer(Mix(W3))
    assert text.startswith("colorchannelmixer=")
    pairs = dict(item.split("=") for item in text[len("colorchannelmixer=") :].split(":"))
    assert list(pairs) == ["rr", "rg", "rb", "gr", "gg", "gb", "br", "bg", "bb"]
    assert np.array_equal(np.reshape([float(v) for v in pairs.values()], (3, 3)), W3)


def test_ffmpeg_rgba_has_16_weights():
    text = ffmpeg_colorchannelmixer(Mix(np.eye(4)))
    assert text.count("=") == 17 and ":aa=1" in text and ":ar=0" in text


def test_ffmpeg_refuses_bias_and_weights_beyond_2():
    with pytest.raises(UsageError, match="no offset.*bias"):
        ffmpeg_colorchannelmixer(Mix(W3, [0, 0, 0.1]))
    w = W3.copy()
    w[1, 2] = -2.5
    with pytest.raises(UsageError, match=r"\[-2, 2\].*gb is -2.5"):
        ffmpeg_colorchannelmixer(Mix(w))


def test_vips_matrix_file_reads_back():
    rng = np.random.default_rng(1)
    mix = Mix(rng.normal(size=(2, 5)))
    head, *rows = vips_matrix(mix).splitlines()
    assert head == "5 2"
    assert np.array_equal(np.array([[float(v) for v in row.split()] for row in rows]), mix.weights)
    with pytest.raises(UsageError, match="recomb has no offset"):
        vips_matrix(Mix(W3, [0.5, 0, 0]))


def test_torch_npz_is_a_conv2d_state_dict():
    mix = Mix(W3[:2], [0.125, -1 / 3])
    with np.load(io.BytesIO(torch_state_dict(mix, ".npz")), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["bias", "weight"]
        assert npz["weight"].shape == (2, 3, 1, 1) and npz["weight"].dtype == np.float64
        assert np.array_equal(npz["weight"][:, :, 0, 0], mix.weights)
        assert np.array_equal(npz["bias"], mix.bias)


def test_torch_safetensors_without_the_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(UsageError, match="needs the safetensors package"):
        torch_state_dict(Mix(W3), ".safetensors")
    with pytest.raises(UsageError, match=r"\.npz or \.safetensors, not \.pt"):
        torch_state_dict(Mix(W3), ".pt")


def test_gdal_vrt_converts_weights_to_raw_units_and_carries_nodata():
    mix = Mix([[0.5, 0.25], [1, -1]], [0.1, 0], names=["a", "b<c"])
    root = ET.fromstring(gdal_vrt(mix, "in.tif", bands=2, dtype="uint16", nodata=7.0, relative_to_vrt=True))
    source = root.find("Input/SourceFilename")
    assert source is not None and source.text == "in.tif" and source.get("relativeToVRT") == "1"
    arguments = {a.get("name"): a.text for a in root.iter("Argument")}
    assert [float(v) for v in arguments["coefficients_1"].split(",")] == [0.1, 0.5 / 65535, 0.25 / 65535]
    assert [float(v) for v in arguments["coefficients_2"].split(",")] == [0, 1 / 65535, -1 / 65535]
    assert arguments["src_nodata"] == "7" and arguments["dst_nodata"] == "7"
    bands = root.findall("VRTRasterBand")
    assert [b.get("dataType") for b in bands] == ["Float32", "Float32"]
    assert [b.findtext("Description") for b in bands] == ["a", "b<c"]
    assert [b.findtext("NoDataValue") for b in bands] == ["7", "7"]


def test_gdal_vrt_float_input_keeps_weights_and_int16_divides_by_32767():
    mix = Mix([[0.5, 0.25]])
    for dtype, scale in (("float32", 1.0), ("int16", 32767.0)):
        root = ET.fromstring(gdal_vrt(mix, "/x.tif", bands=2, dtype=dtype))
        text = root.findtext("ProcessingSteps/Step/Argument")
        assert text is not None and [float(v) for v in text.split(",")] == [0, 0.5 / scale, 0.25 / scale]
        assert root.find("Input/SourceFilename").get("relativeToVRT") is None
        assert not [a for a in root.iter("Argument") if "nodata" in (a.get("name") or "")]


def test_gdal_vrt_refuses_a_band_count_mismatch():
    with pytest.raises(UsageError, match="has 4 bands, and the mix reads 3"):
        gdal_vrt(Mix(W3), "x.tif", bands=4, dtype="uint8")


def test_gdal_vrt_alpha_is_copied_last_and_refused_with_nodata():
    root = ET.fromstring(gdal_vrt(Mix(W3, [0.5, 0, 0]), "x.tif", bands=4, dtype="uint8", alpha=0))
    arguments = [a.text or "" for a in root.iter("Argument")]
    assert [float(v) for v in arguments[0].split(",")] == [0.5, 0, *(W3[0] / 255)]
    assert [float(v) for v in arguments[3].split(",")] == [0, 1 / 255, 0, 0, 0]
    last = root.findall("VRTRasterBand")[-1]
    assert last.findtext("ColorInterp") == "Alpha" and last.findtext("Description") == "alpha"
    with pytest.raises(UsageError, match="3 bands besides its alpha band, and the mix reads 2"):
        gdal_vrt(Mix(W3[:, :2]), "x.tif", bands=4, dtype="uint8", alpha=3)
    with pytest.raises(UsageError, match="both an alpha band and nodata"):
        gdal_vrt(Mix(W3), "x.tif", bands=4, dtype="uint8", nodata=0.0, alpha=3)
