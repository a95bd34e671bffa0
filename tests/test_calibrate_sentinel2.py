"""``chanmix matrix calibrate`` on Sentinel-2 product metadata (MTD_MSIL1C.xml, MTD_MSIL2A.xml).

Expected numbers come from the fixtures' text, read with a few regular expressions (not
chanmix's parser), and ESA's formulas: Level-1C TOA reflectance (DN + RADIO_ADD_OFFSET) /
QUANTIFICATION_VALUE, Level-2A BOA reflectance (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE;
chanmix reads x = DN / 65535, so weight 65535 / Q and bias offset / Q. The fixtures (see
tests/data/MANIFEST.md) are two products of one datatake at processing baseline 05.09 (with
offsets) and two of baselines 02.04 and 02.14 (without).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import tifffile

import chanmix
from chanmix import load_matrix
from chanmix.calibration import CalibrationOptions, calibration_mix
from chanmix.calibration.metadata import MAX_BYTES
from chanmix.cli.options import parse_band_numbers
from chanmix.errors import ChanmixError, UsageError
from helpers import damaged, error_line, ok

S2 = Path(__file__).resolve().parent / "data" / "s2"
L1C = S2 / "S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE" / "MTD_MSIL1C.xml"
L2A = S2 / "S2B_MSIL2A_20230823T095559_N0509_R122_T34UCF_20230823T124759.SAFE" / "MTD_MSIL2A.xml"
L1C_OLD = S2 / "S2A_MSIL1C_20151125T163622_N0204_R083_T16SGJ_20151125T163709.SAFE" / "MTD_MSIL1C.xml"
L2A_OLD = S2 / "S2B_MSIL2A_20200510T220919_N0214_R129_T01KCV_20200510T235623.SAFE" / "MTD_MSIL2A.xml"
ALL = [L1C, L2A, L1C_OLD, L2A_OLD]
IDS = ["L1C-05.09", "L2A-05.09", "L1C-02.04", "L2A-02.14"]
#: Where the radiometric keys are (local names below the root element).
IMAGE = "General_Info/Product_Image_Characteristics"
#: Every MSI band, in band id order.
MSI = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")


def independent(path: Path) -> tuple[float, dict[str, float], dict[str, int]]:
    """Q, band name -> offset (absent before baseline 04.00), band name -> band id: by regex."""
    text = path.read_text()
    level2 = "Level-2A_User_Product" in text[:300]
    q_tag, offset_tag = (
        ("BOA_QUANTIFICATION_VALUE", "BOA_ADD_OFFSET")
        if level2
        else (
            "QUANTIFICATION_VALUE",
            "RADIO_ADD_OFFSET",
        )
    )
    q = float(re.search(rf"<{q_tag}[^>]*>([^<]+)</{q_tag}>", text).group(1))
    ids = {name: int(i) for i, name in re.findall(r'bandId="(\d+)" physicalBand="(\w+)"', text)}
    by_id = {int(i): float(v) for i, v in re.findall(rf'<{offset_tag} band_id="(\d+)">([^<]+)<', text)}
    offsets = {name: by_id[i] for name, i in ids.items() if i in by_id}
    return q, offsets, ids


def expected(path: Path, bands) -> tuple[np.ndarray, np.ndarray]:
    """The diagonal weights and the bias ESA's formula gives for `bands` (names)."""
    q, offsets, _ = independent(path)
    return np.diag([65535 / q] * len(bands)), np.array([offsets.get(b, 0.0) / q for b in bands])


def image_bands(path: Path) -> tuple[str, ...]:
    """The bands the product has images of, from its IMAGE_FILE list (B02 -> B2), in MSI order."""
    found = {f"B{n.lstrip('0')}" for n in re.findall(r"_B(\d\d|8A)(?:_\d+m)?</IMAGE_FILE>", path.read_text())}
    return tuple(band for band in MSI if band in found)


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_every_band_of_the_product_by_default(path):
    mix = calibration_mix(path)
    assert mix.names == image_bands(path)  # 13 at Level-1C, no B10 at Level-2A
    weights, bias = expected(path, mix.names)
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15, atol=0)


def test_the_fixtures_are_what_they_claim():
    """Baseline 05.09 has -1000 for all 13 band ids (B10 included at Level-2A), older none; Q is
    10000 everywhere; band ids 0-12 are B1...B8, B8A, B9...B12."""
    for path in ALL:
        q, offsets, ids = independent(path)
        assert q == 10000 and ids == {band: i for i, band in enumerate(MSI)}
        assert offsets == ({band: -1000.0 for band in MSI} if "_N0509_" in str(path) else {})
    assert image_bands(L1C) == MSI and "B10" not in image_bands(L2A)


def test_level1c_with_offsets_provenance():
    mix = calibration_mix(L1C)
    np.testing.assert_array_equal(np.diag(mix.weights), 6.5535)
    np.testing.assert_array_equal(mix.bias, -0.1)
    provenance = dict(mix.provenance)
    assert provenance["name"] == "sentinel2-l1c-toa-reflectance"
    assert provenance["mtd"] == "MTD_MSIL1C.xml" and provenance["spacecraft"] == "Sentinel-2B"
    assert provenance["product_uri"] == "S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE"
    assert provenance["processing_baseline"] == "05.09"
    assert provenance["offsets"] == "Radiometric_Offset_List"
    assert provenance["mtd_keys"]["B8A"] == {
        f"{IMAGE}/QUANTIFICATION_VALUE": 10000.0,
        f"{IMAGE}/Radiometric_Offset_List/RADIO_ADD_OFFSET[@band_id=8]": -1000.0,
    }
    assert list(provenance["mtd_keys"]) == list(MSI)


def test_level1c_before_baseline_4_has_no_offset():
    mix = calibration_mix(L1C_OLD, CalibrationOptions(bands=(2, 3, 4)))
    np.testing.assert_array_equal(mix.bias, 0.0)
    np.testing.assert_array_equal(np.diag(mix.weights), 6.5535)
    provenance = dict(mix.provenance)
    assert provenance["processing_baseline"] == "02.04" and provenance["spacecraft"] == "Sentinel-2A"
    assert provenance["offsets"] == "none before baseline 04.00: offset 0"
    assert provenance["mtd_keys"]["B3"] == {
        "General_Info/Product_Image_Characteristics/QUANTIFICATION_VALUE": 10000.0
    }


@pytest.mark.parametrize("path", [L2A, L2A_OLD], ids=["05.09", "02.14"])
def test_level2a_boa_reflectance(path):
    mix = calibration_mix(path, CalibrationOptions(bands=("B2", "B8A", "B12")))
    weights, bias = expected(path, ("B2", "B8A", "B12"))
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15, atol=0)
    provenance = dict(mix.provenance)
    assert provenance["name"] == "sentinel2-l2a-boa-reflectance" and provenance["mtd"] == "MTD_MSIL2A.xml"
    q_key = f"{IMAGE}/QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE"
    assert provenance["mtd_keys"]["B8A"][q_key] == 10000.0
    if path == L2A:
        key = (
            "General_Info/Product_Image_Characteristics/BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET[@band_id=8]"
        )
        assert provenance["mtd_keys"]["B8A"][key] == -1000.0
    assert calibration_mix(path, CalibrationOptions(level=2)) == calibration_mix(path)


@pytest.mark.parametrize("path", [L1C, L1C_OLD], ids=["05.09", "02.04"])
def test_a_dn_becomes_the_reflectance_esa_defines(path):
    """A synthetic uint16 image of every DN through chanmix.apply: (DN + offset) / Q in float64."""
    q, offsets, _ = independent(path)
    bands = ("B2", "B8A", "B11")
    rng = np.random.default_rng(5)
    dn = rng.integers(0, 65536, size=(64, 96, 3), dtype=np.uint16)
    dn[0, :3] = [0, 1, 65535]
    out = chanmix.apply(dn, calibration_mix(path, CalibrationOptions(bands=bands)), dtype="float64")
    truth = (dn.astype(np.float64) + np.array([offsets.get(b, 0.0) for b in bands])) / q
    np.testing.assert_allclose(out, truth, rtol=0, atol=1e-12)


def test_calibrate_and_apply_through_the_command_line(run, tmp_path):
    """The README's example: calibrate from the MTD file, apply to the stacked band files."""
    dn = np.random.default_rng(2).integers(1, 20000, size=(4, 32, 40), dtype=np.uint16)
    for name, band in zip(("B04", "B03", "B02", "B08"), dn, strict=True):
        tifffile.imwrite(tmp_path / f"T34UCF_{name}.tif", band)
    cal = tmp_path / "s2cal.json"
    ok(run("matrix", "calibrate", L1C, "--bands", "4,3,2,8", "-o", cal))
    data = json.loads(cal.read_text())
    assert data["names"] == ["B4", "B3", "B2", "B8"] and data["processing_baseline"] == "05.09"
    assert data["product_uri"].startswith("S2B_MSIL1C_20230823T095559_N0509")
    bands = [tmp_path / f"T34UCF_{n}.tif" for n in ("B04", "B03", "B02", "B08")]
    out = tmp_path / "toa.tif"
    ok(run("apply", "--stack", *bands, "-m", cal, "--dtype", "float64", "-o", out))
    np.testing.assert_allclose(tifffile.imread(out), np.moveaxis(dn - 1000.0, 0, -1) / 10000, atol=1e-12)


@pytest.mark.parametrize(
    "bands",
    ["B2,B3,B4,B8A", "2-4,8A", "b02,3,B4,8a", "B2, B3, B4, B8A"],
    ids=["names", "range", "mixed", "spaces"],
)
def test_bands_by_number_and_name(run, tmp_path, bands):
    out = tmp_path / "cal.json"
    ok(run("matrix", "calibrate", L2A, "--bands", bands, "-o", out))
    mix = load_matrix(out)
    assert mix.names == ("B2", "B3", "B4", "B8A")
    weights, bias = expected(L2A, mix.names)
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15)


def test_ranges_are_of_numbers_only():
    """8-9 is B8 and B9: B8A is named, never in a range (as --bands on images)."""
    assert calibration_mix(L1C, CalibrationOptions(bands=parse_band_numbers(None, None, "7-9"))).names == (
        "B7",
        "B8",
        "B9",
    )
    assert parse_band_numbers(None, None, "2-4,8A,B11") == (2, 3, 4, "8A", "B11")


def test_band_items_are_kept_canonical():
    assert CalibrationOptions(bands=(2, "B03", " b8a", "12")).bands == (2, 3, "8A", 12)
    with pytest.raises(UsageError, match="band 8A is given twice"):
        CalibrationOptions(bands=("8A", "B8A"))
    with pytest.raises(UsageError, match="expected a sequence of bands"):
        CalibrationOptions(bands="B8A")
    for bad in (0, -1, True, "B0", "B123", "8B", "nir", 2.0):
        with pytest.raises(UsageError) as info:
            CalibrationOptions(bands=(bad,))
        assert info.value.parameter == "bands" and "is not a band number" in str(info.value)


def test_landsat_takes_band_names_too():
    landsat = Path(__file__).resolve().parent.parent / "sample_images" / "landsat" / "l8_MTL.txt"
    assert calibration_mix(landsat, CalibrationOptions(bands=("B2", "b03", 4))) == calibration_mix(
        landsat, CalibrationOptions(bands=(2, 3, 4))
    )
    with pytest.raises(UsageError, match="Landsat 8 and 9 have bands 1 to 11, not 8A"):
        calibration_mix(landsat, CalibrationOptions(bands=("B8A",)))


@pytest.mark.parametrize(
    ("path", "args", "message"),
    [
        (
            L2A,
            ["--level", "1"],
            f"Error: --level: {L2A} describes a Sentinel-2 Level-2A product, of level 2, not 1",
        ),
        (
            L1C,
            ["--level", "2"],
            f"Error: --level: {L1C} describes a Sentinel-2 Level-1C product, of level 1, not 2",
        ),
        (
            L1C,
            ["--to", "radiance"],
            "Error: --to: Sentinel-2 is calibrated to reflectance only (Level-1C radiance",
        ),
        (L2A, ["--to", "radiance"], "Error: --to: Sentinel-2 is calibrated to reflectance only (a Level-2A"),
        (L1C, ["--bands", "2,13"], "Error: --bands: Sentinel-2 has bands 1 to 12 and 8A, not 13"),
        (L1C, ["--bands", "9A"], "Error: --bands: Sentinel-2 has bands 1 to 12 and 8A, not 9A"),
        (L2A, ["--bands", "9-11"], "Error: --bands: Level-2A products have no B10 (the cirrus band"),
        (L1C, ["--bands", "2,B02"], "Error: --bands: band 2 is given twice"),
        (L1C, ["--bands", "8B"], "Error: Invalid value for '--bands': '8B': expected band numbers like 2-7"),
        (L1C, ["--bands", "B2-B4"], "Error: Invalid value for '--bands': 'B2-B4': expected band numbers"),
    ],
)
def test_usage_errors(run, tmp_path, path, args, message):
    out = tmp_path / "cal.json"
    assert error_line(run("matrix", "calibrate", path, *args, "-o", out), 2).startswith(message)
    assert not out.exists()


def test_library_errors_name_arguments():
    for options, parameter in [
        ({"level": 1}, "level"),
        ({"to": "radiance"}, "to"),
        ({"bands": (13,)}, "bands"),
    ]:
        with pytest.raises(UsageError) as info:
            calibration_mix(L2A, CalibrationOptions(**options))
        assert info.value.parameter == parameter and str(info.value).startswith(f"{parameter}: ")
        assert "--" not in str(info.value)


def _edit(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


L1C_TEXT, L2A_TEXT, L1C_OLD_TEXT = L1C.read_text(), L2A.read_text(), L1C_OLD.read_text()
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + ']>\n<n1:Level-1C_User_Product xmlns:n1="x">&lol9;</n1:Level-1C_User_Product>'
)

#: Damaged or hostile MTD files: (file name, contents, what the one line of error says).
HOSTILE = {
    "no QUANTIFICATION_VALUE": (
        "MTD_MSIL1C.xml",
        re.sub(r"\s*<QUANTIFICATION_VALUE [^\n]*", "", L1C_TEXT),
        f"no QUANTIFICATION_VALUE in {IMAGE}",
    ),
    "no BOA_QUANTIFICATION_VALUE": (
        "MTD_MSIL2A.xml",
        re.sub(r"\s*<BOA_QUANTIFICATION_VALUE [^\n]*", "", L2A_TEXT),
        f"no BOA_QUANTIFICATION_VALUE in {IMAGE}/QUANTIFICATION_VALUES_LIST",
    ),
    "QUANTIFICATION_VALUE 0": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, '"none">10000<', '"none">0<'),
        f"QUANTIFICATION_VALUE = 0 in {IMAGE} is not a positive number",
    ),
    "QUANTIFICATION_VALUE not a number": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, '"none">10000<', '"none">1e4x<'),
        f"QUANTIFICATION_VALUE = '1e4x' in {IMAGE} is not a finite number",
    ),
    "QUANTIFICATION_VALUE twice": (
        "MTD_MSIL1C.xml",
        _edit(
            L1C_TEXT,
            "<Radiometric_Offset_List>",
            "<QUANTIFICATION_VALUE>1</QUANTIFICATION_VALUE><Radiometric_Offset_List>",
        ),
        f"QUANTIFICATION_VALUE given twice in {IMAGE}",
    ),
    "no offsets at baseline 05.09": (
        "MTD_MSIL1C.xml",
        re.sub(r"<Radiometric_Offset_List>.*</Radiometric_Offset_List>", "", L1C_TEXT, flags=re.S),
        f"no Radiometric_Offset_List in {IMAGE}, which products of processing baseline 04.00 and later have",
    ),
    "an offset missing": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, '<RADIO_ADD_OFFSET band_id="8">-1000</RADIO_ADD_OFFSET>', ""),
        f"no RADIO_ADD_OFFSET with band_id 8 (B8A) in {IMAGE}/Radiometric_Offset_List",
    ),
    "an offset twice": (
        "MTD_MSIL2A.xml",
        _edit(L2A_TEXT, '<BOA_ADD_OFFSET band_id="9">', '<BOA_ADD_OFFSET band_id="3">'),
        "BOA_ADD_OFFSET with band_id 3 given twice",
    ),
    "an offset not a number": (
        "MTD_MSIL2A.xml",
        _edit(L2A_TEXT, '<BOA_ADD_OFFSET band_id="3">-1000<', '<BOA_ADD_OFFSET band_id="3">inf<'),
        "BOA_ADD_OFFSET[@band_id=3] = 'inf' in",
    ),
    "a band id not a number": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, 'band_id="4"', 'band_id="four"'),
        "band id 'four' in",
    ),
    "no PROCESSING_BASELINE": (
        "MTD_MSIL1C.xml",
        re.sub(r"\s*<PROCESSING_BASELINE>[^\n]*", "", L1C_TEXT),
        "no PROCESSING_BASELINE in General_Info/Product_Info",
    ),
    "a strange baseline": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, ">05.09<", ">latest<"),
        "PROCESSING_BASELINE = 'latest' in General_Info/Product_Info is not a baseline such as 05.09",
    ),
    "no PRODUCT_URI": (
        "MTD_MSIL1C.xml",
        re.sub(r"\s*<PRODUCT_URI>[^\n]*", "", L1C_TEXT),
        "no PRODUCT_URI in General_Info/Product_Info",
    ),
    "no General_Info": (
        "MTD_MSIL1C.xml",
        '<n1:Level-1C_User_Product xmlns:n1="x"><n1:Geometric_Info/></n1:Level-1C_User_Product>',
        "no General_Info in Level-1C_User_Product",
    ),
    "no Spectral_Information_List": (
        "MTD_MSIL1C.xml",
        re.sub(r"<Spectral_Information_List>.*</Spectral_Information_List>", "", L1C_TEXT, flags=re.S),
        f"no Spectral_Information_List in {IMAGE}",
    ),
    "a physical band twice": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, 'physicalBand="B9"', 'physicalBand="B8A"'),
        "band B8A (bandId 9) given twice",
    ),
    "level and root disagree": (
        "MTD_MSIL2A.xml",
        _edit(L2A_TEXT, "<PROCESSING_LEVEL>Level-2A<", "<PROCESSING_LEVEL>Level-1C<"),
        "PROCESSING_LEVEL = 'Level-1C' in General_Info/Product_Info, but the root element says Level-2A",
    ),
    "another spacecraft": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, ">Sentinel-2B<", ">Landsat-9<"),
        "SPACECRAFT_NAME is 'Landsat-9'",
    ),
    "a granule's MTD_TL.xml": (
        "MTD_TL.xml",
        '<?xml version="1.0"?><n1:Level-1C_Tile_ID xmlns:n1="x"><n1:General_Info/></n1:Level-1C_Tile_ID>',
        "the metadata of one granule (MTD_TL.xml); give the product's MTD_MSIL1C.xml or MTD_MSIL2A.xml",
    ),
    "billion laughs": ("MTD_MSIL1C.xml", BILLION_LAUGHS, "XML with a document type declaration"),
    "external entity": (
        "MTD_MSIL1C.xml",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        '<n1:Level-1C_User_Product xmlns:n1="x">&e;</n1:Level-1C_User_Product>',
        "XML with a document type declaration",
    ),
    "too large": (
        "MTD_MSIL1C.xml",
        _edit(L1C_TEXT, "</Product_Info>", "</Product_Info><!--" + "x" * MAX_BYTES + "-->"),
        "over 2 MiB, more than a metadata file holds",
    ),
    "cut short": ("MTD_MSIL2A.xml", L2A_TEXT[: len(L2A_TEXT) // 2], "not well-formed XML"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_mtd_files(run, tmp_path, case):
    name, content, message = HOSTILE[case]
    path = tmp_path / name
    path.write_text(content)
    out = tmp_path / "cal.json"
    line = error_line(run("matrix", "calibrate", path, "-o", out), 1)
    assert line.startswith(f"Error: {path}: ") and message in line, line
    assert not out.exists()


def test_old_products_may_have_offsets_too(tmp_path):
    """Offsets in a file are used whatever its baseline; only their absence depends on it."""
    path = tmp_path / "MTD_MSIL1C.xml"
    path.write_text(
        _edit(
            L1C_OLD_TEXT,
            "<Reflectance_Conversion>",
            '<Radiometric_Offset_List><RADIO_ADD_OFFSET band_id="1">-7</RADIO_ADD_OFFSET>'
            "</Radiometric_Offset_List><Reflectance_Conversion>",
        )
    )
    assert calibration_mix(path, CalibrationOptions(bands=(2,))).bias[0] == -7 / 10000
    with pytest.raises(ChanmixError, match="no RADIO_ADD_OFFSET with band_id 2 \\(B3\\)"):
        calibration_mix(path, CalibrationOptions(bands=(3,)))


def test_mutated_mtd_files_fail_cleanly(tmp_path):
    """Random damage (bytes flipped, lines dropped or repeated, truncation) to every fixture: a
    mix or a ChanmixError, never another exception."""
    rng = random.Random(12)
    seeds = [path.read_bytes() for path in ALL]
    path = tmp_path / "MTD_MSIL1C.xml"
    for case in range(300):
        path.write_bytes(damaged(rng.choice(seeds), rng, case % 4))
        options = CalibrationOptions(bands=rng.choice([None, (2, "8A"), (10,)]))
        try:
            calibration_mix(path, options)
        except ChanmixError as exc:
            assert str(path) in str(exc) or exc.parameter is not None, exc
            assert "\n" not in str(exc)
