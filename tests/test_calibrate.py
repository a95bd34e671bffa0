"""``chanmix matrix calibrate`` and :mod:`chanmix.calibration`: Landsat 8/9 MTL files to a mix.

Expected numbers come from the MTL text itself, read with a regex of a few characters (not
chanmix's parser), and the formulas USGS publishes: TOA radiance M * DN + A, TOA reflectance
(M * DN + A) / sin(sun elevation), Level-2 surface reflectance M * DN + A; chanmix reads
x = DN / 65535, so weight 65535 * M and bias A (over the sine for reflectance).
"""

from __future__ import annotations

import doctest
import json
import math
import os
import random
import re
from pathlib import Path

import numpy as np
import pytest

import chanmix.calibration
from chanmix import load_matrix
from chanmix.calibration import CalibrationOptions, calibration_mix
from chanmix.calibration.metadata import MAX_BYTES
from chanmix.errors import ChanmixError, UsageError
from helpers import damaged, error_line, ok

ROOT = Path(__file__).resolve().parent.parent
#: Collection 1 layout (a pre-collection file of 2015): the sample copy of the corpus's MTL.
C1 = ROOT / "sample_images" / "landsat" / "l8_MTL.txt"
#: Collection 2, Level-2 (it holds the Level-1 groups too), as text and as XML.
C2_TXT = ROOT / "tests" / "data" / "mtl" / "LC09_L2SP_029030_20240616_20240617_02_T1_MTL.txt"
C2_XML = C2_TXT.with_suffix(".xml")


def mtl_value(text: str, key: str, group: str | None = None) -> float:
    """The number after ``KEY =`` (ODL) or inside ``<KEY>`` (XML), within `group` if given."""
    if group is not None:
        start = re.search(rf"GROUP = {group}\n|<{group}>", text)
        assert start is not None, group
        text = text[start.end() : re.search(rf"END_GROUP = {group}\n|</{group}>", text).start()]
    found = re.search(rf"^\s*{key}\s*=\s*(\S+)|<{key}>([^<]+)</{key}>", text, re.M)
    assert found is not None, key
    return float(found.group(1) or found.group(2))


def expected(path: Path, bands, prefix: str, group: str | None, sun: bool) -> tuple[np.ndarray, np.ndarray]:
    """The weights (diagonal) and bias the USGS formula gives for `bands`."""
    text = path.read_text()
    mult = np.array([mtl_value(text, f"{prefix}_MULT_BAND_{b}", group) for b in bands])
    add = np.array([mtl_value(text, f"{prefix}_ADD_BAND_{b}", group) for b in bands])
    sine = math.sin(math.radians(mtl_value(text, "SUN_ELEVATION"))) if sun else 1.0
    return np.diag(65535 * mult / sine), add / sine


def test_collection1_toa_reflectance_by_default():
    mix = calibration_mix(C1)
    weights, bias = expected(C1, range(1, 10), "REFLECTANCE", None, sun=True)
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15)
    assert mix.names == tuple(f"B{b}" for b in range(1, 10))
    provenance = dict(mix.provenance)
    assert provenance["landsat_scene_id"] == "LC80200392015216LGN00"
    assert provenance["mtl"] == "l8_MTL.txt" and provenance["spacecraft"] == "LANDSAT_8"
    assert provenance["sun_elevation"] == 64.74360932
    assert provenance["sun_elevation_key"] == "IMAGE_ATTRIBUTES/SUN_ELEVATION"
    assert provenance["mtl_keys"]["B4"] == {
        "RADIOMETRIC_RESCALING/REFLECTANCE_MULT_BAND_4": 2e-05,
        "RADIOMETRIC_RESCALING/REFLECTANCE_ADD_BAND_4": -0.1,
    }


def test_a_dn_becomes_the_reflectance_usgs_defines():
    """One pixel through chanmix.apply: DN 10000 of band 4 -> (2e-5 * 10000 - 0.1) / sin(64.74)."""
    mix = calibration_mix(C1, CalibrationOptions(bands=(4,)))
    out = chanmix.apply(np.full((1, 1, 1), 10000, np.uint16), mix, dtype="float64")
    assert out[0, 0, 0] == pytest.approx(0.1 / math.sin(math.radians(64.74360932)), rel=1e-12)


def test_collection1_radiance_of_every_band():
    mix = calibration_mix(C1, CalibrationOptions(to="radiance"))
    weights, bias = expected(C1, range(1, 12), "RADIANCE", None, sun=False)
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15)
    assert mix.names[-2:] == ("B10", "B11") and "sun_elevation" not in mix.provenance


@pytest.mark.parametrize("path", [C2_TXT, C2_XML], ids=["txt", "xml"])
def test_collection2_level1_reads_its_own_group(path):
    """Collection 2 Level-2 files hold REFLECTANCE_MULT_BAND_n twice (Level-1 2e-05, Level-2
    2.75e-05): level 1 takes LEVEL1_RADIOMETRIC_RESCALING's."""
    mix = calibration_mix(path, CalibrationOptions(bands=(2, 3, 4, 5, 6, 7)))
    weights, bias = expected(path, range(2, 8), "REFLECTANCE", "LEVEL1_RADIOMETRIC_RESCALING", sun=True)
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15)
    assert mix.weights[0, 0] == pytest.approx(65535 * 2e-05 / math.sin(math.radians(64.41443455)))
    provenance = dict(mix.provenance)
    assert provenance["landsat_scene_id"] == "LC90290302024168LGN00"
    assert provenance["landsat_product_id"] == "LC09_L2SP_029030_20240616_20240617_02_T1"
    assert provenance["spacecraft"] == "LANDSAT_9" and provenance["mtl"] == path.name
    assert list(provenance["mtl_keys"]["B2"]) == [
        "LEVEL1_RADIOMETRIC_RESCALING/REFLECTANCE_MULT_BAND_2",
        "LEVEL1_RADIOMETRIC_RESCALING/REFLECTANCE_ADD_BAND_2",
    ]


@pytest.mark.parametrize("path", [C2_TXT, C2_XML], ids=["txt", "xml"])
def test_collection2_level2_surface_reflectance(path):
    mix = calibration_mix(path, CalibrationOptions(level=2))
    weights, bias = expected(path, range(1, 8), "REFLECTANCE", "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", False)
    np.testing.assert_allclose(mix.weights, weights, rtol=1e-15)
    np.testing.assert_allclose(mix.bias, bias, rtol=1e-15)
    np.testing.assert_allclose(np.diag(mix.weights), 65535 * 2.75e-05, rtol=1e-15)  # USGS: 0.0000275, -0.2
    np.testing.assert_allclose(mix.bias, -0.2, rtol=1e-15)
    assert "sun_elevation" not in mix.provenance
    assert "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS/REFLECTANCE_ADD_BAND_7" in mix.provenance["mtl_keys"]["B7"]


@pytest.mark.parametrize(
    "options", [{}, {"to": "radiance"}, {"level": 2}, {"bands": (10, 11), "to": "radiance"}]
)
def test_text_and_xml_give_one_mix(options):
    text, xml = (calibration_mix(p, CalibrationOptions(**options)) for p in (C2_TXT, C2_XML))
    assert text == xml
    assert {**text.provenance, "mtl": ""} == {**xml.provenance, "mtl": ""}


def test_the_fixtures_hold_the_same_keys():
    """The .txt and .xml fixtures say the same thing (independently of chanmix's parsers)."""
    odl = re.findall(r"^\s+(\w+) = \"?([^\"\n]*)\"?$", C2_TXT.read_text(), re.M)
    keys = [(key, value) for key, value in odl if key not in ("GROUP", "END_GROUP")]
    assert keys == re.findall(r"<(\w+)>([^<]*)</\1>", C2_XML.read_text())
    groups = [value for key, value in odl if key == "GROUP"]
    assert groups == re.findall(r"^  <(\w+)>$", C2_XML.read_text(), re.M) and len(keys) > 100


def test_calibrate_command_writes_the_mix(run, tmp_path):
    out = tmp_path / "cal.json"
    result = ok(run("matrix", "calibrate", C1, "--bands", "2-7", "-o", out))
    assert result.output == ""
    mix = load_matrix(out)
    assert mix == calibration_mix(C1, CalibrationOptions(bands=(2, 3, 4, 5, 6, 7)))
    data = json.loads(out.read_text())
    assert data["landsat_scene_id"] == "LC80200392015216LGN00" and data["sun_elevation"] == 64.74360932
    assert list(data["mtl_keys"]) == ["B2", "B3", "B4", "B5", "B6", "B7"]
    assert load_matrix(out).names == ("B2", "B3", "B4", "B5", "B6", "B7")


@pytest.mark.parametrize(
    ("args", "bands"),
    [(["--bands", "2,3,4,5,6,7"], range(2, 8)), (["--bands", "7,2-4"], (7, 2, 3, 4)), ([], range(1, 10))],
)
def test_calibrate_bands(run, tmp_path, args, bands):
    out = tmp_path / "cal.json"
    ok(run("matrix", "calibrate", C2_XML, *args, "-o", out))
    assert load_matrix(out).names == tuple(f"B{b}" for b in bands)


def test_calibrate_radiance_and_level2(run, tmp_path):
    out = tmp_path / "cal.json"
    ok(run("matrix", "calibrate", C2_TXT, "--to", "radiance", "--bands", "10,11", "-o", out))
    weights, bias = expected(C2_TXT, (10, 11), "RADIANCE", "LEVEL1_RADIOMETRIC_RESCALING", sun=False)
    np.testing.assert_allclose(load_matrix(out).weights, weights, rtol=1e-15)
    ok(run("matrix", "calibrate", C2_TXT, "--level", "2", "-o", out))
    assert load_matrix(out).names == tuple(f"B{b}" for b in range(1, 8))


@pytest.mark.parametrize(
    ("path", "args", "message"),
    [
        (
            C1,
            ["--bands", "10"],
            "Error: --bands: band 10 is a thermal band, with radiance coefficients but no",
        ),
        (C1, ["--bands", "2,12"], "Error: --bands: Landsat 8 and 9 have bands 1 to 11, not 12"),
        (C1, ["--bands", "2,2"], "Error: --bands: band 2 is given twice"),
        (C1, ["--bands", "0"], "Error: --bands: 0 is not a band number"),
        (C1, ["--bands", "7-2"], "Error: Invalid value for '--bands': '7-2': a range goes up, as in 2-7"),
        (C1, ["--level", "2"], f"Error: --level: {C1} is a Collection 1 (L1_METADATA_FILE) MTL file, which"),
        (
            C2_XML,
            ["--level", "2", "--bands", "8"],
            "Error: --bands: Level-2 surface reflectance has bands 1 to 7",
        ),
        (C2_XML, ["--level", "2", "--to", "radiance"], "Error: --to: level 2 is surface reflectance"),
        (C2_XML, ["--to", "kelvin"], "Error: Invalid value for '--to'"),
        (C2_XML, ["--level", "3"], "Error: Invalid value for '--level'"),
    ],
)
def test_calibrate_usage_errors(run, tmp_path, path, args, message):
    out = tmp_path / "cal.json"
    assert error_line(run("matrix", "calibrate", path, *args, "-o", out), 2).startswith(message)
    assert not out.exists()


def test_level2_of_a_collection2_level1_file(run, tmp_path):
    text = C2_TXT.read_text()
    start, end = (
        text.index("  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"),
        text.index("  GROUP = LEVEL1_"),
    )
    level1 = tmp_path / "LC09_L1TP_MTL.txt"
    level1.write_text(text[:start] + text[end:])
    assert error_line(run("matrix", "calibrate", level1, "--level", "2", "-o", tmp_path / "c.json"), 2) == (
        f"Error: --level: {level1} has no LEVEL2_SURFACE_REFLECTANCE_PARAMETERS group: it describes a "
        "Level-1 product"
    )
    ok(run("matrix", "calibrate", level1, "-o", tmp_path / "c.json"))  # level 1 is all there


def test_library_errors_name_arguments():
    for kwargs, parameter in [({"to": "kelvin"}, "to"), ({"level": 3}, "level"), ({"bands": (0,)}, "bands")]:
        with pytest.raises(UsageError) as info:
            CalibrationOptions(**kwargs)
        assert info.value.parameter == parameter and str(info.value).startswith(parameter)
    with pytest.raises(UsageError) as info:
        calibration_mix(C1, CalibrationOptions(bands=(11,)))
    assert info.value.parameter == "bands" and "--" not in str(info.value)


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


C1_TEXT = C1.read_text()
C2_XML_TEXT = C2_XML.read_text()

#: Damaged or hostile MTL files: (file name, contents, what the one line of error says).
HOSTILE = {
    "missing key": (
        "a_MTL.txt",
        _edit(C1_TEXT, "    REFLECTANCE_ADD_BAND_4 = -0.100000\n", ""),
        "no REFLECTANCE_ADD_BAND_4 in group RADIOMETRIC_RESCALING",
    ),
    "missing group": (
        "a_MTL.txt",
        re.sub(r"  GROUP = IMAGE_ATTRIBUTES\n.*?END_GROUP = IMAGE_ATTRIBUTES\n", "", C1_TEXT, flags=re.S),
        "no IMAGE_ATTRIBUTES group (looked for SUN_ELEVATION there)",
    ),
    "not a number": (
        "a_MTL.txt",
        _edit(C1_TEXT, "REFLECTANCE_MULT_BAND_2 = 2.0000E-05", "REFLECTANCE_MULT_BAND_2 = two"),
        "REFLECTANCE_MULT_BAND_2 = 'two' in group RADIOMETRIC_RESCALING is not a finite number",
    ),
    "nan": (
        "a_MTL.txt",
        _edit(C1_TEXT, "REFLECTANCE_ADD_BAND_3 = -0.100000", "REFLECTANCE_ADD_BAND_3 = nan"),
        "REFLECTANCE_ADD_BAND_3 = 'nan' in group RADIOMETRIC_RESCALING is not a finite number",
    ),
    "overflow": (
        "a_MTL.txt",
        _edit(C1_TEXT, "REFLECTANCE_MULT_BAND_2 = 2.0000E-05", "REFLECTANCE_MULT_BAND_2 = 1e308"),
        "REFLECTANCE_MULT_BAND_2 = 1e+308 and REFLECTANCE_ADD_BAND_2 = -0.1 overflow",
    ),
    "sun below the horizon": (
        "a_MTL.xml",
        _edit(C2_XML_TEXT, "<SUN_ELEVATION>64.41443455<", "<SUN_ELEVATION>-41.46228969<"),
        "SUN_ELEVATION = -41.4623 in group IMAGE_ATTRIBUTES: with the sun at or below the horizon",
    ),
    "no scene id": (
        "a_MTL.txt",
        _edit(C1_TEXT, '    LANDSAT_SCENE_ID = "LC80200392015216LGN00"\n', ""),
        "no LANDSAT_SCENE_ID in group METADATA_FILE_INFO",
    ),
    "another spacecraft": (
        "a_MTL.txt",
        _edit(C1_TEXT, 'SPACECRAFT_ID = "LANDSAT_8"', 'SPACECRAFT_ID = "LANDSAT_7"'),
        "SPACECRAFT_ID is 'LANDSAT_7'; chanmix calibrates Landsat 8 and 9 (OLI/TIRS)",
    ),
    "not an MTL": (
        "a_MTL.txt",
        "GROUP = SOMETHING\n  A = 1\nEND_GROUP = SOMETHING\nEND\n",
        "not a Landsat MTL",
    ),
    "group not closed": (
        "a_MTL.txt",
        C1_TEXT.replace("END_GROUP = L1_METADATA_FILE\nEND\n", ""),
        "is not closed",
    ),
    "groups crossed": (
        "a_MTL.txt",
        _edit(C1_TEXT, "  END_GROUP = IMAGE_ATTRIBUTES", "  END_GROUP = PRODUCT_METADATA"),
        "line 80: END_GROUP = PRODUCT_METADATA but group IMAGE_ATTRIBUTES is open",
    ),
    "key twice": (
        "a_MTL.txt",
        _edit(
            C1_TEXT, "    SUN_ELEVATION = 64.74360932\n", "    SUN_ELEVATION = 64.7\n    SUN_ELEVATION = 10\n"
        ),
        "line 72: SUN_ELEVATION given twice in group IMAGE_ATTRIBUTES",
    ),
    "not KEY = VALUE": (
        "a_MTL.txt",
        _edit(C1_TEXT, "  GROUP = IMAGE_ATTRIBUTES\n", "  GROUP IMAGE\n"),
        "line 63",
    ),
    "text after END": ("a_MTL.txt", C1_TEXT + "GROUP = X\n", "text after END"),
    "nested too deep": (
        "a_MTL.txt",
        "".join(f"GROUP = G{i}\n" for i in range(50)),
        "line 9: groups nested more than 8 deep",
    ),
    "empty": ("a_MTL.txt", "\n \n", "the file is empty"),
    "binary": ("a_MTL.txt", b"\x00\xff\xfe" * 100, "not a text metadata file (byte 1 is not UTF-8)"),
    "too large": ("a_MTL.txt", C1_TEXT.encode() + b" " * MAX_BYTES, "over 2 MiB"),
    "XML entities": (
        "a_MTL.xml",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<LANDSAT_METADATA_FILE>&b;</LANDSAT_METADATA_FILE>",
        "XML with a document type declaration",
    ),
    "bad XML": ("a_MTL.xml", C2_XML_TEXT[:5000], "not well-formed XML"),
    "other XML": (
        "a_MTL.xml",
        "<svg><g/></svg>",
        "not a Landsat MTL file or Sentinel-2 product metadata (XML root element svg)",
    ),
    "XML key twice": (
        "a_MTL.xml",
        _edit(C2_XML_TEXT, "<SUN_AZIMUTH>", "<SUN_ELEVATION>1</SUN_ELEVATION><SUN_AZIMUTH>"),
        "SUN_ELEVATION given twice in group IMAGE_ATTRIBUTES",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_mtl_files(run, tmp_path, case):
    name, content, message = HOSTILE[case]
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    out = tmp_path / "cal.json"
    line = error_line(run("matrix", "calibrate", path, "-o", out), 1)
    assert line.startswith(f"Error: {path}: ") and message in line, line
    assert not out.exists()


@pytest.mark.parametrize("what", ["missing", "folder", "fifo"])
def test_mtl_that_is_no_file(run, tmp_path, what):
    path = tmp_path / "x_MTL.txt"
    if what == "folder":
        path.mkdir()
    elif what == "fifo":
        os.mkfifo(path)  # opening it would wait for a writer: never opened
    message = {"missing": "no such file", "folder": "(is a folder)", "fifo": "(not a regular file)"}[what]
    assert error_line(run("matrix", "calibrate", path, "-o", tmp_path / "c.json"), 1).endswith(message)


def test_the_output_is_never_the_mtl(run, tmp_path):
    mtl = tmp_path / "x_MTL.txt"
    mtl.write_bytes(C1.read_bytes())
    assert "this run reads that file" in error_line(run("matrix", "calibrate", mtl, "-o", mtl), 2)
    assert mtl.read_bytes() == C1.read_bytes()


def test_mutated_mtl_files_fail_cleanly(tmp_path):
    """Random damage (bytes flipped, lines dropped or repeated, truncation) to every fixture: a
    mix or a ChanmixError, never another exception."""
    rng = random.Random(11)
    seeds = [C1.read_bytes(), C2_TXT.read_bytes(), C2_XML.read_bytes()]
    path = tmp_path / "m_MTL"
    for case in range(300):
        path.write_bytes(damaged(rng.choice(seeds), rng, case % 4))
        options = CalibrationOptions(to=rng.choice(["reflectance", "radiance"]), level=1)
        try:
            calibration_mix(path, options)
        except ChanmixError as exc:
            assert str(path) in str(exc) or exc.parameter is not None, exc
            assert "\n" not in str(exc)


def test_docstring_example(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(chanmix.calibration)
    assert result.failed == 0 and result.attempted >= 1, result


@pytest.mark.parametrize("where", ["group", "end_group", "key"])
def test_a_huge_name_makes_a_short_message(run, tmp_path, where):
    # fuzz seed 6 case 448: a GROUP of 100,000 characters came back whole in the one error line
    name = "A" * 100_000
    text = C2_TXT.read_text()
    if where == "group":
        text = text.replace("GROUP = PRODUCT_CONTENTS", f"GROUP = {name}", 1)
    elif where == "end_group":
        text = text.replace("END_GROUP = PRODUCT_CONTENTS", f"END_GROUP = {name}", 1)
    else:
        text = text.replace(
            "GROUP = PRODUCT_CONTENTS", f"GROUP = PRODUCT_CONTENTS\n    {name} = 1\n    {name} = 2", 1
        )
    mtl = tmp_path / "MTL.txt"
    mtl.write_text(text)
    line = error_line(run("matrix", "calibrate", mtl, "-o", tmp_path / "c.json"), 1)
    assert len(line) < 300 + len(str(mtl)), line[:400]
    assert "(100,000 characters)" in line
    assert not (tmp_path / "c.json").exists()
