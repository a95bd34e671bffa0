"""Block reader: any row range of any file equals the whole-image read, bit for bit."""

from __future__ import annotations

import itertools
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields

import numpy as np
import pytest
import tifffile
from PIL import Image

from chanmix.errors import DataError, UsageError
from chanmix.io import open_raster, read_raster

pytestmark = pytest.mark.usefixtures("quiet_rasterio")


def same_info(a, b) -> bool:
    """RasterInfo equality with NaN nodata equal to itself."""
    for field in fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        both_nan = isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
        if x != y and not both_nan:
            return False
    return True


def assert_streams_like_read_raster(path, page: int = 0, *, streamed: bool | None = True):
    """Concatenated bands of several heights, and odd row ranges, equal read_raster's pixels."""
    whole = read_raster(path, page=page)
    pixels = whole.pixels
    with open_raster(path, page=page) as reader:
        assert same_info(reader.info, whole.info)
        if streamed is not None:
            assert reader.info.loads_whole is not streamed
        height = reader.info.height
        assert 1 <= reader.block_rows <= height
        for rows in sorted({7, reader.block_rows, height}):
            starts, bands = zip(*reader.row_bands(rows))
            assert list(starts) == list(range(0, height, rows))
            assert all(b.dtype == pixels.dtype and b.flags.c_contiguous for b in bands)
            np.testing.assert_array_equal(np.concatenate(bands), pixels)
        # single rows decode a whole tile row each: check the first 50 only
        singles = [reader.read_rows(row, row + 1) for row in range(min(height, 50))]
        np.testing.assert_array_equal(np.concatenate(singles), pixels[:50])
        for start, stop in [(0, 0), (height // 3, height // 3 + 5), (height - 1, height)]:
            stop = min(stop, height)
            np.testing.assert_array_equal(reader.read_rows(start, stop), pixels[start:stop])
    return whole


# --- the real-file corpus ---------------------------------------------------------------

STREAMED = [
    "rasterio/RGB.byte.tif",  # strips of 3 rows, GeoTIFF, nodata
    "rasterio/rgb_deflate.tif",  # planar, deflate
    "rasterio/rgb_lzw.tif",  # tiled 256, LZW
    "rasterio/all-nodata.tif",  # planar tiled, LZW + predictor 2, 4 x uint16
    "rasterio/cogeo.tif",  # YCbCr JPEG tiles, overviews, mask
    "rasterio/alpha.tif",  # RGBA JPEG tiles
    "rasterio/RGBA.uint16.tif",  # one row per strip, deflate
    "rasterio/float_nan.tif",
    "rasterio/float32.tif",
    "rio-color/rgba8.tif",
    "libtiff/rgb-3c-16b.tiff",  # big-endian
    "libtiff/palette-1c-8b.tiff",  # palette, big-endian
    "libtiff/minisblack-2c-8b-alpha.tiff",  # planar PackBits
    "libtiff/quad-tile.jpg.tiff",  # YCbCr JPEG tiles 128
    "libtiff/test_float64_predictor2_be_lzw.tif",
    "libtiff/tiff_with_subifd_chain.tif",  # SubIFDs, 2 pages
    "libtiff/webp_lossless_rgba_alpha_fully_opaque.tif",
    "libtiffpic/caspian.tif",  # planar float64 deflate
    "libtiffpic/oxford.tif",  # planar, one row per strip
    "libtiffpic/quad-jpeg.tif",  # YCbCr JPEG strips
    "libtiffpic/jello.tif",  # palette PackBits
    "libtiffpic/depth/flower-rgb-planar-10.tif",  # 10-bit packed, planar
    "libtiffpic/depth/flower-minisblack-02.tif",
    "libtiffpic/depth/flower-separated-contig-16.tif",
    "libtiffpic/depth/flower-rgb-contig-24.tif",
    "image-tiff/BigTIFF.tif",
    "image-tiff/BigTIFFMotorola.tif",  # big-endian BigTIFF
    "image-tiff/tiled-rgb-u8.tif",  # tiled LZW + predictor, partial edge tiles
    "image-tiff/usda_naip_256_webp_z3.tif",  # WebP tiles
    "image-tiff/random-fp16-pred3.tiff",  # float16 -> float32
    "image-tiff/predictor-3-rgb-f32.tif",
    "image-tiff/int16_zstd.tif",
    "image-tiff/12bit.cropped.rgb.tiff",
    "image-tiff/cmyk-4c-8b.tiff",
    "landsat8/l8_B5.tif",
    "libtiff/deflate-last-strip-extra-data.tiff",  # last strip undecodable: Pillow takes over
]

WHOLE = [
    "libtiffpic/ycbcr-cat.tif",  # subsampled YCbCr without JPEG: Pillow
    "libtiffpic/smallliz.tif",  # Old-JPEG: Pillow
    "libtiff/ojpeg_zackthecat_subsamp22_single_strip.tiff",
    "libtiff/rgb-3c-8b.ppm",
    "rasterio/389225main_sw_1965_1024.jpg",
]


@pytest.mark.parametrize("name", STREAMED)
def test_corpus_tiffs_stream_segment_by_segment(corpus, name):
    assert_streams_like_read_raster(corpus / name, streamed=True)


@pytest.mark.parametrize("name", WHOLE)
def test_layouts_without_segments_are_read_whole(corpus, name):
    with open_raster(corpus / name) as reader:
        info = reader.info
        row_bytes = info.width * info.bands * info.dtype.itemsize
        assert reader.block_rows == min(info.height, max(1, 2**22 // row_bytes))  # 4 MiB from memory
    assert_streams_like_read_raster(corpus / name, streamed=False)


def test_second_page_streams(corpus):
    whole = assert_streams_like_read_raster(corpus / "libtiff/tiff_with_subifd_chain.tif", page=1)
    assert whole.info.page == 1


def test_block_rows_follow_the_file_layout(corpus, tmp_path):
    with open_raster(corpus / "rasterio/rgb_lzw.tif") as tiled:
        assert tiled.block_rows == 718  # 256-row tiles; the whole image is within 4 MiB
    zeros = np.zeros((1200, 1200, 3), np.uint8)
    tifffile.imwrite(tmp_path / "s.tif", zeros, rowsperstrip=5, compression="zlib")
    with open_raster(tmp_path / "s.tif") as strips:
        assert strips.block_rows == 5 * (2**22 // (5 * 3600))  # 4 MiB of 5-row strips
    tifffile.imwrite(tmp_path / "t.tif", zeros, tile=(1024, 1024), compression="zlib")
    with open_raster(tmp_path / "t.tif") as big_tiles:
        assert big_tiles.block_rows == 1024  # a compressed tile row is decoded whole
    tifffile.imwrite(tmp_path / "u.tif", np.zeros((3000, 1200, 3), np.uint8), tile=(1024, 1024))
    with open_raster(tmp_path / "u.tif") as uncompressed:
        assert uncompressed.block_rows == 2**22 // 3600  # any rows read exactly: 4 MiB of them


# --- synthetic layouts -------------------------------------------------------------------

LAYOUTS = list(
    itertools.product(
        ["strips", "tiles"],
        ["contig", "separate"],
        [None, "deflate", "lzw", "zstd", "packbits"],
        ["<", ">"],
    )
)


@pytest.mark.parametrize(("segments", "planar", "compression", "byteorder"), LAYOUTS)
def test_layouts_read_in_bands_equal_the_data(tmp_path, segments, planar, compression, byteorder):
    rng = np.random.default_rng(len(tmp_path.name))
    data = rng.integers(0, 60000, (75, 83, 3), dtype=np.uint16)
    layout = {"tile": (16, 32)} if segments == "tiles" else {"rowsperstrip": 5}
    tifffile.imwrite(
        tmp_path / "x.tif",
        np.moveaxis(data, -1, 0) if planar == "separate" else data,
        photometric="rgb",
        planarconfig=planar,
        compression=compression,
        predictor=compression not in (None, "packbits"),
        byteorder=byteorder,
        bigtiff=byteorder == ">",
        **layout,
    )
    whole = assert_streams_like_read_raster(tmp_path / "x.tif")
    np.testing.assert_array_equal(whole.pixels, data)
    with open_raster(tmp_path / "x.tif") as reader:
        for start, stop in [(3, 40), (17, 18), (31, 33), (15, 49), (70, 75)]:  # mid-segment edges
            np.testing.assert_array_equal(reader.read_rows(start, stop), data[start:stop])
        for start, stop, left, right in [
            (0, 16, 0, 32),
            (3, 40, 5, 70),
            (16, 32, 32, 64),
            (70, 75, 64, 83),
            (0, 75, 82, 83),
            (10, 11, 0, 83),
        ]:
            window = reader.read_window(start, stop, left, right)
            np.testing.assert_array_equal(window, data[start:stop, left:right])
            assert window.flags.c_contiguous


def test_windows_of_every_reader_kind(tmp_path):
    data = np.random.default_rng(5).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", data)
    Image.fromarray(data).save(tmp_path / "x.png")
    for name in ("x.npy", "x.png"):
        with open_raster(tmp_path / name) as reader:
            np.testing.assert_array_equal(reader.read_window(2, 9, 4, 25), data[2:9, 4:25])
            for bad in [(5, 5, 0, 30), (0, 21, 0, 30), (0, 20, 10, 10), (0, 20, -1, 30), (0, 20, 0, 31)]:
                with pytest.raises(UsageError, match="not a window"):
                    reader.read_window(*bad)


@pytest.mark.parametrize(
    ("dtype", "options"),
    [
        ("uint8", {"compression": "jpeg", "photometric": "rgb"}),
        ("uint8", {"compression": "jpeg", "photometric": "ycbcr"}),
        ("float16", {"compression": "zstd", "predictor": True, "photometric": "rgb"}),
        ("float64", {"compression": "deflate", "predictor": True, "photometric": "rgb"}),
        ("int32", {"compression": "lzw", "predictor": True, "photometric": "minisblack"}),
        ("bool", {}),
    ],
)
def test_codecs_and_sample_types_in_tiles(tmp_path, dtype, options):
    rng = np.random.default_rng(7)
    data = rng.normal(100, 30, (70, 90, 3)).clip(0, 255).astype(dtype)
    if dtype == "bool":
        data = data[..., 0]
    tifffile.imwrite(tmp_path / "x.tif", data, tile=(32, 48), **options)
    assert_streams_like_read_raster(tmp_path / "x.tif")


def test_palette_and_packed_bits_in_tiles(tmp_path):
    rng = np.random.default_rng(8)
    indices = rng.integers(0, 256, (50, 70), dtype=np.uint8)
    colours = rng.integers(0, 65536, (3, 256), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "p.tif", indices, photometric="palette", colormap=colours, tile=(16, 16))
    whole = assert_streams_like_read_raster(tmp_path / "p.tif")
    np.testing.assert_array_equal(whole.pixels, colours.T[indices])
    tifffile.imwrite(tmp_path / "b12.tif", indices.astype(np.uint16) * 16, bitspersample=12, rowsperstrip=9)
    assert_streams_like_read_raster(tmp_path / "b12.tif")


def test_empty_tiles_are_nodata(tmp_path):
    def tiles():
        for i in range(9):
            yield None if i % 2 else np.full((16, 16), i + 1, np.uint8)

    tifffile.imwrite(tmp_path / "s.tif", tiles(), shape=(40, 40), dtype="uint8", tile=(16, 16))
    whole = assert_streams_like_read_raster(tmp_path / "s.tif")
    assert set(np.unique(whole.pixels)) == {0, 1, 3, 5, 7, 9}


def test_pages_and_ome_channel_pages_stream(tmp_path):
    rng = np.random.default_rng(9)
    stack = rng.integers(0, 255, (3, 40, 50, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="rgb", tile=(16, 16), compression="zlib")
    for page in range(3):
        whole = assert_streams_like_read_raster(tmp_path / "s.tif", page=page)
        np.testing.assert_array_equal(whole.pixels, stack[page])
    ome = rng.integers(0, 65535, (2, 3, 40, 50), dtype=np.uint16)  # T, C: one page per channel
    tifffile.imwrite(tmp_path / "o.ome.tif", ome, ome=True, metadata={"axes": "TCYX"}, rowsperstrip=7)
    for t in range(2):
        whole = assert_streams_like_read_raster(tmp_path / "o.ome.tif", page=t)
        np.testing.assert_array_equal(whole.pixels, np.moveaxis(ome[t], 0, -1))


def test_uncompressed_segments_are_read_for_the_rows_asked_only(tmp_path, monkeypatch):
    data = np.arange(64 * 80 * 3, dtype=np.uint16).reshape(64, 80, 3)
    tifffile.imwrite(tmp_path / "t.tif", data, photometric="rgb", tile=(32, 32))
    requested = []
    original = tifffile.FileHandle.read_segments

    def spy(self, offsets, bytecounts, *args, **kwargs):
        requested.append(sum(bytecounts))
        return original(self, offsets, bytecounts, *args, **kwargs)

    monkeypatch.setattr(tifffile.FileHandle, "read_segments", spy)
    with open_raster(tmp_path / "t.tif") as reader:
        np.testing.assert_array_equal(reader.read_rows(10, 13), data[10:13])
    assert requested == [3 * 96 * 3 * 2]  # 3 rows of 3 tiles 32 wide, 3 uint16 samples


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("rowsperstrip", [5, 64])
def test_back_to_back_strips_are_read_in_one_piece(tmp_path, monkeypatch, byteorder, rowsperstrip):
    data = np.arange(64 * 80 * 3, dtype=np.uint16).reshape(64, 80, 3)
    options = {"rowsperstrip": rowsperstrip, "byteorder": byteorder}
    tifffile.imwrite(tmp_path / "s.tif", data, photometric="rgb", **options)
    monkeypatch.setattr(tifffile.FileHandle, "read_segments", lambda *a, **k: pytest.fail("segments read"))
    with open_raster(tmp_path / "s.tif") as reader:
        for start, stop in [(0, 64), (3, 40), (17, 18), (63, 64)]:
            rows = reader.read_rows(start, stop)
            np.testing.assert_array_equal(rows, data[start:stop])
            assert rows.dtype.isnative and rows.flags.c_contiguous


def test_a_file_cut_short_in_its_strips_is_a_data_error_as_for_read_raster(tmp_path):
    data = np.arange(64 * 80 * 3, dtype=np.uint16).reshape(64, 80, 3)
    tifffile.imwrite(tmp_path / "s.tif", data, photometric="rgb", rowsperstrip=8)
    cut = tmp_path / "cut.tif"
    cut.write_bytes((tmp_path / "s.tif").read_bytes()[:20_000])
    with pytest.raises(DataError) as expected:
        read_raster(cut)
    with open_raster(cut) as reader:
        np.testing.assert_array_equal(reader.read_rows(0, 8), data[:8])  # complete rows still read
        with pytest.raises(DataError) as caught:
            reader.read_rows(0, 64)
    messages = [str(error.value) for error in (caught, expected)]
    prefix = f"{cut}: cannot decode image data ("
    assert all(m.startswith(prefix) and m.endswith(")") and "\n" not in m for m in messages), messages
    # the same kind of decoder error; its byte counts are of what each read
    assert len({m[len(prefix) :].split(":")[0] for m in messages}) == 1, messages


# --- threads, npy, errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rasterio/cogeo.tif", "rasterio/rgb_deflate.tif", "libtiff/deflate-last-strip-extra-data.tiff"]
)
def test_parallel_reads_equal_serial_reads(corpus, name):
    with open_raster(corpus / name) as reader:
        starts = range(0, reader.info.height, 37)
        serial = [reader.read_rows(s, min(s + 37, reader.info.height)) for s in starts]
    with open_raster(corpus / name) as reader, ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda s: reader.read_rows(s, min(s + 37, reader.info.height)), starts))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_npy_is_memory_mapped(tmp_path):
    data = np.arange(40 * 30 * 2, dtype=">u2").reshape(40, 30, 2)
    np.save(tmp_path / "a.npy", data)
    whole = assert_streams_like_read_raster(tmp_path / "a.npy", streamed=True)
    assert whole.pixels.dtype == np.dtype("=u2")
    np.save(tmp_path / "g.npy", data[..., 0].astype(np.float16))
    assert_streams_like_read_raster(tmp_path / "g.npy")


def test_png_is_read_whole(tmp_path):
    Image.fromarray(np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)).save(tmp_path / "g.png")
    assert_streams_like_read_raster(tmp_path / "g.png", streamed=False)


def test_bad_row_ranges_and_closed_readers_are_usage_errors(corpus):
    reader = open_raster(corpus / "rasterio/byte.tif")
    for start, stop in [(-1, 3), (5, 4), (0, 21)]:
        message = rf"byte\.tif: rows {start} to {stop} are not within the 20 rows"
        with pytest.raises(UsageError, match=message):
            reader.read_rows(start, stop)
    with pytest.raises(UsageError, match="at least one row"):
        next(reader.row_bands(0))
    reader.close()
    with pytest.raises(UsageError, match=r"byte\.tif: the reader is closed"):
        reader.read_rows(0, 1)


@pytest.mark.parametrize("name", ["g.png", "a.npy"])
def test_a_read_racing_close_is_a_usage_error(tmp_path, name):
    """A read past the reader's check while another thread closes it (simulated by reading
    the reader's source after close) says the reader is closed."""
    pixels = np.arange(20 * 30, dtype=np.uint8).reshape(20, 30)
    if name.endswith(".png"):
        Image.fromarray(pixels).save(tmp_path / name)
    else:
        np.save(tmp_path / name, pixels[..., np.newaxis])
    reader = open_raster(tmp_path / name)
    source = reader._rows
    assert source.read(0, 1, 0, 30).shape == (1, 30, 1)
    reader.close()
    with pytest.raises(UsageError, match=rf"{re.escape(name)}: the reader is closed"):
        source.read(0, 1, 0, 30)


@pytest.mark.parametrize(
    ("name", "page"),
    [("missing.tif", 0), ("rasterio/byte.tif", 1), ("rasterio/byte.tif", -1), ("rasterio/corrupt.tif", 0)],
)
def test_open_errors_are_those_of_read_raster(corpus, name, page):
    with pytest.raises((DataError, UsageError)) as expected:
        read_raster(corpus / name, page=page)
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        with open_raster(corpus / name, page=page) as reader:
            reader.read_rows(0, reader.info.height)


def test_undecodable_segments_are_data_errors_when_read(corpus, tmp_path):
    cut = tmp_path / "cut.tif"
    cut.write_bytes((corpus / "rio-color/rgb8.tif").read_bytes()[:20_000])
    with pytest.raises(DataError) as expected:
        read_raster(cut)
    with open_raster(cut) as reader:
        with pytest.raises(DataError) as caught:
            reader.read_rows(0, reader.info.height)
    assert str(caught.value) == str(expected.value)
    assert str(caught.value).startswith(f"{cut}: cannot decode image data (")
