"""ENVI rasters and Landsat MTL files for the fuzz harness (bench/fuzz.py): seeds and mutations.

An ENVI seed is a pair: a text header (its :class:`~fuzz_inputs.Seed` ``data``) and a raw data
file (its ``companion``). :func:`mutate_envi` lies in the header (keys changed, removed or
repeated; sizes, offset, data type, interleave and byte order that lie; huge, negative and
non-numeric numbers; unbalanced braces; long lists; binary garbage; a header over 1 MiB;
wavelength lists of the wrong length; map info with zero, NaN or huge pixel sizes) or in the
data file (truncated, extended, emptied, missing). MTL seeds are the Landsat metadata files of
sample_images/ and tests/data/mtl/, mutated as ODL text or XML (:data:`MTL_AWARE`).
"""

from __future__ import annotations

import random
import re

import numpy as np

#: (name of the data file, name of the header, interleave, data type, byte order, offset,
#:  bands, extra header lines)
_ENVI_SEEDS = (
    ("rgb.img", "rgb.hdr", "bsq", 1, 0, 0, 3, "wl"),
    ("cube.bil", "cube.bil.hdr", "bil", 2, 1, 64, 3, "nodata"),
    ("cube.bip", "cube.hdr", "bip", 4, 0, 0, 4, "wl fwhm map"),
    ("u16.img", "u16.img.hdr", "bsq", 12, 0, 0, 5, "names map"),
    ("i64.dat", "i64.hdr", "bil", 14, 0, 16, 2, "wl"),
    ("u64.raw", "u64.hdr", "bip", 15, 1, 0, 3, "nodata"),
    ("f64.img", "f64.hdr", "bsq", 5, 1, 0, 2, "map"),
    ("u32.bsq", "u32.hdr", "bsq", 13, 0, 0, 3, "wl"),
)
_TYPES = {1: "u1", 2: "i2", 3: "i4", 4: "f4", 5: "f8", 12: "u2", 13: "u4", 14: "i8", 15: "u8"}
_MAP = "map info = {UTM, 1, 1, 500000.0, 5000000.0, 10.0, 10.0, 32, North, WGS-84, units=Meters}"


def envi_header(
    samples: int, lines: int, bands: int, dtype: int, interleave: str, order: int, offset: int, extra: str
) -> str:
    text = [
        "ENVI",
        "description = {chanmix fuzz seed}",
        f"samples = {samples}",
        f"lines = {lines}",
        f"bands = {bands}",
        f"header offset = {offset}",
        "file type = ENVI Standard",
        f"data type = {dtype}",
        f"interleave = {interleave}",
        f"byte order = {order}",
    ]
    if "wl" in extra:
        text.append("wavelength units = Nanometers")
        text.append("wavelength = {" + ", ".join(f"{450 + 40 * b:.1f}" for b in range(bands)) + "}")
    if "fwhm" in extra:
        text.append("fwhm = {" + ", ".join("10.0" for _ in range(bands)) + "}")
    if "names" in extra:
        text.append("band names = {" + ", ".join(f"band {b + 1}" for b in range(bands)) + "}")
    if "map" in extra:
        text.append(_MAP)
    if "nodata" in extra:
        text.append("data ignore value = 0")
    return "\n".join(text) + "\n"


def envi_seeds() -> list[tuple[str, str, bytes, bytes, int]]:
    """(data name, header name, header bytes, data bytes, bands) of each generated ENVI seed."""
    out = []
    for data_name, hdr_name, interleave, code, order, offset, bands, extra in _ENVI_SEEDS:
        lines, samples = 6, 7
        y, x, b = np.mgrid[0:lines, 0:samples, 0:bands]
        values = (x * 7 + y * 13 + b * 61) % 251
        dtype = np.dtype(_TYPES[code]).newbyteorder(">" if order else "<")
        cube = values.astype(dtype)  # (lines, samples, bands): bip
        if interleave == "bsq":
            cube = np.moveaxis(cube, 2, 0)
        elif interleave == "bil":
            cube = np.moveaxis(cube, 2, 1)
        raw = b"\xa5" * offset + np.ascontiguousarray(cube).tobytes()
        header = envi_header(samples, lines, bands, code, interleave, order, offset, extra)
        out.append((data_name, hdr_name, header.encode(), raw, bands))
    return out


# ---------------------------------------------------------------------------- ENVI header

_KEYS = (
    "samples",
    "lines",
    "bands",
    "header offset",
    "data type",
    "interleave",
    "byte order",
    "file type",
    "wavelength",
    "fwhm",
    "band names",
    "map info",
    "data ignore value",
    "description",
    "wavelength units",
    "coordinate system string",
)
_VALUES = {
    "samples": ("0", "1", "-1", "7", "8", "6", "100000", "2147483647", "2147483648", "1e3", "7.5", "x", ""),
    "lines": ("0", "1", "-1", "5", "7", "65536", "2147483647", "99999999999999999999", "six", "6 6"),
    "bands": ("0", "1", "-3", "2", "300", "2147483647", "4294967296", "3.0", "{3}", "+3"),
    "header offset": ("0", "1", "-1", "-64", "63", "65", "1000000", "9223372036854775807", "1e9", "x"),
    "data type": (
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "99",
        "-2",
        "4.0",
        "byte",
    ),
    "interleave": ("bsq", "bil", "bip", "BSQ", "bxx", "", "b s q", "{bil}"),
    "byte order": ("0", "1", "2", "-1", "big", "", "01"),
    "file type": ("ENVI Standard", "ENVI Meta File", "ENVI Spectral Library", "TIFF", ""),
    "data ignore value": (
        "0",
        "-9999",
        "nan",
        "NaN",
        "inf",
        "1e400",
        "-1e400",
        "x",
        "",
        "1e308",
        "{0}",
        "255.5",
    ),
}
_HUGE_LIST = ("1e308", "nan", "-inf", "0", "-1", "x", "", "1e400", "450,", "{")


def _fields(text: str) -> list[str]:
    lines = text.split("\n")
    if not lines or not lines[0].startswith("ENVI"):
        raise ValueError("not an ENVI header")
    return lines


def _set(lines: list[str], key: str, value: str) -> list[str]:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.IGNORECASE)
    hits = [i for i, line in enumerate(lines) if pattern.match(line)]
    new = f"{key} = {value}"
    if hits:
        lines[hits[-1]] = new
    else:
        lines.insert(1 + (len(lines) > 1), new)
    return lines


def _value(text: str, key: str) -> str | None:
    m = re.search(rf"^\s*{re.escape(key)}\s*=\s*(.*)$", text, re.IGNORECASE | re.MULTILINE)
    return m.group(1).strip() if m else None


def _int(text: str, key: str, default: int) -> int:
    try:
        return int(_value(text, key) or default)
    except ValueError:
        return default


def envi_lie(data: bytes, rng: random.Random) -> bytes:
    """A layout key (sizes, offset, data type, interleave, byte order, ignore value) that lies."""
    text = data.decode("utf-8", "replace")
    lines = _fields(text)
    key = rng.choice(sorted(_VALUES))
    return "\n".join(_set(lines, key, rng.choice(_VALUES[key]))).encode()


def envi_keys(data: bytes, rng: random.Random) -> bytes:
    """A key removed, repeated with another value, renamed, spaced oddly or upper-cased."""
    lines = _fields(data.decode("utf-8", "replace"))
    body = [i for i, line in enumerate(lines) if "=" in line]
    i = rng.choice(body)
    what = rng.randrange(5)
    if what == 0:
        del lines[i]
    elif what == 1:
        key = lines[i].split("=", 1)[0].strip()
        lines.insert(rng.randrange(1, len(lines) + 1), f"{key} = {rng.choice(_VALUES.get(key, ('1', 'x')))}")
    elif what == 2:
        lines[i] = lines[i].upper() if rng.random() < 0.5 else "  " + lines[i].replace(" ", "   ")
    elif what == 3:
        lines[i] = lines[i].replace("=", rng.choice(("", "==", ":", "= =")), 1)
    else:
        lines.insert(i, rng.choice(("; a comment = 3", "=", "= 5", "samples", "ENVI", "bands =")))
    return "\n".join(lines).encode()


def envi_numbers(data: bytes, rng: random.Random) -> bytes:
    """Huge, negative, non-numeric or non-finite numbers in any numeric key, lists included."""
    text = data.decode("utf-8", "replace")
    lines = _fields(text)
    key = rng.choice(
        ("samples", "lines", "bands", "header offset", "data type", "byte order", "data ignore value")
    )
    value = rng.choice(
        ("9" * 400, "-" + "9" * 30, "1e999", "-0", "0x10", "１", "nan", "inf", "1_0", "\x00", "3 # x", "3;")
    )
    return "\n".join(_set(lines, key, value)).encode()


def envi_lists(data: bytes, rng: random.Random) -> bytes:
    """Wavelength, FWHM and band name lists of the wrong length, very long, or with odd values."""
    text = data.decode("utf-8", "replace")
    lines = _fields(text)
    bands = _int(text, "bands", 3)
    key = rng.choice(("wavelength", "fwhm", "band names", "wavelength units"))
    if key == "wavelength units":
        value = rng.choice(("Micrometers", "nm", "Unknown", "Index", "GHz", "", "{"))
        return "\n".join(_set(lines, key, value)).encode()
    n = rng.choice((0, 1, bands - 1, bands + 1, bands * 2, 100_000, 1_000_000))
    if key == "band names":
        items = [rng.choice(("b", "", "}", "{", "x" * 1000, "\u00e9", ",")) for _ in range(min(n, 200_000))]
    else:
        items = [
            rng.choice(_HUGE_LIST) if rng.random() < 0.3 else f"{400 + i}" for i in range(min(n, 200_000))
        ]
    return "\n".join(_set(lines, key, "{" + ", ".join(items) + "}")).encode()


def envi_map(data: bytes, rng: random.Random) -> bytes:
    """map info with zero, negative, NaN or huge pixel sizes, too few fields, odd projections,
    and coordinate system strings that are not WKT."""
    lines = _fields(data.decode("utf-8", "replace"))
    if rng.random() < 0.2:
        wkt = rng.choice(("{garbage}", "{PROJCS[" * 2000 + "}", "{" + "x" * 100_000 + "}", "{}"))
        return "\n".join(_set(lines, "coordinate system string", wkt)).encode()
    size = rng.choice(("0", "0.0", "-10", "nan", "NaN", "inf", "1e308", "1e-320", "x", ""))
    fields = ["UTM", "1", "1", "500000.0", "5000000.0", "10.0", "10.0", "32", "North", "WGS-84"]
    what = rng.randrange(5)
    if what == 0:
        fields[5] = size
    elif what == 1:
        fields[6] = size
    elif what == 2:
        fields[rng.randrange(1, 5)] = rng.choice(("nan", "1e308", "-1e308", "x", "", "0"))
    elif what == 3:
        fields = fields[: rng.randrange(len(fields))]
    else:
        fields[0] = rng.choice(("Geographic Lat/Lon", "Arbitrary", "State Plane (NAD 83)", "", "UTM"))
        fields[7] = rng.choice(("0", "61", "-1", "x", "1e9"))
        fields.append(rng.choice(("rotation=45", "rotation=nan", "units=Feet", "units=Furlongs")))
    return "\n".join(_set(lines, "map info", "{" + ", ".join(fields) + "}")).encode()


def envi_text(data: bytes, rng: random.Random) -> bytes:
    """Unbalanced braces, binary garbage, a header over 1 MiB, odd line ends and encodings."""
    text = data.decode("utf-8", "replace")
    what = rng.randrange(7)
    if what == 0:
        return text.replace("}", "", 1).encode()
    if what == 1:
        return text.replace("{", "", 1).encode()
    if what == 2:
        i = rng.randrange(len(data) + 1)
        return data[:i] + rng.randbytes(rng.choice((1, 16, 256))) + data[i:]
    if what == 3:
        return data + b"\n; padding\n" + b"x" * ((1 << 20) + rng.choice((-200, 0, 1, 4096)))
    if what == 4:
        return text.replace("\n", rng.choice(("\r\n", "\r", "\n\n", "\x00\n"))).encode()
    if what == 5:
        return rng.choice(
            (b"\xef\xbb\xbf" + data, text.encode("utf-16"), b"ENVI", b"ENVI\n", b"", b"envi\n" + data[5:])
        )
    return data + b"\ndescription = {" + b"unterminated " * rng.choice((1, 1000, 100_000))


ENVI_HEADER = {
    "envi-lie": envi_lie,
    "envi-keys": envi_keys,
    "envi-numbers": envi_numbers,
    "envi-lists": envi_lists,
    "envi-map": envi_map,
    "envi-text": envi_text,
}


def envi_data(data: bytes | None, rng: random.Random) -> tuple[str, bytes | None]:
    """The data file truncated, extended, emptied or missing (None)."""
    assert data is not None
    what = rng.randrange(5) if data else rng.choice((1, 3))  # an emptied file: extend or drop
    if what == 0:
        return "data-truncate", data[: rng.randrange(len(data))]
    if what == 1:
        return "data-extend", data + rng.randbytes(rng.choice((1, 7, 100, 4096)))
    if what == 2:
        return "data-empty", b""
    if what == 3:
        return "data-missing", None
    out = bytearray(data)
    for _ in range(rng.choice((1, 8, 64))):
        out[rng.randrange(len(out))] = rng.choice((0x00, 0x7F, 0x80, 0xFF))
    return "data-bytes", bytes(out)


# ---------------------------------------------------------------------------- MTL

_MTL_VALUES = (
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e400",
    "NaN",
    "Infinity",
    "-0.0",
    '""',
    '"text"',
    "x",
    "",
    "90.0",
    "-90.0",
    "0.0",
    "1e-320",
    "9" * 400,
    "2.0000E-05",
    "1,5",
)


def mtl_odl(data: bytes, rng: random.Random) -> bytes:
    """ODL text: a value changed (sun elevation, rescaling factors), a key or group removed or
    repeated, END_GROUP or END lost, groups nested thousands deep, huge lines."""
    lines = data.decode("utf-8", "replace").split("\n")
    if not any("GROUP" in line for line in lines):
        raise ValueError("not ODL")
    keyed = [i for i, line in enumerate(lines) if "=" in line and "GROUP" not in line]
    wanted = [i for i in keyed if re.search(r"SUN_ELEVATION|_MULT_|_ADD_|K[12]_CONST", lines[i])]
    what = rng.randrange(6)
    if what == 0:
        i = rng.choice(wanted if wanted and rng.random() < 0.8 else keyed)
        lines[i] = lines[i].split("=", 1)[0] + "= " + rng.choice(_MTL_VALUES)
    elif what == 1:
        i = rng.choice(wanted or keyed)
        if rng.random() < 0.5:
            del lines[i]
        else:
            lines.insert(i, lines[i].split("=", 1)[0] + "= " + rng.choice(_MTL_VALUES))
    elif what == 2:
        ends = [i for i, line in enumerate(lines) if line.strip().startswith(("END_GROUP", "END"))]
        del lines[rng.choice(ends)]
    elif what == 3:
        depth = rng.choice((100, 10_000, 100_000))
        at = rng.randrange(1, len(lines))
        lines[at:at] = ["GROUP = G"] * depth + ["X = 1"] + ["END_GROUP = G"] * depth * rng.choice((0, 1))
    elif what == 4:
        groups = [i for i, line in enumerate(lines) if line.strip().startswith("GROUP")]
        i = rng.choice(groups)
        lines[i] = rng.choice(
            ("GROUP =", "GROUP = ", "GROUP = " + "A" * 100_000, "GROUP = LANDSAT_METADATA_FILE")
        )
    else:
        i = rng.choice(keyed)
        lines[i] = rng.choice(
            (
                lines[i].split("=", 1)[0] + '= "unterminated',
                lines[i] + " = 5",
                lines[i].replace("=", "", 1),
                lines[i] + "x" * 1_000_000,
                "= 1",
            )
        )
    return "\n".join(lines).encode()


def mtl_xml(data: bytes, rng: random.Random) -> bytes:
    """XML: an element's text changed, an element removed, repeated or left open, entities and
    a document type declaration, deep nesting, odd encodings."""
    text = data.decode("utf-8", "replace")
    if "<" not in text:
        raise ValueError("not XML")
    elements = list(re.finditer(r"<(\w+)>([^<]*)</\1>", text))
    wanted = [m for m in elements if re.search(r"SUN_ELEVATION|_MULT_|_ADD_|K[12]_CONST", m.group(1))]
    what = rng.randrange(6)
    if what == 0 and elements:
        m = rng.choice(wanted if wanted and rng.random() < 0.8 else elements)
        value = rng.choice(_MTL_VALUES + ("&amp;", "&lt;1", "&#0;", "&bogus;", "<![CDATA[1]]>"))
        return (text[: m.start(2)] + value + text[m.end(2) :]).encode()
    if what == 1 and elements:
        m = rng.choice(wanted or elements)
        if rng.random() < 0.5:
            return (text[: m.start()] + text[m.end() :]).encode()
        return (text[: m.start()] + m.group(0) * rng.choice((2, 1000)) + text[m.start() :]).encode()
    if what == 2:
        closers = list(re.finditer(r"</\w+>", text))
        m = rng.choice(closers)
        return (text[: m.start()] + text[m.end() :]).encode()
    if what == 3:
        doctype = rng.choice(
            (
                '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
                '<!DOCTYPE x SYSTEM "file:///etc/passwd">',
                "<!DOCTYPE x>",
            )
        )
        body = text.split("?>", 1)[-1] if text.startswith("<?xml") else text
        return (doctype + body).encode()
    if what == 4:
        depth = rng.choice((100, 10_000, 200_000))
        at = text.find(">", text.find("<LANDSAT") if "<LANDSAT" in text else 0) + 1
        return (text[:at] + "<G>" * depth + "1" + "</G>" * depth + text[at:]).encode()
    return rng.choice(
        (
            text.encode("utf-16"),
            text.replace('encoding="UTF-8"', 'encoding="latin-1"').encode("latin-1", "replace"),
            text.encode() + b"<trailing/>",
            text.encode().replace(b"LANDSAT_METADATA_FILE", b"OTHER", 1),
            b"\xef\xbb\xbf" + text.encode(),
            text.encode()[: len(text) // 2],
        )
    )


MTL_AWARE = {"mtl-odl": mtl_odl, "mtl-xml": mtl_xml}
