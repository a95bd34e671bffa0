"""Zarr stores as input and output, checked against xarray, rioxarray, zarr-python and rasterio.

A store chanmix writes is read back by xarray (and rioxarray for the CRS and transform, and
zarr-python) with the GeoTIFF's values and metadata; a store xarray and rioxarray write
(Zarr v3 and v2, any axis order) is read by chanmix into a GeoTIFF that rasterio reads as the
source. Then: byte-identical outputs (runs, -j, windows written in any order), atomic
replacement, and hostile stores.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import subprocess
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tifffile

from helpers import error_line, ok
from subprocesses import Pause, command

zarr = pytest.importorskip("zarr")
xr = pytest.importorskip("xarray")
rioxarray = pytest.importorskip("rioxarray")
rasterio = pytest.importorskip("rasterio")

from chanmix.errors import DataError, UsageError  # noqa: E402
from chanmix.io import read_raster, write_raster_blocks  # noqa: E402
from chanmix.io.crs import georeferencing  # noqa: E402
from chanmix.io.formats import output_format  # noqa: E402
from chanmix.io.zarr_write import create_zarr_store, write_zarr_window, zarr_output  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet_rasterio")

UTM18 = rasterio.crs.CRS.from_epsg(32618)
TRANSFORM = rasterio.transform.from_origin(500000.0, 4200000.0, 30.0, 30.0)
IDENTITY = {1: "1", 2: "1,0;0,1", 3: "1,0,0;0,1,0;0,0,1"}


def tree(folder) -> dict[str, bytes]:
    """Every file below `folder` (relative path -> bytes)."""
    return {
        os.path.relpath(os.path.join(root, name), folder): open(os.path.join(root, name), "rb").read()
        for root, _, names in os.walk(folder)
        for name in names
    }


def random_pixels(shape, dtype, seed=0) -> np.ndarray:
    """Random samples, with a few pixels nodata in every band (0, or -9999 for floats)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        pixels = rng.normal(0.5, 0.2, shape).astype(dt)
    else:
        pixels = rng.integers(1, np.iinfo(dt).max, shape, dtype=dt, endpoint=True)
    pixels[::7, ::5] = -9999 if dt.kind == "f" else 0
    return pixels


def geotiff(path, pixels, *, tiled, names=None) -> None:
    """A GeoTIFF (through rasterio) in UTM 18N, with nodata and band descriptions."""
    height, width, bands = pixels.shape
    options = {"tiled": True, "blockxsize": 32, "blockysize": 32} if tiled else {}
    profile = dict(driver="GTiff", height=height, width=width, count=bands, dtype=pixels.dtype.name)
    nodata = -9999.0 if pixels.dtype.kind == "f" else 0
    with rasterio.open(path, "w", **profile, crs=UTM18, transform=TRANSFORM, nodata=nodata, **options) as ds:
        ds.write(np.moveaxis(pixels, -1, 0))
        ds.descriptions = tuple(names or [f"B{i}" for i in range(1, bands + 1)])


def opened(path, **options):
    """xarray's Dataset of a store, read without any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return xr.open_zarr(path, **options).load()


# --- chanmix writes, xarray reads -------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("bands", [1, 3])
@pytest.mark.parametrize("layout", ["tiled", "stripped"])
def test_a_zarr_output_reads_back_in_xarray_with_the_geotiffs_values_and_metadata(
    run, tmp_path, dtype, bands, layout
):
    pixels = random_pixels((70, 45, bands), dtype)
    geotiff(tmp_path / "x.tif", pixels, tiled=layout == "tiled")
    chunks = ["--tile", "48x16"] if layout == "stripped" else []  # tiled: the input's 32 x 32
    ok(run("apply", tmp_path / "x.tif", "-c", IDENTITY[bands], "-o", tmp_path / "y.zarr", *chunks))
    ds = opened(tmp_path / "y.zarr", mask_and_scale=False)
    da = ds["band_data"]
    assert da.dims == ("band", "y", "x") and da.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(da.values, np.moveaxis(pixels, -1, 0))
    assert list(ds["band"].values) == [f"B{i}" for i in range(1, bands + 1)]
    with rasterio.open(tmp_path / "x.tif") as src:
        assert da.rio.nodata == src.nodata
        assert da.rio.crs == src.crs
        assert da.rio.transform().almost_equals(src.transform)
        x, y = src.xy(np.zeros(45), np.arange(45))[0], src.xy(np.arange(70), np.zeros(70))[1]
    np.testing.assert_allclose(ds["x"].values, x)
    np.testing.assert_allclose(ds["y"].values, y)
    array = zarr.open_group(tmp_path / "y.zarr", mode="r")["band_data"]
    assert array.chunks == ((bands, 32, 32) if layout == "tiled" else (bands, 48, 16))
    np.testing.assert_array_equal(array[:], np.moveaxis(pixels, -1, 0))
    masked = opened(tmp_path / "y.zarr")["band_data"]  # xarray's default: nodata masked
    assert masked.encoding["_FillValue"] == (-9999.0 if dtype == "float32" else 0)
    assert np.isnan(masked.values[:, ::7, ::5]).all() and not np.isnan(masked.values[:, 1::7]).any()


def test_a_corpus_geotiff_keeps_its_crs_transform_nodata_and_pixels(run, corpus, tmp_path):
    source = corpus / "rasterio" / "RGB.byte.tif"
    ok(run("apply", source, "-p", "swap-rb", "-o", tmp_path / "ref.tif"))
    ok(run("apply", source, "-p", "swap-rb", "-o", tmp_path / "out.zarr"))
    da = opened(tmp_path / "out.zarr", mask_and_scale=False)["band_data"]
    with rasterio.open(tmp_path / "ref.tif") as ref:
        np.testing.assert_array_equal(da.values, ref.read())
        assert (da.rio.crs, da.rio.nodata) == (ref.crs, ref.nodata)
        assert da.rio.transform().almost_equals(ref.transform)
        assert list(da["band"].values) == list(ref.descriptions)


def test_wavelengths_fwhm_and_an_envi_grid_are_carried(run, samples, tmp_path):
    cube = samples / "hyperspectral" / "cube.hdr"
    ok(run("apply", cube, "--bands", "650nm,550nm,450nm", "-c", IDENTITY[3], "-o", tmp_path / "rgb.zarr"))
    ds = opened(tmp_path / "rgb.zarr")
    envi = read_raster(cube).info
    picked = [int(np.argmin(np.abs(np.array(envi.wavelengths) - w))) for w in (650, 550, 450)]
    np.testing.assert_array_equal(ds["wavelength"].values, [envi.wavelengths[i] for i in picked])
    np.testing.assert_array_equal(ds["fwhm"].values, [envi.fwhm[i] for i in picked])
    assert ds["wavelength"].attrs["units"] == "nm" and ds["wavelength"].dims == ("band",)
    with rasterio.open(samples / "hyperspectral" / "cube.img") as src:
        assert ds["band_data"].rio.crs == src.crs
        assert ds["band_data"].rio.transform().almost_equals(src.transform)
    back = read_raster(tmp_path / "rgb.zarr").info
    assert back.wavelengths == tuple(envi.wavelengths[i] for i in picked)
    assert (back.geo.crs, back.geo.transform) == (envi.geo.crs, envi.geo.transform)


def test_an_ungeoreferenced_image_gets_pixel_centres_as_rioxarray_gives_them(run, tmp_path):
    tifffile.imwrite(
        tmp_path / "plain.tif",
        random_pixels((20, 30, 2), "uint16"),
        photometric="minisblack",
        planarconfig="contig",
    )
    ok(run("apply", tmp_path / "plain.tif", "-c", IDENTITY[2], "-o", tmp_path / "plain.zarr"))
    with rasterio.open(tmp_path / "plain.tif") as src:
        expected = rioxarray.open_rasterio(src)
    ds = opened(tmp_path / "plain.zarr")
    np.testing.assert_array_equal(ds["x"].values, expected["x"].values)
    np.testing.assert_array_equal(ds["y"].values, expected["y"].values)
    assert list(ds["band"].values) == [1, 2] and "spatial_ref" not in ds
    assert ds["band_data"].rio.crs is None
    assert read_raster(tmp_path / "plain.zarr").info.geo is None


def test_a_rotated_grid_keeps_its_transform_without_x_and_y(run, corpus, tmp_path):
    ok(run("apply", corpus / "rasterio" / "rotated.tif", "-c", "1", "-o", tmp_path / "rot.zarr"))
    da = opened(tmp_path / "rot.zarr")["band_data"]
    with rasterio.open(corpus / "rasterio" / "rotated.tif") as src:
        assert da.rio.transform() == src.transform and da.rio.crs == src.crs
    assert "x" not in da.coords and "y" not in da.coords


# --- xarray and rioxarray write, chanmix reads ---------------------------------------------


@pytest.mark.parametrize("zarr_format", [3, 2])
@pytest.mark.parametrize("dims", [("band", "y", "x"), ("y", "x"), ("y", "x", "band")], ids="-".join)
def test_a_store_written_by_rioxarray_becomes_a_geotiff_rasterio_reads_as_the_source(
    run, corpus, tmp_path, zarr_format, dims
):
    source = corpus / "rasterio" / "RGB.byte.tif"
    da = rioxarray.open_rasterio(source).rio.write_crs("EPSG:32618")
    if len(dims) == 2:
        da = da.isel(band=0)
    da = da.transpose(*dims)
    da.to_dataset(name="band_data").to_zarr(tmp_path / "in.zarr", zarr_format=zarr_format)
    bands = 1 if len(dims) == 2 else 3
    ok(run("apply", tmp_path / "in.zarr", "-c", IDENTITY[bands], "-o", tmp_path / "out.tif"))
    ok(
        run(
            "apply",
            source,
            "--bands",
            "1" if bands == 1 else "1-3",
            "-c",
            IDENTITY[bands],
            "-o",
            tmp_path / "ref.tif",
        )
    )
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(tmp_path / "ref.tif") as ref:
        assert out.crs == ref.crs and out.crs.to_epsg() == 32618
        assert out.transform.almost_equals(ref.transform) and out.nodata == ref.nodata
        np.testing.assert_array_equal(out.read(), ref.read())
    info = read_raster(tmp_path / "in.zarr").info
    assert info.format == "ZARR" and info.layout == ", ".join(dims) and info.nodata == 0


def test_band_descriptions_come_from_rioxarrays_long_name(tmp_path):
    geotiff(
        tmp_path / "x.tif", random_pixels((20, 16, 3), "uint16"), tiled=False, names=["red", "green", "nir"]
    )
    rioxarray.open_rasterio(tmp_path / "x.tif").to_dataset(name="band_data").to_zarr(tmp_path / "x.zarr")
    assert read_raster(tmp_path / "x.zarr").info.band_names == ("red", "green", "nir")


def test_a_plain_array_store_unnamed_follows_gdals_band_y_x(run, tmp_path):
    pixels = random_pixels((3, 40, 20), "int16")
    zarr.create_array(tmp_path / "plain.zarr", data=pixels, chunks=(1, 16, 16), zarr_format=2)
    raster = read_raster(tmp_path / "plain.zarr")
    np.testing.assert_array_equal(raster.pixels, np.moveaxis(pixels, 0, -1))
    assert (raster.info.layout, raster.info.tile, raster.info.nodata) == ("band, y, x", (16, 16), 0)


# --- the same bytes ------------------------------------------------------------------------


@pytest.mark.parametrize("tiled", [True, False], ids=["tiled", "stripped"])
def test_tif_to_zarr_to_tif_is_tif_to_tif_byte_for_byte(run, tmp_path, tiled):
    pixels = random_pixels((100, 70, 3), "uint16")
    geo = georeferencing((30.0, 0.0, 500000.0, 0.0, -30.0, 4200000.0), (True, 32618))
    options = {"tile": (32, 32)} if tiled else {"rowsperstrip": 10}
    tifffile.imwrite(
        tmp_path / "x.tif", pixels, photometric="rgb", compression="zlib", extratags=list(geo.tags), **options
    )
    mix = "0.5,0.5,0;0,1,0;0.2,0.3,0.5"
    ok(run("apply", tmp_path / "x.tif", "-c", mix, "-o", tmp_path / "direct.tif"))
    ok(run("apply", tmp_path / "x.tif", "-c", mix, "-o", tmp_path / "y.zarr"))
    tiff = ["--compress", "deflate"] + ([] if tiled else ["--tile", "none"])
    ok(run("apply", tmp_path / "y.zarr", "-c", IDENTITY[3], "-o", tmp_path / "via.tif", *tiff))
    assert (tmp_path / "via.tif").read_bytes() == (tmp_path / "direct.tif").read_bytes()


@pytest.mark.parametrize("compress", ["auto", "none", "deflate"])
def test_stores_are_the_same_bytes_for_any_jobs_and_any_time(run, tmp_path, monkeypatch, compress):
    geotiff(tmp_path / "x.tif", random_pixels((150, 100, 3), "uint16"), tiled=False)
    for jobs, clock in (("1", 1e9), ("2", 2e9)):
        monkeypatch.setattr("time.time", lambda clock=clock: clock)  # gzip's time stamp
        args = ("-c", "0.5,0.5,0;0,1,0;0,0,1", "--tile", "32x48", "--compress", compress, "-j", jobs)
        ok(run("apply", tmp_path / "x.tif", *args, "-o", tmp_path / f"j{jobs}.zarr"))
    one, two = tree(tmp_path / "j1.zarr"), tree(tmp_path / "j2.zarr")
    assert one == two and len([k for k in one if k.startswith("band_data/c/")]) == 5 * 3
    codecs = json.loads(one["band_data/zarr.json"])["codecs"]
    expected = {"auto": ["zstd"], "none": [], "deflate": ["gzip"]}[compress]
    assert [c["name"] for c in codecs] == ["bytes", *expected]


@pytest.mark.parametrize("workers", ["threads", "processes"])
def test_windows_written_in_any_order_by_many_workers_make_the_local_writers_store(tmp_path, workers):
    pixels = random_pixels((100, 70, 4), "float32")
    geo = georeferencing((30.0, 0.0, 500000.0, 0.0, -30.0, 4200000.0), (True, 32618))
    like = read_raster_info_like(geo)
    options = dict(band_names=["a", "b", "c", "d"], nodata=-9999.0, wavelengths=[400.0, 500.0, np.nan, 700.0])
    write_raster_blocks(
        tmp_path / "local.zarr",
        [pixels[:33], pixels[33:]],
        height=100,
        width=70,
        channels=4,
        dtype="float32",
        like=like,
        compression="zstd",
        tile=(32, 32),
        **options,
    )
    windows = [(r, min(r + 32, 100), c, min(c + 32, 70)) for r in range(0, 100, 32) for c in range(0, 70, 32)]
    windows[:3] = [(0, 32, 0, 70)]  # a window of several chunks, too
    random.Random(4).shuffle(windows)
    with zarr_output(tmp_path / "cluster.zarr") as folder:
        create_zarr_store(
            folder,
            height=100,
            width=70,
            channels=4,
            dtype="float32",
            chunks=(32, 32),
            geo=geo,
            compression="zstd",
            **options,
        )
        blocks = [pixels[start:stop, left:right] for start, stop, left, right in windows]
        spawn = multiprocessing.get_context("spawn")  # as dask.distributed starts its workers
        pool = ThreadPoolExecutor(4) if workers == "threads" else ProcessPoolExecutor(2, mp_context=spawn)
        with pool:  # the functions and their arguments are pickled for processes
            list(pool.map(write_zarr_window, [folder] * len(windows), windows, blocks))
        write_zarr_window(folder, windows[0], blocks[0])  # once more, as a retried task
    assert tree(tmp_path / "cluster.zarr") == tree(tmp_path / "local.zarr")


def read_raster_info_like(geo):
    from dataclasses import replace

    from chanmix.io.raster import whole_image_info

    return replace(whole_image_info("x.tif", "TIFF", np.zeros((1, 1, 1), np.float32)), geo=geo)


def test_a_window_of_fill_values_leaves_no_chunk_and_a_window_must_be_whole_chunks(tmp_path):
    with zarr_output(tmp_path / "s.zarr") as folder:
        create_zarr_store(folder, height=40, width=40, channels=2, dtype="uint8", chunks=(16, 16), nodata=0)
        write_zarr_window(folder, (0, 16, 0, 16), np.full((16, 16, 2), 7, np.uint8))
        write_zarr_window(folder, (32, 40, 32, 40), np.zeros((8, 8, 2), np.uint8))
        assert sorted(k for k in tree(folder) if k.startswith("band_data/c/")) == ["band_data/c/0/0/0"]
        write_zarr_window(folder, (0, 16, 0, 16), np.zeros((16, 16, 2), np.uint8))  # now all nodata
        assert not [k for k in tree(folder) if k.startswith("band_data/c/")]
        with pytest.raises(UsageError, match="is not made of whole 16 x 16 chunks"):
            write_zarr_window(folder, (8, 24, 0, 16), np.zeros((16, 16, 2), np.uint8))
        with pytest.raises(UsageError, match="does not fit window"):
            write_zarr_window(folder, (0, 16, 0, 16), np.zeros((16, 16, 2)))
    assert opened(tmp_path / "s.zarr")["band_data"].isnull().all()


# --- atomic outputs ----------------------------------------------------------------------


@pytest.fixture
def small(tmp_path):
    geotiff(tmp_path / "x.tif", random_pixels((40, 30, 3), "uint8"), tiled=False)
    return tmp_path / "x.tif"


def test_a_failing_run_leaves_the_old_store_and_no_temporary_folder(run, tmp_path, small, monkeypatch):
    ok(run("apply", small, "-p", "swap-rb", "-o", tmp_path / "out.zarr", "--tile", "16"))
    before = tree(tmp_path / "out.zarr")
    import chanmix.io.zarr_blocks as zarr_blocks

    calls = []

    def failing(folder, window, block):
        calls.append(window)
        if len(calls) == 2:
            raise DataError("x.tif: a damaged strip")
        real(folder, window, block)

    real = zarr_blocks.write_zarr_window
    monkeypatch.setattr(zarr_blocks, "write_zarr_window", failing)
    for jobs in ("1", "2"):
        calls.clear()
        args = ("-c", IDENTITY[3], "-o", tmp_path / "out.zarr", "--tile", "16", "-j", jobs)
        assert error_line(run("apply", small, *args), 1) == "Error: x.tif: a damaged strip"
        assert tree(tmp_path / "out.zarr") == before
        assert sorted(os.listdir(tmp_path)) == ["out.zarr", "x.tif"]


def test_a_failing_stream_of_blocks_leaves_nothing(tmp_path):
    def bands():
        yield np.ones((10, 20, 2), np.uint16)
        raise DataError("the mix failed")

    with pytest.raises(DataError, match="the mix failed"):
        write_raster_blocks(
            tmp_path / "out.zarr", bands(), height=30, width=20, channels=2, dtype="uint16", tile=(10, 10)
        )
    assert os.listdir(tmp_path) == []


def test_a_replaced_store_is_the_new_one_whole(run, tmp_path, small):
    ok(run("apply", small, "-p", "swap-rb", "-o", tmp_path / "out.zarr", "--tile", "16"))
    ok(run("apply", small, "-c", "1,0,0", "-o", tmp_path / "out.zarr", "--tile", "32"))
    ok(run("apply", small, "-c", "1,0,0", "-o", tmp_path / "fresh.zarr", "--tile", "32"))
    assert tree(tmp_path / "out.zarr") == tree(tmp_path / "fresh.zarr")
    assert opened(tmp_path / "out.zarr")["band_data"].shape == (1, 40, 30)


@pytest.mark.parametrize("kind", ["folder", "file", "empty folder"])
def test_a_target_that_is_not_a_store_is_refused_and_kept(run, tmp_path, small, kind):
    target = tmp_path / "out.zarr"
    if kind == "file":
        target.write_bytes(b"mine")
    else:
        target.mkdir()
        if kind == "folder":
            (target / "notes.txt").write_bytes(b"mine")
    line = error_line(run("apply", small, "-p", "swap-rb", "-o", target), 1)
    assert "out.zarr: cannot write (it exists and is a" in line and "only a Zarr store is replaced" in line
    assert (target.read_bytes() if kind == "file" else sorted(os.listdir(target))) == (
        b"mine" if kind == "file" else (["notes.txt"] if kind == "folder" else [])
    )


def test_sigterm_while_a_store_is_written_leaves_the_old_one_and_no_part_folder(run, tmp_path, small):
    out = tmp_path / "out"
    out.mkdir()
    ok(run("apply", small, "-p", "swap-rb", "-o", out / "a.zarr", "--tile", "16"))
    before = tree(out / "a.zarr")
    with Pause(tmp_path / "pause", "a.zarr", "rows") as pause:
        base, env = command(pause)
        args = ["apply", str(small), "-c", IDENTITY[3], "-o", str(out / "a.zarr"), "--tile", "16"]
        process = subprocess.Popen([*base, *args], env=env, stderr=subprocess.PIPE)
        try:
            assert pause.wait(process) == process.pid
            assert [name for name in os.listdir(out) if name.endswith(".part")]  # being written
            process.send_signal(signal.SIGTERM)
            stderr = process.communicate(timeout=120)[1].decode()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert (process.returncode, stderr.strip()) == (130, "Error: interrupted")
    assert os.listdir(out) == ["a.zarr"] and tree(out / "a.zarr") == before


# --- hostile stores ------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path, small, run):
    ok(
        run(
            "apply", small, "-c", IDENTITY[3], "-o", tmp_path / "s.zarr", "--tile", "16", "--compress", "none"
        )
    )
    return tmp_path / "s.zarr"


def rewrite(path, change) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def declare(store, key, value) -> None:
    """Change a key of band_data's metadata, in its zarr.json and the consolidated copy."""

    def band_data(document, nested):
        target = document["consolidated_metadata"]["metadata"]["band_data"] if nested else document
        if key == "chunk_shape":
            target["chunk_grid"]["configuration"]["chunk_shape"] = value
        else:
            target[key] = value

    rewrite(store / "band_data" / "zarr.json", lambda d: band_data(d, False))
    rewrite(store / "zarr.json", lambda d: band_data(d, True))


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda s: (s / "zarr.json").write_text("{not json"), "not a readable Zarr store"),
        (lambda s: declare(s, "shape", [3, 10**12, 10**12]), "chanmix reads up to 2147483647 rows"),
        (lambda s: declare(s, "chunk_shape", [3, 10**6, 10**6]), "over the memory budget"),
        (lambda s: declare(s, "chunk_shape", [3, 0, 16]), "do not make a chunk grid"),
        (lambda s: declare(s, "data_type", "int64"), "samples of type int64 are not supported"),
        (lambda s: declare(s, "dimension_names", ["t", "band", "c"]), "several band dimensions"),
        (lambda s: (s / "band_data" / "c" / "0" / "1" / "1").write_bytes(b"\x00" * 10), "cannot read rows"),
    ],
    ids=[
        "corrupt zarr.json",
        "absurd shape",
        "absurd chunks",
        "empty chunks",
        "int64",
        "two band axes",
        "truncated",
    ],
)
def test_a_damaged_store_is_one_line_and_exit_1(run, store, tmp_path, damage, message):
    damage(store)
    line = error_line(
        run("apply", store, "-c", IDENTITY[3], "-o", tmp_path / "out.tif", "--max-memory", "1G"), 1
    )
    assert line.startswith(f"Error: {store}: ") and message in line, line
    assert not (tmp_path / "out.tif").exists()


def test_a_corrupt_compressed_chunk_is_one_line(run, tmp_path, small):
    ok(run("apply", small, "-c", IDENTITY[3], "-o", tmp_path / "z.zarr", "--tile", "16"))
    (tmp_path / "z.zarr" / "band_data" / "c" / "0" / "0" / "1").write_bytes(
        b"\x28\xb5\x2f\xfdnot zstd at all"
    )
    line = error_line(run("info", tmp_path / "z.zarr"), 1)
    assert "z.zarr: cannot read rows 0 to" in line


def test_a_missing_chunk_reads_as_the_fill_value(store):
    os.remove(store / "band_data" / "c" / "0" / "0" / "0")
    raster = read_raster(store)
    assert (raster.pixels[:16, :16] == 0).all() and raster.info.nodata == 0


@pytest.mark.parametrize("kind", ["file", "empty folder", "two images", "4-D"])
def test_what_is_no_image_store_is_one_line(run, tmp_path, kind):
    path = tmp_path / "x.zarr"
    if kind == "file":
        path.write_bytes(b"zarr?")
    elif kind == "empty folder":
        path.mkdir()
    else:
        group = zarr.open_group(path, mode="w")
        shape = (2, 3, 4, 5) if kind == "4-D" else (3, 4)
        group.create_array("a", shape=shape, dtype="uint8")
        if kind == "two images":
            group.create_array("b", shape=(3, 4), dtype="uint8")
    line = error_line(run("info", f"{path}/"), 1)
    expected = {
        "file": "is a file, not a Zarr store",
        "empty folder": "not a readable Zarr store",
        "two images": "several images (a, b)",
        "4-D": "4 dimensions",
    }[kind]
    assert expected in line, line


# --- the command line ---------------------------------------------------------------------


def test_info_and_stack_read_stores(run, tmp_path, small):
    ok(run("apply", small, "-c", "1,0,0", "-o", tmp_path / "r.zarr", "--tile", "16"))
    ok(run("apply", small, "-c", "0,1,0", "-o", tmp_path / "g.zarr", "--tile", "16"))
    text = ok(run("info", tmp_path / "r.zarr")).stdout
    assert "ZARR, 30 x 40 pixels, 1 band, uint8" in text and "tiles 16x16, compression zstd" in text
    assert "CRS: EPSG:32618" in text and "layout: band, y, x" in text
    ok(
        run(
            "apply",
            "--stack",
            tmp_path / "r.zarr",
            tmp_path / "g.zarr",
            "-c",
            IDENTITY[2],
            "-o",
            tmp_path / "rg.tif",
        )
    )
    with rasterio.open(tmp_path / "rg.tif") as rg, rasterio.open(small) as src:
        np.testing.assert_array_equal(rg.read(), src.read()[:2])
        assert rg.crs == src.crs


def test_safety_an_output_store_may_not_be_read_or_written_twice(run, tmp_path, small):
    ok(run("apply", small, "-c", IDENTITY[3], "-o", tmp_path / "s.zarr"))
    before = tree(tmp_path / "s.zarr")
    for args, needle in (
        (
            ["apply", tmp_path / "s.zarr", "-c", IDENTITY[3], "-o", f"{tmp_path / 's.zarr'}/"],
            "this run reads that file",
        ),
        (
            [
                "apply",
                small,
                "-c",
                IDENTITY[3],
                "-o",
                tmp_path / "t.zarr",
                "--save-matrix",
                tmp_path / "t.zarr",
            ],
            "writes that file too",
        ),
        (
            ["apply", tmp_path / "s.zarr" / "band_data" / "zarr.json", "-c", "1", "-o", tmp_path / "s.zarr"],
            "inside it",
        ),
        (["apply", small, "-c", IDENTITY[3], "-o", "-", "--format", "zarr"], "--format"),
        # an output inside a store the run reads: one of its own files, or a file added to it
        (
            ["apply", tmp_path / "s.zarr", "-c", IDENTITY[3], "-o", tmp_path / "s.zarr" / "x.tif"],
            "inside INPUT",
        ),
        (
            ["fit", "pca", tmp_path / "s.zarr", "-k", "2", "-o", tmp_path / "s.zarr" / "zarr.json"],
            "inside INPUT",
        ),
    ):
        assert needle in error_line(run(*args), 2)
    under_a_file = run("apply", small, "-c", IDENTITY[3], "-o", tmp_path / "x.tif" / "t.zarr")
    assert error_line(under_a_file, 1).endswith(f"(is not a folder: {tmp_path / 'x.tif'})")
    assert tree(tmp_path / "s.zarr") == before and sorted(os.listdir(tmp_path)) == ["s.zarr", "x.tif"]


@pytest.mark.parametrize("name", ["a.zarr", "b.ZARR", "c.zarr/", "x/d.zarr"])
def test_output_format_of_a_store(name):
    assert output_format(name) == "zarr"


def test_a_wkt_without_an_epsg_code_goes_to_zarr_outputs_and_only_the_grid_to_tiffs(run, tmp_path, small):
    pyproj = pytest.importorskip("pyproj")
    wkt = pyproj.CRS.from_epsg(2154).to_wkt("WKT1_ESRI")  # Lambert-93, without an authority
    ok(run("apply", small, "-c", IDENTITY[3], "-o", tmp_path / "in.zarr"))
    for path, copy in ((Path("spatial_ref", "zarr.json"), False), (Path("zarr.json"), True)):

        def wkt_crs(document, copy=copy):
            node = document["consolidated_metadata"]["metadata"]["spatial_ref"] if copy else document
            node["attributes"].update(crs_wkt=wkt, spatial_ref=wkt)

        rewrite(tmp_path / "in.zarr" / path, wkt_crs)
    assert "CRS: not carried: its WKT names no EPSG code" in ok(run("info", tmp_path / "in.zarr")).stdout
    ok(run("apply", tmp_path / "in.zarr", "-c", IDENTITY[3], "-o", tmp_path / "out.zarr"))
    ok(run("apply", tmp_path / "in.zarr", "-c", IDENTITY[3], "-o", tmp_path / "out.tif"))
    da = opened(tmp_path / "out.zarr")["band_data"]
    assert da.rio.crs == rasterio.crs.CRS.from_wkt(wkt) and da["spatial_ref"].attrs["crs_wkt"] == wkt
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(small) as src:
        assert out.crs is None and out.transform == src.transform


def test_zarr_is_imported_only_for_a_zarr_store(tmp_path, small):
    code = (
        "import sys\nfrom chanmix.cli.main import cli\n"
        f"try:\n    cli.main(['apply', {str(small)!r}, '-p', 'swap-rb', '-o', {str(tmp_path / 'o.tif')!r}])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('zarr', 'xarray', 'dask', 'numcodecs') if m in sys.modules))"
    )
    base, env = command()
    done = subprocess.run([base[0], "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]" and (tmp_path / "o.tif").exists()
