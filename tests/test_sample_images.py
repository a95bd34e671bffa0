"""The sample images: present, documented, as described, and reproducible from their script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

GENERATED = ("multispectral.tif", "multispectral_truth.json")


@pytest.fixture(scope="module")
def truth(samples: Path) -> dict:
    return json.loads((samples / "multispectral_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cube(samples: Path) -> np.ndarray:
    return tifffile.imread(samples / "multispectral.tif")


def test_multispectral_layout(samples: Path, cube: np.ndarray, truth: dict) -> None:
    assert cube.shape == tuple(truth["shape"]) == (192, 256, 8)
    assert cube.dtype == np.uint16
    with tifffile.TiffFile(samples / "multispectral.tif") as tif:
        assert len(tif.pages) == 1
        page = tif.pages[0]
        assert page.planarconfig == tifffile.PLANARCONFIG.CONTIG
        assert page.photometric == tifffile.PHOTOMETRIC.MINISBLACK
        assert tif.series[0].axes == "YXS"
        meta = tif.shaped_metadata[0]
    assert meta["wavelengths_nm"] == truth["wavelengths_nm"]
    assert meta["band_names"] == truth["band_names"]
    assert len(truth["band_names"]) == 8


def test_multispectral_has_three_dimensional_signal(cube: np.ndarray, truth: dict) -> None:
    """4 endmembers with abundances summing to 1 span a 3-D affine subspace; the rest is noise."""
    pixels = cube.reshape(-1, 8) / truth["scale"]
    centred = pixels - pixels.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    noise_floor = truth["noise_sigma"] * np.sqrt(len(pixels) - 1)
    assert singular[2] > 10 * noise_floor
    assert np.all(singular[3:] < 1.2 * noise_floor)
    assert np.all(singular[3:] > 0.8 * noise_floor)


def test_multispectral_matches_its_endmembers(cube: np.ndarray, truth: dict) -> None:
    """Least squares on the known spectra leaves only noise, and the abundances sum to 1."""
    pixels = cube.reshape(-1, 8) / truth["scale"]
    endmembers = np.asarray(truth["endmembers"])
    assert endmembers.shape == (len(truth["materials"]), 8) == (4, 8)
    abundances, *_ = np.linalg.lstsq(endmembers.T, pixels.T, rcond=None)
    residual = pixels - abundances.T @ endmembers
    # Projecting out a 4-D subspace of 8 leaves half the noise variance.
    rms = np.sqrt(np.mean(residual**2))
    assert rms == pytest.approx(truth["noise_sigma"] * np.sqrt(4 / 8), rel=0.1)
    sums = abundances.sum(axis=0)
    assert abs(sums.mean() - 1) < 0.005
    assert np.abs(sums - 1).mean() < 0.1
    assert abundances.min() > -0.5 and abundances.max() < 1.5
    assert np.all(abundances.max(axis=1) > 0.8)  # every material has nearly pure pixels


def test_script_reproduces_files_byte_for_byte(samples: Path, tmp_path: Path) -> None:
    script = samples / "make_multispectral.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(GENERATED)
    for name in GENERATED:
        made = (tmp_path / name).read_bytes()
        kept = (samples / name).read_bytes()
        if name.endswith(".json"):  # tolerate a CRLF checkout of the text file
            kept = kept.replace(b"\r\n", b"\n")
        assert made == kept, f"{name} differs from a fresh run of {script.name}"


@pytest.mark.parametrize(("name", "size"), [("astronaut.png", (512, 512)), ("coffee.png", (600, 400))])
def test_photographs(samples: Path, name: str, size: tuple[int, int]) -> None:
    with Image.open(samples / name) as im:
        assert im.format == "PNG"
        assert im.mode == "RGB"
        assert im.size == size


def test_sources_lists_every_file(samples: Path) -> None:
    sources = (samples / "SOURCES.md").read_text(encoding="utf-8")
    files = [
        p.relative_to(samples).as_posix()
        for p in samples.rglob("*")
        if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts
    ]
    assert "SOURCES.md" in files and "landsat/l8_MTL.txt" in files
    missing = [name for name in files if f"`{name}`" not in sources]
    assert not missing, f"SOURCES.md does not mention {missing}"


LANDSAT_BANDS = (2, 3, 4, 5, 6, 7)


def _geotiff(path: Path) -> tuple[np.ndarray, dict]:
    """rasterio's (bands, H, W) pixels of a GeoTIFF and what georeferences them."""
    import rasterio

    with rasterio.open(path) as ds:
        about = {"crs": ds.crs, "transform": ds.transform, "nodata": ds.nodata, "dtype": ds.dtypes[0]}
        return ds.read(), {**about, "descriptions": ds.descriptions}


def test_landsat_stack_holds_the_six_bands(samples: Path) -> None:
    folder = samples / "landsat"
    stack, about = _geotiff(folder / "l8_stack.tif")
    assert stack.shape == (6, 128, 128) and about["dtype"] == "uint16"
    assert about["descriptions"] == tuple(f"B{b}" for b in LANDSAT_BANDS)
    assert about["crs"].to_epsg() == 32616 and about["nodata"] is None
    assert tuple(about["transform"])[:6] == (30.0, 0.0, 465675.0, 0.0, -30.0, 3395445.0)
    for index, band in enumerate(LANDSAT_BANDS):
        pixels, single = _geotiff(folder / f"l8_B{band}.tif")
        assert np.array_equal(pixels[0], stack[index])
        assert (single["crs"], single["transform"], single["nodata"]) == (
            about["crs"],
            about["transform"],
            about["nodata"],
        )
    assert stack.min() > 0  # no Landsat fill (DN 0) in the window


def test_landsat_samples_are_a_window_of_the_corpus(samples: Path, corpus: Path) -> None:
    import rasterio
    from rasterio.windows import Window

    window = Window(col_off=440, row_off=440, width=128, height=128)
    for band in LANDSAT_BANDS:
        with rasterio.open(corpus / "landsat8" / f"l8_B{band}.tif") as src:
            expected, crs = src.read(1, window=window), src.crs
            a, b, c, d, e, f = tuple(src.transform)[:6]
        pixels, about = _geotiff(samples / "landsat" / f"l8_B{band}.tif")
        assert np.array_equal(pixels[0], expected)
        assert tuple(about["transform"])[:6] == (a, b, c + 440 * a, d, e, f + 440 * e)  # north up
        assert about["crs"] == crs
    kept = (samples / "landsat" / "l8_MTL.txt").read_bytes()
    assert kept == (corpus / "landsat8" / "l8_MTL.txt").read_bytes()


def test_landsat_script_reproduces_the_samples(samples: Path, corpus: Path, tmp_path: Path) -> None:
    """The same pixels, georeferencing and band names (the bytes are GDAL's: not compared)."""
    script = samples / "make_landsat.py"
    args = [sys.executable, str(script), str(tmp_path), "--corpus", str(corpus)]
    subprocess.run(args, check=True, capture_output=True)
    kept = samples / "landsat"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept.iterdir())
    for name in [f"l8_B{band}.tif" for band in LANDSAT_BANDS] + ["l8_stack.tif"]:
        made, made_about = _geotiff(tmp_path / name)
        kept_pixels, kept_about = _geotiff(kept / name)
        assert np.array_equal(made, kept_pixels) and made_about == kept_about, name
    assert (tmp_path / "l8_MTL.txt").read_bytes() == (kept / "l8_MTL.txt").read_bytes()


def test_hyperspectral_script_reproduces_the_cube_byte_for_byte(samples: Path, tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(samples / "make_hyperspectral.py"), str(tmp_path)], check=True)
    for name in ("cube.img", "cube.hdr"):
        assert (tmp_path / name).read_bytes() == (samples / "hyperspectral" / name).read_bytes(), name


def test_gdal_reads_the_hyperspectral_cube_as_described(samples: Path) -> None:
    import rasterio

    with rasterio.open(samples / "hyperspectral" / "cube.img") as ds:
        cube = ds.read()
        assert (ds.count, ds.height, ds.width, ds.dtypes[0]) == (40, 64, 80, "uint16")
        assert ds.crs.to_epsg() == 32632 and ds.nodata == 0
        assert tuple(ds.transform)[:6] == (10.0, 0.0, 500000.0, 0.0, -10.0, 5000000.0)
        wavelengths = [float(ds.tags(b)["wavelength"]) for b in range(1, 41)]
    assert wavelengths == [400.0 + 50 * i for i in range(40)]
    assert (cube[:, :, :3] == 0).all() and (cube[:, :, 3:] > 0).all()
    valid = cube[:, :, 3:].reshape(40, -1).T / 10000.0  # (pixels, bands) reflectance
    assert 0 < valid.min() and valid.max() < 1
    # four materials mixed linearly, plus noise: 3 large singular values of the centred pixels
    singular = np.linalg.svd(valid - valid.mean(axis=0), compute_uv=False)
    assert singular[2] > 20 * singular[3]
