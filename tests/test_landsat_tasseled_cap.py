"""Landsat 8 DN to tasseled cap in one pass: ``matrix calibrate``, then ``apply -m cal.json -m
preset:landsat8-tasseled-cap``, checked against NumPy on the sample bands.

The reference is computed here from the MTL text (a regex of a few characters, not chanmix's
parser) and Baig et al. (2014)'s coefficients typed below, not taken from chanmix's presets.
:func:`check_tasseled_cap` takes the six-band input as command-line arguments, so the same
check can run on one stacked file (today) or on ``--stack`` of six band files.
"""

from __future__ import annotations

import glob
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import rasterio

from chanmix import load_matrix
from helpers import ok

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # affine, in rasterio

BANDS = (2, 3, 4, 5, 6, 7)

#: Baig, Zhang, Shuai & Tong (2014), Remote Sensing Letters 5(5):423-431, table 2: rows
#: brightness, greenness, wetness, TCT4, TCT5, TCT6; columns OLI bands 2-7 (TOA reflectance).
BAIG_2014 = np.array(
    [
        [0.3029, 0.2786, 0.4733, 0.5599, 0.5080, 0.1872],
        [-0.2941, -0.2430, -0.5424, 0.7276, 0.0713, -0.1608],
        [0.1511, 0.1973, 0.3283, 0.3407, -0.7117, -0.4559],
        [-0.8239, 0.0849, 0.4396, -0.0580, 0.2013, -0.2773],
        [-0.3294, 0.0557, 0.1056, 0.1855, -0.4349, 0.8085],
        [0.1079, -0.9023, 0.4119, 0.0575, -0.0259, 0.0252],
    ]
)


def mtl_coefficients(mtl: Path) -> tuple[np.ndarray, np.ndarray, float]:
    """REFLECTANCE_MULT_BAND_n and _ADD_BAND_n of bands 2-7, and sin(SUN_ELEVATION)."""
    text = mtl.read_text()

    def value(key: str) -> float:
        return float(re.search(rf"^\s*{key} = (\S+)$", text, re.M).group(1))

    mult = np.array([value(f"REFLECTANCE_MULT_BAND_{b}") for b in BANDS])
    add = np.array([value(f"REFLECTANCE_ADD_BAND_{b}") for b in BANDS])
    return mult, add, math.sin(math.radians(value("SUN_ELEVATION")))


def toa_reflectance(mtl: Path, dn: np.ndarray) -> np.ndarray:
    """USGS's (M * DN + A) / sin(sun elevation) for bands 2-7 of `dn` (6, H, W)."""
    mult, add, sine = mtl_coefficients(mtl)
    return (mult[:, None, None] * dn + add[:, None, None]) / sine


def check_tasseled_cap(
    run, mtl: Path, image_args: Sequence[str | Path], dn: np.ndarray, georef: dict, tmp_path: Path
) -> None:
    """Calibrate with `mtl`, mix `image_args` (the six bands 2-7 as one image) into the tasseled
    cap, and compare with NumPy on `dn` (6, H, W) uint16; the output keeps `georef`'s CRS and
    transform."""
    cal, out, used = tmp_path / "cal.json", tmp_path / "tc.tif", tmp_path / "used.json"
    ok(run("matrix", "calibrate", mtl, "--bands", "2-7", "-o", cal))
    chain = ["-m", cal, "-m", "preset:landsat8-tasseled-cap", "--dtype", "float32"]
    ok(run("apply", *image_args, *chain, "-o", out, "--save-matrix", used))

    expected = np.einsum("mn,nhw->mhw", BAIG_2014, toa_reflectance(mtl, dn.astype(np.float64)))
    with rasterio.open(out) as ds:
        got = ds.read()
        assert ds.dtypes[0] == "float32" and ds.count == 6
        assert ds.crs == georef["crs"] and ds.transform == georef["transform"]
        assert ds.descriptions == ("brightness", "greenness", "wetness", "tct4", "tct5", "tct6")
    for index, name in enumerate(("brightness", "greenness", "wetness")):
        np.testing.assert_allclose(got[index], expected[index], rtol=0, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert expected[0].max() > 0.2 and expected[1].min() < 0 < expected[1].max()  # not a flat scene

    # one mix: the calibration's diagonal times the tasseled cap, bias carried through
    mix = load_matrix(used)
    mult, add, sine = mtl_coefficients(mtl)
    np.testing.assert_allclose(mix.weights, BAIG_2014 * (65535 * mult / sine), rtol=1e-12)
    np.testing.assert_allclose(mix.bias, BAIG_2014 @ (add / sine), rtol=1e-12)
    assert mix.provenance["composed_of"] == ["landsat-toa-reflectance", "landsat8-tasseled-cap"]


def test_tasseled_cap_of_a_stacked_geotiff(run, samples, tmp_path):
    """The six sample bands, stacked here with rasterio into one GeoTIFF."""
    folder = samples / "landsat"
    dn = []
    for band in BANDS:
        with rasterio.open(folder / f"l8_B{band}.tif") as src:
            dn.append(src.read(1))
            profile = src.profile
            georef = {"crs": src.crs, "transform": src.transform}
    stack = tmp_path / "stack.tif"
    with rasterio.open(stack, "w", **{**profile, "count": len(BANDS)}) as dst:
        dst.write(np.stack(dn))
    check_tasseled_cap(run, folder / "l8_MTL.txt", [stack], np.stack(dn), georef, tmp_path)


def test_tasseled_cap_of_the_sample_stack(run, samples, tmp_path):
    """The README's example: the sample's own stacked file."""
    folder = samples / "landsat"
    with rasterio.open(folder / "l8_stack.tif") as src:
        dn, georef = src.read(), {"crs": src.crs, "transform": src.transform}
    check_tasseled_cap(run, folder / "l8_MTL.txt", [folder / "l8_stack.tif"], dn, georef, tmp_path)


def test_tasseled_cap_of_the_band_files_stacked(run, samples, tmp_path):
    """The six band files as USGS ships them, read as one image with --stack."""
    folder = samples / "landsat"
    dn = []
    for band in BANDS:
        with rasterio.open(folder / f"l8_B{band}.tif") as src:
            dn.append(src.read(1))
            georef = {"crs": src.crs, "transform": src.transform}
    files = [folder / f"l8_B{band}.tif" for band in BANDS]
    check_tasseled_cap(run, folder / "l8_MTL.txt", ["--stack", *files], np.stack(dn), georef, tmp_path)


def test_the_readme_example_runs(run, samples, tmp_path, monkeypatch):
    """The README's remote-sensing commands, as printed, give the tasseled cap checked above."""
    import shlex

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Remote sensing") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh\n") + 6)]
    commands = [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    assert [c[:4] for c in commands] == [
        ["chanmix", "matrix", "calibrate", "sample_images/landsat/l8_MTL.txt"],
        ["chanmix", "apply", "--stack", "sample_images/landsat/l8_B*.tif"],
    ]
    monkeypatch.chdir(tmp_path)
    for command in commands:
        args = []
        for arg in command[1:]:  # as a shell would: the samples' folder, globs expanded in order
            arg = arg.replace("sample_images/", f"{samples}/")
            args += sorted(glob.glob(arg)) if "*" in arg else [arg]
        assert "--stack" not in args or len(args) > 6
        ok(run(*args))
    with (
        rasterio.open(tmp_path / "tasseled-cap.tif") as ds,
        rasterio.open(samples / "landsat" / "l8_stack.tif") as src,
    ):
        expected = np.einsum(
            "mn,nhw->mhw", BAIG_2014, toa_reflectance(samples / "landsat" / "l8_MTL.txt", src.read())
        )
        np.testing.assert_allclose(ds.read(), expected, rtol=0, atol=1e-5)
