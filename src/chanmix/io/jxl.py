"""JPEG XL input through imagecodecs (libjxl).

A JPEG XL file is a bare codestream (first bytes ``FF 0A``) or an ISO BMFF container
(:data:`~chanmix.io.photo_write.JXL_SIGNATURE`) whose ``jxlc`` box, or ``jxlp`` boxes, hold
the codestream and whose ``Exif`` box holds EXIF. Pixels are decoded whole, as libjxl's
viewers show them: the codestream's orientation is applied by libjxl (JPEG XL stores the
orientation in the codestream, which governs; ISO/IEC 18181-2 section 9.3), so the EXIF
carried from the file has its Orientation set to 1. Samples come as stored: uint8, uint16
(for 9- to 16-bit images), float32 (float images; float16 is promoted).

Before decoding, the image's size is read from the codestream's SizeHeader (ISO/IEC 18181-1,
section D.2) and the memory decoding takes is checked against the budget, counting up to 4
channels of 4-byte samples twice (libjxl's float buffers and the array) plus the file: 32
bytes a pixel, where a 4000 x 3000 image took 6 (8-bit RGB) and 20 (16-bit RGBA) at the peak
beyond the file.
"""

from __future__ import annotations

import struct

import imagecodecs
import numpy as np

from ..budget import check_whole
from ..errors import DataError, UsageError
from .exif import exif_bytes, with_orientation
from .pillow import page_message
from .raster import Raster, as_sample_array, reason, whole_image_info

__all__ = ["CODESTREAM_SIGNATURE", "image_size", "is_jxl", "read_jxl", "split_container"]

CODESTREAM_SIGNATURE = b"\xff\x0a"
_CONTAINER_START = b"\x00\x00\x00\x0cJXL "
#: SizeHeader aspect ratios 1 to 7 (width = height * numerator / denominator).
_RATIOS = ((1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1))
#: Bits of each of the four U32 distributions of a SizeHeader side.
_SIDE_BITS = (9, 13, 18, 30)
#: Bytes a pixel may take while decoded: 4 channels of 4-byte samples, twice.
_DECODE_BYTES_PER_PIXEL = 2 * 4 * 4


def is_jxl(head: bytes) -> bool:
    """Whether a file's first bytes are a JPEG XL codestream's or container's."""
    return head.startswith(CODESTREAM_SIGNATURE) or head.startswith(_CONTAINER_START)


def split_container(data: bytes) -> tuple[bytes, bytes | None]:
    """The codestream and the EXIF of a JPEG XL file: of a container, its ``jxlc`` box (or
    ``jxlp`` parts, in order) and its ``Exif`` box; a bare codestream as it is, no EXIF.

    Raises
    ------
    ValueError
        When a box runs past the end of `data`.
    """
    if data.startswith(CODESTREAM_SIGNATURE):
        return data, None
    parts: list[bytes] = []
    exif = None
    position = 0
    while position + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1:  # a 64-bit size follows
            if position + 16 > len(data):
                break
            (size,) = struct.unpack(">Q", data[position + 8 : position + 16])
            header = 16
        end = len(data) if size == 0 else position + size
        if end < position + header or end > len(data):
            raise ValueError(f"box {kind!r} runs past the end of the file")
        payload = data[position + header : end]
        if kind == b"jxlc":
            parts.append(payload)
        elif kind == b"jxlp":
            parts.append(payload[4:])  # a 4-byte part counter first
        elif kind == b"Exif" and len(payload) >= 4:
            (offset,) = struct.unpack(">I", payload[:4])
            exif = exif_bytes(payload[4 + offset :])
        position = end
    return b"".join(parts), exif


class _Bits:
    """Reads a JPEG XL bitstream: least significant bit first."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    def read(self, count: int) -> int:
        value = 0
        for k in range(count):
            byte = self._position >> 3
            if byte >= len(self._data):
                raise ValueError("the codestream ends inside its size header")
            value |= ((self._data[byte] >> (self._position & 7)) & 1) << k
            self._position += 1
        return value

    def side(self, small: bool) -> int:
        if small:
            return 8 * (1 + self.read(5))
        return 1 + self.read(_SIDE_BITS[self.read(2)])


def image_size(codestream: bytes) -> tuple[int, int]:
    """``(height, width)`` from a codestream's SizeHeader, before any orientation.

    Raises
    ------
    ValueError
        When the codestream does not start with the signature and a complete SizeHeader.
    """
    if not codestream.startswith(CODESTREAM_SIGNATURE):
        raise ValueError("no JPEG XL codestream signature")
    bits = _Bits(codestream[2:34])
    small = bool(bits.read(1))
    height = bits.side(small)
    ratio = bits.read(3)
    if ratio == 0:
        return height, bits.side(small)
    numerator, denominator = _RATIOS[ratio - 1]
    return height, height * numerator // denominator


def read_jxl(path: str, page: int = 0) -> Raster:
    """Read a JPEG XL file.

    Parameters
    ----------
    path : str
        A JPEG XL codestream or container.
    page : int
        Must be 0 (the first frame of an animation is read).

    Returns
    -------
    Raster
        ``(H, W, C)`` pixels, C in 1..4 (grey, grey + alpha, RGB, RGBA), as displayed (see the
        module notes); EXIF from an ``Exif`` box, its orientation set to 1.

    Raises
    ------
    DataError
        When the file cannot be read or decoded, or decoding it would take more than the
        memory budget (checked from its size header first).
    UsageError
        When `page` is not 0.
    """
    if page != 0:
        raise UsageError(page_message(path, page, 1))
    try:
        with open(path, "rb") as file:
            data = file.read()
        codestream, exif = split_container(data)
        height, width = image_size(codestream)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or reason(exc)})") from exc
    except (ValueError, struct.error) as exc:
        raise DataError(f"{path}: not a JPEG XL file chanmix can read ({reason(exc)})") from exc
    needed = height * width * _DECODE_BYTES_PER_PIXEL + len(data)
    check_whole(path, f"decoding this {height} x {width} JPEG XL image whole", needed)
    try:
        decoded = imagecodecs.jpegxl_decode(data)
    except (RuntimeError, ValueError) as exc:  # imagecodecs.JpegxlError is a RuntimeError
        raise DataError(f"{path}: cannot decode JPEG XL data ({reason(exc)})") from exc
    pixels = as_sample_array(decoded[..., np.newaxis] if decoded.ndim == 2 else decoded, path)
    bands = pixels.shape[2]
    info = whole_image_info(
        path,
        "JXL",
        pixels,
        compression="jpegxl",
        photometric="minisblack" if bands <= 2 else "rgb",
        alpha=bands - 1 if bands in (2, 4) else None,
        exif=with_orientation(exif, 1) if exif is not None else None,
    )
    return Raster(pixels, info)
