"""ENVI headers: parse one, and check it against its data file.

An ENVI raster is a raw data file plus a text header (``.hdr``) beside it; either may be
named as the input (:mod:`chanmix.io.envi_files` finds the other).

The header is text: a first line ``ENVI``, then ``key = value`` lines. Keys are compared
without regard to case or repeated spaces; a value that begins with ``{`` runs to the first
``}``, over as many lines as it takes; lines that begin with ``;`` are comments; lines
without ``=`` are ignored; the last of repeated keys counts. Headers over
:data:`MAX_HEADER_BYTES` are refused unread.

Every number the data layout depends on is checked before the data file is touched:
``samples``, ``lines`` and ``bands`` are whole numbers from 1 to 2^31 - 1, ``data type`` one
of :data:`DATA_TYPES`, ``byte order`` 0 or 1, ``header offset`` a whole number >= 0, and the
data file must hold ``header offset + lines * samples * bands * itemsize`` bytes (it may hold
more). Any failure is one :class:`~chanmix.errors.DataError` line naming the file.

Data types 14 and 15 (64-bit integers) are read as float64, as chanmix computes with no
64-bit integer type: values up to 2^53 in magnitude convert exactly, and a sample beyond is
refused when it is read (:mod:`chanmix.io.envi_rows`). Being float, their samples are then
used as they are, not divided by a type's maximum. Complex types (6, 9) are refused.

References
----------
.. [1] ENVI header files, NV5 Geospatial documentation:
   https://www.nv5geospatialsoftware.com/docs/ENVIHeaderFiles.html
.. [2] GDAL ENVI driver (``frmts/raw/envidataset.cpp``, ``rawdataset.cpp``), which this
   module follows for the header lookup, the parsing and the defaults.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .envi_files import data_beside, data_candidates, header_beside, is_header_name
from .envi_spectral import spectral_values
from .geotiff import parse_nodata
from .raster import read_start, reason

__all__ = [
    "DATA_TYPES",
    "ENVI_TYPE_CODES",
    "MAX_HEADER_BYTES",
    "EnviHeader",
    "computed_dtype",
    "parse_header",
    "read_envi_header",
    "split_list",
]

#: The largest header read; larger files are refused unread.
MAX_HEADER_BYTES = 1 << 20
#: ENVI ``data type`` code -> sample type as stored (byte order aside).
DATA_TYPES: dict[int, np.dtype] = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.int16),
    3: np.dtype(np.int32),
    4: np.dtype(np.float32),
    5: np.dtype(np.float64),
    12: np.dtype(np.uint16),
    13: np.dtype(np.uint32),
    14: np.dtype(np.int64),
    15: np.dtype(np.uint64),
}
#: Sample type written -> ENVI ``data type`` code.
ENVI_TYPE_CODES = {
    dtype: code for code, dtype in DATA_TYPES.items() if dtype.itemsize < 8 or dtype.kind == "f"
}
_COMPLEX_TYPES = {6: "complex float32", 9: "complex float64"}
_MAX_DIMENSION = 2**31 - 1
_INTERLEAVES = ("bsq", "bil", "bip")
#: ``file type`` values that describe something other than one raw image (GDAL refuses them).
_OTHER_FILE_TYPES = ("envi meta file", "envi virtual mosaic", "envi spectral library")
_WHOLE_NUMBER = re.compile(r"[+]?\d+")


@dataclass(frozen=True)
class EnviHeader:
    """An ENVI header, checked against its data file.

    Attributes
    ----------
    header_path, data_path : str
        The header and the raw data file it describes.
    samples, lines, bands : int
        Width, height and band count.
    stored : numpy.dtype
        Sample type as stored, with the file's byte order.
    interleave : {'bsq', 'bil', 'bip'}
        Band sequential (each band's rows after one another), band interleaved by line (each
        row holds every band's samples of that row, band after band), band interleaved by
        pixel (each pixel's samples together).
    offset : int
        Bytes before the first sample (``header offset``).
    band_names : tuple of str or None
        One per band (``''`` where the list falls short); None when the header names none.
    wavelengths, fwhm : tuple of float or None
        Centre and width of each band in nanometres, NaN where unknown (see
        :func:`~chanmix.io.envi_spectral.spectral_values`).
    nodata : float or None
        ``data ignore value``.
    map_info, coordinate_system : str or None
        ``map info`` and ``coordinate system string`` inside their braces.
    description : str or None
        ``description`` inside its braces, its lines joined by spaces.
    """

    header_path: str
    data_path: str
    samples: int
    lines: int
    bands: int
    stored: np.dtype
    interleave: str
    offset: int
    band_names: tuple[str, ...] | None
    wavelengths: tuple[float, ...] | None
    fwhm: tuple[float, ...] | None
    nodata: float | None
    map_info: str | None
    coordinate_system: str | None
    description: str | None

    @property
    def dtype(self) -> np.dtype:
        """The sample type chanmix computes with (:func:`computed_dtype`)."""
        return computed_dtype(self.stored)

    @property
    def data_bytes(self) -> int:
        """Bytes of samples the data file must hold after the offset."""
        return self.lines * self.samples * self.bands * self.stored.itemsize


def computed_dtype(stored: np.dtype) -> np.dtype:
    """The sample type chanmix reads a stored ENVI type as: the same in native byte order,
    float64 for 64-bit integers."""
    if stored.itemsize == 8 and stored.kind in "iu":
        return np.dtype(np.float64)
    return stored.newbyteorder("=")


def read_envi_header(path: str) -> EnviHeader:
    """Find, parse and check the ENVI header and data file of `path` (either of them).

    Raises
    ------
    DataError
        One line naming the file: no header or data file, a header that is too large, not
        ENVI, lacks a key or holds an impossible value, or a data file too small for it.
    """
    if is_header_name(path):
        header_path = path
        data_path = data_beside(path)
        if data_path is None:
            tried = ", ".join(os.path.basename(c) for c in data_candidates(path)[:7])
            raise DataError(f"{path}: no data file beside this ENVI header (looked for {tried})")
    else:
        found = header_beside(path)
        if found is None:
            raise DataError(f"{path}: no ENVI header beside it")
        header_path, data_path = found, path
    fields = parse_header(_header_text(header_path), header_path)
    header = _checked(fields, header_path, data_path)
    _check_size(header)
    return header


def _header_text(path: str) -> str:
    data = read_start(path, MAX_HEADER_BYTES + 1, "an ENVI header")
    if len(data) > MAX_HEADER_BYTES:
        raise DataError(
            f"{path}: over {MAX_HEADER_BYTES >> 20} MiB, too large for an ENVI header"
            " (chanmix reads headers up to that size)"
        )
    return data.decode("utf-8", errors="replace")


def parse_header(text: str, name: str) -> dict[str, str]:
    """The ``key = value`` fields of an ENVI header's text.

    Returns
    -------
    dict of str to str
        Keys in lower case with single spaces (``"data type"``); values stripped, a braced
        value from its ``{`` to its first ``}`` (lines joined by newlines).

    Raises
    ------
    DataError
        When the first line is not ``ENVI``, or a brace is never closed.
    """
    lines = text.splitlines()
    if not lines or not lines[0].lstrip("\ufeff").startswith("ENVI"):
        raise DataError(f"{name}: not an ENVI header (its first line is not 'ENVI')")
    fields: dict[str, str] = {}
    index = 1
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        key, equals, value = line.partition("=")
        if not equals or line.startswith(";"):
            continue
        key, value = " ".join(key.split()).lower(), value.strip()
        if value.startswith("{"):
            parts = [value]
            while "}" not in parts[-1]:
                if index == len(lines):
                    raise DataError(f"{name}: the value of {_shown(key)} opens a brace that is never closed")
                parts.append(lines[index].strip())
                index += 1
            value = "\n".join(parts)
            value = value[: value.index("}") + 1]
        if key:
            fields[key] = value
    return fields


def split_list(value: str) -> list[str]:
    """The items of a braced ENVI list ``{a, b, c}``, stripped; ``[]`` for an empty list or a
    value without braces."""
    if not (value.startswith("{") and value.endswith("}")):
        return []
    inner = value[1:-1]
    return [item.strip() for item in inner.split(",")] if inner.strip() else []


def _braced_text(value: str | None) -> str | None:
    if value is None:
        return None
    inner = value[1:-1] if value.startswith("{") and value.endswith("}") else value
    return inner.strip()


def _shown(value: str, limit: int = 40) -> str:
    text = value if len(value) <= limit else value[: limit - 3] + "..."
    return repr(text)


def _whole(
    fields: dict[str, str], key: str, name: str, low: int, high: int, default: int | None = None
) -> int:
    """A whole-number field from `low` to `high`; DataError when it is missing or not one."""
    value = fields.get(key)
    if value is None:
        if default is not None:
            return default
        raise DataError(f"{name}: the ENVI header has no {key!r}")
    if _WHOLE_NUMBER.fullmatch(value) is None or not low <= int(value) <= high:
        allowed = f"{low} or {high}" if high == low + 1 else f"a whole number from {low} to {high}"
        raise DataError(f"{name}: {key!r} must be {allowed}, not {_shown(value)}")
    return int(value)


def _checked(fields: dict[str, str], name: str, data_path: str) -> EnviHeader:
    """The header's layout and metadata, every value checked."""
    file_type = " ".join(fields.get("file type", "ENVI Standard").split()).lower()
    if file_type in _OTHER_FILE_TYPES or not file_type.startswith("envi"):
        raise DataError(f"{name}: 'file type' is {_shown(fields['file type'])}, not a raw ENVI image")
    if fields.get("file compression", "0").strip() not in ("", "0"):
        raise DataError(f"{name}: compressed ENVI data ('file compression') is not supported")
    if any(item not in ("0", "") for item in split_list(fields.get("major frame offsets", "{}"))):
        raise DataError(f"{name}: ENVI 'major frame offsets' are not supported")
    samples = _whole(fields, "samples", name, 1, _MAX_DIMENSION)
    lines = _whole(fields, "lines", name, 1, _MAX_DIMENSION)
    bands = _whole(fields, "bands", name, 1, _MAX_DIMENSION)
    offset = _whole(fields, "header offset", name, 0, 2**62, default=0)
    code_text = fields.get("data type")
    if code_text is None:
        raise DataError(f"{name}: the ENVI header has no 'data type'")
    code = int(code_text) if _WHOLE_NUMBER.fullmatch(code_text) else None
    if code in _COMPLEX_TYPES:
        raise DataError(
            f"{name}: ENVI data type {code} ({_COMPLEX_TYPES[code]}) is not supported:"
            " chanmix mixes real-valued bands"
        )
    if code not in DATA_TYPES:
        known = ", ".join(str(c) for c in DATA_TYPES)
        raise DataError(f"{name}: unknown ENVI data type {_shown(code_text)} (chanmix reads {known})")
    order = _whole(fields, "byte order", name, 0, 1, default=0 if sys.byteorder == "little" else 1)
    interleave = fields.get("interleave", _extension_interleave(data_path)).strip().lower()
    if interleave not in _INTERLEAVES:
        raise DataError(f"{name}: 'interleave' must be bsq, bil or bip, not {_shown(interleave)}")
    stored = DATA_TYPES[code].newbyteorder(">" if order else "<")
    ignore = fields.get("data ignore value")
    wavelengths, units = split_list(fields.get("wavelength", "")), fields.get("wavelength units")
    return EnviHeader(
        header_path=name,
        data_path=data_path,
        samples=samples,
        lines=lines,
        bands=bands,
        stored=stored,
        interleave=interleave,
        offset=offset,
        band_names=_band_names(fields.get("band names"), bands),
        wavelengths=spectral_values(wavelengths, units, bands),
        fwhm=spectral_values(split_list(fields.get("fwhm", "")), units, bands, centres=wavelengths),
        nodata=None if ignore is None else parse_nodata(ignore, computed_dtype(stored)),
        map_info=_braced_text(fields.get("map info")),
        coordinate_system=_braced_text(fields.get("coordinate system string")),
        description=" ".join((_braced_text(fields.get("description")) or "").split()) or None,
    )


def _extension_interleave(data_path: str) -> str:
    """GDAL's default when a header has no ``interleave``: the data file's extension if it
    names one, else bsq."""
    extension = os.path.splitext(data_path)[1].lower().lstrip(".")
    return extension if extension in _INTERLEAVES else "bsq"


def _band_names(value: str | None, bands: int) -> tuple[str, ...] | None:
    names = split_list(value or "")[:bands]
    if not any(names):
        return None
    return tuple(names) + ("",) * (bands - len(names))


def _check_size(header: EnviHeader) -> None:
    """The data file holds every sample the header describes."""
    path = header.data_path
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror or reason(exc)})") from exc
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder, not an ENVI data file")
    needed = header.offset + header.data_bytes
    if size < needed:
        shape = f"{header.lines} x {header.samples} x {header.bands} {header.stored.name}"
        after = f" after a {header.offset}-byte offset" if header.offset else ""
        raise DataError(
            f"{path}: holds {size} bytes, but its header {os.path.basename(header.header_path)} describes"
            f" {shape} samples{after}: {needed} bytes"
        )
