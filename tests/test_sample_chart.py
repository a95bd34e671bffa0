"""The colour-chart sample (sample_images/chart/, made by make_chart.py): reproducible, as
described, and a least-squares fit on it finds the known correction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import ok, pillow_array

PNGS = ("chart-reference.png", "chart-photo.png", "photo.png")


@pytest.fixture(scope="module")
def truth(samples: Path) -> dict:
    return json.loads((samples / "chart" / "chart_truth.json").read_text(encoding="utf-8"))


def _halved_coffee(samples: Path) -> np.ndarray:
    """coffee.png with each 2 x 2 block averaged, computed here, not by the script."""
    coffee = pillow_array(samples / "coffee.png", "RGB").astype(np.float64)
    means = (coffee[0::2, 0::2] + coffee[1::2, 0::2] + coffee[0::2, 1::2] + coffee[1::2, 1::2]) / 4
    return np.rint(means)


def test_script_reproduces_the_chart(samples: Path, tmp_path: Path) -> None:
    """The same pixels (PNG bytes depend on zlib) and the same truth file."""
    subprocess.run([sys.executable, str(samples / "make_chart.py"), str(tmp_path)], check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*PNGS, "chart_truth.json"])
    for name in PNGS:
        assert np.array_equal(pillow_array(tmp_path / name), pillow_array(samples / "chart" / name)), name
    kept = (samples / "chart" / "chart_truth.json").read_bytes().replace(b"\r\n", b"\n")
    assert (tmp_path / "chart_truth.json").read_bytes() == kept


def test_reference_chart_holds_the_24_patches(samples: Path, truth: dict) -> None:
    chart = pillow_array(samples / "chart" / "chart-reference.png")
    size = truth["patch_size"]
    assert chart.shape == (4 * size, 6 * size, 3) and chart.dtype == np.uint8
    colours = list(truth["patches"].values())
    assert len(colours) == 24
    for index, colour in enumerate(colours):
        row, column = divmod(index, 6)
        patch = chart[row * size : (row + 1) * size, column * size : (column + 1) * size]
        assert np.all(patch == colour), list(truth["patches"])[index]


def test_photos_are_the_cast_plus_noise(samples: Path, truth: dict) -> None:
    """What is left after the known cast is noise of the stated sigma (and 8-bit rounding)."""
    cast, offset = np.asarray(truth["cast"]), np.asarray(truth["offset"])
    pairs = [
        (pillow_array(samples / "chart" / "chart-reference.png") / 255, "chart-photo.png"),
        (_halved_coffee(samples) / 255, "photo.png"),
    ]
    for clean, name in pairs:
        photo = pillow_array(samples / "chart" / name) / 255
        residual = photo - (clean @ cast.T + offset)
        expected = np.sqrt(truth["noise_sigma"] ** 2 + 1 / 12 / 255**2)  # noise, then rounding
        assert np.std(residual) == pytest.approx(expected, rel=0.05), name
        assert abs(np.mean(residual)) < 1e-3, name


def test_fit_lstsq_finds_the_correction(run, samples: Path, truth: dict, tmp_path: Path) -> None:
    """chanmix's fit equals NumPy's least squares on the pixels, and is near the known
    inverse of the cast; applied to the photograph it undoes the cast."""
    ccm = tmp_path / "ccm.json"
    chart = samples / "chart"
    ok(run("fit", "lstsq", chart / "chart-photo.png", "--target", chart / "chart-reference.png", "-o", ccm))
    fitted = json.loads(ccm.read_text(encoding="utf-8"))
    weights, bias = np.asarray(fitted["weights"]), np.asarray(fitted["bias"])

    x = pillow_array(chart / "chart-photo.png").reshape(-1, 3) / 255
    y = pillow_array(chart / "chart-reference.png").reshape(-1, 3) / 255
    solution, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)
    np.testing.assert_allclose(weights, solution[:3].T, atol=1e-9)
    np.testing.assert_allclose(bias, solution[3], atol=1e-9)
    np.testing.assert_allclose(weights, truth["correction"]["weights"], atol=0.02)
    np.testing.assert_allclose(bias, truth["correction"]["bias"], atol=0.005)

    ok(run("apply", chart / "photo.png", "-m", ccm, "-o", tmp_path / "corrected.png"))
    original = _halved_coffee(samples)
    before = np.abs(pillow_array(chart / "photo.png") - original)
    after = np.abs(pillow_array(tmp_path / "corrected.png") - original)
    assert before.mean() > 10 and after.mean() < 2
