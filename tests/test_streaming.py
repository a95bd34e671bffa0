"""apply streams row bands: the result equals the whole-array mix for every layout, any band
height and any number of threads; TIFF output options; GeoTIFF metadata carried."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import tifffile

import chanmix
from chanmix import pipeline
from chanmix.io import BlockReader, RasterInfo
from helpers import error_line, ok

COEFFS = "0.2,0.3,0.5,0.1,-0.1; 1,-1,0.5,0,0; 0,0,0,0,1"
WEIGHTS = np.array([[0.2, 0.3, 0.5, 0.1, -0.1], [1, -1, 0.5, 0, 0], [0, 0, 0, 0, 1.0]])


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    rng = np.random.default_rng(8)
    return rng.integers(0, 65536, size=(301, 203, 5), dtype=np.uint16)


@pytest.fixture
def tiny_bands(monkeypatch):
    """Bands of a few rows, cutting through strips and tiles."""
    monkeypatch.setattr(pipeline, "BAND_BYTES", 7 * 203 * 5 * 2)


WRITERS = {
    "strips": {"planarconfig": "contig", "rowsperstrip": 16},
    "planar": {"planarconfig": "separate"},
    "tiles-deflate": {"planarconfig": "contig", "tile": (64, 48), "compression": "zlib"},
    "planar-tiles-lzw": {"planarconfig": "separate", "tile": (32, 32), "compression": "lzw"},
    "zstd-bigendian": {"planarconfig": "contig", "compression": "zstd", "byteorder": ">"},
}


@pytest.mark.parametrize("layout", list(WRITERS))
def test_streamed_apply_equals_the_whole_array_mix(run, pixels, tmp_path, layout, tiny_bands):
    options = WRITERS[layout]
    data = pixels.transpose(2, 0, 1) if options["planarconfig"] == "separate" else pixels
    tifffile.imwrite(tmp_path / "in.tif", data, photometric="minisblack", **options)
    ok(run("apply", tmp_path / "in.tif", "-c", COEFFS, "--dtype", "float32", "-o", tmp_path / "out.tif"))
    expected = chanmix.apply(pixels, chanmix.Mix(WEIGHTS), dtype="float32")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), expected)


def test_thread_count_and_band_height_do_not_change_the_bytes(run, pixels, tmp_path, monkeypatch):
    tifffile.imwrite(
        tmp_path / "in.tif",
        pixels,
        photometric="minisblack",
        planarconfig="contig",
        tile=(64, 64),
        compression="zlib",
    )
    outputs = []
    for jobs, band_bytes in [(1, 1 << 24), (2, 1 << 24), (2, 5000), (3, 12345)]:
        monkeypatch.setattr(pipeline, "BAND_BYTES", band_bytes)
        out = tmp_path / f"out-{jobs}-{band_bytes}.tif"
        ok(run("apply", tmp_path / "in.tif", "-c", COEFFS, "-j", jobs, "--rescale", "percentile", "-o", out))
        outputs.append(out.read_bytes())
    assert all(o == outputs[0] for o in outputs)


def test_percentile_stretch_streamed_equals_in_memory(run, pixels, tmp_path, tiny_bands):
    tifffile.imwrite(
        tmp_path / "in.tif", pixels, photometric="minisblack", planarconfig="contig", rowsperstrip=10
    )
    ok(
        run(
            "apply",
            tmp_path / "in.tif",
            "-c",
            COEFFS,
            "--rescale",
            "percentile",
            "--dtype",
            "uint8",
            "-o",
            tmp_path / "out.tif",
        )
    )
    expected = chanmix.apply(pixels, chanmix.Mix(WEIGHTS), rescale="percentile", dtype="uint8")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), expected)


@pytest.mark.parametrize(
    "args, check",
    [
        (["--tile", "64"], lambda page: page.is_tiled and (page.tilelength, page.tilewidth) == (64, 64)),
        (["--tile", "32x48"], lambda page: (page.tilelength, page.tilewidth) == (32, 48)),
        (["--tile", "none"], lambda page: not page.is_tiled),
        (["--compress", "deflate"], lambda page: page.compression == 8 and page.predictor == 2),
        (
            ["--compress", "zstd", "--dtype", "float32"],
            lambda page: page.compression == 50000 and page.predictor == 3,
        ),
        (["--compress", "lzw"], lambda page: page.compression == 5),
        (["--compress", "none"], lambda page: page.compression == 1),
    ],
)
def test_tiff_output_options(run, pixels, tmp_path, args, check):
    tifffile.imwrite(tmp_path / "in.tif", pixels, photometric="minisblack", planarconfig="contig")
    ok(run("apply", tmp_path / "in.tif", "-c", COEFFS, *args, "-o", tmp_path / "out.tif"))
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert check(tif.pages[0])
        expected = chanmix.apply(pixels, chanmix.Mix(WEIGHTS), dtype="float32" if "float32" in args else None)
        np.testing.assert_array_equal(tif.asarray(), expected)


def test_bigtiff_on_request_and_tiled_input_gives_tiled_output(run, pixels, tmp_path):
    tifffile.imwrite(
        tmp_path / "in.tif",
        pixels,
        photometric="minisblack",
        planarconfig="contig",
        tile=(32, 64),
        compression="zlib",
    )
    ok(run("apply", tmp_path / "in.tif", "-c", COEFFS, "--bigtiff", "yes", "-o", tmp_path / "big.tif"))
    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        page = tif.pages[0]
        assert tif.is_bigtiff and (page.tilelength, page.tilewidth) == (32, 64) and page.compression == 8
    ok(run("apply", tmp_path / "in.tif", "-c", COEFFS, "-o", tmp_path / "classic.tif"))
    with tifffile.TiffFile(tmp_path / "classic.tif") as tif:
        assert not tif.is_bigtiff


def test_bad_tile_sizes_are_usage_errors(run, pixels, tmp_path):
    tifffile.imwrite(tmp_path / "in.tif", pixels, photometric="minisblack", planarconfig="contig")
    for bad in ("100", "0", "16x", "big"):
        result = run("apply", tmp_path / "in.tif", "-c", COEFFS, "--tile", bad, "-o", tmp_path / "o.tif")
        assert error_line(result, 2).startswith(f"Error: Invalid value for '--tile': '{bad}': ")
        assert not (tmp_path / "o.tif").exists()


def test_auto_tiling_of_large_outputs():
    info = RasterInfo
    fields = {name: None for name in info.__dataclass_fields__}
    big = info(**{**fields, "height": 9000, "width": 8000, "tile": None})
    small = info(**{**fields, "height": 8000, "width": 8000, "tile": None})
    tiled = info(**{**fields, "height": 10, "width": 10, "tile": (32, 48)})
    assert pipeline.output_tile("auto", big) == (256, 256)
    assert pipeline.output_tile("auto", small) is None
    assert pipeline.output_tile("auto", tiled) == (32, 48)  # the input's tiles
    for odd in [(20, 32), (8192, 512), (8, 8)]:  # not TIFF-valid or too big to hold several of
        assert pipeline.output_tile("auto", replace(tiled, tile=odd)) == (256, 256)
    assert pipeline.output_tile(None, big) is None
    assert pipeline.output_tile((64, 32), big) == (64, 32)
    with pytest.raises(chanmix.UsageError, match="'none' is not 'auto', None or"):
        pipeline.output_tile("none", big)


@pytest.mark.parametrize("compression", [None, "zlib"])
@pytest.mark.parametrize("alpha", [False, True])
def test_tile_by_tile_output_is_the_row_band_output(run, tmp_path, monkeypatch, compression, alpha):
    """Output tiles equal to the input's are mixed one at a time, each read from its own
    input tile: the same bytes as mixing bands of rows, and no read wider than a tile."""
    rng = np.random.default_rng(12)
    pixels = rng.integers(0, 65536, (150, 170, 3 + alpha), dtype=np.uint16)
    options = {"extrasamples": [2]} if alpha else {}
    tifffile.imwrite(
        tmp_path / "in.tif", pixels, photometric="rgb", tile=(48, 64), compression=compression, **options
    )
    windows = []
    original = BlockReader.read_window
    monkeypatch.setattr(
        BlockReader, "read_window", lambda self, *w: (windows.append(w), original(self, *w))[1]
    )
    coeffs = "0.2,0.3,0.5; 1,-1,0.5; 0,0,1"
    ok(run("apply", tmp_path / "in.tif", "-c", coeffs, "-j", "3", "-o", tmp_path / "tiles.tif"))
    assert len(windows) == 4 * 3 and all(b - a <= 48 and d - c <= 64 for a, b, c, d in windows)
    monkeypatch.setattr(pipeline, "by_tiles", lambda info, tile: False)
    ok(run("apply", tmp_path / "in.tif", "-c", coeffs, "-o", tmp_path / "bands.tif"))
    assert (tmp_path / "tiles.tif").read_bytes() == (tmp_path / "bands.tif").read_bytes()
    with tifffile.TiffFile(tmp_path / "tiles.tif") as tif:
        assert (tif.pages[0].tilelength, tif.pages[0].tilewidth) == (48, 64)
        weights = [[0.2, 0.3, 0.5], [1, -1, 0.5], [0, 0, 1]]
        expected = chanmix.apply(pixels, chanmix.Mix(weights), alpha=3 if alpha else None)
        np.testing.assert_array_equal(tif.asarray(), expected)


def test_bands_in_separate_pages_and_ome_channels(run, pixels, tmp_path):
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    tifffile.imwrite(tmp_path / "imagej.tif", planes, imagej=True, metadata={"axes": "CYX"})
    tifffile.imwrite(tmp_path / "ome.ome.tif", planes, metadata={"axes": "CYX"})
    tifffile.imwrite(tmp_path / "contig.tif", pixels, photometric="minisblack", planarconfig="contig")
    results = []
    for name in ("imagej.tif", "ome.ome.tif", "contig.tif"):
        ok(run("apply", tmp_path / name, "-c", COEFFS, "-o", tmp_path / f"{name}.npy"))
        results.append(np.load(tmp_path / f"{name}.npy"))
    for result in results:  # the planes of every layout are the bands of the whole-array mix
        np.testing.assert_array_equal(result, chanmix.apply(pixels, chanmix.Mix(WEIGHTS)))


def test_page_and_series_choose_the_image(run, tmp_path):
    first = np.full((20, 30, 3), 1000, dtype=np.uint16)
    second = np.full((10, 15, 3), 2000, dtype=np.uint16)
    with tifffile.TiffWriter(tmp_path / "two.tif") as tif:
        tif.write(first, photometric="rgb")
        tif.write(second, photometric="rgb")
    ok(run("apply", tmp_path / "two.tif", "-p", "swap-rb", "--page", "1", "-o", tmp_path / "p.npy"))
    ok(run("apply", tmp_path / "two.tif", "-p", "swap-rb", "--series", "1", "-o", tmp_path / "s.npy"))
    assert np.load(tmp_path / "p.npy").shape == (10, 15, 3) and np.all(np.load(tmp_path / "s.npy") == 2000)
    info = json.loads(ok(run("info", tmp_path / "two.tif", "--series", "1", "--json")).output)
    assert (info["width"], info["height"], info["page"], info["pages"]) == (15, 10, 1, 2)
    bad = run("apply", tmp_path / "two.tif", "-p", "swap-rb", "--series", "2", "-o", tmp_path / "x.npy")
    assert error_line(bad, 2) == f"Error: --series: {tmp_path / 'two.tif'} has 2 image series (0 to 1), not 2"
    assert not (tmp_path / "x.npy").exists()


@pytest.mark.parametrize(
    "name", ["RGB.byte.tif", "rotated.tif", "float_raster_with_nodata.tif", "rgb_lzw.tif"]
)
def test_geotiff_fidelity_checked_by_rasterio(run, corpus, tmp_path, name):
    rasterio = pytest.importorskip("rasterio")
    src_path = corpus / "rasterio" / name
    with rasterio.open(src_path) as src:
        count = src.count
    coeffs = ";".join(",".join("1" if i == j else "0" for i in range(count)) for j in range(count))
    out = tmp_path / "out.tif"
    ok(run("apply", src_path, "-c", coeffs, "--dtype", "float32", "--tile", "256", "-o", out))
    with rasterio.open(src_path) as src, rasterio.open(out) as dst:
        assert dst.crs == src.crs
        assert dst.transform.almost_equals(src.transform, precision=1e-12)
        if src.nodata is None:
            assert dst.nodata is None
        else:
            assert dst.nodata == pytest.approx(float(np.float32(src.nodata)))
            valid = ~(src.read() == src.nodata).any(axis=0)
            np.testing.assert_allclose(
                dst.read()[:, valid],
                src.read()[:, valid]
                / (1.0 if np.issubdtype(src.dtypes[0], np.floating) else np.iinfo(src.dtypes[0]).max),
                rtol=1e-6,
            )
            assert np.all(dst.read()[:, ~valid] == dst.nodata)
    info = json.loads(ok(run("info", out, "--json")).output)
    original = json.loads(ok(run("info", src_path, "--json")).output)
    assert info["crs"] == original["crs"] and info["transform"] == pytest.approx(original["transform"])


def test_band_descriptions_are_the_output_channel_names(run, corpus, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    out = tmp_path / "ycc.tif"
    ok(run("apply", corpus / "rasterio" / "RGB.byte.tif", "-p", "ycbcr-bt601", "-o", out))
    with rasterio.open(out) as dst:
        assert dst.descriptions == tuple(chanmix.get_preset("ycbcr-bt601").mix.names)


@pytest.mark.usefixtures("quiet_rasterio")
def test_nodata_in_outputs_that_cannot_hold_the_input_value(run, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    data = np.array([[[1e300, 1.0], [0.25, 0.5]]], dtype=np.float64)
    tifffile.imwrite(tmp_path / "in.tif", data, photometric="minisblack", planarconfig="contig")
    for dtype in ("uint8", "float32", "float64"):
        ok(
            run(
                "apply",
                tmp_path / "in.tif",
                "-c",
                "1,1",
                "--nodata",
                "1e300",
                "--dtype",
                dtype,
                "-o",
                tmp_path / f"{dtype}.tif",
            )
        )
    with rasterio.open(tmp_path / "uint8.tif") as u8:  # the type's minimum
        assert u8.nodata == 0 and u8.read(1)[0, 0] == 0 and u8.read(1)[0, 1] == 191
    with rasterio.open(tmp_path / "float32.tif") as f32:  # NaN
        assert np.isnan(f32.nodata) and np.isnan(f32.read(1)[0, 0]) and f32.read(1)[0, 1] == 0.75
    with rasterio.open(tmp_path / "float64.tif") as f64:  # the input's value
        assert f64.nodata == 1e300 and f64.read(1)[0, 0] == 1e300


def test_an_input_read_whole_is_released_before_a_png_is_encoded(run, tmp_path, monkeypatch):
    """PNG in, PNG out: both images are whole in memory, but not at once with the encoder's."""
    from PIL import Image

    import chanmix.io.stream_write as stream_write

    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "in.png")
    closed = []
    original_close, original_save = BlockReader.close, stream_write.save_png
    monkeypatch.setattr(BlockReader, "close", lambda self: (closed.append(1), original_close(self))[1])
    monkeypatch.setattr(
        stream_write, "save_png", lambda *a, **k: (closed.append("encode"), original_save(*a, **k))[1]
    )
    ok(run("apply", tmp_path / "in.png", "-p", "swap-rb", "-o", tmp_path / "out.png"))
    assert closed.index(1) < closed.index("encode")
