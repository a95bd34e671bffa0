"""Streaming writer: bands of any heights give the bytes of a whole-image write; tiles; atomicity."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
import tifffile

from chanmix.errors import UsageError
from chanmix.io import open_raster, read_raster, write_raster, write_raster_blocks
from chanmix.io.tiff_write import rows_per_strip, tiff_tags
from helpers import gdal_pixels

pytestmark = pytest.mark.usefixtures("quiet_rasterio")


def irregular(pixels: np.ndarray, heights=(1, 7, 0, 50, 3)):
    """Row bands of the given heights, then the rest."""
    start = 0
    for h in heights:
        yield pixels[start : start + h]
        start += h
    yield pixels[start:]


def write_bands(path, bands, pixels, **options):
    height, width, channels = pixels.shape
    write_raster_blocks(
        path, bands, height=height, width=width, channels=channels, dtype=pixels.dtype, **options
    )


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 4000, (301, 257, 3), dtype=np.uint16)


# --- same bytes, whatever the bands ------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "deflate", "lzw", "zstd"])
def test_bands_of_any_height_give_the_bytes_of_write_raster(tmp_path, pixels, compression):
    write_raster(tmp_path / "whole.tif", pixels, compression=compression)
    write_bands(tmp_path / "bands.tif", irregular(pixels), pixels, compression=compression)
    one_row_each = iter(pixels[:, np.newaxis])
    write_bands(tmp_path / "rows.tif", one_row_each, pixels, compression=compression, workers=3)
    whole = (tmp_path / "whole.tif").read_bytes()
    assert (tmp_path / "bands.tif").read_bytes() == whole
    assert (tmp_path / "rows.tif").read_bytes() == whole
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "bands.tif"), pixels)


@pytest.mark.parametrize("compression", [None, "deflate", "lzw", "zstd"])
@pytest.mark.parametrize("tile", [None, (64, 48)])
def test_segments_are_encoded_as_tifffile_encodes_the_whole_array(tmp_path, pixels, compression, tile):
    """An independent check of the strip/tile cutting, padding, predictor and codec."""
    write_bands(tmp_path / "bands.tif", irregular(pixels), pixels, compression=compression, tile=tile)
    layout = {"tile": tile} if tile else {"rowsperstrip": rows_per_strip(257, 3, pixels.dtype)}
    tags = tiff_tags(3, pixels.dtype, compression=compression)
    tifffile.imwrite(tmp_path / "tifffile.tif", pixels, **layout, **tags)
    assert (tmp_path / "bands.tif").read_bytes() == (tmp_path / "tifffile.tif").read_bytes()


@pytest.mark.parametrize(("name", "dtype"), [("o.npy", "float32"), ("o.png", "uint16"), ("o.jpg", "uint8")])
def test_other_formats_give_the_bytes_of_write_raster(tmp_path, pixels, name, dtype):
    data = (pixels // 16).astype(dtype)
    write_raster(tmp_path / f"whole{name}", data)
    write_bands(tmp_path / name, irregular(data), data)
    assert (tmp_path / name).read_bytes() == (tmp_path / f"whole{name}").read_bytes()
    if name.endswith(".npy"):
        np.testing.assert_array_equal(np.load(tmp_path / name), data)


def test_single_band_and_byte_swapped_bands(tmp_path, pixels):
    grey = pixels[..., 0]
    write_raster(tmp_path / "whole.tif", grey, compression="zstd")
    swapped = (band.astype(">u2") for band in irregular(grey))  # (h, W) bands, big-endian
    write_raster_blocks(
        tmp_path / "bands.tif", swapped, height=301, width=257, channels=1, dtype=">u2", compression="zstd"
    )
    assert (tmp_path / "bands.tif").read_bytes() == (tmp_path / "whole.tif").read_bytes()


# --- tiles, BigTIFF ----------------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "deflate"])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "float64"])
def test_tiled_output_reads_back(tmp_path, pixels, compression, dtype):
    data = pixels.astype(dtype)
    bands = irregular(data, (100, 28, 1))
    write_bands(tmp_path / "t.tif", bands, data, compression=compression, tile=(64, 32))
    with tifffile.TiffFile(tmp_path / "t.tif") as tif:
        page = tif.pages.first
        assert page.is_tiled and (page.tilelength, page.tilewidth) == (64, 32)
        assert page.predictor == (1 if compression is None else 3 if dtype == "float64" else 2)
    with rasterio.open(tmp_path / "t.tif") as ds:
        assert ds.block_shapes == [(64, 32)] * 3
        np.testing.assert_array_equal(np.moveaxis(ds.read(), 0, -1), data)
    aligned = (data[i : i + 64] for i in range(0, 301, 64))  # views, no regrouping
    write_bands(tmp_path / "a.tif", aligned, data, compression=compression, tile=(64, 32), workers=2)
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "t.tif").read_bytes()


def test_stream_from_reader_to_tiled_writer(corpus, tmp_path):
    with open_raster(corpus / "rasterio/RGB.byte.tif") as reader:
        info = reader.info
        write_raster_blocks(
            tmp_path / "o.tif",
            (band for _, band in reader.row_bands(100)),
            height=info.height,
            width=info.width,
            channels=info.bands,
            dtype=info.dtype,
            like=info,
            nodata=info.nodata,
            band_names=["r", "g", "b"],
            compression="deflate",
            tile=(256, 256),
            workers=2,
        )
    with rasterio.open(corpus / "rasterio/RGB.byte.tif") as a, rasterio.open(tmp_path / "o.tif") as b:
        assert b.crs == a.crs and b.nodata == a.nodata == 0
        assert tuple(b.transform) == pytest.approx(tuple(a.transform))
        assert b.descriptions == ("r", "g", "b") and b.block_shapes == [(256, 256)] * 3
        np.testing.assert_array_equal(b.read(), a.read())
    assert read_raster(tmp_path / "o.tif").info.geo == info.geo


@pytest.mark.parametrize("tile", [None, (16, 16)])
def test_bigtiff_forced(tmp_path, pixels, tile):
    write_bands(tmp_path / "b.tif", irregular(pixels), pixels, bigtiff="yes", tile=tile, compression="lzw")
    with tifffile.TiffFile(tmp_path / "b.tif") as tif:
        assert tif.is_bigtiff
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "b.tif"), pixels)
    write_bands(tmp_path / "c.tif", irregular(pixels), pixels, bigtiff="no")
    with tifffile.TiffFile(tmp_path / "c.tif") as tif:
        assert not tif.is_bigtiff


# --- refusals and atomicity --------------------------------------------------------------


def never():
    raise AssertionError("the bands must not be read")
    yield  # pragma: no cover


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tile": (20, 16)}, r"tiles must be two positive multiples of 16, not \(20, 16\)"),
        ({"bigtiff": "maybe"}, "bigtiff must be one of auto, yes, no, not 'maybe'"),
        ({"workers": 0}, "number of workers must be 1 or more"),
        ({"band_names": ["a"]}, "1 band names for 3 channels"),
        ({"compression": "jpeg"}, "unknown TIFF compression 'jpeg'"),
        ({"height": 0}, "at least one row and one column"),
        ({"height": 200_000, "width": 200_000, "bigtiff": "no"}, "need a BigTIFF file"),
    ],
)
def test_impossible_requests_are_refused_before_reading_any_band(tmp_path, options, message):
    shape = {"height": 10, "width": 10, "channels": 3, "dtype": "uint8"}
    shape.update((k, options.pop(k)) for k in ("height", "width") if k in options)
    with pytest.raises(UsageError, match=message):
        write_raster_blocks(tmp_path / "o.tif", never(), **shape, **options)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([np.zeros((5, 10, 3), np.uint8)], "the bands hold 5 rows, not the 10 announced"),
        ([np.zeros((11, 10, 3), np.uint8)], "hold more than the 10 rows announced"),
        ([np.zeros((10, 10, 3), np.uint8), np.zeros((1, 10, 3), np.uint8)], "hold more than the 10 rows"),
        ([np.zeros((10, 9, 3), np.uint8)], r"a band of shape \(10, 9, 3\)"),
        ([np.zeros((10, 10, 3), np.float32)], "type float32 does not fit"),
    ],
)
def test_bands_that_do_not_fit_leave_no_file(tmp_path, bands, message):
    for name in ("o.tif", "o.npy", "o.png"):
        with pytest.raises(UsageError, match=message):
            write_raster_blocks(tmp_path / name, iter(bands), height=10, width=10, channels=3, dtype="uint8")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("o.tif", {}),
        ("o.tif", {"compression": "zstd", "workers": 2}),
        ("o.tif", {"tile": (16, 32)}),
        ("o.tif", {"tile": (16, 32), "compression": "deflate", "workers": 2}),
        ("o.npy", {}),
        ("o.png", {}),
    ],
)
@pytest.mark.parametrize("failure", [RuntimeError("mixing broke"), KeyboardInterrupt()])
def test_a_failing_band_iterator_leaves_no_file_and_keeps_the_old_one(
    tmp_path, pixels, name, options, failure
):
    def bands():
        yield pixels[:40]
        yield pixels[40:100]
        raise failure

    with pytest.raises(type(failure)):
        write_bands(tmp_path / name, bands(), pixels, **options)
    assert os.listdir(tmp_path) == []
    (tmp_path / name).write_bytes(b"previous result")
    with pytest.raises(type(failure)):
        write_bands(tmp_path / name, bands(), pixels, **options)
    assert (tmp_path / name).read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []
