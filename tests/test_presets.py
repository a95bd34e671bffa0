"""The preset table: integrity, the published numbers, inverses, and reference implementations.

The expected numbers below are typed from the cited documents, not imported from
``chanmix.presets``, so a transcription error in the table makes a test fail.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from chanmix.blockmix import apply
from chanmix.errors import UsageError
from chanmix.mix import Mix
from chanmix.presets import PRESETS, Preset, _by_name, get_preset
from chanmix.transfer import decode_srgb as srgb_to_linear
from helpers import pillow_array

REQUIRED = [
    "gray-rec601", "gray-rec709", "gray-rec2020", "sepia", "invert", "swap-rb",
    "ycbcr-bt601", "rgb-from-ycbcr-bt601", "yiq", "rgb-from-yiq", "xyz-d65", "rgb-from-xyz-d65",
    "protanopia", "deuteranopia", "tritanopia", "landsat8-tasseled-cap",
]  # fmt: skip
INVERSE_PAIRS = [("ycbcr-bt601", "rgb-from-ycbcr-bt601"), ("yiq", "rgb-from-yiq"),
                 ("xyz-d65", "rgb-from-xyz-d65")]  # fmt: skip

# Published numbers: name -> (weights, bias or None, atol). atol 5e-5 where the document prints
# 4 decimals of a value chanmix derives exactly.
PUBLISHED = {
    "gray-rec601": ([[0.299, 0.587, 0.114]], None, 0),  # ITU-R BT.601-7
    "gray-rec709": ([[0.2126, 0.7152, 0.0722]], None, 0),  # ITU-R BT.709-6
    "gray-rec2020": ([[0.2627, 0.6780, 0.0593]], None, 0),  # ITU-R BT.2020-2
    "sepia": ([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], None, 0),
    "invert": (-np.eye(3), [1, 1, 1], 0),
    "swap-rb": ([[0, 0, 1], [0, 1, 0], [1, 0, 0]], None, 0),
    # JFIF 1.02: Cb = -0.1687 R - 0.3313 G + 0.5 B + 128, Cr = 0.5 R - 0.4187 G - 0.0813 B + 128
    "ycbcr-bt601": (
        [[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]],
        [0, 128 / 255, 128 / 255],
        5e-5,
    ),  # fmt: skip
    # T.871: R = Y + 1.402 (Cr-128), G = Y - 0.344136 (Cb-128) - 0.714136 (Cr-128),
    #        B = Y + 1.772 (Cb-128)
    "rgb-from-ycbcr-bt601": (
        [[1, 0, 1.402], [1, -0.344136, -0.714136], [1, 1.772, 0]],
        [-1.402 * 128 / 255, (0.344136 + 0.714136) * 128 / 255, -1.772 * 128 / 255],
        5e-7,
    ),  # fmt: skip
    # IEC 61966-2-1:1999, both directions as printed (4 decimals)
    "xyz-d65": (
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]],
        None,
        0,
    ),  # fmt: skip
    "rgb-from-xyz-d65": (
        [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]],
        None,
        5e-5,
    ),  # fmt: skip
    # Machado et al. 2009, severity 1.0
    "protanopia": (
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        None,
        0,
    ),  # fmt: skip
    "deuteranopia": (
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        None,
        0,
    ),  # fmt: skip
    "tritanopia": (
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
        None,
        0,
    ),  # fmt: skip
    # Baig et al. 2014; columns OLI bands 2-7
    "landsat8-tasseled-cap": (
        [
            [0.3029, 0.2786, 0.4733, 0.5599, 0.5080, 0.1872],
            [-0.2941, -0.2430, -0.5424, 0.7276, 0.0713, -0.1608],
            [0.1511, 0.1973, 0.3283, 0.3407, -0.7117, -0.4559],
            [-0.8239, 0.0849, 0.4396, -0.0580, 0.2013, -0.2773],
            [-0.3294, 0.0557, 0.1056, 0.1855, -0.4349, 0.8085],
            [0.1079, -0.9023, 0.4119, 0.0575, -0.0259, 0.0252],
        ],
        None,
        0,
    ),  # fmt: skip
}


@pytest.fixture(scope="module")
def astronaut(samples) -> np.ndarray:
    return pillow_array(samples / "astronaut.png", "RGB")


def _apply_uint8(pixels: np.ndarray, mix: Mix) -> np.ndarray:
    """chanmix.apply on uint8 pixels, as int64 for differences."""
    return apply(pixels.astype(np.uint8), mix).astype(np.int64)


def test_required_presets_in_display_order():
    assert list(PRESETS)[: len(REQUIRED)] == REQUIRED


@pytest.mark.parametrize("preset", PRESETS.values(), ids=list(PRESETS))
def test_every_preset_is_complete(preset: Preset):
    mix = preset.mix
    assert isinstance(mix, Mix) and PRESETS[preset.name] is preset
    assert preset.description.strip() and "\n" not in preset.description
    assert preset.source.strip()
    assert mix.provenance == {"name": preset.name, "source": preset.source}
    assert mix.names is not None and len(mix.names) == mix.n_outputs and all(mix.names)
    assert len(preset.inputs) == mix.n_inputs and all(preset.inputs)
    assert np.all(np.isfinite(mix.weights)) and np.all(np.isfinite(mix.bias))


def test_table_is_read_only_and_rejects_duplicates():
    with pytest.raises(TypeError):
        PRESETS["sepia"] = PRESETS["invert"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["sepia"].linear_light = True  # type: ignore[misc]
    with pytest.raises(ValueError, match="duplicate preset name 'sepia'"):
        _by_name([PRESETS["sepia"], PRESETS["sepia"]])


@pytest.mark.parametrize("name", PUBLISHED)
def test_preset_equals_its_source(name: str):
    weights, bias, atol = PUBLISHED[name]
    mix = PRESETS[name].mix
    np.testing.assert_allclose(mix.weights, weights, rtol=0, atol=atol)
    np.testing.assert_allclose(mix.bias, np.zeros(mix.n_outputs) if bias is None else bias,
                               rtol=0, atol=max(atol, 1e-15))  # fmt: skip


def test_linear_light_flags():
    linear = {name for name, p in PRESETS.items() if p.linear_light}
    assert linear == {"xyz-d65", "rgb-from-xyz-d65", "protanopia", "deuteranopia", "tritanopia"}


@pytest.mark.parametrize("name", ["gray-rec601", "gray-rec709", "gray-rec2020"])
def test_luma_weights_sum_to_one(name: str):
    assert PRESETS[name].mix.weights.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", ["protanopia", "deuteranopia", "tritanopia"])
def test_machado_matrices_keep_white(name: str):
    # Each row of a Machado matrix sums to 1 (white stays white): catches a mistyped digit.
    np.testing.assert_allclose(PRESETS[name].mix.weights.sum(axis=1), 1.0, atol=2e-6)


def test_tasseled_cap_is_a_rotation():
    # Baig et al. derive the TCT by PCA + Procrustes rotation: the rows are orthonormal to the
    # 4 printed decimals. A transposed or dropped digit (seen in copies of the table) breaks it.
    w = PRESETS["landsat8-tasseled-cap"].mix.weights
    np.testing.assert_allclose(w @ w.T, np.eye(6), atol=2e-4)


@pytest.mark.parametrize("forward, inverse", INVERSE_PAIRS)
def test_inverse_pairs_round_trip(forward: str, inverse: str):
    fwd, inv = PRESETS[forward], PRESETS[inverse]
    assert inv.inputs == fwd.mix.names and inv.mix.names == fwd.inputs
    assert inv.linear_light == fwd.linear_light
    for there_and_back in (fwd.mix.then(inv.mix), inv.mix.then(fwd.mix)):
        np.testing.assert_allclose(there_and_back.weights, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(there_and_back.bias, 0, atol=1e-12)


@pytest.mark.parametrize("name", ["invert", "swap-rb"])
def test_self_inverse(name: str):
    twice = PRESETS[name].mix.then(PRESETS[name].mix)
    np.testing.assert_allclose(twice.weights, np.eye(3), atol=0)
    np.testing.assert_allclose(twice.bias, 0, atol=0)


def test_yiq_matches_scikit_image(astronaut):
    from skimage.color import rgb2yiq
    from skimage.color.colorconv import yiq_from_rgb

    mix = PRESETS["yiq"].mix
    np.testing.assert_allclose(mix.weights, yiq_from_rgb, rtol=0, atol=1e-8)
    ours = apply(astronaut, mix, dtype="float64")
    np.testing.assert_allclose(ours, rgb2yiq(astronaut / 255.0), rtol=0, atol=1e-7)


def test_yiq_is_the_fcc_1953_definition_to_its_printed_precision():
    # 47 CFR 73.682(a)(20): Y = .30R + .59G + .11B, I = .74(R-Y) - .27(B-Y),
    # Q = .48(R-Y) + .41(B-Y). SMPTE 170M refines these two-decimal numbers.
    r_y, b_y = np.array([0.70, -0.59, -0.11]), np.array([-0.30, -0.59, 0.89])
    fcc = np.array([[0.30, 0.59, 0.11], 0.74 * r_y - 0.27 * b_y, 0.48 * r_y + 0.41 * b_y])
    np.testing.assert_allclose(PRESETS["yiq"].mix.weights, fcc, rtol=0, atol=5e-3)


def test_xyz_against_scikit_image_and_the_primaries(astronaut):
    from skimage.color import rgb2xyz
    from skimage.color.colorconv import xyz_from_rgb

    w = PRESETS["xyz-d65"].mix.weights
    # scikit-image's xyz_from_rgb (0.412453, ...) differs from the printed IEC matrix by at
    # most 2.73e-4 (Z row, blue column: 0.950227 vs 0.9505).
    np.testing.assert_allclose(w, xyz_from_rgb, rtol=0, atol=2.8e-4)
    linear = rgb2xyz(astronaut)  # scikit-image decodes sRGB, then applies its matrix
    ours = apply(np.ascontiguousarray(srgb_to_linear(astronaut / 255.0)), PRESETS["xyz-d65"].mix)
    np.testing.assert_allclose(ours, linear, rtol=0, atol=3e-4)
    # The IEC matrix is the one derived from the BT.709 primaries and D65, rounded to 4 places.
    xy = np.array([[0.64, 0.33], [0.30, 0.60], [0.15, 0.06], [0.3127, 0.3290]])
    xyz = np.column_stack([xy[:, 0] / xy[:, 1], np.ones(4), (1 - xy.sum(axis=1)) / xy[:, 1]]).T
    derived = xyz[:, :3] * np.linalg.solve(xyz[:, :3], xyz[:, 3])
    np.testing.assert_allclose(w, derived, rtol=0, atol=5e-5)
    # ICC, "How to interpret the sRGB color space (specified in IEC 61966-2-1) for ICC
    # profiles" prints the inverse to 7 decimals: the inverse of the 4-decimal matrix.
    np.testing.assert_allclose(PRESETS["rgb-from-xyz-d65"].mix.weights[0],
                               [3.2406255, -1.5372080, -0.4986286], rtol=0, atol=5e-8)  # fmt: skip


def test_ycbcr_matches_pillow_on_a_photograph(astronaut):
    mix = PRESETS["ycbcr-bt601"].mix
    ours = _apply_uint8(astronaut, mix)
    pillow = np.asarray(Image.fromarray(astronaut).convert("YCbCr")).astype(np.int64)
    assert np.abs(ours - pillow).max() <= 1
    # Pillow (libImaging/ConvertYCbCr.c) truncates its fixed-point sums instead of rounding,
    # so flooring our exact values reproduces it almost everywhere. This pins the chroma
    # offset to 128/255: with 0.5 (127.5) about half the chroma samples would disagree.
    floored = np.floor(np.clip((astronaut / 255.0) @ mix.weights.T + mix.bias, 0, 1) * 255)
    assert (floored == pillow).mean() > 0.95


def test_gray_rec601_matches_pillow_l(astronaut):
    ours = _apply_uint8(astronaut, PRESETS["gray-rec601"].mix)[..., 0]
    pillow = np.asarray(Image.fromarray(astronaut).convert("L")).astype(np.int64)
    assert np.abs(ours - pillow).max() <= 1
    assert (ours == pillow).mean() > 0.99


def test_get_preset_returns_the_table_entry():
    assert get_preset("sepia") is PRESETS["sepia"]


@pytest.mark.parametrize(
    "name, suggestion",
    [("sepai", "did you mean 'sepia'?"),
     ("gray", "did you mean 'gray-rec601', 'gray-rec709' or 'gray-rec2020'?"),
     ("deuteranope", "did you mean 'deuteranopia'?")],
)  # fmt: skip
def test_unknown_preset_suggests(name: str, suggestion: str):
    with pytest.raises(UsageError) as info:
        get_preset(name)
    assert str(info.value) == f"unknown preset {name!r}; {suggestion} (see 'chanmix presets')"
    assert info.value.exit_code == 2


def test_unknown_preset_without_a_close_name():
    with pytest.raises(UsageError, match=r"^unknown preset 'zzz' \(see 'chanmix presets'\)$"):
        get_preset("zzz")
