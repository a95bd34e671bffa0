"""ENVI input and output, with GDAL's ENVI driver (through rasterio) as the independent reader
and writer; hand-written headers for what GDAL does not write; hostile headers."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import rasterio
import tifffile
from rasterio.transform import Affine

from chanmix.io import open_raster, read_raster, write_raster
from chanmix.mix import Mix
from helpers import error_line, gdal_pixels, ok

pytestmark = pytest.mark.usefixtures("quiet_rasterio")

ENVI_DTYPES = ["uint8", "int16", "int32", "float32", "float64", "uint16", "uint32", "int64", "uint64"]


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    """A north-up grid (rasterio's from_origin, without its deprecated ``*``)."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


UTM = from_origin(500000.5, 4200000.25, 30.0, 30.0)


def cube(shape=(6, 7, 3), dtype="uint16", seed=0) -> np.ndarray:
    """A (H, W, C) cube of varied samples in `dtype` (64-bit integers up to 2**53)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.normal(0, 1000, shape).astype(dt)
    info = np.iinfo(dt)
    low, high = max(info.min, -(2**53)), min(info.max, 2**53)
    return rng.integers(low, high, shape, dtype=dt, endpoint=True)


def gdal_envi(
    path, pixels, *, interleave="BSQ", crs="EPSG:32633", transform=UTM, nodata=None, names=None, **envi
):
    """Write (H, W, C) pixels with GDAL's ENVI driver; `envi` items go to the ENVI metadata
    domain (written to the header as they are)."""
    height, width, bands = pixels.shape
    profile = dict(driver="ENVI", width=width, height=height, count=bands, dtype=pixels.dtype.name)
    with rasterio.open(
        path, "w", **profile, crs=crs, transform=transform, nodata=nodata, INTERLEAVE=interleave
    ) as ds:
        ds.write(np.moveaxis(pixels, -1, 0))
        if names:
            ds.descriptions = names
        if envi:
            ds.update_tags(ns="ENVI", **envi)
    return path


def write_header(path, text: str) -> str:
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return str(path)


def raw_header(samples=4, lines=3, bands=2, data_type=12, interleave="bsq", extra="") -> str:
    return (
        f"ENVI\nsamples = {samples}\nlines = {lines}\nbands = {bands}\nheader offset = 0\n"
        f"data type = {data_type}\ninterleave = {interleave}\nbyte order = 0\n{extra}"
    )


def header_fields(path) -> dict[str, str]:
    """The key = value lines of a header chanmix wrote (one line each, or braced)."""
    from chanmix.io.envi import parse_header

    return parse_header(open(path, encoding="utf-8").read(), str(path))


# --- reading what GDAL writes ----------------------------------------------------------------


@pytest.mark.parametrize("interleave", ["BSQ", "BIL", "BIP"])
@pytest.mark.parametrize("dtype", ENVI_DTYPES)
def test_envi_written_by_gdal_reads_as_gdal_reads_it(tmp_path, interleave, dtype):
    pixels = cube((6, 7, 3), dtype)
    path = gdal_envi(
        tmp_path / "c.img", pixels, interleave=interleave, nodata=7, names=("red", "nir", "swir")
    )
    with rasterio.open(path) as ds:
        reference, transform, crs = gdal_pixels(path), tuple(ds.transform)[:6], ds.crs
    raster = read_raster(path)
    expected = reference.astype(np.float64) if dtype in ("int64", "uint64") else reference
    assert raster.pixels.dtype == expected.dtype
    np.testing.assert_array_equal(raster.pixels, expected)
    info = raster.info
    assert (info.format, info.layout, info.nodata, info.band_names) == (
        "ENVI",
        interleave.lower(),
        7.0,
        ("red", "nir", "swir"),
    )
    assert info.geo.transform == transform and info.geo.crs == f"EPSG:{crs.to_epsg()}" == "EPSG:32633"
    with open_raster(tmp_path / "c.hdr") as reader:  # the header named instead, read by windows
        assert reader.info.loads_whole is False
        np.testing.assert_array_equal(reader.read_window(1, 5, 2, 6), expected[1:5, 2:6])
        np.testing.assert_array_equal(np.concatenate([b for _, b in reader.row_bands(4)]), expected)


def test_wavelengths_written_by_gdal_are_read_in_nanometres(tmp_path):
    pixels = cube((3, 4, 3), "int16")
    path = gdal_envi(
        tmp_path / "w.bil",
        pixels,
        interleave="BIL",
        wavelength="{0.4425, 0.865, 1.61}",
        fwhm="{0.02, 0.03, 0.09}",
        wavelength_units="Micrometers",
    )
    info = read_raster(path).info
    assert info.wavelengths == (442.5, 865.0, 1610.0)
    assert info.fwhm == (20.0, 30.0, 90.0)
    with rasterio.open(path) as ds:  # GDAL's own reading agrees, in micrometres
        imagery = ds.tags(2, ns="IMAGERY")  # GDAL 3.10 on; before, the ENVI items as they are
        if "CENTRAL_WAVELENGTH_UM" in imagery:
            assert float(imagery["CENTRAL_WAVELENGTH_UM"]) == 0.865
        else:
            assert ds.tags(2)["wavelength"] == "0.865"
            assert ds.tags(2)["wavelength_units"] == "Micrometers"


def test_a_utm_south_and_a_geographic_grid_are_identified(tmp_path):
    for crs, code in (("EPSG:32733", "EPSG:32733"), ("EPSG:4326", "EPSG:4326")):
        transform = from_origin(12.5, 41.0, 0.01, 0.01) if code == "EPSG:4326" else UTM
        path = gdal_envi(tmp_path / f"{code[5:]}.img", cube(dtype="uint8"), crs=crs, transform=transform)
        geo = read_raster(path).info.geo
        assert (geo.crs, geo.transform) == (code, tuple(transform)[:6])


# --- writing what GDAL reads -----------------------------------------------------------------


@pytest.mark.parametrize("extension", [".img", ".dat", ".bsq", ".bil", ".bip"])
@pytest.mark.parametrize("dtype", ["uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"])
def test_envi_written_by_chanmix_reads_back_in_gdal(tmp_path, extension, dtype):
    source = tmp_path / "in.tif"
    pixels = cube((5, 6, 3), dtype, seed=3)
    with rasterio.open(
        source, "w", driver="GTiff", width=6, height=5, count=3, dtype=dtype, crs="EPSG:32633", transform=UTM
    ) as ds:
        ds.write(np.moveaxis(pixels, -1, 0))
    like = read_raster(source).info
    target = tmp_path / f"out{extension}"
    write_raster(target, pixels, band_names=["a", "b", ""], like=like, nodata=3)
    with rasterio.open(target) as ds:
        assert ds.files == [str(target), str(tmp_path / "out.hdr")]
        assert ds.descriptions == ("a", "b", "Band 3")
        assert tuple(ds.transform)[:6] == like.geo.transform and ds.crs.to_epsg() == 32633
        assert ds.nodata == 3
        interleave = ds.tags(ns="IMAGE_STRUCTURE")["INTERLEAVE"]
    assert interleave == {".bil": "LINE", ".bip": "PIXEL"}.get(extension, "BAND")
    np.testing.assert_array_equal(gdal_pixels(target), pixels)
    assert read_raster(target).info.band_names == ("a", "b", "Band 3")


def test_utm_south_and_geographic_outputs_keep_their_crs_in_gdal(tmp_path):
    for code, transform in ((32733, UTM), (4326, from_origin(-70.25, -33.5, 0.001, 0.002))):
        source = gdal_envi(
            tmp_path / f"{code}.img", cube(dtype="uint8"), crs=f"EPSG:{code}", transform=transform
        )
        with rasterio.open(source) as ds:  # through a GeoTIFF, so that the header is chanmix's own
            profile = dict(ds.profile, driver="GTiff")
            with rasterio.open(tmp_path / f"{code}.tif", "w", **profile) as out:
                out.write(ds.read())
        write_raster(
            tmp_path / f"{code}-out.img",
            read_raster(tmp_path / f"{code}.tif").pixels,
            like=read_raster(tmp_path / f"{code}.tif").info,
        )
        with rasterio.open(tmp_path / f"{code}-out.img") as ds:
            assert ds.crs.to_epsg() == code and tuple(ds.transform)[:6] == tuple(transform)[:6]


def test_a_crs_without_an_envi_name_keeps_the_grid_with_a_warning(run, tmp_path):
    source = tmp_path / "merc.tif"
    transform = from_origin(-8238310.24, 4970071.58, 10, 10)
    with rasterio.open(
        source,
        "w",
        driver="GTiff",
        width=4,
        height=3,
        count=1,
        dtype="uint8",
        crs="EPSG:3857",
        transform=transform,
    ) as ds:
        ds.write(np.ones((1, 3, 4), np.uint8))
    result = ok(run("apply", source, "-c", "1", "-o", tmp_path / "out.img"))
    assert result.stderr.splitlines() == [
        f"Warning: {tmp_path / 'out.img'}: CRS EPSG:3857 is not carried (chanmix writes an ENVI coordinate"
        " system only for EPSG:4326 and WGS 84 UTM zones); the header keeps the pixel grid",
        f"1 image mixed: {source} -> {tmp_path / 'out.img'}",
    ]
    with rasterio.open(tmp_path / "out.img") as ds:
        assert tuple(ds.transform)[:6] == tuple(transform)[:6]
    assert header_fields(tmp_path / "out.hdr")["map info"].startswith("{Arbitrary, 1, 1, ")
    text = ok(run("info", tmp_path / "out.img")).output
    assert "CRS: ENVI map info 'Arbitrary': a pixel grid without a CRS" in text


def test_a_rotated_grid_is_written_as_rotation_and_read_back(tmp_path):
    transform = Affine.translation(500000, 4200000) @ Affine.rotation(-20) @ Affine.scale(10, -20)
    source = gdal_envi(tmp_path / "r.img", cube(dtype="uint8"), transform=transform)
    with rasterio.open(source) as ds:
        gdal_transform = tuple(ds.transform)[:6]
    geo = read_raster(source).info.geo
    np.testing.assert_allclose(geo.transform, gdal_transform, rtol=0, atol=1e-6)
    with (
        rasterio.open(source) as ds,
        rasterio.open(tmp_path / "r.tif", "w", **dict(ds.profile, driver="GTiff")) as out,
    ):
        out.write(ds.read())
    tif = read_raster(tmp_path / "r.tif")
    write_raster(tmp_path / "back.bip", tif.pixels, like=tif.info)
    assert "rotation=" in header_fields(tmp_path / "back.hdr")["map info"]
    with rasterio.open(tmp_path / "back.bip") as ds:
        np.testing.assert_allclose(tuple(ds.transform)[:6], gdal_transform, rtol=0, atol=1e-6)
        assert ds.crs.to_epsg() == 32633


def test_a_sheared_grid_is_not_written_and_says_so(run, tmp_path):
    source = tmp_path / "shear.tif"
    transform = Affine(10, 3, 100, 0, -10, 200)
    with rasterio.open(
        source,
        "w",
        driver="GTiff",
        width=4,
        height=3,
        count=1,
        dtype="uint8",
        crs="EPSG:32633",
        transform=transform,
    ) as ds:
        ds.write(np.ones((1, 3, 4), np.uint8))
    result = ok(run("apply", source, "-c", "1", "-o", tmp_path / "out.img"))
    assert "is sheared, which ENVI map info cannot hold" in result.stderr
    assert "map info" not in header_fields(tmp_path / "out.hdr")


# --- hand-written headers ----------------------------------------------------------------------


def test_big_endian_samples_after_a_header_offset(tmp_path):
    pixels = cube((3, 4, 2), "int16")
    data = tmp_path / "be.raw"
    data.write_bytes(b"\x00" * 512 + np.ascontiguousarray(np.moveaxis(pixels, -1, 0)).astype(">i2").tobytes())
    write_header(
        tmp_path / "be.hdr",
        raw_header(data_type=2)
        .replace("header offset = 0", "header offset = 512")
        .replace("byte order = 0", "byte order = 1"),
    )
    np.testing.assert_array_equal(read_raster(tmp_path / "be.hdr").pixels, pixels)
    np.testing.assert_array_equal(gdal_pixels(data), pixels)


def test_a_fractional_reference_pixel_gives_gdal_s_transform(tmp_path):
    (tmp_path / "f.img").write_bytes(bytes(24))
    map_info = "map info = {UTM, 1.5, 2.5, 500000.0, 4200000.0, 30.0, 20.0, 33, North, WGS-84}\n"
    write_header(tmp_path / "f.hdr", raw_header(data_type=1, extra=map_info))
    with rasterio.open(tmp_path / "f.img") as ds:
        expected = tuple(ds.transform)[:6]
    geo = read_raster(tmp_path / "f.img").info.geo
    assert geo.transform == expected == (30.0, 0.0, 499985.0, 0.0, -20.0, 4200030.0)
    tifffile.imwrite(tmp_path / "f.tif", np.zeros((3, 4), np.uint8), extratags=[t for t in geo.tags])
    with rasterio.open(tmp_path / "f.tif") as ds:  # the tiepoint at (0.5, 1.5) says the same to GDAL
        assert tuple(ds.transform)[:6] == expected and ds.crs.to_epsg() == 32633


def test_a_messy_but_valid_header(tmp_path):
    """Braces over several lines, comments, keys in any case and spacing, keys GDAL ignores,
    no byte order, a description and an unknown-unit wavelength list."""
    pixels = cube((3, 4, 2), "uint16")
    (tmp_path / "m").write_bytes(
        np.ascontiguousarray(pixels.transpose(0, 2, 1)).tobytes()
    )  # BIL, no extension
    text = (
        "ENVI\n"
        "; written by hand\n"
        "Description = {\n  a cube\n  over two lines }\n"
        "SAMPLES=4\n  Lines   =  3\nBANDS = 2\n"
        "Data Type = 12\nINTERLEAVE = BIL\n"
        "band names = {\n first,\n second\n}\n"
        "wavelength = {400,\n 500}\n"
        "default bands = {1}\n"
        "no equals sign on this line\n"
    )
    write_header(tmp_path / "m.hdr", text)
    raster = read_raster(tmp_path / "m.hdr")
    np.testing.assert_array_equal(raster.pixels, pixels)
    assert raster.info.band_names == ("first", "second")
    assert raster.info.description == "a cube over two lines"
    assert raster.info.wavelengths is None  # no units: nothing says they are nanometres
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "m"), pixels)


@pytest.mark.parametrize(
    "units, values, expected",
    [
        ("Micrometers", "{0.4425, 0.865}", (442.5, 865.0)),
        ("nm", "{442.5, 865}", (442.5, 865.0)),
        ("Millimeters", "{0.0004425, 0.000865}", (442.5, 865.0)),
        ("Wavenumber", "{10000, 5000}", (1000.0, 2000.0)),
        ("Index", "{1, 2}", None),
        ("Micrometers", "{0.4425}", (442.5, math.nan)),
    ],
)
def test_wavelength_units_become_nanometres(tmp_path, units, values, expected):
    (tmp_path / "u.img").write_bytes(bytes(24))
    extra = f"wavelength units = {units}\nwavelength = {values}\n"
    write_header(tmp_path / "u.hdr", raw_header(data_type=1, extra=extra))
    got = read_raster(tmp_path / "u.img").info.wavelengths
    if expected is None:
        assert got is None
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "layout", ["x.hdr + x", "x.hdr + x.img", "x.hdr + x.dat", "x.img.hdr + x.img", "x.HDR + x.bsq"]
)
@pytest.mark.parametrize("named", ["header", "data"])
def test_either_file_may_be_named(run, tmp_path, layout, named):
    header, data = layout.split(" + ")
    pixels = cube((3, 4, 2), "uint16")
    (tmp_path / data).write_bytes(np.ascontiguousarray(np.moveaxis(pixels, -1, 0)).tobytes())
    write_header(tmp_path / header, raw_header())
    path = tmp_path / (header if named == "header" else data)
    np.testing.assert_array_equal(read_raster(path).pixels, pixels)
    described = json.loads(ok(run("info", path, "--json")).output)
    assert (described["format"], described["bands"]) == ("ENVI", 2)


def test_a_tiff_with_an_envi_header_beside_it_is_read_as_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "s.tif", np.ones((3, 4), np.uint8))
    write_header(tmp_path / "s.hdr", raw_header(data_type=1, bands=1))  # ENVI describing the TIFF
    assert read_raster(tmp_path / "s.tif").info.format == "TIFF"


# --- hostile and broken headers -------------------------------------------------------------


def _broken(tmp_path, case: str) -> str:
    """One broken ENVI raster, named by its header (or data file) as the test passes it."""
    data, header = tmp_path / "h.img", tmp_path / "h.hdr"
    data.write_bytes(bytes(48))  # 4 x 3 x 2 uint16
    fine = raw_header()
    texts = {
        "lines past the data": fine.replace("lines = 3", "lines = 3000"),
        "negative samples": fine.replace("samples = 4", "samples = -4"),
        "zero bands": fine.replace("bands = 2", "bands = 0"),
        "huge dimensions": fine.replace("samples = 4", "samples = 99999999999"),
        "product past any file": fine.replace("samples = 4", "samples = 2147483647").replace(
            "lines = 3", "lines = 2147483647"
        ),
        "offset past the data": fine.replace("header offset = 0", "header offset = 40"),
        "not a number": fine.replace("lines = 3", "lines = three"),
        "no samples": fine.replace("samples = 4\n", ""),
        "no data type": fine.replace("data type = 12\n", ""),
        "complex": fine.replace("data type = 12", "data type = 6"),
        "unknown type": fine.replace("data type = 12", "data type = 7"),
        "byte order 2": fine.replace("byte order = 0", "byte order = 2"),
        "interleave xyz": fine.replace("interleave = bsq", "interleave = xyz"),
        "unclosed brace": fine + "band names = {a,\nb\n",
        "spectral library": fine + "file type = ENVI Spectral Library\n",
        "gzip": fine + "file compression = 1\n",
        "garbage": "\x00\xff garbage \x01" * 50,
        "10 MB header": fine + "description = {" + "x" * (10 << 20) + "}\n",
    }
    if case == "data file too short":
        data.write_bytes(bytes(47))
        write_header(header, fine)
    elif case == "missing data file":
        data.unlink()
        write_header(header, fine)
    elif case == "no header for the data file":
        return str(data)
    else:
        header.write_bytes(texts[case].encode("utf-8", "surrogateescape"))
    return str(header)


HOSTILE = [
    "lines past the data",
    "negative samples",
    "zero bands",
    "huge dimensions",
    "product past any file",
    "offset past the data",
    "not a number",
    "no samples",
    "no data type",
    "complex",
    "unknown type",
    "byte order 2",
    "interleave xyz",
    "unclosed brace",
    "spectral library",
    "gzip",
    "garbage",
    "10 MB header",
    "data file too short",
    "missing data file",
]


@pytest.mark.parametrize("case", HOSTILE)
def test_a_broken_header_is_one_line_naming_the_file(run, tmp_path, case):
    path = _broken(tmp_path, case)
    for command in (["info", path], ["apply", path, "-c", "1,0", "-o", tmp_path / "out.img"]):
        line = error_line(run(*command), 1)
        assert line.startswith("Error: ") and str(tmp_path) in line, line
    assert sorted(os.listdir(tmp_path)) == sorted({"h.img", "h.hdr"} & set(os.listdir(tmp_path)))


def test_broken_header_messages_say_what_is_wrong(run, tmp_path):
    path = _broken(tmp_path, "lines past the data")
    assert error_line(run("info", path), 1) == (
        f"Error: {tmp_path / 'h.img'}: holds 48 bytes, but its header h.hdr describes 3000 x 4 x 2 uint16"
        " samples: 48000 bytes"
    )
    path = _broken(tmp_path, "complex")
    assert "ENVI data type 6 (complex float32) is not supported" in error_line(run("info", path), 1)
    path = _broken(tmp_path, "10 MB header")
    assert "too large for an ENVI header" in error_line(run("info", path), 1)


def test_an_image_number_past_the_one_image_is_a_usage_error(run, tmp_path):
    path = _broken(tmp_path, "no header for the data file")
    write_header(tmp_path / "h.hdr", raw_header())
    assert "no image 1 (the file has 1 image" in error_line(run("info", path, "--page", "1"), 2)


def test_a_64_bit_integer_beyond_2_53_is_refused_and_leaves_no_output(run, tmp_path):
    pixels = np.zeros((40, 3, 1), np.int64)
    pixels[-1, -1, 0] = 2**53 + 1
    (tmp_path / "i.img").write_bytes(pixels.tobytes())
    write_header(tmp_path / "i.hdr", raw_header(samples=3, lines=40, bands=1, data_type=14))
    line = error_line(run("apply", tmp_path / "i.img", "-c", "1", "-o", tmp_path / "o.bil"), 1)
    assert "sample 9007199254740993" in line and "beyond 2**53" in line
    assert sorted(os.listdir(tmp_path)) == ["i.hdr", "i.img"]


# --- through the command line ----------------------------------------------------------------


def test_a_band_selection_carries_wavelengths_and_fwhm(run, tmp_path):
    pixels = cube((4, 5, 3), "uint16")
    source = gdal_envi(
        tmp_path / "s.img",
        pixels,
        wavelength="{450, 550, 865}",
        fwhm="{20, 25, 30}",
        wavelength_units="Nanometers",
    )
    ok(run("apply", source, "-c", "0,0,1;1,0,0", "-o", tmp_path / "sel.bip", "-q"))
    fields = header_fields(tmp_path / "sel.hdr")
    assert (fields["wavelength"], fields["fwhm"], fields["wavelength units"]) == (
        "{865, 450}",
        "{30, 20}",
        "Nanometers",
    )
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "sel.bip"), pixels[:, :, [2, 0]])
    ok(run("apply", source, "--bands", "3,1", "-c", "1,0;0.5,0.5", "-o", tmp_path / "mixed.img", "-q"))
    assert header_fields(tmp_path / "mixed.hdr")["wavelength"] == "{865, nan}"  # the mixed band has none
    with rasterio.open(tmp_path / "mixed.img") as ds:
        assert ds.tags(1)["wavelength"] == "865" and ds.tags(2)["wavelength"] == "nan"
    info = read_raster(tmp_path / "mixed.img").info
    assert info.wavelengths[0] == 865 and math.isnan(info.wavelengths[1])
    ok(run("apply", source, "-c", "0.5,0.5,0", "-o", tmp_path / "none.img", "-q"))
    assert "wavelength" not in header_fields(tmp_path / "none.hdr")


def test_envi_to_geotiff_and_back_keeps_pixels_grid_and_crs(run, tmp_path):
    pixels = cube((5, 6, 4), "int16")
    source = gdal_envi(tmp_path / "a.bil", pixels, interleave="BIL", crs="EPSG:32733", nodata=-1)
    ok(run("apply", source, "-c", "1,0,0,0;0,1,0,0;0,0,1,0;0,0,0,1", "-o", tmp_path / "b.tif", "-q"))
    with rasterio.open(tmp_path / "b.tif") as ds:
        assert (tuple(ds.transform)[:6], ds.crs.to_epsg(), ds.nodata) == (tuple(UTM)[:6], 32733, -1)
    ok(
        run(
            "apply",
            tmp_path / "b.tif",
            "-c",
            "1,0,0,0;0,1,0,0;0,0,1,0;0,0,0,1",
            "-o",
            tmp_path / "c.img",
            "-q",
        )
    )
    with rasterio.open(tmp_path / "c.img") as ds:
        assert (tuple(ds.transform)[:6], ds.crs.to_epsg(), ds.nodata) == (tuple(UTM)[:6], 32733, -1)
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "c.img"), pixels)


def test_an_unidentified_projection_keeps_its_grid_in_tiff_and_its_text_in_envi(run, tmp_path):
    (tmp_path / "l.img").write_bytes(bytes(24))
    map_info = "{Lambert Conformal Conic, 1, 1, 100000, 200000, 25, 25, North America 1983, units=Meters}"
    projection = "projection info = {4, 6378137.0, 6356752.3, 40, -96, 0, 0, 33, 45, North America 1983}\n"
    write_header(tmp_path / "l.hdr", raw_header(data_type=1, extra=f"map info = {map_info}\n{projection}"))
    text = ok(run("info", tmp_path / "l.img")).output
    assert "CRS: not carried: ENVI map info 'Lambert Conformal Conic' is not identified" in text
    assert f"ENVI map info: {map_info}" in text
    ok(run("apply", tmp_path / "l.img", "-c", "1,0;0,1", "-o", tmp_path / "l.tif", "-q"))
    with rasterio.open(tmp_path / "l.tif") as ds:
        assert tuple(ds.transform)[:6] == (25, 0, 100000, 0, -25, 200000) and ds.crs is None
    ok(run("apply", tmp_path / "l.img", "-c", "1,0;0,1", "-o", tmp_path / "copy.dat", "-q"))
    assert header_fields(tmp_path / "copy.hdr")["map info"] == map_info


def test_info_shows_wavelengths_fwhm_and_map_info(run, tmp_path):
    source = gdal_envi(
        tmp_path / "s.img",
        cube((2, 3, 2), "uint8"),
        wavelength="{450.5, 865}",
        fwhm="{10, 20}",
        wavelength_units="nm",
        names=("blue", "nir"),
    )
    text = ok(run("info", source)).output
    rows = [line.split() for line in text.splitlines()[-3:]]
    assert rows[0] == ["band", "name", "wavelength", "fwhm", "min", "max", "mean", "std", "valid"]
    assert rows[1][:4] == ["1", "blue", "450.5nm", "10nm"]
    assert "  ENVI map info: {UTM, 1, 1, 500000.5, 4200000.25, 30, 30, 33, North,WGS-84}" in text
    band = json.loads(ok(run("info", source, "--json")).output)["band_stats"][1]
    assert (band["name"], band["wavelength_nm"], band["fwhm_nm"]) == ("nir", 865.0, 20.0)


def test_fits_threads_and_statistics_stream_from_envi(run, tmp_path):
    pixels = cube((40, 30, 4), "uint16")
    source = gdal_envi(tmp_path / "s.bsq", pixels)
    tifffile.imwrite(
        tmp_path / "s.tif", np.moveaxis(pixels, -1, 0), planarconfig="separate", photometric="minisblack"
    )
    ok(run("fit", "pca", source, "-k", "2", "-o", tmp_path / "a.json", "-q"))
    ok(run("fit", "pca", tmp_path / "s.tif", "-k", "2", "-o", tmp_path / "b.json", "-q"))
    a, b = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    np.testing.assert_allclose(a["weights"], b["weights"], atol=1e-12)
    ok(
        run(
            "apply",
            source,
            "-m",
            tmp_path / "a.json",
            "--dtype",
            "float32",
            "-o",
            tmp_path / "j1.img",
            "-j",
            "1",
            "-q",
        )
    )
    ok(
        run(
            "apply",
            source,
            "-m",
            tmp_path / "a.json",
            "--dtype",
            "float32",
            "-o",
            tmp_path / "j2.img",
            "-j",
            "2",
            "-q",
        )
    )
    assert (tmp_path / "j1.img").read_bytes() == (tmp_path / "j2.img").read_bytes()
    stats_envi = json.loads(ok(run("info", source, "--json")).output)["band_stats"]
    stats_tiff = json.loads(ok(run("info", tmp_path / "s.tif", "--json")).output)["band_stats"]
    assert [s["mean"] for s in stats_envi] == [s["mean"] for s in stats_tiff]


# --- outputs: names, safety, atomicity --------------------------------------------------------


def test_the_header_of_an_input_is_never_an_output(run, tmp_path):
    source = gdal_envi(tmp_path / "x.bsq", cube(dtype="uint8"))
    before = (tmp_path / "x.hdr").read_bytes()
    line = error_line(run("apply", tmp_path / "x.hdr", "-c", "1,0,0", "-o", tmp_path / "x.bsq"), 2)
    assert line.endswith(
        f"this run reads that file (INPUT {tmp_path / 'x.bsq'} (the ENVI data file of"
        f" {tmp_path / 'x.hdr'})); choose another output"
    )
    line = error_line(
        run("apply", source, "-c", "1,0,0", "-o", tmp_path / "y.img", "--save-matrix", tmp_path / "y.hdr"), 2
    )
    assert line == (
        f"Error: --save-matrix {tmp_path / 'y.hdr'}: -o {tmp_path / 'y.hdr'} (the ENVI header of"
        f" {tmp_path / 'y.img'}) writes that file too; give each output its own file"
    )
    # a TIFF with an ENVI header describing it beside it: an ENVI output of that name is refused
    tifffile.imwrite(tmp_path / "t.tif", np.ones((3, 4), np.uint8))
    write_header(tmp_path / "t.hdr", raw_header(data_type=1, bands=1, extra="file type = TIFF\n"))
    line = error_line(run("apply", tmp_path / "t.tif", "-c", "1", "-o", tmp_path / "t.img"), 2)
    assert (
        f"-o {tmp_path / 't.hdr'} (the ENVI header of {tmp_path / 't.img'}): this run reads that file" in line
    )
    assert (tmp_path / "x.hdr").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["t.hdr", "t.tif", "x.bsq", "x.hdr"]


def test_an_output_beside_an_input_leaves_the_input_s_header_alone(run, tmp_path):
    pixels = cube(dtype="uint8")
    source = gdal_envi(tmp_path / "x.bsq", pixels)
    before = (tmp_path / "x.hdr").read_bytes()
    ok(run("apply", source, "-c", "0,1,0", "-o", tmp_path / "x.img", "-q"))  # GDAL would write x.hdr
    assert (tmp_path / "x.hdr").read_bytes() == before and (tmp_path / "x.img.hdr").is_file()
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "x.img"), pixels[:, :, 1:2])
    np.testing.assert_array_equal(gdal_pixels(source), pixels)


def test_an_envi_output_is_committed_with_its_header_and_matrix(run, tmp_path):
    source = gdal_envi(tmp_path / "x.img", cube(dtype="uint8"))
    ok(
        run(
            "apply",
            source,
            "-c",
            "1,0,0",
            "-o",
            tmp_path / "o.dat",
            "--save-matrix",
            tmp_path / "m.json",
            "-q",
        )
    )
    assert {"o.dat", "o.hdr", "m.json"} <= set(os.listdir(tmp_path))
    # a failing run (a matrix that does not fit) changes none of the three
    before = {name: (tmp_path / name).read_bytes() for name in ("o.dat", "o.hdr", "m.json")}
    error_line(
        run("apply", source, "-c", "1,0", "-o", tmp_path / "o.dat", "--save-matrix", tmp_path / "m.json"), 2
    )
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_output_header_names(tmp_path):
    pixels = cube((2, 3, 1), "uint8")
    write_raster(tmp_path / "a.bsq", pixels)
    assert sorted(os.listdir(tmp_path)) == ["a.bsq", "a.hdr"]  # as GDAL names it, and finds it
    (tmp_path / "b.img.hdr").write_text("ENVI\nstale\n")
    write_raster(tmp_path / "b.img", pixels)  # GDAL reads b.img.hdr first: that one is replaced
    assert "b.hdr" not in os.listdir(tmp_path)
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "b.img"), pixels)
    write_raster(tmp_path / "a.bil", pixels)  # a.hdr is a.bsq's: left to it
    assert (tmp_path / "a.bil.hdr").is_file()
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "a.bil"), pixels)
    np.testing.assert_array_equal(gdal_pixels(tmp_path / "a.bsq"), pixels)


def test_formats_and_help_name_the_envi_extensions(run):
    from chanmix.errors import UsageError
    from chanmix.io import EXTENSIONS, check_output

    assert {EXTENSIONS[e] for e in (".img", ".dat", ".bsq", ".bil", ".bip")} == {"envi"}
    assert check_output("x.bip", channels=300, dtype="float64", alpha=True) == "envi"
    with pytest.raises(UsageError, match="ENVI output holds samples of type"):
        check_output("x.img", channels=1, dtype="int8")
    assert ".img" in ok(run("apply", "--help")).output


def test_copies_of_a_mix():
    mix = Mix([[0, 0, 1], [1, 0, 0], [0.5, 0.5, 0], [0, 2, 0], [0, 1, 0]], bias=[0, 0, 0, 0, 0.1])
    assert mix.copies == (2, 0, None, None, None)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_reading_a_cube_leaves_none_of_its_pages_mapped(tmp_path):
    """Each band of rows is read through its own map, closed once copied: the pages the kernel
    maps on those reads (the neighbours of the rows read included) all go with it."""

    def mapped_file_kb() -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("RssFile:"))

    bands, height, width = 40, 400, 1000  # 32 MB of uint16, band sequential
    data = tmp_path / "big.img"
    with open(data, "wb") as file:
        for band in range(bands):
            file.write(np.full((height, width), band, np.uint16).tobytes())
    write_header(tmp_path / "big.hdr", raw_header(samples=width, lines=height, bands=bands))
    with open_raster(data) as reader:
        before = mapped_file_kb()
        means = np.zeros(bands)
        for _, band in reader.row_bands():
            means += band.sum(axis=(0, 1))
        assert mapped_file_kb() - before < 2048
    np.testing.assert_array_equal(means / (height * width), np.arange(bands))


@pytest.mark.parametrize(
    ("command", "what"),
    [(["fit", "pca", "-k", "1"], "covariance"), (["fit", "pca", "-k", "1", "--no-center"], "second moment")],
)
def test_values_whose_squares_overflow_are_one_error_without_a_warning(run, tmp_path, command, what):
    # fuzz seed 6 case 483: float64 samples near 1e300 (damaged bytes) overflowed the scatter
    # matrix: NumPy's "overflow encountered in matmul" as a Warning line, then a NaN matrix
    pixels = cube((6, 7, 2), "float64")
    pixels[2, 3, 0], pixels[4, 1, 1] = 3e300, -2e250
    data = tmp_path / "big.img"
    pixels.transpose(2, 0, 1).astype("<f8").tofile(data)
    write_header(tmp_path / "big.hdr", raw_header(samples=7, lines=6, bands=2, data_type=5))
    out = tmp_path / "pca.json"
    line = error_line(run(*command[:2], data, *command[2:], "-o", out), 1)
    assert (
        line == f"Error: the pixels' {what} overflows float64: values too large (beyond about 1e154) to fit"
    )
    assert not out.exists()
