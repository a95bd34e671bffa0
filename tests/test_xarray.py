"""chanmix.xarray: DataArrays mixed along their band dimension, with their coordinates, CRS and
nodata, written by rioxarray as chanmix apply writes the same file."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import rasterio  # noqa: E402

import chanmix  # noqa: E402
import chanmix.xarray as cx  # noqa: E402
import subprocesses  # noqa: E402
from chanmix import Mix  # noqa: E402
from chanmix.errors import UsageError  # noqa: E402
from helpers import ok  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

#: rioxarray multiplies affine transforms with ``*``, which affine 3 deprecates for ``@``.
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")


@pytest.fixture
def rioxarray():
    return pytest.importorskip("rioxarray")


@pytest.fixture
def dask():
    """dask, computing on the calling thread."""
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="synchronous"):
        yield dask


def written_like(got: Path, expected: Path) -> None:
    """Two GeoTIFFs with the same pixels (byte for byte), CRS, transform, nodata and band names."""
    with rasterio.open(got) as a, rasterio.open(expected) as b:
        assert a.crs == b.crs and a.crs is not None
        # rioxarray writes the transform it parsed from the text of the GeoTransform attribute:
        # a round trip of rioxarray alone differs from the file's in the last bit
        assert a.transform.almost_equals(b.transform, precision=1e-12 * abs(b.transform.a))
        assert (a.count, a.dtypes) == (b.count, b.dtypes)
        assert a.nodata == b.nodata or (np.isnan(a.nodata) and np.isnan(b.nodata))
        assert a.descriptions == b.descriptions
        pixels, reference = a.read(), b.read()
        assert pixels.dtype == reference.dtype and pixels.tobytes() == reference.tobytes()


def test_module_example(dask, rioxarray, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert doctest.testmod(cx).failed == 0


@pytest.mark.parametrize(
    "chunks", [None, {"y": 100, "x": 300}, {"band": 1, "y": 64}], ids=["numpy", "tiles", "bands"]
)
@pytest.mark.parametrize(
    "args",
    [["-p", "ycbcr-bt601", "--dtype", "uint16"], ["-p", "sepia", "--rescale", "percentile"]],
    ids=["ycbcr", "percentile"],
)
def test_a_geotiff_written_by_rioxarray_equals_chanmix_apply(corpus, run, tmp_path, rioxarray, chunks, args):
    if chunks is not None:
        pytest.importorskip("dask")
    source = corpus / "rasterio" / "RGB.byte.tif"  # nodata 0, EPSG:32618
    ok(run("apply", source, *args, "-o", tmp_path / "ref.tif"))
    raster = rioxarray.open_rasterio(source, chunks=chunks)
    options = {"dtype": args[3]} if "--dtype" in args else {"rescale": "percentile"}
    mixed = cx.apply(raster, chanmix.get_preset(args[1]).mix, **options)
    assert (mixed.chunks is None) == (chunks is None)
    assert mixed.dims == ("band", "y", "x")
    assert list(mixed.band.values) == list(chanmix.get_preset(args[1]).mix.names)
    mixed.rio.to_raster(tmp_path / "got.tif")
    written_like(tmp_path / "got.tif", tmp_path / "ref.tif")


def test_calibrated_tasseled_cap_of_a_landsat_stack(samples, run, tmp_path, rioxarray, dask):
    cal = chanmix.calibration_mix(
        samples / "landsat" / "l8_MTL.txt", chanmix.CalibrationOptions(bands=(2, 3, 4, 5, 6, 7))
    )
    mix = chanmix.compose([cal, chanmix.get_preset("landsat8-tasseled-cap").mix])
    (tmp_path / "mix.json").write_text(chanmix.matrix_json(mix))
    stack = samples / "landsat" / "l8_stack.tif"
    ok(run("apply", stack, "-m", tmp_path / "mix.json", "--dtype", "float32", "-o", tmp_path / "ref.tif"))
    mixed = cx.apply(rioxarray.open_rasterio(stack, chunks={"y": 32}), mix, dtype="float32")
    names = ["brightness", "greenness", "wetness", "tct4", "tct5", "tct6"]
    assert [str(b) for b in mixed.band.values] == names
    assert mixed.attrs["long_name"] == tuple(mixed.band.values)
    mixed.rio.to_raster(tmp_path / "got.tif")
    written_like(tmp_path / "got.tif", tmp_path / "ref.tif")


def test_an_envi_cube_loses_the_attributes_of_its_input_bands(samples, run, tmp_path, rioxarray, dask):
    weights = np.random.default_rng(3).random((3, 40)) / 20
    (tmp_path / "mix.json").write_text(chanmix.matrix_json(Mix(weights)))
    cube = samples / "hyperspectral" / "cube.img"  # data ignore value 0, wavelengths, band names
    ok(run("apply", cube, "-m", tmp_path / "mix.json", "--dtype", "float32", "-o", tmp_path / "ref.tif"))
    raster = rioxarray.open_rasterio(cube, chunks={"y": 16, "x": 50})
    assert {"wavelength", "scale_factor", "bands", "Band_1", "long_name"} <= set(raster.attrs)
    mixed = cx.apply(raster, Mix(weights), dtype="float32")
    assert mixed.attrs == {"description": raster.attrs["description"], "_FillValue": np.float32(0)}
    assert list(mixed.band.values) == [1, 2, 3]  # no names: numbered as rioxarray numbers bands
    assert mixed.rio.nodata == 0 and mixed.rio.crs == raster.rio.crs
    mixed.rio.to_raster(tmp_path / "got.tif")
    written_like(tmp_path / "got.tif", tmp_path / "ref.tif")


def test_mixing_a_chunked_array_is_lazy(corpus, rioxarray, dask):
    from dask.callbacks import Callback

    started = []
    raster = rioxarray.open_rasterio(corpus / "rasterio" / "RGB.byte.tif", chunks={"y": 128})
    with Callback(start=lambda dsk: started.append(1)):
        mixed = cx.apply(raster, chanmix.get_preset("gray-rec601").mix, dtype="float32")
    assert started == []
    assert mixed.chunks == ((1,), raster.chunks[1], raster.chunks[2])
    assert mixed.rio.nodata == 0


def labelled(rng: np.random.Generator) -> xr.DataArray:
    """A (y, x, band) NumPy-backed DataArray, bands r, g, b, a (alpha) named by the coordinate."""
    return xr.DataArray(
        rng.integers(0, 65536, (5, 7, 4), dtype=np.uint16),
        dims=("y", "x", "band"),
        coords={"band": ["r", "g", "b", "a"], "y": np.arange(5.0), "x": np.arange(7.0), "label": "tile 3"},
        attrs={"title": "a tile", "long_name": ("red", "green", "blue", "alpha")},
        name="tile",
    )


def test_a_numpy_backed_array_with_the_band_dimension_last():
    array = labelled(np.random.default_rng(0))
    swap = Mix([[0, 0, 1.0], [1.0, 0, 0]])  # no names: outputs that copy an input take its name
    mixed = cx.apply(array, swap, alpha=3, dtype="uint8")
    assert mixed.dims == ("y", "x", "band") and isinstance(mixed.data, np.ndarray)
    assert list(mixed.band.values) == ["b", "r", "alpha"]
    assert mixed.attrs == {"title": "a tile", "long_name": ("b", "r", "alpha")}
    assert mixed.name == "tile" and mixed.label == "tile 3"
    np.testing.assert_array_equal(mixed.x, array.x)
    expected = chanmix.apply(array.values, swap, alpha=3, dtype="uint8")
    assert mixed.values.tobytes() == expected.tobytes()


def test_the_band_dimension_may_be_anywhere(dask):
    array = labelled(np.random.default_rng(1)).transpose("y", "band", "x").chunk({"x": 3})
    mix = Mix([[0.2, 0.3, 0.5, 0.0]], names=["grey"])
    mixed = cx.apply(array, mix, alpha=3, alpha_mode="mix", rescale="minmax")
    assert mixed.dims == ("y", "band", "x") and list(mixed.band.values) == ["grey"]
    expected = chanmix.apply(array.transpose("y", "x", "band").values, mix, rescale="minmax")
    assert np.moveaxis(mixed.values, 1, 2).tobytes() == expected.tobytes()


def test_nodata_is_read_as_rioxarray_reads_it_and_can_be_overridden(corpus, rioxarray):
    source = corpus / "rasterio" / "RGB.byte.tif"
    mix = chanmix.get_preset("sepia").mix
    masked = rioxarray.open_rasterio(source, mask_and_scale=True)  # float32, NaN where 0 was
    assert cx.input_nodata(masked) != cx.input_nodata(masked)  # NaN
    out = cx.apply(masked, mix, dtype="uint8")
    assert out.rio.nodata == 0  # NaN cannot be a uint8: the type's minimum, as output_nodata says
    raw = rioxarray.open_rasterio(source)
    assert "_FillValue" not in cx.apply(raw, mix, nodata=None).attrs
    by_hand = cx.apply(raw, mix, nodata=255.0, dtype="float32")
    assert (
        by_hand.rio.nodata == 255
        and by_hand.values.tobytes()
        == np.moveaxis(
            chanmix.apply(np.moveaxis(raw.values, 0, -1), mix, nodata=255.0, dtype="float32"), -1, 0
        ).tobytes()
    )


def test_errors_name_the_argument():
    array = labelled(np.random.default_rng(2))
    with pytest.raises(UsageError, match="dim: the array has no dimension 'bands'") as info:
        cx.apply(array, Mix.identity(4), dim="bands")
    assert info.value.parameter == "dim"
    with pytest.raises(UsageError, match="dataarray: expected 3 dimensions"):
        cx.apply(array.isel(y=0), Mix.identity(4))
    with pytest.raises(chanmix.MatrixError, match="reads 3 channels but the image has 4"):
        cx.apply(array, Mix.identity(3))


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=subprocesses.environment(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_xarray_the_import_error_says_what_to_install():
    code = (
        "import sys\nsys.modules['xarray'] = None\n"
        "try:\n    import chanmix.xarray\nexcept ImportError as exc:\n    print(exc)"
    )
    assert run_python(code) == "chanmix.xarray needs the dask extra: pip install 'chanmix[dask]'"


def test_numpy_backed_arrays_need_no_dask():
    code = (
        "import sys\nsys.modules['dask'] = None\n"
        "import numpy as np, xarray as xr, chanmix, chanmix.xarray\n"
        "a = xr.DataArray(np.ones((2, 3, 4), np.uint8), dims=('band', 'y', 'x'))\n"
        "print(chanmix.xarray.apply(a, chanmix.Mix([[0.5, 0.5]])).values.tolist())"
    )
    assert run_python(code) == "[[[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]]"
