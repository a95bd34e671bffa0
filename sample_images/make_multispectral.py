"""Make the synthetic multispectral sample image and its ground truth.

Writes two files into the output folder (default: the folder of this script):

``multispectral.tif``
    A 192 x 256 pixel, 8-band, uint16 TIFF, pixel-interleaved (array shape
    ``(192, 256, 8)``, PlanarConfiguration contig, photometric minisblack,
    uncompressed). The ImageDescription holds tifffile's JSON ``shaped``
    metadata, so ``tifffile.TiffFile(path).series[0].axes == "YXS"``, and
    ``TiffFile(path).shaped_metadata[0]`` gives the band names and the
    wavelengths in nm. The GDAL_METADATA tag holds them too, as GDAL (and
    rasterio's ``descriptions`` and ``update_tags(bidx, wavelength=...,
    wavelength_units="nm")``) write them: band descriptions, ``wavelength``
    and ``wavelength_units`` items.

``multispectral_truth.json``
    The ground truth: the 4 material names, their reflectance spectra
    (4 x 8, in 0..1), the 8 wavelengths, the noise sigma and the seed.

The scene is a linear mixture: every pixel is ``A @ E + noise`` where ``E``
(4 x 8) holds the spectra of water, vegetation, soil and concrete, ``A`` is
the pixel's abundance vector (4 non-negative values that sum to 1, from
smooth maps of a river, a lake, fields, bare soil, a town block and a road),
and the noise is Gaussian with sigma ``NOISE_SIGMA`` in normalized units. The
result is scaled by 65535, rounded and clipped to uint16. Because the
abundances sum to 1, the noise-free pixels lie in a 3-D affine subspace: the
centred pixel matrix has 3 large singular values and 5 at the noise floor.

The output is deterministic (fixed seed, no timestamps, no compression), so
the same bytes come out on every run. Run from the repository root::

    python sample_images/make_multispectral.py            # into sample_images/
    python sample_images/make_multispectral.py OUT_FOLDER  # anywhere else

Needs only numpy and tifffile.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import tifffile

HEIGHT = 192
WIDTH = 256
SEED = 20240611
NOISE_SIGMA = 0.002
SCALE = 65535

TIFF_NAME = "multispectral.tif"
TRUTH_NAME = "multispectral_truth.json"

# Centre wavelengths (nm) of Sentinel-2 bands B1, B2, B3, B4, B5, B6, B8, B8A, and their names.
WAVELENGTHS_NM: tuple[float, ...] = (443.0, 490.0, 560.0, 665.0, 705.0, 740.0, 842.0, 865.0)
BAND_NAMES: tuple[str, ...] = ("B1", "B2", "B3", "B4", "B5", "B6", "B8", "B8A")
GDAL_METADATA = 42112  # TIFF tag

# Plausible surface reflectance (0..1) of each material at the wavelengths above.
MATERIALS: tuple[str, ...] = ("water", "vegetation", "soil", "concrete")
ENDMEMBERS: tuple[tuple[float, ...], ...] = (
    (0.045, 0.060, 0.085, 0.045, 0.035, 0.022, 0.015, 0.013),  # turbid water: green peak, dark NIR
    (0.030, 0.045, 0.095, 0.040, 0.120, 0.300, 0.450, 0.460),  # vegetation: green peak, red edge
    (0.080, 0.110, 0.170, 0.260, 0.285, 0.300, 0.320, 0.325),  # soil: rises with wavelength
    (0.300, 0.320, 0.330, 0.335, 0.335, 0.335, 0.330, 0.330),  # concrete: bright and nearly flat
)


def endmembers() -> np.ndarray:
    """The material spectra as a float64 array of shape (4, 8)."""
    return np.array(ENDMEMBERS, dtype=np.float64)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * t))


def _blob(y: np.ndarray, x: np.ndarray, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    """A Gaussian bump of height 1 centred at (cy, cx) with radii (ry, rx) in pixels."""
    return np.exp(-0.5 * (((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2))


def abundances(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Smooth abundance maps, shape (height, width, 4), non-negative, summing to 1 per pixel.

    Each material gets a "score" map built from soft shapes, and a softmax turns
    the scores into fractions: inside a shape one material dominates (over 0.95),
    and across its edge the fractions blend over a few pixels. Shapes are given
    on the default 192 x 256 grid and stretched to other sizes.
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    y = yy * (HEIGHT / height)
    x = xx * (WIDTH / width)

    # Water: a river meandering left to right, and a lake in the upper right.
    river_centre = 120.0 + 18.0 * np.sin(2.0 * np.pi * x / 170.0) - 0.15 * x
    river = _sigmoid((9.0 - np.abs(y - river_centre)) / 2.0)
    lake = _sigmoid((1.0 - ((y - 38.0) / 22.0) ** 2 - ((x - 205.0) / 30.0) ** 2) * 8.0)
    water = np.maximum(river, lake)

    # Concrete: a town block in the lower left and a straight road across the top.
    town = _sigmoid((x - 18.0) / 2.5) * _sigmoid((70.0 - x) / 2.5)
    town = town * _sigmoid((y - 140.0) / 2.5) * _sigmoid((184.0 - y) / 2.5)
    road = _sigmoid((3.0 - np.abs(y - (22.0 + 0.12 * x))) / 1.0)
    concrete = np.maximum(town, road)

    # Soil: bare fields, and a band of drier ground along the bottom edge.
    soil = np.maximum(_blob(y, x, 60.0, 60.0, 20.0, 34.0), _blob(y, x, 165.0, 170.0, 16.0, 40.0))
    soil = np.maximum(soil, 0.6 * _sigmoid((y - 175.0) / 6.0))

    # Vegetation: the background, with a few denser woods.
    woods = _blob(y, x, 85.0, 175.0, 14.0, 22.0) + _blob(y, x, 175.0, 110.0, 10.0, 18.0)
    vegetation = 0.45 + 0.5 * np.minimum(woods, 1.0)

    scores = np.stack([water, vegetation, soil, concrete], axis=-1) * 9.0
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def make_cube(seed: int = SEED) -> np.ndarray:
    """The uint16 image, shape (HEIGHT, WIDTH, 8): abundances @ endmembers + noise, times 65535."""
    rng = np.random.default_rng(seed)
    clean = abundances() @ endmembers()
    noisy = clean + rng.normal(0.0, NOISE_SIGMA, size=clean.shape)
    return np.clip(np.rint(noisy * SCALE), 0, SCALE).astype("<u2")


def truth() -> dict[str, object]:
    """The ground truth written to multispectral_truth.json."""
    return {
        "description": "Ground truth of multispectral.tif: "
        "pixel = abundances @ endmembers + noise, "
        "abundances >= 0 summing to 1, normalized units (uint16 / 65535).",
        "shape": [HEIGHT, WIDTH, len(WAVELENGTHS_NM)],
        "axes": "YXS",
        "dtype": "uint16",
        "scale": SCALE,
        "wavelengths_nm": list(WAVELENGTHS_NM),
        "band_names": list(BAND_NAMES),
        "materials": list(MATERIALS),
        "endmembers": [list(row) for row in ENDMEMBERS],
        "noise_sigma": NOISE_SIGMA,
        "seed": SEED,
        "generator": "sample_images/make_multispectral.py",
    }


def gdal_metadata() -> str:
    """The GDAL_METADATA XML of the band names and wavelengths, as GDAL writes it."""
    items = []
    for sample, (name, nm) in enumerate(zip(BAND_NAMES, WAVELENGTHS_NM)):
        items.append(f'  <Item name="wavelength" sample="{sample}">{nm:g}</Item>')
        items.append(f'  <Item name="wavelength_units" sample="{sample}">nm</Item>')
        items.append(f'  <Item name="DESCRIPTION" sample="{sample}" role="description">{name}</Item>')
    return "<GDALMetadata>\n" + "\n".join(items) + "\n</GDALMetadata>\n"


def write(out_dir: Path) -> tuple[Path, Path]:
    """Write the TIFF and the truth JSON into out_dir; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tif_path = out_dir / TIFF_NAME
    json_path = out_dir / TRUTH_NAME
    metadata = {
        "axes": "YXS",
        "band_names": list(BAND_NAMES),
        "wavelengths_nm": list(WAVELENGTHS_NM),
    }
    tifffile.imwrite(
        tif_path,
        make_cube(),
        photometric="minisblack",
        planarconfig="contig",
        metadata=metadata,
        extratags=[(GDAL_METADATA, "s", 0, gdal_metadata(), True)],
    )
    lines = [f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in truth().items()]
    text = "{\n" + ",\n".join(lines) + "\n}\n"  # one key a line: short, diff-friendly
    json_path.write_bytes(text.encode("utf-8"))
    return tif_path, json_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out_dir",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write into (default: the folder of this script)",
    )
    args = parser.parse_args(argv)
    for path in write(args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
