"""EXIF carried from photographs to outputs, and its orientation applied (``--auto-orient``).

chanmix keeps an input's EXIF as it is stored, TIFF-structured bytes starting with ``II*\\0``
or ``MM\\0*`` (the ``Exif\\0\\0`` prefix of a JPEG APP1 segment removed), and writes them
unchanged to outputs that hold EXIF, orientation included, as ImageMagick and libvips do.
Only :func:`with_orientation` changes them: it rewrites the Orientation value of IFD0 in
place, so every other tag, maker notes included, keeps its bytes and offsets.

TIFF outputs, written a strip or tile at a time, get the IFD0 tags that are baseline TIFF
tags too (:data:`TIFF_TAGS`: Make, Model, Orientation, DateTime, Artist, Copyright), not the
EXIF and GPS sub-IFDs.

Orientation (tag 274) says how the stored pixels are to be turned for display
(EXIF 2.32, section 4.6.4, table 4): 1 as stored, 2 mirrored left-right, 3 turned 180
degrees, 4 mirrored top-bottom, 5 transposed (mirrored about the main diagonal), 6 turned 90
degrees clockwise, 7 transversed (mirrored about the other diagonal), 8 turned 90 degrees
anticlockwise. :func:`oriented` applies it, as ``magick -auto-orient``, ``vips autorot`` and
Pillow's ``ImageOps.exif_transpose`` do.

References
----------
.. [1] CIPA DC-008-2019, Exchangeable image file format for digital still cameras: Exif
   Version 2.32, section 4.6.4 (Orientation), and TIFF 6.0 section 2 (IFD structure).
"""

from __future__ import annotations

import struct
from dataclasses import replace

import numpy as np

from .raster import Raster

__all__ = [
    "EXIF_PREFIX",
    "auto_oriented",
    "exif_bytes",
    "orientation",
    "oriented",
    "swaps_sides",
    "tiff_tags",
    "with_orientation",
]

#: What precedes the TIFF header in a JPEG's APP1 segment (and in some other files' EXIF).
EXIF_PREFIX = b"Exif\x00\x00"
_ORIENTATION_TAG = 274
_SHORT = 3


def exif_bytes(data: bytes | None) -> bytes | None:
    """EXIF as chanmix keeps it: `data` without an ``Exif\\0\\0`` prefix, or None when it is
    empty or does not start with a TIFF header (damaged EXIF is not carried)."""
    if not data:
        return None
    if data.startswith(EXIF_PREFIX):
        data = data[len(EXIF_PREFIX) :]
    return bytes(data) if data[:4] in (b"II*\x00", b"MM\x00*") and len(data) >= 8 else None


def _orientation_entry(exif: bytes) -> tuple[str, int] | None:
    """The byte order and the offset of the Orientation entry of IFD0, or None when there is
    none (or the IFD runs past the end of the bytes)."""
    order = "<" if exif[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", exif[4:8])
    if ifd + 2 > len(exif):
        return None
    (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(exif):
            return None
        tag, kind, values = struct.unpack(order + "HHI", exif[entry : entry + 8])
        if tag == _ORIENTATION_TAG:
            return (order, entry) if kind == _SHORT and values == 1 else None
    return None


def orientation(exif: bytes | None) -> int:
    """The Orientation of IFD0, 1 to 8; 1 when there is no EXIF, no such tag, or a value
    outside 1 to 8."""
    if exif is None:
        return 1
    found = _orientation_entry(exif)
    if found is None:
        return 1
    order, entry = found
    (value,) = struct.unpack(order + "H", exif[entry + 8 : entry + 10])
    return value if 1 <= value <= 8 else 1


def with_orientation(exif: bytes, value: int) -> bytes:
    """`exif` with the Orientation of IFD0 set to `value` (its other bytes unchanged); as it
    is when it holds no Orientation, which means 1."""
    found = _orientation_entry(exif)
    if found is None:
        return exif
    order, entry = found
    return exif[: entry + 8] + struct.pack(order + "H", value) + exif[entry + 10 :]


def swaps_sides(value: int) -> bool:
    """Whether orientation `value` exchanges height and width (5 to 8)."""
    return value >= 5


def oriented(pixels: np.ndarray, value: int) -> np.ndarray:
    """``(H, W, C)`` pixels turned as orientation `value` says for display: ``(H, W, C)`` for
    1 to 4, ``(W, H, C)`` for 5 to 8; a C-contiguous copy unless `value` is 1."""
    if value == 1:
        return pixels
    turned = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }[value](pixels)
    return np.ascontiguousarray(turned)


def auto_oriented(raster: Raster) -> Raster:
    """`raster` turned as its EXIF orientation says (``--auto-orient``): pixels as displayed,
    height and width (and x and y resolution) exchanged for orientations 5 to 8, and the
    EXIF's Orientation set to 1; as it is when the orientation is 1 or there is no EXIF."""
    info = raster.info
    value = orientation(info.exif)
    if value == 1 or info.exif is None:
        return raster
    pixels = oriented(raster.pixels, value)
    resolution = info.resolution
    if swaps_sides(value) and resolution is not None:
        resolution = (resolution[1], resolution[0])
    turned = replace(
        info,
        height=pixels.shape[0],
        width=pixels.shape[1],
        resolution=resolution,
        exif=with_orientation(info.exif, 1),
    )
    return Raster(pixels, turned)


#: EXIF IFD0 tags that are also baseline TIFF tags, carried to TIFF outputs as such: Make,
#: Model, Orientation, DateTime, Artist, Copyright (TIFF 6.0 section 8).
TIFF_TAGS = (271, 272, 274, 306, 315, 33432)
_ASCII = 2


def tiff_tags(exif: bytes) -> list[tuple[int, int, int, bytes | int, bool]]:
    """The :data:`TIFF_TAGS` found in IFD0 of `exif`, as tifffile ``extratags`` tuples
    ``(code, type, count, value, writeonce)``: ASCII values as bytes without their NUL,
    Orientation as a SHORT. Entries that are damaged (a value past the end, another type)
    are left out."""
    order = "<" if exif[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", exif[4:8])
    if ifd + 2 > len(exif):
        return []
    (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
    found: list[tuple[int, int, int, bytes | int, bool]] = []
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(exif):
            break
        tag, kind, values = struct.unpack(order + "HHI", exif[entry : entry + 8])
        if tag not in TIFF_TAGS:
            continue
        if tag == _ORIENTATION_TAG:
            value = orientation(exif)
            found.append((tag, _SHORT, 1, value, True))
        elif kind == _ASCII and 0 < values:
            if values <= 4:
                start = entry + 8
            else:
                (start,) = struct.unpack(order + "I", exif[entry + 8 : entry + 12])
            text = exif[start : start + values].split(b"\x00", 1)[0]
            if start + values <= len(exif) and text:
                found.append((tag, _ASCII, 0, text, True))
    return found
