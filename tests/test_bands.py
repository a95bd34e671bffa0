"""Band selection by number, range, name and wavelength (``--bands``), and the wavelengths
read from GeoTIFFs written by rasterio (GDAL)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from chanmix.io import open_raster

pytestmark = pytest.mark.usefixtures("quiet_rasterio")


def geotiff(
    path: Path,
    bands: int = 3,
    *,
    tags: list[dict[str, str]] | None = None,
    imagery: list[dict[str, str]] | None = None,
    names: tuple[str, ...] | None = None,
    dtype: str = "uint16",
) -> Path:
    """A (4, 5, `bands`) GeoTIFF written by rasterio: per-band `tags` in the default metadata
    domain, `imagery` ones in the IMAGERY domain, `names` as band descriptions."""
    import rasterio

    pixels = np.arange(4 * 5 * bands, dtype=dtype).reshape(bands, 4, 5) * 7
    profile = {"driver": "GTiff", "width": 5, "height": 4, "count": bands, "dtype": dtype}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(pixels)
        for b, items in enumerate(tags or (), 1):
            dst.update_tags(b, **items)
        for b, items in enumerate(imagery or (), 1):
            dst.update_tags(b, ns="IMAGERY", **items)
        if names is not None:
            dst.descriptions = names
    return path


def wavelengths(path: Path) -> tuple[float, ...] | None:
    with open_raster(path) as reader:
        return reader.info.wavelengths


def same(got: tuple[float, ...] | None, expected: tuple[float, ...]) -> bool:
    """Equal tuples of wavelengths, NaN equal to NaN."""
    return (
        got is not None
        and len(got) == len(expected)
        and all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, expected))
    )


# --- wavelengths read from GDAL metadata -----------------------------------------------------


@pytest.mark.parametrize(
    "tags, expected",
    [
        ([{"wavelength": "490", "wavelength_units": "nm"}] * 1, (490.0,)),
        ([{"wavelength": "0.865", "wavelength_units": "Micrometers"}], (865.0,)),
        ([{"wavelength": "865.5", "wavelength_units": "Nanometers"}], (865.5,)),
        ([{"wavelength": "0.865", "wavelength_units": "\u00b5m"}], (865.0,)),
        ([{"WAVELENGTH": "665", "WAVELENGTH_UNIT": "nm"}], (665.0,)),  # GDAL's Sentinel-2 driver
        ([{"CENTRAL_WAVELENGTH_UM": "0.443"}], (443.0,)),
        ([{"wavelength": "865"}], None),  # no units: not guessed
        ([{"wavelength": "10", "wavelength_units": "Wavenumber"}], None),
        ([{"wavelength": "n/a", "wavelength_units": "nm"}], None),
        ([{"STATISTICS_MEAN": "3"}], None),
    ],
)
def test_wavelength_items_of_one_band(tmp_path, tags, expected):
    path = geotiff(tmp_path / "w.tif", 1, tags=tags)
    assert wavelengths(path) == expected


def test_wavelengths_written_by_rasterio_update_tags(tmp_path):
    tags = [{"wavelength": str(w), "wavelength_units": "nm"} for w in (490, 560, 865)]
    path = geotiff(tmp_path / "w.tif", tags=tags, names=("blue", "green", "nir"))
    with open_raster(path) as reader:
        assert reader.info.wavelengths == (490.0, 560.0, 865.0)
        assert reader.info.band_names == ("blue", "green", "nir")


def test_wavelengths_of_the_imagery_domain(tmp_path):
    imagery = [{"CENTRAL_WAVELENGTH_UM": w, "FWHM_UM": "0.02"} for w in ("0.49", "0.56", "0.865")]
    assert wavelengths(geotiff(tmp_path / "i.tif", imagery=imagery)) == (490.0, 560.0, 865.0)


def test_wavelength_and_units_come_before_the_rounded_imagery_item(tmp_path):
    # GDAL's ENVI driver writes both: the header's value, and CENTRAL_WAVELENGTH_UM rounded (%.3f)
    path = geotiff(
        tmp_path / "both.tif",
        1,
        tags=[{"wavelength": "443.6", "wavelength_units": "Nanometers"}],
        imagery=[{"CENTRAL_WAVELENGTH_UM": "0.444"}],
    )
    assert wavelengths(path) == (443.6,)


def test_bands_without_a_wavelength_are_nan(tmp_path):
    tags = [{}, {"wavelength": "560", "wavelength_units": "nm"}, {}]
    assert same(wavelengths(geotiff(tmp_path / "w.tif", tags=tags)), (math.nan, 560.0, math.nan))


def test_files_without_wavelengths(tmp_path, samples):
    assert wavelengths(geotiff(tmp_path / "plain.tif", names=("a", "b", "c"))) is None
    assert wavelengths(samples / "astronaut.png") is None
