"""Readers: pixels and metadata checked against independent readers (rasterio, Pillow, OpenCV)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import replace

import cv2
import numpy as np
import pytest
import rasterio
import tifffile
from PIL import Image

from chanmix.errors import DataError, UsageError
from chanmix.io import SAMPLE_DTYPES, read_raster
from chanmix.io.pillow import decode_pillow
from helpers import error_line, gdal_pixels

pytestmark = pytest.mark.usefixtures("quiet_rasterio")


def pillow_pixels(path, mode: str | None = None) -> np.ndarray:
    with Image.open(path) as image:
        array = np.asarray(image.convert(mode) if mode else image)
    return array[..., np.newaxis] if array.ndim == 2 else array


# --- layout invariance -------------------------------------------------------------------


def test_contig_planar_tiled_give_the_same_pixels(corpus):
    strips = read_raster(corpus / "rasterio/RGB.byte.tif")
    planar = read_raster(corpus / "rasterio/rgb_deflate.tif")
    tiled = read_raster(corpus / "rasterio/rgb_lzw.tif")
    assert (strips.info.layout, planar.info.layout, tiled.info.layout) == (
        "interleaved",
        "planar",
        "interleaved",
    )
    assert tiled.info.tile == (256, 256) and strips.info.tile is None
    assert strips.pixels.shape == (718, 791, 3)
    np.testing.assert_array_equal(planar.pixels, strips.pixels)
    np.testing.assert_array_equal(tiled.pixels, strips.pixels)
    np.testing.assert_array_equal(strips.pixels, gdal_pixels(corpus / "rasterio/RGB.byte.tif"))


FLOWER_PAIRS = [("rgb", bits) for bits in ("02", "04", "08", "10", "12", "14", "16", "24", "32")] + [
    ("separated", "08"),
    ("separated", "16"),
]


@pytest.mark.parametrize(("kind", "bits"), FLOWER_PAIRS)
def test_flower_contig_equals_planar(corpus, kind, bits):
    folder = corpus / "libtiffpic/depth"
    contig, planar = folder / f"flower-{kind}-contig-{bits}.tif", folder / f"flower-{kind}-planar-{bits}.tif"
    a, b = read_raster(contig), read_raster(planar)
    assert a.info.layout == "interleaved" and b.info.layout == "planar"
    assert a.pixels.shape == (43, 73, 4 if kind == "separated" else 3)
    assert a.pixels.flags.c_contiguous and b.pixels.flags.c_contiguous
    np.testing.assert_array_equal(a.pixels, b.pixels)


# --- pixels against GDAL -----------------------------------------------------------------

GDAL_EXACT = [
    "landsat8/l8_B1.tif",
    "libtiff/rgb-3c-16b.tiff",
    "libtiff/minisblack-2c-8b-alpha.tiff",
    "libtiff/test_float64_predictor2_be_lzw.tif",
    "libtiff/deflate-last-strip-extra-data.tiff",  # decoded by Pillow: tifffile cannot
    "image-tiff/int16_rgb.tif",
    "image-tiff/int16_zstd.tif",
    "image-tiff/predictor-3-rgb-f32.tif",
    "image-tiff/random-fp16-pred3.tiff",
    "image-tiff/12bit.cropped.rgb.tiff",
    "image-tiff/BigTIFFMotorola.tif",
    "image-tiff/geo-5b.tif",
    "image-tiff/usda_naip_256_webp_z3.tif",
    "libtiffpic/caspian.tif",
    "libtiffpic/depth/flower-minisblack-24.tif",
    "libtiffpic/depth/flower-rgb-planar-10.tif",
    "rasterio/all-nodata.tif",
    "rasterio/float_nan.tif",
    "rasterio/rotated.tif",
    "rio-color/rgba8.tif",
]


@pytest.mark.parametrize("name", GDAL_EXACT)
def test_pixels_equal_rasterio(corpus, name):
    raster = read_raster(corpus / name)
    expected = gdal_pixels(corpus / name)
    assert raster.pixels.ndim == 3 and raster.pixels.dtype in SAMPLE_DTYPES
    assert raster.pixels.dtype == expected.dtype  # float16 is promoted to float32, as GDAL does
    assert (raster.info.height, raster.info.width, raster.info.bands) == raster.pixels.shape
    np.testing.assert_array_equal(raster.pixels, expected)


@pytest.mark.parametrize(
    "name", ["rasterio/cogeo.tif", "libtiff/quad-tile.jpg.tiff", "libtiffpic/quad-jpeg.tif"]
)
def test_ycbcr_jpeg_comes_out_as_rgb(corpus, name):
    raster = read_raster(corpus / name)
    assert raster.info.photometric == "ycbcr" and raster.info.compression == "jpeg"
    # libtiff (through Pillow) decodes the same RGB exactly; GDAL's libjpeg upsamples chroma
    # slightly differently, so it agrees on average only
    np.testing.assert_array_equal(raster.pixels, pillow_pixels(corpus / name, "RGB"))
    difference = np.abs(raster.pixels.astype(float) - gdal_pixels(corpus / name))
    assert difference.mean() < 1.0


def test_cog_overviews_and_mask_are_not_pages(corpus):
    raster = read_raster(corpus / "rasterio/cogeo.tif")
    assert raster.pixels.shape == (1024, 1024, 3)
    assert (raster.info.page, raster.info.pages, raster.info.tile) == (0, 1, (512, 512))
    with pytest.raises(UsageError, match=r"cogeo\.tif: no image 1 \(the file has 1 image"):
        read_raster(corpus / "rasterio/cogeo.tif", page=1)


@pytest.mark.parametrize(
    "name",
    [
        "libtiff/ojpeg_zackthecat_subsamp22_single_strip.tiff",
        "libtiffpic/smallliz.tif",
        "libtiffpic/ycbcr-cat.tif",
        "libtiff/deflate-last-strip-extra-data.tiff",
    ],
)
def test_pillow_decodes_what_tifffile_cannot(corpus, name):
    with pytest.raises(Exception):  # noqa: B017 - the premise: tifffile alone fails
        tifffile.imread(corpus / name)
    raster = read_raster(corpus / name)
    np.testing.assert_array_equal(raster.pixels, pillow_pixels(corpus / name))
    assert raster.info.format == "TIFF"


def test_ppm_equals_the_same_picture_as_tiff(corpus):
    ppm = read_raster(corpus / "libtiff/rgb-3c-8b.ppm")
    tif = read_raster(corpus / "libtiff/rgb-3c-8b.tiff")
    assert ppm.info.format == "PPM" and ppm.info.loads_whole and not tif.info.loads_whole
    np.testing.assert_array_equal(ppm.pixels, tif.pixels)


def test_jpeg_through_pillow_matches_opencv(corpus):
    path = corpus / "rasterio/389225main_sw_1965_1024.jpg"
    raster = read_raster(path)
    assert raster.info.format == "JPEG" and raster.pixels.shape == (768, 1024, 3)
    np.testing.assert_array_equal(raster.pixels, cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[..., ::-1])
    with Image.open(path) as image:
        assert raster.info.icc_profile == image.info["icc_profile"]
    assert (raster.info.resolution, raster.info.resolution_unit) == ((72.0, 72.0), "inch")


# --- palette, alpha, dtypes --------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "libtiff/palette-1c-8b.tiff",
        "libtiffpic/jello.tif",
        "libtiffpic/depth/flower-palette-02.tif",
        "libtiffpic/depth/flower-palette-04.tif",
        "libtiffpic/depth/flower-palette-08.tif",
    ],
)
def test_palette_expands_like_pillow(corpus, name):
    raster = read_raster(corpus / name)
    assert raster.info.photometric == "palette" and raster.pixels.shape[2] == 3
    # these colormaps are genuinely 16-bit; Pillow keeps their high byte
    assert raster.pixels.dtype == np.uint16
    np.testing.assert_array_equal(raster.pixels >> 8, pillow_pixels(corpus / name, "RGB"))


def test_palette_of_8bit_values_gives_uint8(tmp_path):
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (3, 256), dtype=np.uint16)
    indices = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "p.tif", indices, photometric="palette", colormap=colours * 257)
    raster = read_raster(tmp_path / "p.tif")
    assert raster.pixels.dtype == np.uint8
    np.testing.assert_array_equal(raster.pixels, colours.T[indices])
    np.testing.assert_array_equal(raster.pixels, pillow_pixels(tmp_path / "p.tif", "RGB"))


@pytest.mark.parametrize(
    ("name", "alpha"),
    [
        ("rio-color/rgba8.tif", 3),
        ("rasterio/alpha.tif", 3),
        ("rasterio/RGBA.uint16.tif", 3),
        ("libtiff/32bpp-None.tiff", 3),
        ("libtiff/minisblack-2c-8b-alpha.tiff", 1),
        ("image-tiff/cmyk-4c-8b.tiff", 4),
        ("image-tiff/extra_bits_rgb_8b.tiff", None),
        ("image-tiff/geo-5b.tif", None),
        ("rasterio/RGB.byte.tif", None),
    ],
)
def test_alpha_index_from_extrasamples(corpus, name, alpha):
    raster = read_raster(corpus / name)
    assert raster.info.alpha == alpha
    with rasterio.open(corpus / name) as ds:
        gdal_alpha = [i for i, c in enumerate(ds.colorinterp) if c.name == "alpha"]
    if ds.count == raster.info.bands and raster.info.photometric != "separated":
        assert gdal_alpha == ([] if alpha is None else [alpha])


def test_png_alpha_modes(tmp_path):
    rng = np.random.default_rng(5)
    rgba = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(rgba[..., :2]).save(tmp_path / "la.png")
    Image.fromarray(rgba[..., :3]).save(tmp_path / "rgb.png")
    for name, alpha in [("rgba.png", 3), ("la.png", 1), ("rgb.png", None)]:
        raster = read_raster(tmp_path / name)
        assert raster.info.alpha == alpha
        np.testing.assert_array_equal(raster.pixels, pillow_pixels(tmp_path / name))


def test_png_palette_with_transparency_gives_rgba(tmp_path):
    image = Image.fromarray(np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8), "P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.save(tmp_path / "p.png", transparency=1)
    raster = read_raster(tmp_path / "p.png")
    assert raster.info.photometric == "palette" and raster.info.alpha == 3
    np.testing.assert_array_equal(raster.pixels, pillow_pixels(tmp_path / "p.png", "RGBA"))


@pytest.mark.parametrize("channels", [1, 3, 4])  # what OpenCV writes
def test_png_16_bit_is_read_bit_exact(tmp_path, channels):
    rng = np.random.default_rng(channels)
    data = rng.integers(0, 65536, (13, 17, channels), dtype=np.uint16)
    order = {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]
    assert cv2.imwrite(str(tmp_path / "x.png"), data[..., order])  # an independent encoder
    raster = read_raster(tmp_path / "x.png")
    assert raster.pixels.dtype == np.uint16
    np.testing.assert_array_equal(raster.pixels, data)


def test_pillow_modes(tmp_path):
    bits = np.array([[0, 1, 1], [1, 0, 0]], dtype=bool)
    Image.fromarray(bits).save(tmp_path / "b.bmp")
    assert read_raster(tmp_path / "b.bmp").pixels[..., 0].tolist() == [[0, 255, 255], [255, 0, 0]]
    grey16 = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    Image.fromarray(grey16).save(tmp_path / "g.pgm")
    raster = read_raster(tmp_path / "g.pgm")
    assert raster.pixels.dtype == np.uint16
    np.testing.assert_array_equal(
        raster.pixels[..., 0], cv2.imread(str(tmp_path / "g.pgm"), cv2.IMREAD_UNCHANGED)
    )
    Image.fromarray(np.zeros((4, 5, 4), np.uint8), "CMYK").save(tmp_path / "c.jpg")
    assert read_raster(tmp_path / "c.jpg").info.photometric == "separated"
    assert read_raster(tmp_path / "c.jpg").pixels.shape == (4, 5, 4)
    floats = np.linspace(-1, 1, 20, dtype=np.float32).reshape(4, 5)
    Image.fromarray(floats).save(tmp_path / "f.tif")  # Pillow mode F
    np.testing.assert_array_equal(decode_pillow(str(tmp_path / "f.tif")).pixels[..., 0], floats)


def test_gif_frames_are_pages(tmp_path):
    frames = [Image.fromarray(np.full((4, 4), v, np.uint8)).convert("P") for v in (10, 200)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    first, second = read_raster(tmp_path / "a.gif"), read_raster(tmp_path / "a.gif", page=1)
    assert first.info.pages == 2 and second.info.page == 1
    assert first.pixels.shape == (4, 4, 3) and not np.array_equal(first.pixels, second.pixels)


def test_pillow_palette_with_transparency_gives_rgba(tmp_path):
    image = Image.fromarray(np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8), "P")
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.save(tmp_path / "t.gif", transparency=1)
    raster = read_raster(tmp_path / "t.gif")
    assert raster.info.format == "GIF" and raster.info.alpha == 3
    np.testing.assert_array_equal(raster.pixels, pillow_pixels(tmp_path / "t.gif", "RGBA"))
    assert raster.pixels[0, 1, 3] == 0 and raster.pixels[0, 0, 3] == 255


def test_float16_and_bilevel_are_promoted(tmp_path):
    half = np.linspace(-2, 2, 12, dtype=np.float16).reshape(3, 4)
    tifffile.imwrite(tmp_path / "h.tif", half)
    assert read_raster(tmp_path / "h.tif").pixels.dtype == np.float32
    tifffile.imwrite(tmp_path / "b.tif", half > 0)
    assert read_raster(tmp_path / "b.tif").pixels[..., 0].tolist() == ((half > 0) * 255).tolist()


def test_unsupported_sample_type_is_a_data_error(tmp_path):
    tifffile.imwrite(tmp_path / "i8.tif", np.zeros((3, 4), np.int8))
    with pytest.raises(DataError, match=r"i8\.tif: samples of type int8 are not supported"):
        read_raster(tmp_path / "i8.tif")
    np.save(tmp_path / "c.npy", np.zeros((3, 4), np.complex64))
    with pytest.raises(DataError, match=r"c\.npy: samples of type complex64"):
        read_raster(tmp_path / "c.npy")


# --- pages and axes ----------------------------------------------------------------------


def test_multi_page_tiff(corpus):
    two = corpus / "libtiff/tiff_with_subifd_chain.tif"
    first, second = read_raster(two), read_raster(two, page=1)
    assert first.info.pages == 2 and first.pixels.shape == (512, 1024, 1)
    with Image.open(two) as image:
        image.seek(1)
        np.testing.assert_array_equal(second.pixels[..., 0], np.asarray(image))


def test_axes_from_the_series_not_the_shape(tmp_path):
    rng = np.random.default_rng(2)
    # OME: T=2, C=3 channels stored one page each
    data = rng.integers(0, 65535, (2, 3, 8, 10), dtype=np.uint16)
    names = ["red", "nir", "swir"]
    tifffile.imwrite(
        tmp_path / "x.ome.tif", data, ome=True, metadata={"axes": "TCYX", "Channel": {"Name": names}}
    )
    for t in range(2):
        raster = read_raster(tmp_path / "x.ome.tif", page=t)
        assert raster.info.pages == 2 and raster.info.band_names == tuple(names)
        np.testing.assert_array_equal(raster.pixels, np.moveaxis(data[t], 0, -1))
    # three pages of 3 samples: three RGB images, not one 9-band image
    stack = rng.integers(0, 255, (3, 8, 10, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="rgb")
    assert read_raster(tmp_path / "s.tif").info.pages == 3
    np.testing.assert_array_equal(read_raster(tmp_path / "s.tif", page=2).pixels, stack[2])
    # a 4-sample planar image whose first axis is smaller than its samples would suggest
    planar = rng.integers(0, 255, (4, 3, 5), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "p.tif", planar, photometric="minisblack", planarconfig="separate")
    np.testing.assert_array_equal(read_raster(tmp_path / "p.tif").pixels, np.moveaxis(planar, 0, -1))


# --- metadata ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "rasterio/RGB.byte.tif",
        "rasterio/rotated.tif",
        "rasterio/float.tif",
        "rasterio/rgb-byte-tenth.tif",
        "image-tiff/geo-5b.tif",
    ],
)
def test_georeferencing_matches_rasterio(corpus, name):
    geo = read_raster(corpus / name).info.geo
    with rasterio.open(corpus / name) as ds:
        assert geo.transform == pytest.approx(tuple(ds.transform)[:6], rel=1e-12, abs=1e-9)
        if ds.crs is None:
            assert geo.crs is None
        elif ds.crs.to_epsg() is not None:
            assert geo.crs == f"EPSG:{ds.crs.to_epsg()}"
        else:  # user-defined: the citation names the system, as in GDAL's WKT
            assert geo.crs == "UTM Zone 18, Northern Hemisphere"
            assert ds.crs.to_wkt().startswith(f'PROJCS["{geo.crs}"')


def test_pixel_is_point_is_shifted_like_gdal(corpus, tmp_path):
    info = read_raster(corpus / "rasterio/byte.tif").info
    tags = []
    for code, datatype, count, value, once in info.geo.tags:
        if code == 34735:  # GTRasterTypeGeoKey 1025: PixelIsArea (1) -> PixelIsPoint (2)
            value = list(value)
            value[value.index(1025) + 3] = 2
        tags.append((code, datatype, count, tuple(value) if code == 34735 else value, once))
    tifffile.imwrite(tmp_path / "point.tif", np.zeros((20, 20), np.uint8), extratags=tags)
    with rasterio.open(tmp_path / "point.tif") as ds:
        assert ds.tags()["AREA_OR_POINT"] == "Point"
        expected = tuple(ds.transform)[:6]
    transform = read_raster(tmp_path / "point.tif").info.geo.transform
    assert transform == pytest.approx(expected)
    assert transform != pytest.approx(info.geo.transform)


@pytest.mark.parametrize(
    "name",
    [
        "rasterio/RGB.byte.tif",
        "rasterio/float_nan.tif",
        "rasterio/float_raster_with_nodata.tif",
        "rasterio/float_raster_with_extra_nodata.tif",
        "rasterio/all-nodata.tif",
        "rasterio/alpha.tif",
    ],
)
def test_nodata_matches_rasterio_in_the_band_dtype(corpus, name):
    raster = read_raster(corpus / name)
    with rasterio.open(corpus / name) as ds:
        expected, band = ds.nodata, ds.read(1)
    if expected is None:
        assert raster.info.nodata is None and raster.info.nodata_sample is None
        return
    if math.isnan(expected):
        assert math.isnan(raster.info.nodata)
        return
    assert raster.info.nodata == expected
    sample = raster.info.nodata_sample
    assert sample.dtype == raster.pixels.dtype
    assert np.count_nonzero(raster.pixels[..., 0] == sample) == np.count_nonzero(band == expected) > 0


def test_nodata_sample_outside_the_dtype_is_none(corpus):
    info = read_raster(corpus / "rasterio/RGB.byte.tif").info
    assert info.nodata_sample == np.uint8(0)
    for value in (-9999.0, 0.5, 256.0, math.nan):
        assert replace(info, nodata=value).nodata_sample is None


def test_band_names_and_gdal_metadata(corpus):
    info = read_raster(corpus / "rasterio/all-nodata.tif").info
    with rasterio.open(corpus / "rasterio/all-nodata.tif") as ds:
        assert info.band_names == ds.descriptions
    assert info.gdal_metadata.startswith("<GDALMetadata>")
    assert read_raster(corpus / "rasterio/RGB.byte.tif").info.band_names is None


def test_resolution_and_units(corpus):
    flower = read_raster(corpus / "libtiffpic/depth/flower-rgb-contig-08.tif").info
    with Image.open(corpus / "libtiffpic/depth/flower-rgb-contig-08.tif") as image:
        assert flower.resolution == pytest.approx(image.info["dpi"])
    assert flower.resolution_unit == "inch"
    per_cm = read_raster(corpus / "image-tiff/predictor-3-rgb-f32.tif").info
    assert per_cm.resolution_unit == "centimeter" and per_cm.resolution == pytest.approx((118.1102, 118.1102))
    assert read_raster(corpus / "rasterio/RGB.byte.tif").info.resolution is None


def test_npy_input(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    np.save(tmp_path / "a.npy", data)
    np.save(tmp_path / "b.npy", data[..., 0].astype(">u2"))
    a, b = read_raster(tmp_path / "a.npy"), read_raster(tmp_path / "b.npy")
    np.testing.assert_array_equal(a.pixels, data)
    assert a.info.format == "NPY" and b.pixels.shape == (2, 3, 1) and b.pixels.dtype == np.dtype("=u2")


# --- errors ------------------------------------------------------------------------------


def _corpus_file(name: str):
    def make(folder, request):
        return request.getfixturevalue("corpus") / name

    return make


def _unknown_compression(folder, request):
    """An RGB TIFF whose Compression tag names a scheme that no codec has (12345)."""
    path = folder / "unknown.tif"
    tifffile.imwrite(path, np.zeros((16, 12, 3), np.uint8), photometric="rgb")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["Compression"].valueoffset
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write((12345).to_bytes(2, "little"))
    return path


def _damaged_deflate(folder, request):
    """An RGB deflate TIFF whose strip is a zlib header followed by noise."""
    path = folder / "damaged.tif"
    tifffile.imwrite(path, np.zeros((16, 12, 3), np.uint8), photometric="rgb", compression="zlib")
    with tifffile.TiffFile(path) as tif:
        (offset,), (size,) = tif.pages[0].dataoffsets, tif.pages[0].databytecounts
    with open(path, "r+b") as file:
        file.seek(offset + 2)
        file.write(np.random.default_rng(0).integers(0, 256, size - 2, dtype=np.uint8).tobytes())
    return path


UNDECODABLE = {
    "corrupt JPEG tiles": _corpus_file("rasterio/corrupt.tif"),
    "unknown compression": _unknown_compression,
    "damaged deflate strip": _damaged_deflate,
}


@pytest.mark.parametrize("make", UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_undecodable_files_are_one_line_data_errors(make, tmp_path, request, run):
    """The reason in parentheses is the codec's own text, which changes with its version: what
    chanmix promises is its phrase naming the file on one line, the codec's error as the cause,
    and on the command line exit code 1 with that line alone and no output left behind."""
    path = make(tmp_path, request)
    with pytest.raises(DataError) as caught:
        read_raster(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: cannot decode image data \(.+\)", str(caught.value))
    assert caught.value.__cause__ is not None
    out = tmp_path / "out"
    out.mkdir()
    result = run("apply", path, "-p", "sepia", "-o", out / "o.tif")
    assert error_line(result, 1) == f"Error: {caught.value}"
    assert result.stdout == "" and os.listdir(out) == []


#: Files of the corpus that the codecs installed here cannot decode (SGILOG and THUNDERSCAN
#: compression, corrupt JPEG tiles); a codec that learns one of them makes the list shorter.
UNDECODABLE_IN_CORPUS = {"corrupt.tif", "logluv-3c-16b.tiff", "off_l16.tif", "text.tif"}


def test_every_corpus_file_reads_or_raises_data_error(corpus):
    failures = []
    for path in sorted(corpus.rglob("*")):
        if path.is_dir() or path.suffix in (".md", ".txt") or "LICENSES" in path.parts:
            continue
        try:
            raster = read_raster(path)
        except DataError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(f"{path}: "), str(exc)
            failures.append(path.name)
        else:
            assert raster.pixels.ndim == 3 and raster.pixels.dtype in SAMPLE_DTYPES
    assert set(failures) <= UNDECODABLE_IN_CORPUS, failures
    assert "corrupt.tif" in failures  # damaged data, whatever the codec


def _file(name: str, content: bytes):
    def make(folder):
        (folder / name).write_bytes(content)
        return folder / name

    return make


def _npy(name: str, array: np.ndarray):
    def make(folder):
        np.save(folder / name, array)
        return folder / name

    return make


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.tif", r"missing\.tif: no such file$"),
        (lambda d: d, r": is a folder, not an image file$"),
        (_file("empty.tif", b""), r"empty\.tif: empty file$"),
        (_file("notes.png", b"hello\n"), r"notes\.png: not an image chanmix can read \("),
        (_file("notes.tif", b"hello\n"), r"notes\.tif: not an image chanmix can read \("),
        (_file("head.tif", b"II*\x00"), r"head\.tif: damaged TIFF header \(the file ends at byte 4\)$"),
        (_npy("o.npy", np.array([None])), r"o\.npy: cannot read the \.npy array \(.+\)$"),  # NumPy's reason
        (_npy("v.npy", np.zeros(5)), r"v\.npy: a \.npy image must have shape"),
    ],
)
def test_bad_files_are_data_errors(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError, match=message) as caught:
        read_raster(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("source", "size"),
    [
        ("rasterio/RGB.byte.tif", 100_000),  # IFD at the end: no image directory left
        ("rio-color/rgb8.tif", 20_000),  # tiles cut off
        ("rasterio/RGB.byte.tif", 5),
        ("rasterio/389225main_sw_1965_1024.jpg", 30_000),
    ],
)
def test_truncated_files_are_data_errors(corpus, tmp_path, source, size):
    path = tmp_path / f"cut{(corpus / source).suffix}"
    path.write_bytes((corpus / source).read_bytes()[:size])
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: ") as caught:
        read_raster(path)
    assert "\n" not in str(caught.value)


def test_truncated_png_is_a_data_error(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(data).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:3000])
    with pytest.raises(DataError, match=r"cut\.png: cannot decode image data"):
        read_raster(tmp_path / "cut.png")


def test_bad_page_numbers_are_usage_errors(corpus, tmp_path):
    with pytest.raises(UsageError, match="must be 0 or more"):
        read_raster(corpus / "rasterio/byte.tif", page=-1)
    with pytest.raises(UsageError, match=r"no image 2 \(the file has 2 images"):
        read_raster(corpus / "libtiff/test_two_ifds.tif", page=2)
    np.save(tmp_path / "a.npy", np.zeros((2, 2)))
    with pytest.raises(UsageError, match="no image 1"):
        read_raster(tmp_path / "a.npy", page=1)
