"""24-bit integer TIFF samples (BitsPerSample 24) read exactly as GDAL reads them.

tifffile unpacks them through imagecodecs, wrongly in one byte order or the other depending on
the release (big-endian ones shifted by 8 bits with imagecodecs 2026.3.6, little-endian ones
byte-swapped before it), and not at all when they are signed; chanmix unpacks them itself.
Unsigned files are written by GDAL (NBITS=24 on a UInt32 band) in every layout it has. Signed
ones (GDAL writes Int32 with NBITS=24 as 32-bit samples), FillOrder 2, missing tiles, several
pages and Predictor 2 are written here byte by byte, in GDAL's byte order for 24-bit samples
(most significant byte first in a little-endian file, last in a big-endian one), which GDAL's
read of the same file confirms.
"""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
import rasterio
import tifffile

from chanmix.errors import DataError
from chanmix.io import open_raster, read_raster
from helpers import error_line, gdal_pixels, ok

pytestmark = pytest.mark.usefixtures("quiet_rasterio")

HEIGHT, WIDTH = 37, 29  # a row of one sample is 87 bytes: not a multiple of 4
UNSIGNED_EDGES = [0, 1, 7, 0xFF, 0x100, 0x7FFFFF, 0x800000, 0xFFFFFF]
SIGNED_EDGES = [0, 1, -1, 7, -256, (1 << 23) - 1, -(1 << 23), 0xFF]


def known_samples(shape: tuple[int, ...], signed: bool = False, seed: int = 0) -> np.ndarray:
    """Random 24-bit values beginning with the edge cases, as uint32 or int32."""
    low, high = (-(1 << 23), 1 << 23) if signed else (0, 1 << 24)
    data = np.random.default_rng(seed).integers(low, high, shape, dtype=np.int64)
    edges = SIGNED_EDGES if signed else UNSIGNED_EDGES
    data.flat[: len(edges)] = edges
    return data.astype(np.int32 if signed else np.uint32)


def check_streamed(path, expected: np.ndarray) -> None:
    """The block reader (segment by segment) gives `expected` for bands, rows and windows."""
    height, width = expected.shape[:2]
    with open_raster(path) as reader:
        assert not reader.info.loads_whole
        assert reader.info.dtype == expected.dtype
        for rows in (1, 7, height):
            bands = [reader.read_rows(start, min(start + rows, height)) for start in range(0, height, rows)]
            np.testing.assert_array_equal(np.concatenate(bands), expected)
        for start, stop, left, right in [(3, 20, 5, 21), (16, 17, 0, width), (30, height, 17, width)]:
            window = reader.read_window(start, stop, left, right)
            np.testing.assert_array_equal(window, expected[start:stop, left:right])


# --- files written by GDAL ---------------------------------------------------------------

GDAL_LAYOUTS = {
    "strips": {"count": 1, "BLOCKYSIZE": 5},
    "tiles": {"count": 1, "TILED": "YES", "BLOCKXSIZE": 16, "BLOCKYSIZE": 16},
    "rgb-strips": {"count": 3, "INTERLEAVE": "PIXEL", "BLOCKYSIZE": 4},
    "planar-tiles": {"count": 3, "INTERLEAVE": "BAND", "TILED": "YES", "BLOCKXSIZE": 16, "BLOCKYSIZE": 32},
    "two-band-tiles": {"count": 2, "INTERLEAVE": "PIXEL", "TILED": "YES", "BLOCKXSIZE": 32, "BLOCKYSIZE": 16},
}


def write_gdal(path, data: np.ndarray, byteorder: str, compress: str, **layout) -> None:
    count = layout.pop("count")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=count,
        dtype="uint32",
        NBITS=24,
        ENDIANNESS=byteorder,
        COMPRESS=compress,
        **layout,
    ) as dataset:
        dataset.write(np.moveaxis(data, -1, 0))


@pytest.mark.parametrize("compress", ["NONE", "DEFLATE", "LZW"])
@pytest.mark.parametrize("layout", GDAL_LAYOUTS)
@pytest.mark.parametrize("byteorder", ["LITTLE", "BIG"])
def test_gdal_24bit_files(tmp_path, byteorder, layout, compress):
    options = dict(GDAL_LAYOUTS[layout])
    data = known_samples((HEIGHT, WIDTH, options["count"]), seed=len(layout))
    path = tmp_path / "n24.tif"
    write_gdal(path, data, byteorder, compress, **options)
    with tifffile.TiffFile(path) as tif:  # GDAL wrote the layout asked for
        page = tif.pages[0]
        assert (page.bitspersample, page.is_tiled, tif.byteorder) == (
            24,
            "TILED" in options,
            "<" if byteorder == "LITTLE" else ">",
        )
    raster = read_raster(path)
    assert raster.pixels.dtype == np.uint32
    np.testing.assert_array_equal(raster.pixels, gdal_pixels(path))
    np.testing.assert_array_equal(raster.pixels, data)
    check_streamed(path, data)


# --- files written here, byte by byte ----------------------------------------------------


def stored_bytes(values: np.ndarray, byteorder: str) -> bytes:
    """24-bit samples as GDAL stores them: most significant byte first in a little-endian file,
    least significant first in a big-endian one."""
    v = np.asarray(values, np.int64) & 0xFFFFFF
    msb_first = np.stack([v >> 16, (v >> 8) & 0xFF, v & 0xFF], axis=-1).astype(np.uint8)
    return (msb_first if byteorder == "<" else msb_first[..., ::-1]).tobytes()


def write_int24(
    path,
    pages: list[np.ndarray],
    *,
    byteorder: str = "<",
    signed: bool = False,
    planar: int = 1,
    tile: tuple[int, int] | None = None,
    rows_per_strip: int | None = None,
    compression: int = 1,
    predictor: int = 1,
    fillorder: int = 1,
    missing: tuple[int, ...] = (),
    listed: int | None = None,
) -> None:
    """A TIFF of 24-bit samples, one IFD per ``(H, W, S)`` page; `missing` segments of every
    page are left out (offset and byte count 0), and only the first `listed` are listed."""
    reverse = np.array([int(f"{b:08b}"[::-1], 2) for b in range(256)], np.uint8)

    def encode(block: np.ndarray) -> bytes:
        block = np.asarray(block, np.int64)
        if predictor == 2:  # horizontal differencing of each sample, modulo 2**24
            block = np.concatenate([block[:, :1], np.diff(block, axis=1)], axis=1)
        data = stored_bytes(block, byteorder)
        data = zlib.compress(data) if compression == 8 else data
        return reverse[np.frombuffer(data, np.uint8)].tobytes() if fillorder == 2 else data

    def pack(kind: str, *values: int) -> bytes:
        return struct.pack(byteorder + kind * len(values), *values)

    out = bytearray((b"II*\0" if byteorder == "<" else b"MM\0*") + pack("I", 0))
    link = 4  # where the offset of the next IFD goes
    for page in pages:
        height, width, samples = page.shape
        planes = [page[..., i : i + 1] for i in range(samples)] if planar == 2 else [page]
        blocks = []
        for plane in planes:
            if tile:
                for y in range(0, height, tile[0]):
                    for x in range(0, width, tile[1]):
                        block = np.zeros((*tile, plane.shape[2]), np.int64)
                        part = plane[y : y + tile[0], x : x + tile[1]]
                        block[: part.shape[0], : part.shape[1]] = part
                        blocks.append(block)
            else:
                step = rows_per_strip or height
                blocks += [plane[y : y + step] for y in range(0, height, step)]
        offsets, counts = [], []
        for index, block in enumerate(blocks):
            data = b"" if index in missing else encode(block)
            offsets.append(len(out) if data else 0)
            counts.append(len(data))
            out += data + b"\0" * (len(data) % 2)
        offsets, counts = offsets[:listed], counts[:listed]
        segment_tags = (
            [(322, 4, [tile[1]]), (323, 4, [tile[0]]), (324, 4, offsets), (325, 4, counts)]
            if tile
            else [(273, 4, offsets), (278, 4, [rows_per_strip or height]), (279, 4, counts)]
        )
        tags = [
            (256, 4, [width]),
            (257, 4, [height]),
            (258, 3, [24] * samples),
            (259, 3, [compression]),
            (262, 3, [2 if samples == 3 else 1]),  # RGB or MinIsBlack
            (266, 3, [fillorder]),
            (277, 3, [samples]),
            (284, 3, [planar]),
            (317, 3, [predictor]),
            (339, 3, [2 if signed else 1] * samples),
            *segment_tags,
        ]
        tags.sort()
        ifd = len(out)
        values_at = ifd + 2 + 12 * len(tags) + 4
        entries, values = bytearray(pack("H", len(tags))), bytearray()
        for code, kind, items in tags:
            value = pack("H" if kind == 3 else "I", *items)
            entries += pack("H", code) + pack("H", kind) + pack("I", len(items))
            if len(value) <= 4:
                entries += value.ljust(4, b"\0")
            else:
                entries += pack("I", values_at + len(values))
                values += value
        out[link : link + 4] = pack("I", ifd)
        link = ifd + 2 + 12 * len(tags)
        out += entries + pack("I", 0) + values
    path.write_bytes(bytes(out))


HAND_LAYOUTS = {
    "strips": {"samples": 1},
    "short-strips-deflate": {"samples": 1, "rows_per_strip": 4, "compression": 8},
    "rgb-strips": {"samples": 3, "rows_per_strip": 6},
    "rgb-planar-tiles-deflate": {"samples": 3, "planar": 2, "tile": (16, 16), "compression": 8},
    "two-samples-tiles": {"samples": 2, "tile": (16, 32)},
    "planar-strips": {"samples": 2, "planar": 2, "rows_per_strip": 10},
}


@pytest.mark.parametrize("layout", HAND_LAYOUTS)
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("byteorder", ["<", ">"], ids=["little", "big"])
def test_written_24bit_files(tmp_path, byteorder, signed, layout):
    options = dict(HAND_LAYOUTS[layout])
    data = known_samples((HEIGHT, WIDTH, options.pop("samples")), signed, seed=len(layout))
    path = tmp_path / "i24.tif"
    write_int24(path, [data], byteorder=byteorder, signed=signed, **options)
    # GDAL reads the same 24 bits (as UInt32, without sign extension: it has no signed 24-bit type)
    np.testing.assert_array_equal(gdal_pixels(path), data.astype(np.int64) & 0xFFFFFF)
    raster = read_raster(path)
    assert raster.pixels.dtype == data.dtype  # signed samples sign-extended into int32
    np.testing.assert_array_equal(raster.pixels, data)
    check_streamed(path, data)


@pytest.mark.parametrize("byteorder", ["<", ">"], ids=["little", "big"])
def test_fill_order_2_reverses_the_bits_of_each_byte(tmp_path, byteorder):
    data = known_samples((HEIGHT, WIDTH, 1), seed=3)
    for compression in (1, 8):
        path = tmp_path / f"f{compression}.tif"
        write_int24(path, [data], byteorder=byteorder, fillorder=2, rows_per_strip=8, compression=compression)
        np.testing.assert_array_equal(gdal_pixels(path), data)
        np.testing.assert_array_equal(read_raster(path).pixels, data)
        check_streamed(path, data)


def test_missing_tiles_are_zero_as_gdal_reads_them(tmp_path):
    data = known_samples((HEIGHT, WIDTH, 1), True, seed=4)
    path = tmp_path / "m.tif"
    write_int24(path, [data], byteorder=">", signed=True, tile=(16, 16), missing=(1, 2))  # 2 tiles a row
    expected = data.copy()
    expected[0:16, 16:32] = expected[16:32, 0:16] = 0
    np.testing.assert_array_equal(gdal_pixels(path), expected.astype(np.int64) & 0xFFFFFF)
    np.testing.assert_array_equal(read_raster(path).pixels, expected)
    check_streamed(path, expected)


@pytest.mark.parametrize("byteorder", ["<", ">"], ids=["little", "big"])
def test_second_page(tmp_path, byteorder):
    pages = [known_samples((HEIGHT, WIDTH, 3), True, seed=seed) for seed in (5, 6)]
    path = tmp_path / "p.tif"
    write_int24(path, pages, byteorder=byteorder, signed=True, rows_per_strip=9, compression=8)
    for number, expected in enumerate(pages):
        raster = read_raster(path, page=number)
        assert raster.info.pages == 2
        np.testing.assert_array_equal(raster.pixels, expected)
        with open_raster(path, page=number) as reader:
            np.testing.assert_array_equal(reader.read_rows(5, 30), expected[5:30])


def test_predictor_2_is_refused_as_gdal_refuses_it(tmp_path, run):
    # Neither GDAL nor tifffile writes it; libtiff (GDAL) refuses to read it: no answer to agree with.
    data = known_samples((HEIGHT, WIDTH, 1), seed=7)
    path = tmp_path / "p2.tif"
    write_int24(path, [data], predictor=2, compression=8, rows_per_strip=8)
    with pytest.raises(rasterio.errors.RasterioIOError):
        gdal_pixels(path)
    why = "ValueError: Predictor 2 is not supported with 24-bit integer samples"
    message = f"{path}: cannot decode image data ({why})"
    with pytest.raises(DataError) as raised:
        read_raster(path)
    assert str(raised.value) == message
    with pytest.raises(DataError) as raised:
        open_raster(path)
    assert str(raised.value) == message
    assert error_line(run("info", path), 1) == f"Error: {message}"


def test_too_few_segments_listed(tmp_path):
    data = known_samples((HEIGHT, WIDTH, 1), seed=9)
    path = tmp_path / "few.tif"
    write_int24(path, [data], tile=(16, 16), listed=4)
    with pytest.raises(DataError, match="needs 6 "):
        read_raster(path)
    with pytest.raises(DataError, match="needs 6 "):
        with open_raster(path) as reader:
            reader.read_rows(0, HEIGHT)


# --- the command line --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "layout"),
    [(False, "rgb-planar-tiles-deflate"), (True, "rgb-strips"), (True, "two-samples-tiles")],
)
@pytest.mark.parametrize("byteorder", ["<", ">"], ids=["little", "big"])
def test_cli_apply_and_info(tmp_path, run, byteorder, signed, layout):
    """apply (identity, to the integer type and to float64) and info's statistics equal the same
    commands on the known samples saved as .npy."""
    options = dict(HAND_LAYOUTS[layout])
    data = known_samples((HEIGHT, WIDTH, options.pop("samples")), signed, seed=8)
    path = tmp_path / "c.tif"
    write_int24(path, [data], byteorder=byteorder, signed=signed, **options)
    np.save(tmp_path / "known.npy", data)
    identity = ";".join(
        ",".join("1" if i == j else "0" for j in range(data.shape[2])) for i in range(data.shape[2])
    )
    for dtype in (data.dtype.name, "float64"):
        outputs = []
        for source in (path, tmp_path / "known.npy"):
            out = tmp_path / f"{source.stem}-{dtype}.npy"
            ok(run("apply", source, "-c", identity, "--dtype", dtype, "-o", out))
            outputs.append(np.load(out))
        assert outputs[0].dtype == dtype
        np.testing.assert_array_equal(outputs[0], outputs[1])
        if dtype == data.dtype.name:
            np.testing.assert_array_equal(outputs[0], data)
    stats = [
        json.loads(ok(run("info", source, "--json")).output) for source in (path, tmp_path / "known.npy")
    ]
    assert stats[0]["dtype"] == data.dtype.name and stats[0]["streamed"] is True
    assert stats[0]["band_stats"] == stats[1]["band_stats"]
    for band, entry in enumerate(stats[0]["band_stats"]):
        assert (entry["min"], entry["max"]) == (data[..., band].min(), data[..., band].max())
