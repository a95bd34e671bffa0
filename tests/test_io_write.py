"""Writers: format rules, round trips read back by independent readers, metadata, atomicity, determinism."""

from __future__ import annotations

import math
import os
import stat
import sys
import zlib
from dataclasses import replace

import cv2
import imagecodecs
import numpy as np
import pytest
import rasterio
import tifffile
from PIL import Image, ImageCms

import chanmix.io.stream_write
import chanmix.io.tiff_write
from chanmix.errors import DataError, UsageError
from chanmix.io import (
    Outputs,
    abandon_outputs,
    atomic_output,
    check_output,
    output_format,
    read_raster,
    write_raster,
    write_raster_blocks,
)
from helpers import gdal_pixels

pytestmark = pytest.mark.usefixtures("quiet_rasterio")


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def gray_profile() -> bytes:
    """An ICC header claiming GRAY (only the header is inspected by the carry rule)."""
    profile = srgb_profile()
    return profile[:16] + b"GRAY" + profile[20:]


def leftovers(folder) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".part")]


# --- format rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.tif", "tiff"),
        ("A.TIFF", "tiff"),
        ("x/b.png", "png"),
        ("c.JPG", "jpeg"),
        ("d.jpeg", "jpeg"),
        ("e.npy", "npy"),
        ("f.img", "envi"),
        ("g.DAT", "envi"),
        ("h.bip", "envi"),
        ("i.webp", "webp"),
        ("j.AVIF", "avif"),
        ("k.jxl", "jxl"),
    ],
)
def test_output_format_by_extension(name, expected):
    assert output_format(name) == expected


@pytest.mark.parametrize("name", ["out.bmp", "out", "out.tif.gz", "out.heic"])
def test_unknown_output_format_is_a_usage_error(name):
    with pytest.raises(
        UsageError,
        match=rf"^{name}: unknown output format .*\.tif, \.tiff, \.png, \.jpg, \.jpeg, \.webp, \.avif, \.jxl,"
        r" \.npy, \.img, \.dat, \.bsq, \.bil, \.bip, \.zarr$",
    ):
        output_format(name)


CHECKS = [
    # path, channels, dtype, alpha, compression, error (None = accepted)
    ("o.tif", 1, "uint8", False, None, None),
    ("o.tif", 12, "float64", False, "zstd", None),
    ("o.tif", 5, "int16", True, "LZW", None),
    (
        "o.tif",
        3,
        "float16",
        False,
        None,
        "TIFF holds samples of type uint8, uint16, int16, uint32, int32, float32, float64, not float16",
    ),
    ("o.tif", 3, "int64", False, None, "not int64"),
    ("o.tif", 1, "uint8", True, None, "an alpha channel needs another channel beside it"),
    (
        "o.tif",
        3,
        "uint8",
        False,
        "jpeg",
        "unknown TIFF compression 'jpeg'; use one of none, deflate, lzw, zstd",
    ),
    ("o.tif", 0, "uint8", False, None, "at least one channel, not 0"),
    ("o.png", 1, "uint8", False, None, None),
    ("o.png", 4, "uint16", True, "none", None),
    ("o.png", 2, "uint16", True, None, None),
    (
        "o.png",
        5,
        "float32",
        False,
        None,
        "PNG holds 1 to 4 channels of uint8 or uint16, not 5 float32 channels",
    ),
    ("o.png", 1, "int16", False, None, "not 1 int16 channel"),
    (
        "o.png",
        3,
        "uint8",
        True,
        None,
        "PNG holds alpha only as the last of 2 (LA) or 4 (RGBA) channels, not of 3",
    ),
    ("o.png", 3, "uint8", False, "deflate", None),  # ignored: PNG deflates anyway
    ("o.npy", 3, "uint8", False, "LZW", None),
    ("o.jpg", 3, "uint8", False, "webp", "unknown TIFF compression 'webp'"),
    ("o.jpg", 1, "uint8", False, None, None),
    ("o.jpeg", 3, "uint8", False, None, None),
    ("o.jpg", 3, "uint16", False, None, "JPEG holds 1 or 3 channels of uint8, not 3 uint16 channels"),
    ("o.jpg", 4, "uint8", False, None, "not 4 uint8 channels"),
    ("o.jpg", 2, "uint8", False, None, "not 2 uint8 channels"),
    ("o.jpg", 3, "uint8", True, None, "JPEG cannot hold an alpha channel"),
    ("o.npy", 40, "float32", False, None, None),
    ("o.npy", 3, "bool", False, None, ".npy output holds samples of type"),
    ("o.gif", 3, "uint8", False, None, "unknown output format"),
]


@pytest.mark.parametrize(("path", "channels", "dtype", "alpha", "compression", "error"), CHECKS)
def test_check_output(path, channels, dtype, alpha, compression, error):
    if error is None:
        assert check_output(
            path, channels=channels, dtype=dtype, alpha=alpha, compression=compression
        ) == output_format(path)
    else:
        with pytest.raises(UsageError) as caught:
            check_output(path, channels=channels, dtype=dtype, alpha=alpha, compression=compression)
        assert str(caught.value).startswith(f"{path}: ") and error in str(caught.value)


def test_impossible_write_creates_nothing(tmp_path):
    with pytest.raises(UsageError):
        write_raster(tmp_path / "o.png", np.zeros((2, 2, 5), np.float32))
    with pytest.raises(UsageError, match="2 band names for 3 channels"):
        write_raster(tmp_path / "o.tif", np.zeros((2, 2, 3), np.uint8), band_names=["a", "b"])
    assert os.listdir(tmp_path) == []


# --- TIFF --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "uint32", "int32", "float32", "float64"])
@pytest.mark.parametrize("channels", [1, 3, 7])
def test_tiff_round_trip_read_by_gdal(tmp_path, dtype, channels):
    rng = np.random.default_rng(channels)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    data = (
        rng.integers(info.min, info.max, (9, 11, channels), dtype=dtype, endpoint=True)
        if info
        else rng.normal(size=(9, 11, channels)).astype(dtype)
    )
    write_raster(tmp_path / "o.tif", data)
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "o.tif"), data)
    np.testing.assert_array_equal(read_raster(tmp_path / "o.tif").pixels, data)


@pytest.mark.parametrize(
    ("channels", "dtype", "alpha", "photometric", "extrasamples"),
    [
        (3, "uint8", False, "RGB", ()),
        (4, "uint16", True, "RGB", (2,)),
        (4, "uint8", False, "MINISBLACK", (0, 0, 0)),
        (2, "uint8", True, "MINISBLACK", (2,)),
        (3, "float32", False, "MINISBLACK", (0, 0)),
        (6, "int16", True, "MINISBLACK", (0, 0, 0, 0, 2)),
    ],
)
def test_tiff_photometric_and_extrasamples(tmp_path, channels, dtype, alpha, photometric, extrasamples):
    write_raster(tmp_path / "o.tif", np.zeros((4, 5, channels), dtype), alpha=alpha)
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        page = tif.pages.first
        assert page.photometric.name == photometric
        assert tuple(int(v) for v in page.extrasamples) == extrasamples
        assert page.planarconfig == 1 and page.description == "" and 306 not in page.tags  # no DateTime
    raster = read_raster(tmp_path / "o.tif")
    assert raster.info.alpha == (channels - 1 if alpha else None)
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert (ds.colorinterp[-1].name == "alpha") == alpha


@pytest.mark.parametrize("compression", ["deflate", "lzw", "zstd"])
@pytest.mark.parametrize(
    ("dtype", "predictor"), [("uint16", 2), ("int32", 2), ("float32", 3), ("float64", 3)]
)
def test_tiff_compression_uses_the_dtype_predictor(tmp_path, compression, dtype, predictor):
    data = np.cumsum(np.ones((16, 20, 3)), axis=1).astype(dtype)
    write_raster(tmp_path / "o.tif", data, compression=compression)
    with tifffile.TiffFile(tmp_path / "o.tif") as tif:
        assert tif.pages.first.predictor == predictor
    info = read_raster(tmp_path / "o.tif").info
    assert info.compression == compression
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "o.tif"), data)


@pytest.mark.parametrize(
    "name", ["rasterio/RGB.byte.tif", "rasterio/rotated.tif", "rasterio/rgb-byte-tenth.tif"]
)
def test_geotiff_round_trip_checked_with_rasterio(corpus, tmp_path, name):
    source = read_raster(corpus / name)
    names = [f"mix {i}" for i in range(source.info.bands)]
    out = tmp_path / "o.tif"
    write_raster(
        out,
        source.pixels,
        like=source.info,
        band_names=names,
        nodata=source.info.nodata,
        compression="deflate",
    )
    with rasterio.open(corpus / name) as a, rasterio.open(out) as b:
        assert b.crs == a.crs
        assert tuple(b.transform) == pytest.approx(tuple(a.transform))
        assert b.nodata == a.nodata
        assert b.descriptions == tuple(names)
        np.testing.assert_array_equal(b.read(), a.read())
        assert b.tags().get("AREA_OR_POINT") == a.tags().get("AREA_OR_POINT")
    again = read_raster(out).info
    assert again.geo == source.info.geo and again.band_names == tuple(names)


@pytest.mark.parametrize("nodata", [math.nan, -3.3999999521443642e38, -9999.0, 0.25, math.inf])
def test_nodata_round_trip(corpus, tmp_path, nodata):
    data = np.zeros((3, 4, 1), np.float32)
    write_raster(tmp_path / "o.tif", data, nodata=nodata)
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.nodata == pytest.approx(nodata, nan_ok=True)
    read_back = read_raster(tmp_path / "o.tif").info.nodata
    assert read_back == pytest.approx(nodata, nan_ok=True)


def test_gdal_metadata_keeps_dataset_items_and_drops_band_items(corpus, tmp_path):
    source = read_raster(corpus / "rasterio/RGB.byte.tif").info
    assert "STATISTICS_MEAN" in source.gdal_metadata
    rotated = read_raster(corpus / "rasterio/rotated.tif").info
    write_raster(tmp_path / "o.tif", np.zeros((2, 2, 2), np.uint8), like=rotated, band_names=["NIR", ""])
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.tags(ns="rio_creation_kwds") == {"compress": "packbits"}
        assert ds.descriptions == ("NIR", None)
        assert ds.tags(1) == {} and ds.tags(2) == {}
    write_raster(tmp_path / "p.tif", np.zeros((2, 2, 3), np.uint8), like=source)
    xml = read_raster(tmp_path / "p.tif").info.gdal_metadata
    assert xml is None or "STATISTICS" not in xml


def test_non_ascii_band_names(tmp_path):
    write_raster(tmp_path / "o.tif", np.zeros((2, 2, 2), np.uint16), band_names=["rouge – 665 nm", "NIR"])
    assert read_raster(tmp_path / "o.tif").info.band_names == ("rouge – 665 nm", "NIR")
    with rasterio.open(tmp_path / "o.tif") as ds:
        assert ds.descriptions == ("rouge – 665 nm", "NIR")


def test_resolution_and_icc_carried_to_tiff(corpus, tmp_path):
    like = read_raster(corpus / "libtiffpic/depth/flower-rgb-contig-08.tif").info
    rgb_like = replace(like, icc_profile=srgb_profile())
    write_raster(tmp_path / "rgb.tif", np.zeros((2, 2, 3), np.uint8), like=rgb_like)
    write_raster(tmp_path / "grey.tif", np.zeros((2, 2, 1), np.uint8), like=rgb_like)
    rgb, grey = read_raster(tmp_path / "rgb.tif").info, read_raster(tmp_path / "grey.tif").info
    assert rgb.icc_profile == srgb_profile() and grey.icc_profile is None
    assert (rgb.resolution, rgb.resolution_unit) == (like.resolution, "inch")
    with Image.open(tmp_path / "rgb.tif") as image:
        assert image.info["dpi"] == pytest.approx(like.resolution)
    gray_like = replace(like, icc_profile=gray_profile())
    write_raster(tmp_path / "g.tif", np.zeros((2, 2, 4), np.uint16), like=gray_like)
    assert read_raster(tmp_path / "g.tif").info.icc_profile == gray_profile()


def test_bigtiff_when_the_data_exceed_the_limit(tmp_path, monkeypatch):
    data = np.arange(60, dtype=np.uint16).reshape(3, 4, 5)
    monkeypatch.setattr(chanmix.io.tiff_write, "BIGTIFF_LIMIT", data.nbytes - 1)
    write_raster(tmp_path / "big.tif", data, compression="zstd")
    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        assert tif.is_bigtiff
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "big.tif"), data)
    monkeypatch.undo()
    write_raster(tmp_path / "small.tif", data)
    with tifffile.TiffFile(tmp_path / "small.tif") as tif:
        assert not tif.is_bigtiff


# --- PNG, JPEG, NPY ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_round_trip_bit_exact(tmp_path, dtype, channels):
    rng = np.random.default_rng(channels)
    data = rng.integers(0, np.iinfo(dtype).max, (13, 17, channels), dtype=dtype, endpoint=True)
    write_raster(tmp_path / "o.png", data, alpha=channels in (2, 4))
    decoded = imagecodecs.png_decode((tmp_path / "o.png").read_bytes())
    np.testing.assert_array_equal(decoded.reshape(data.shape), data)
    if channels != 2:  # OpenCV reads grey+alpha as grey
        bgr = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
        order = {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]
        np.testing.assert_array_equal(bgr.reshape(13, 17, channels)[..., order], data)
    raster = read_raster(tmp_path / "o.png")
    np.testing.assert_array_equal(raster.pixels, data)
    assert raster.info.alpha == (channels - 1 if channels in (2, 4) else None)


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_png_carries_dpi_and_icc(corpus, tmp_path, dtype):
    like = read_raster(corpus / "libtiffpic/depth/flower-rgb-contig-08.tif").info
    like = replace(like, icc_profile=srgb_profile())
    write_raster(tmp_path / "o.png", np.ones((5, 6, 3), dtype), like=like)
    with Image.open(tmp_path / "o.png") as image:
        assert image.info["dpi"] == pytest.approx((72.0, 72.0), abs=0.01)
        assert image.info["icc_profile"] == srgb_profile()
        image.load()  # CRCs and zlib streams are valid
    per_cm = replace(like, resolution=(40.0, 20.0), resolution_unit="centimeter")
    write_raster(tmp_path / "cm.png", np.ones((5, 6, 1), dtype), like=per_cm)
    info = read_raster(tmp_path / "cm.png").info
    assert info.resolution == pytest.approx((101.6, 50.8), abs=0.01) and info.icc_profile is None


def test_png16_chunks_are_well_formed(tmp_path):
    write_raster(tmp_path / "o.png", np.ones((3, 3, 3), np.uint16), like=None)
    plain = (tmp_path / "o.png").read_bytes()
    assert b"pHYs" not in plain and b"iCCP" not in plain
    from chanmix.io.png import with_chunks

    body = b"".join(with_chunks(plain, [(b"tEXt", b"k\x00v")]))
    position = body.index(b"tEXt") - 4
    assert body.index(b"tEXt") < body.index(b"IDAT")
    length = int.from_bytes(body[position : position + 4], "big")
    crc = int.from_bytes(body[position + 8 + length : position + 12 + length], "big")
    assert length == 3 and crc == zlib.crc32(b"tEXtk\x00v")
    with pytest.raises(ValueError, match="not a PNG"):
        with_chunks(b"GIF89a", [])


@pytest.mark.parametrize("channels", [1, 3])
def test_jpeg_output(corpus, tmp_path, channels):
    source = read_raster(corpus / "rasterio/389225main_sw_1965_1024.jpg")
    data = source.pixels[:64, :80, :channels]
    write_raster(tmp_path / "o.jpg", data, like=source.info)
    with Image.open(tmp_path / "o.jpg") as image:
        assert image.format == "JPEG" and image.info["dpi"] == (72, 72)
        assert ("icc_profile" in image.info) == (channels == 3)  # the profile is RGB
    decoded = cv2.imread(str(tmp_path / "o.jpg"), cv2.IMREAD_UNCHANGED).reshape(64, 80, channels)
    error = np.abs(decoded[..., ::-1].astype(float) - data).mean()
    assert error < 2.0  # quality 95


def test_npy_output(tmp_path):
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    write_raster(tmp_path / "o.npy", data)
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy", allow_pickle=False), data)
    assert sorted(os.listdir(tmp_path)) == ["o.npy"]
    write_raster(tmp_path / "g.npy", data[..., 0])  # (H, W) is one channel
    assert np.load(tmp_path / "g.npy").shape == (2, 3, 1)


# --- determinism and atomicity ----------------------------------------------------------


@pytest.mark.parametrize("name", ["o.tif", "o.png", "o16.png", "o.jpg", "o.npy"])
def test_same_input_same_bytes(corpus, tmp_path, name):
    source = read_raster(corpus / "rasterio/RGB.byte.tif")
    pixels = source.pixels[:100, :120]
    if name == "o16.png":
        pixels = pixels.astype(np.uint16) * 257
    like = replace(source.info, icc_profile=srgb_profile(), resolution=(300.0, 300.0), resolution_unit="inch")
    options = {"like": like}
    if name.endswith(".tif"):
        options.update(band_names=["r", "g", "b"], nodata=0.0, compression="deflate")
    write_raster(tmp_path / name, pixels, **options)
    first = (tmp_path / name).read_bytes()
    write_raster(tmp_path / name, pixels, **options)
    assert (tmp_path / name).read_bytes() == first


@pytest.mark.parametrize(
    ("saver", "name"),
    [
        ("write_tiff_blocks", "o.tif"),
        ("save_png", "o.png"),
        ("save_jpeg", "o.jpg"),
    ],
)
@pytest.mark.parametrize("failure", [RuntimeError("encoder broke"), KeyboardInterrupt()])
def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, saver, name, failure):
    def broken(file, pixels, **options):
        file.write(b"half an image")
        raise failure

    monkeypatch.setattr(chanmix.io.stream_write, saver, broken)
    dtype = np.uint16 if saver == "save_png" else np.uint8
    pixels = np.zeros((4, 4, 3), dtype)
    # a whole-image encoder's failure becomes one line naming the file (a DataError)
    encoder = isinstance(failure, RuntimeError) and saver != "write_tiff_blocks"
    expected = DataError if encoder else type(failure)
    with pytest.raises(expected, match="cannot encode .*encoder broke" if encoder else None):
        write_raster(tmp_path / name, pixels)
    assert os.listdir(tmp_path) == []
    (tmp_path / name).write_bytes(b"previous result")
    with pytest.raises(expected):
        write_raster(tmp_path / name, pixels)
    assert (tmp_path / name).read_bytes() == b"previous result"
    assert leftovers(tmp_path) == []


def test_atomic_output_context(tmp_path):
    target = tmp_path / "x.bin"
    with atomic_output(target) as file:
        file.write(b"done")
        assert not target.exists()
        if sys.platform == "linux":
            assert os.listdir(tmp_path) == []  # an unnamed (O_TMPFILE) file
    assert target.read_bytes() == b"done" and leftovers(tmp_path) == []
    with pytest.raises(ZeroDivisionError), atomic_output(target) as file:
        file.write(b"partial")
        1 / 0  # noqa: B018
    assert target.read_bytes() == b"done" and leftovers(tmp_path) == []
    with atomic_output(target) as file:  # replacing: linked as .part, renamed over
        file.write(b"again")
    assert target.read_bytes() == b"again" and os.listdir(tmp_path) == ["x.bin"]


def test_named_temporary_files_where_o_tmpfile_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(chanmix.io.atomic, "_open_unnamed", lambda folder: None)
    target = tmp_path / "x.bin"
    with atomic_output(target) as file:
        file.write(b"done")
        file.flush()
        (part,) = leftovers(tmp_path)
        assert part.startswith(".x.bin.") and (tmp_path / part).read_bytes() == b"done"
    assert target.read_bytes() == b"done" and leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as file:
        file.write(b"partial")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"done" and leftovers(tmp_path) == []


@pytest.mark.parametrize("unnamed", [True, False])
def test_outputs_commit_together_or_not_at_all(tmp_path, monkeypatch, unnamed):
    if not unnamed:
        monkeypatch.setattr(chanmix.io.atomic, "_open_unnamed", lambda folder: None)
    (tmp_path / "a").write_bytes(b"old a")
    with Outputs() as together:
        for name in ("a", "b"):
            with atomic_output(tmp_path / name, together=together) as file:
                file.write(name.encode())
        assert (tmp_path / "a").read_bytes() == b"old a" and not (tmp_path / "b").exists()
    assert [(tmp_path / n).read_bytes() for n in ("a", "b")] == [b"a", b"b"]
    with pytest.raises(RuntimeError), Outputs() as together:
        with atomic_output(tmp_path / "a", together=together) as file:
            file.write(b"new a")
        raise RuntimeError("the second output failed")
    assert (tmp_path / "a").read_bytes() == b"a" and sorted(os.listdir(tmp_path)) == ["a", "b"]


def test_abandoned_outputs_are_removed_and_never_commit(tmp_path, monkeypatch):
    registry = chanmix.io.atomic._Registry()
    monkeypatch.setattr(chanmix.io.atomic, "_REGISTRY", registry)
    monkeypatch.setattr(chanmix.io.atomic, "_open_unnamed", lambda folder: None)
    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "x.bin") as file:
        file.write(b"half")
        assert leftovers(tmp_path)
        abandon_outputs()  # as the command line does on SIGINT/SIGTERM, from another thread
        assert leftovers(tmp_path) == []
    assert os.listdir(tmp_path) == []


def test_a_reservation_larger_than_the_free_space_fails_before_anything_is_written(tmp_path):
    free = chanmix.io.atomic.free_space(tmp_path)
    assert free is not None
    with pytest.raises(OSError, match=r"needs .* free"):
        with atomic_output(tmp_path / "x.npy", reserve=free + (1 << 30)):
            pytest.fail("the block ran")
    assert os.listdir(tmp_path) == []


def test_reserved_space_is_a_lower_bound_and_never_pads_the_file(tmp_path):
    target = tmp_path / "x.bin"
    with atomic_output(target, reserve=100) as file:
        assert os.fstat(file.fileno()).st_size == (100 if sys.platform == "linux" else 0)
        file.write(b"y" * 150)
    assert target.read_bytes() == b"y" * 150


@pytest.mark.parametrize("name", ["o.tif", "o.npy"])
def test_uncompressed_outputs_are_the_same_with_and_without_reservation(tmp_path, monkeypatch, name):
    pixels = np.arange(5 * 7 * 3, dtype=np.uint16).reshape(5, 7, 3)
    write_raster(tmp_path / name, pixels)
    reserved = (tmp_path / name).read_bytes()
    monkeypatch.setattr(chanmix.io.atomic, "_reserve", lambda *args: None)
    write_raster(tmp_path / name, pixels)
    assert (tmp_path / name).read_bytes() == reserved
    if name.endswith(".npy"):
        np.save(tmp_path / "ref.npy", pixels)
        assert (tmp_path / "ref.npy").read_bytes() == reserved


def test_tiles_written_as_tiles_are_the_image_written_in_bands(tmp_path):
    image = np.random.default_rng(3).integers(0, 65535, (40, 50, 2), dtype=np.uint16)
    tile = (16, 32)
    tiles = [image[r : r + 16, c : c + 32] for r in range(0, 40, 16) for c in range(0, 50, 32)]
    options = {"height": 40, "width": 50, "channels": 2, "dtype": np.uint16, "tile": tile}
    for compression in (None, "deflate"):
        write_raster_blocks(tmp_path / "t.tif", iter(tiles), tiles=True, compression=compression, **options)
        write_raster_blocks(tmp_path / "b.tif", [image[:25], image[25:]], compression=compression, **options)
        assert (tmp_path / "t.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "t.tif"), image)


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        (lambda tiles: tiles[:-1], "fewer tiles"),
        (lambda tiles: tiles + tiles[:1], "more tiles"),
        (lambda tiles: [tiles[1], tiles[0]] + tiles[2:], "the tile at row 0, column 0 has shape"),
        (lambda tiles: [t.astype(np.uint8) for t in tiles], "uint16"),
    ],
)
def test_tiles_that_do_not_fit_are_usage_errors_and_leave_no_file(tmp_path, blocks, message):
    image = np.zeros((40, 50, 2), np.uint16)
    tiles = [image[r : r + 16, c : c + 32] for r in range(0, 40, 16) for c in range(0, 50, 32)]
    options = {"height": 40, "width": 50, "channels": 2, "dtype": np.uint16, "tile": (16, 32)}
    with pytest.raises(UsageError, match=message):
        write_raster_blocks(tmp_path / "t.tif", iter(blocks(tiles)), tiles=True, **options)
    with pytest.raises(UsageError, match="tiled TIFF"):
        write_raster_blocks(tmp_path / "t.png", iter(tiles), tiles=True, **{**options, "dtype": np.uint16})
    assert os.listdir(tmp_path) == []


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_raster(tmp_path / "o.tif", np.zeros((2, 2, 1), np.uint8))
    assert stat.S_IMODE(os.stat(tmp_path / "o.tif").st_mode) == 0o666 & ~umask


def test_unwritable_destinations_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"no/such/folder/o\.tif: cannot write \(No such file or directory\)"):
        write_raster(tmp_path / "no/such/folder/o.tif", np.zeros((2, 2, 1), np.uint8))
    (tmp_path / "d.tif").mkdir()
    with pytest.raises(DataError, match=r"d\.tif: cannot write"):
        write_raster(tmp_path / "d.tif", np.zeros((2, 2, 1), np.uint8))
    assert leftovers(tmp_path) == []
