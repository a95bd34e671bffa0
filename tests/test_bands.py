"""Band selection by number, range, name and wavelength (``--bands``), and the wavelengths
read from GeoTIFFs written by rasterio (GDAL)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

import helpers
from chanmix.bandspec import BandSpec, Name, Numbers, Wavelength, quote_name, select_bands
from chanmix.errors import UsageError
from chanmix.io import RasterInfo, open_raster
from chanmix.io.geotiff import gdal_metadata_xml
from chanmix.io.raster import whole_image_info
from helpers import error_line, ok

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


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, items",
    [
        ("4,3,2", (Numbers(4, 4), Numbers(3, 3), Numbers(2, 2))),
        (" 4 , 3,2, ", (Numbers(4, 4), Numbers(3, 3), Numbers(2, 2))),  # spaces and empty items
        ("2-7", (Numbers(2, 7),)),
        ("7 - 5", (Numbers(7, 5),)),
        ("1,3,5-7", (Numbers(1, 1), Numbers(3, 3), Numbers(5, 7))),
        ("nir", (Name("nir"),)),
        ("red-edge 1,B8-A", (Name("red-edge 1"), Name("B8-A"))),
        ("865nm", (Wavelength("865nm", 865.0),)),
        ("865 nm", (Wavelength("865 nm", 865.0),)),
        ("865.5NM", (Wavelength("865.5NM", 865.5),)),
        ("0.865um", (Wavelength("0.865um", 865.0),)),
        (".865\u00b5m", (Wavelength(".865\u00b5m", 865.0),)),  # micro sign
        ("0.865\u03bcm", (Wavelength("0.865\u03bcm", 865.0),)),  # Greek mu
        ('"Red, 665nm",4', (Name("Red, 665nm"), Numbers(4, 4))),
        ('"2-7", "865nm"', (Name("2-7"), Name("865nm"))),
        ('"5"" disk"', (Name('5" disk'),)),
        ('5" disk', (Name('5" disk'),)),  # a quote inside an item is a quote
    ],
)
def test_parse(text, items):
    spec = BandSpec.parse(text)
    assert spec.items == items
    assert str(spec) == text.strip()


@pytest.mark.parametrize(
    "text, message",
    [
        ("0", "'0': band numbers start at 1"),
        ("-1", "'-1': band numbers start at 1"),
        ("2,0-3", "'2,0-3': band numbers start at 1"),
        ("", "'': expected band numbers (4,3,2), ranges (2-7), names or wavelengths (865nm)"),
        (" , ", "' , ': expected band numbers (4,3,2), ranges (2-7), names or wavelengths (865nm)"),
        ("0nm", "'0nm': 0nm is not a positive wavelength"),
        ('"nir', '\'"nir\': a quoted name is not closed (a quote inside one is written "")'),
        ('"nir" red', "'\"nir\" red': a quoted name must be a whole item (a comma or the end follows it)"),
        ('""', "'\"\"': a band name cannot be empty"),
    ],
)
def test_parse_errors_name_the_parameter(text, message):
    with pytest.raises(UsageError) as raised:
        BandSpec.parse(text, "target_bands")
    assert str(raised.value) == f"target_bands: {message}" and raised.value.parameter == "target_bands"


ranges = st.tuples(st.integers(1, 40), st.integers(1, 40))


@given(st.lists(ranges, min_size=1, max_size=8), st.sampled_from([",", ", ", " ,"]))
def test_numbers_and_ranges_round_trip(pairs, comma):
    text = comma.join(str(a) if a == b else f"{a}-{b}" for a, b in pairs)
    spec = BandSpec.parse(text)
    assert spec.items == tuple(Numbers(a, b) for a, b in pairs) and str(spec) == text.strip()
    assert BandSpec.parse(str(spec)) == spec
    expected = [b for a, z in pairs for b in (range(a, z + 1) if a <= z else range(a, z - 1, -1))]
    assert spec.resolve(image(40)) == tuple(expected)
    assert select_bands(spec, image(40)) == select_bands(tuple(expected), image(40)) == tuple(expected)


# --- names ---------------------------------------------------------------------------------------


def image(
    bands: int, names: tuple[str, ...] | None = None, wavelengths: tuple[float, ...] | None = None
) -> RasterInfo:
    """The RasterInfo of an image of `bands` bands with these names and wavelengths."""
    pixels = np.zeros((1, 1, bands))
    return whole_image_info("x.tif", "TIFF", pixels, band_names=names, wavelengths=wavelengths)


SENTINEL = image(
    8,
    ("B1", "B2", "B3", "B4", "B5", "B6", "B8", "B8A"),
    (443.0, 490.0, 560.0, 665.0, 705.0, 740.0, 842.0, 865.0),
)


def resolve(text: str, info: RasterInfo = SENTINEL) -> tuple[int, ...]:
    return BandSpec.parse(text).resolve(info)


def refusal(text: str, info: RasterInfo = SENTINEL, parameter: str = "bands") -> str:
    with pytest.raises(UsageError) as raised:
        BandSpec.parse(text, parameter).resolve(info, parameter)
    assert raised.value.parameter == parameter
    return str(raised.value)


def test_names_exactly_then_ignoring_case():
    assert resolve("B8A,B4,B3") == (8, 4, 3)
    assert resolve("b8a, b4 ,b3") == (8, 4, 3)
    assert resolve("B4,4,b4,3-2") == (4, 4, 4, 3, 2)
    info = image(3, ("nir", "NIR", "Nir"))
    assert resolve("NIR", info) == (2,)  # the exact name, although three match ignoring case
    assert refusal("nIr", info) == (
        "bands: nIr matches several bands of x.tif ignoring case (1 nir, 2 NIR, 3 Nir); "
        "give the exact name or a band number"
    )
    assert refusal("red", image(3, ("red", "green", "red"))) == (
        "bands: red names several bands of x.tif (1 red, 3 red); give a band number"
    )


def test_a_missing_name_lists_the_names_in_one_line():
    assert refusal("B7") == (
        "bands: x.tif has no band named B7; its band names: B1, B2, B3, B4, B5, B6, B8, B8A"
    )
    many = image(14, tuple(f"band {b}" for b in range(1, 15)))
    assert refusal("band 15", many) == (
        "bands: x.tif has no band named band 15; its band names: band 1, band 2, band 3, band 4, "
        "band 5, band 6, band 7, band 8, band 9, band 10 and 4 more"
    )
    unnamed = image(3, ("", "2-3", ""))
    assert refusal("nir", unnamed) == 'bands: x.tif has no band named nir; its band names: "2-3"'
    assert refusal("nir", image(3)) == "bands: x.tif names no band, so none is nir; give band numbers"
    assert refusal("nir", image(1, wavelengths=(865.0,)), "target_bands") == (
        "target_bands: x.tif names no band, so none is nir; give band numbers or wavelengths"
    )


def test_names_with_commas_dashes_and_quotes():
    info = image(5, ("Red, 665nm", "2-3", 'a "b"', "865nm", "nir"), (665.0, 700.0, 750.0, 800.0, 865.0))
    assert resolve("Red, 665nm", info) == (1,)  # the whole text, when its items name no band
    assert resolve('"Red, 665nm",2-3', info) == (1, 2, 3)
    assert resolve('"2-3"', info) == (2,)
    assert resolve('a "b","a ""b"""', info) == (3, 3)
    assert resolve("865nm", info) == (4,)  # a name before a wavelength
    assert resolve("0.865um", info) == (5,)
    assert resolve("nir, 665nm", info) == (5, 1)  # item by item: "nir, 665nm" names no band


#: Names made of these look like numbers, ranges, wavelengths, quoted names and lists.
NAME_CHARACTERS = 'ab B,-"1 .nm\u00b5'


names = st.lists(st.text(st.sampled_from(NAME_CHARACTERS), min_size=1, max_size=6), min_size=1, max_size=6)


@settings(max_examples=60)
@given(names.filter(lambda n: len(set(n)) == len(n)), st.data())
def test_any_name_written_by_quote_name_selects_its_band(names, data):
    chosen = data.draw(st.lists(st.integers(0, len(names) - 1), min_size=1, max_size=5))
    text = ",".join(quote_name(names[b]) for b in chosen)
    assert resolve(text, image(len(names), tuple(names))) == tuple(b + 1 for b in chosen)


# --- wavelengths ---------------------------------------------------------------------------------


def test_the_band_of_the_nearest_wavelength():
    assert resolve("865nm,665nm,560nm") == (8, 4, 3)
    assert resolve("0.865um, 0.665\u00b5m,0.56\u03bcm") == (8, 4, 3)
    assert resolve("850 nm") == (7,)  # 842 is 8 nm away, 865 15 nm
    assert resolve("880nm,400nm") == (8, 1)  # beyond the ends, within the edge bands' reach
    assert resolve("B8A,865nm,8") == (8, 8, 8)


def test_equally_near_bands_are_refused():
    assert refusal("853.5nm") == (
        "bands: 853.5nm is as near to band 7 (842nm) as to band 8 (865nm) of x.tif; give a band number"
    )
    assert refusal("0.8535um") == (
        "bands: 0.8535um is as near to band 7 (842nm) as to band 8 (865nm) of x.tif; give a band number"
    )
    twice = image(2, wavelengths=(865.0, 865.0))
    assert refusal("865nm", twice).startswith("bands: 865nm is as near to band 1 (865nm) as to band 2")


def test_bands_without_a_wavelength_are_skipped():
    info = image(3, wavelengths=(math.nan, 560.0, math.nan))
    assert resolve("865nm,400nm", info) == (2, 2)


def test_an_image_without_wavelengths_is_refused():
    message = "records no wavelengths; give band numbers or names"
    assert refusal("865nm", image(3)) == f"bands: x.tif {message}"
    assert refusal("865nm", image(2, ("B1", "B2"), (math.nan, math.nan))) == f"bands: x.tif {message}"
    assert refusal("3,0.865um", image(3), "target_bands") == f"target_bands: x.tif {message}"


def test_python_callers_give_band_numbers_or_nothing():
    assert select_bands((3, 1, 1), SENTINEL) == (3, 1, 1)
    assert select_bands(None, SENTINEL) is None


# --- the command line ----------------------------------------------------------------------------


def test_info_lists_wavelengths_as_bands_takes_them(run, tmp_path):
    tags = [
        {},
        {"wavelength": "0.56", "wavelength_units": "um"},
        {"wavelength": "865.5", "wavelength_units": "nm"},
    ]
    path = geotiff(tmp_path / "w.tif", tags=tags, names=("blue", "green", ""))
    rows = [row.split() for row in ok(run("info", path)).output.splitlines()[-4:]]
    assert rows[0] == ["band", "name", "wavelength", "min", "max", "mean", "std", "valid"]
    assert rows[1][:3] == ["1", "blue", "-"] and rows[2][:3] == ["2", "green", "560nm"]
    assert rows[3][:2] == ["3", "865.5nm"]  # no name
    stats = json.loads(ok(run("info", path, "--json")).output)["band_stats"]
    assert [s["wavelength_nm"] for s in stats] == [None, 560.0, 865.5]
    plain = ok(run("info", geotiff(tmp_path / "plain.tif"))).output.splitlines()[-4]
    assert plain.split() == ["band", "name", "min", "max", "mean", "std", "valid"]


def test_the_multispectral_sample_records_names_and_wavelengths_as_gdal_does(samples):
    import rasterio

    truth = json.loads((samples / "multispectral_truth.json").read_text(encoding="utf-8"))
    with rasterio.open(samples / "multispectral.tif") as src:
        assert list(src.descriptions) == truth["band_names"]
        tags = [src.tags(b) for b in src.indexes]
    assert [float(t["wavelength"]) for t in tags] == truth["wavelengths_nm"]
    assert {t["wavelength_units"] for t in tags} == {"nm"}
    with open_raster(samples / "multispectral.tif") as reader:
        assert reader.info.band_names == tuple(truth["band_names"])
        assert reader.info.wavelengths == tuple(truth["wavelengths_nm"])


IDENTITY3 = "1,0,0;0,1,0;0,0,1"


@pytest.mark.parametrize(
    "bands",
    [
        "B8,B4,B3",
        "b8, b4, B3",
        "842nm,665nm,560nm",
        "0.842um,0.665\u00b5m,0.56\u03bcm",
        "850 nm,660nm,0.55um",  # the nearest bands
        "7,4-3",
        "B8,665nm,3",
    ],
)
def test_apply_each_form_gives_the_bytes_of_band_numbers(run, samples, tmp_path, bands):
    sample = samples / "multispectral.tif"
    args = ("-c", IDENTITY3, "--dtype", "uint8", "--rescale", "percentile")
    ok(run("apply", sample, "--bands", "7,4,3", *args, "-o", tmp_path / "numbers.png"))
    ok(run("apply", sample, "--bands", bands, *args, "-o", tmp_path / "named.png"))
    assert (tmp_path / "named.png").read_bytes() == (tmp_path / "numbers.png").read_bytes()


def test_a_descending_range_is_its_numbers_in_that_order(run, samples, tmp_path):
    sample = samples / "multispectral.tif"
    ok(run("apply", sample, "--bands", "8,7,6", "-p", "invert", "-o", tmp_path / "numbers.tif"))
    ok(run("apply", sample, "--bands", "8-6", "-p", "invert", "-o", tmp_path / "range.tif"))
    assert (tmp_path / "range.tif").read_bytes() == (tmp_path / "numbers.tif").read_bytes()


def test_fit_by_names_and_wavelengths_writes_the_matrix_of_band_numbers(run, samples, tmp_path):
    sample = samples / "multispectral.tif"
    ok(run("fit", "pca", sample, "-k", "2", "--bands", "2-4,8", "-o", tmp_path / "numbers.json"))
    ok(run("fit", "pca", sample, "-k", "2", "--bands", "B2,490nm,B3,B4,B8A", "-o", tmp_path / "named.json"))
    ok(run("fit", "pca", sample, "-k", "2", "--bands", "2,2,3,4,8", "-o", tmp_path / "again.json"))
    assert (tmp_path / "named.json").read_bytes() == (tmp_path / "again.json").read_bytes()
    assert json.loads((tmp_path / "named.json").read_text())["fitted_on"]["bands"] == [2, 2, 3, 4, 8]
    assert json.loads((tmp_path / "numbers.json").read_text())["fitted_on"]["bands"] == [2, 3, 4, 8]
    lstsq = ("fit", "lstsq", sample, "--bands", "1-3", "--target", sample)
    ok(run(*lstsq, "--target-bands", "8,7", "-o", tmp_path / "target-numbers.json"))
    ok(run(*lstsq, "--target-bands", "B8A,0.842um", "-o", tmp_path / "target-named.json"))
    assert (tmp_path / "target-named.json").read_bytes() == (tmp_path / "target-numbers.json").read_bytes()


def test_apply_pca_fits_on_the_bands_chosen_by_name(run, samples, tmp_path):
    for name, bands in (("numbers", "2-4"), ("named", "B2,b3,665nm")):
        matrix, out = tmp_path / f"{name}.json", tmp_path / f"{name}.tif"
        pca = ("--pca", "2", "--dtype", "float32", "-q", "--save-matrix", matrix, "-o", out)
        ok(run("apply", samples / "multispectral.tif", "--bands", bands, *pca))
    for ext in ("json", "tif"):
        assert (tmp_path / f"named.{ext}").read_bytes() == (tmp_path / f"numbers.{ext}").read_bytes()


def test_each_input_resolves_names_by_its_own_bands(run, tmp_path):
    """Two files holding the same bands in different orders: names pick the same data."""
    names = ("blue", "green", "nir")
    first = geotiff(tmp_path / "first.tif", names=names)
    pixels = helpers.gdal_pixels(first)
    second = tmp_path / "second.tif"
    tifffile.imwrite(
        second,
        pixels[:, :, ::-1],
        photometric="minisblack",
        planarconfig="contig",
        extratags=[(42112, "s", 0, gdal_metadata_xml(None, names[::-1]), True)],
    )
    out = tmp_path / "out"
    ok(run("apply", first, second, "--bands", "nir,green", "-c", "1,0;0,1", "-O", out))
    expected = pixels[:, :, [2, 1]]
    np.testing.assert_array_equal(tifffile.imread(out / "first.tif"), expected)
    np.testing.assert_array_equal(tifffile.imread(out / "second.tif"), expected)
    ok(run("fit", "pca", first, second, "-k", "1", "--bands", "NIR,green", "-o", tmp_path / "pca.json"))
    fitted = json.loads((tmp_path / "pca.json").read_text())["fitted_on"]
    assert fitted["bands"] == [[3, 2], [1, 2]]  # one list per input, as they differ


def test_refusals_exit_2_in_one_line(run, samples, tmp_path):
    sample, photo = samples / "multispectral.tif", samples / "astronaut.png"
    out = tmp_path / "o.tif"
    apply = ("-p", "sepia", "-o", out)
    assert error_line(run("apply", photo, "--bands", "865nm", *apply), 2) == (
        f"Error: --bands: {photo} records no wavelengths; give band numbers or names"
    )
    assert error_line(run("apply", sample, "--bands", "nir,B4,B3", *apply), 2) == (
        f"Error: --bands: {sample} has no band named nir; its band names: B1, B2, B3, B4, B5, B6, B8, B8A"
    )
    assert error_line(run("apply", sample, "--bands", "B8,853.5nm,B3", *apply), 2) == (
        "Error: --bands: 853.5nm is as near to band 7 (842nm) as to band 8 (865nm) of "
        f"{sample}; give a band number"
    )
    assert error_line(run("apply", sample, "--bands", '"B8', *apply), 2) == (
        "Error: Invalid value for '--bands': '\"B8': a quoted name is not closed "
        '(a quote inside one is written "")'
    )
    lstsq = ("fit", "lstsq", photo, "--target", photo, "--target-bands", "0.865um", "-o", tmp_path / "m.json")
    assert error_line(run(*lstsq), 2) == (
        f"Error: --target-bands: {photo} records no wavelengths; give band numbers or names"
    )
    assert not out.exists() and not (tmp_path / "m.json").exists()


def test_items_of_no_band_are_ignored(tmp_path):
    """A sample attribute that is not a band number (a superscript two is a digit to Python,
    not to int()) or is past the last band: the item is skipped, not the file."""
    items = [
        '<Item name="DESCRIPTION" sample="\u00b2">x</Item>',
        '<Item name="wavelength" sample="\u00b2">500</Item>',
        '<Item name="wavelength_units" sample="\u00b2">nm</Item>',
        '<Item name="DESCRIPTION" sample="1">nir</Item><Item name="DESCRIPTION" sample="2">past</Item>',
        '<Item name="CENTRAL_WAVELENGTH_UM" sample="1" domain="IMAGERY">0.865</Item>',
        '<Item name="CENTRAL_WAVELENGTH_UM" sample="7">0.5</Item>',
    ]
    xml = ("<GDALMetadata>" + "".join(items) + "</GDALMetadata>").encode("utf-8")
    path = tmp_path / "odd.tif"
    pixels = np.zeros((4, 4, 2), np.uint8)
    tags = [(42112, "s", 0, xml, True)]
    tifffile.imwrite(path, pixels, photometric="minisblack", planarconfig="contig", extratags=tags)
    with open_raster(path) as reader:
        assert reader.info.band_names == ("", "nir")
        assert same(reader.info.wavelengths, (math.nan, 865.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "400nm",
            "400nm is beyond the wavelengths of x.tif (490nm to 865nm): "
            "the nearest, band 1 (490nm), is 90nm away",
        ),
        (
            "2000nm",
            "2000nm is beyond the wavelengths of x.tif (490nm to 865nm): "
            "the nearest, band 3 (865nm), is 1135nm away",
        ),
    ],
)
def test_a_wavelength_beyond_the_outermost_bands_is_refused(text, expected):
    info = image(3, wavelengths=(490.0, 560.0, 865.0))
    with pytest.raises(UsageError) as caught:
        resolve(text, info)
    assert str(caught.value) == f"bands: {expected}"


def test_a_wavelength_just_beyond_an_edge_band_is_its_band():
    info = image(3, wavelengths=(490.0, 560.0, 865.0))
    assert resolve("420nm", info) == (1,)  # 70nm below 490nm: within the 70nm to 560nm
    assert resolve("1100nm", info) == (3,)  # within the 305nm to 560nm
    assert resolve("700nm", info) == (2,)  # between bands: always the nearest


def test_an_edge_band_reaches_as_far_as_its_fwhm():
    info = dataclasses.replace(image(2, wavelengths=(490.0, 500.0)), fwhm=(60.0, 60.0))
    assert resolve("550nm", info) == (2,)  # 50nm beyond, within the 60nm FWHM
    with pytest.raises(UsageError, match="beyond the wavelengths"):
        resolve("570nm", info)


def test_a_lone_band_of_unknown_width_is_any_wavelength():
    assert resolve("2000nm", image(1, wavelengths=(865.0,))) == (1,)
