"""PNG input through imagecodecs, and 16-bit PNG output.

Pillow reduces 16-bit RGB(A) PNGs to 8 bits, so pixels are decoded with
``imagecodecs.png_decode`` (libpng), which keeps every bit. libpng expands as it decodes:
palette images become RGB (RGBA when a tRNS chunk makes some entries transparent), 1/2/4-bit
grey becomes 8-bit (scaled, so 1-bit is 0/255), and a tRNS colour key on grey or RGB images
becomes an alpha band (LA or RGBA). The resolution (pHYs) and ICC profile (iCCP) come from
Pillow, which reads them without decoding pixels.

Output: PNGs of 8 and 16 bits are written by
``imagecodecs.png_encode``, after which the pHYs and iCCP chunks are inserted before the first
IDAT chunk here, since the encoder writes none, and an eXIf chunk holding the input's EXIF.

References
----------
.. [1] W3C, Portable Network Graphics (PNG) Specification (Third Edition), 2025,
   sections 5.3 (chunk layout, CRC-32), 11.3.2.4 (iCCP), 11.3.5.3 (pHYs) and 11.3.6.1 (eXIf).
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import BinaryIO

import imagecodecs
import numpy as np

from ..budget import check_whole, shape_text
from .pillow import decode_pillow, open_image, photometric, pillow_errors, pillow_metadata
from .raster import Raster, as_sample_array, whole_image_info

__all__ = ["decoded_shape", "encode_bytes", "read_png", "save_png", "with_chunks"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_METRES_PER_INCH = 0.0254
_ICC_NAME = b"ICC Profile"


def read_png(path: str, page: int = 0) -> Raster:
    """Read a PNG file, keeping 16-bit samples.

    Parameters
    ----------
    path : str
        PNG file.
    page : int
        0-based frame; frames after the first (APNG) are decoded by Pillow.

    Returns
    -------
    Raster
        ``(H, W, C)`` uint8 or uint16 pixels, C in 1..4; alpha is the last band of LA and RGBA.

    Raises
    ------
    DataError
        When neither libpng nor Pillow can decode the file, or when decoding it whole would
        take more than the memory budget (:mod:`chanmix.budget`; checked from its header first).
    """
    libpng = decoded_shape(path) if page == 0 else None
    if libpng is not None:
        _check_budget(path, *libpng)
    try:
        with open_image(path) as image:
            mode, metadata = image.mode, pillow_metadata(image)
            pages = getattr(image, "n_frames", 1)
    except pillow_errors():
        mode, metadata, pages = "", {}, 1
    pixels = _libpng_decode(path) if libpng is not None else None
    if pixels is None:
        decoded = decode_pillow(path, page)
        pixels, mode, pages, metadata = decoded.pixels, decoded.mode, decoded.pages, decoded.metadata
    else:
        if pixels.ndim == 2:
            pixels = pixels[..., np.newaxis]
        pixels = as_sample_array(pixels, path)
    bands = pixels.shape[2]
    info = whole_image_info(
        path,
        "PNG",
        pixels,
        page=page,
        pages=pages,
        compression="deflate",
        photometric=photometric(mode) if mode else None,
        alpha=bands - 1 if bands in (2, 4) else None,
        resolution=metadata.get("resolution"),
        resolution_unit=metadata.get("resolution_unit"),
        icc_profile=metadata.get("icc_profile"),
        exif=metadata.get("exif"),
    )
    return Raster(pixels, info)


#: Bands libpng decodes each PNG colour type to, without and with a tRNS chunk.
_BANDS = {0: (1, 2), 2: (3, 4), 3: (3, 4), 4: (2, 2), 6: (4, 4)}
#: Bit depths allowed with each colour type (PNG specification, table 11.1).
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
#: libpng's default limit on the width and the height (png_set_user_limits).
_LIBPNG_MAX = 1_000_000
#: Chunks looked at for a tRNS before the image data; past them, assume there is one.
_MAX_CHUNKS = 1000


def decoded_shape(path: str) -> tuple[tuple[int, int, int], np.dtype] | None:
    """The ``(H, W, C)`` shape and sample type libpng decodes a PNG file to, read from its IHDR
    chunk (and whether a tRNS chunk comes before the image data) without decoding anything.

    Returns None when the file does not start with an IHDR chunk that libpng accepts (the
    colour types and bit depths of the PNG specification, table 11.1; sides up to libpng's
    default limit of 1000000 pixels; compression and filter method 0; interlace 0 or 1).
    """
    try:
        with open(path, "rb") as file:
            head = file.read(33)
            if len(head) < 33 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
                return None
            width, height, depth, colour, compression, filtering, interlace = struct.unpack(
                ">IIBBBBB", head[16:29]
            )
            if (
                depth not in _DEPTHS.get(colour, ())
                or not (0 < width <= _LIBPNG_MAX and 0 < height <= _LIBPNG_MAX)
                or (compression, filtering) != (0, 0)
                or interlace not in (0, 1)
            ):
                return None  # libpng would print a warning and fail: Pillow reports it in one line
            transparency = False
            for _ in range(_MAX_CHUNKS):
                frame = file.read(8)
                if len(frame) < 8:
                    break
                length, kind = struct.unpack(">I4s", frame)
                if kind in (b"IDAT", b"IEND", b"tRNS"):
                    transparency = kind == b"tRNS"
                    break
                file.seek(length + 4, os.SEEK_CUR)
            else:
                transparency = True
    except OSError:
        return None
    bands = _BANDS[colour][transparency]
    return (height, width, bands), np.dtype(np.uint16 if depth == 16 else np.uint8)


def _check_budget(path: str, shape: tuple[int, int, int], dtype: np.dtype) -> None:
    """Refuse a PNG whose decoding by libpng would take more than the memory budget: the
    decoded array (`shape`, `dtype` from :func:`decoded_shape`) plus the file's bytes, which
    are read whole first."""
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    needed = shape[0] * shape[1] * shape[2] * dtype.itemsize + size
    check_whole(path, f"decoding this {shape_text(shape, dtype)} image whole", needed)


def _libpng_decode(path: str) -> np.ndarray | None:
    """The image decoded by libpng, or None when libpng fails (Pillow then tries, and reports)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
        # libpng's warnings ("Interlace handling should be turned on when using
        # png_read_image" for every interlaced file) reach Python's stderr, where the
        # command line drops them (cli.main)
        return imagecodecs.png_decode(data)
    except (RuntimeError, ValueError, OSError):  # imagecodecs.PngError is a RuntimeError
        return None


#: The Sub filter on every row and zlib's run-length strategy (OpenCV's fast PNG settings): a
#: noisy 24 MP photograph encodes in 0.6 s instead of 7.5 s with libpng's defaults, and its
#: file is smaller; photographs stay within 4% of the default size, flat graphics can double.
_LEVEL = 6
_FILTER_SUB = 16
_STRATEGY_RLE = 3


def encode_bytes(raw: int) -> int:
    """The most memory :func:`save_png` takes beside the pixels, for `raw` bytes of samples.

    imagecodecs grows its output buffer as libpng writes and then copies it into a bytes
    object; the datastream is at most about the size of the samples (incompressible noise),
    so the encoder holds up to twice that (measured: 3.1 times the samples at the peak for
    6000 x 6000 x 3 uint8 noise, samples included).
    """
    return 2 * raw


def save_png(
    file: BinaryIO,
    pixels: np.ndarray,
    *,
    dpi: tuple[float, float] | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
) -> None:
    """Write uint8 or uint16 ``(H, W, 1..4)`` samples as PNG (grey, grey+alpha, RGB, RGBA),
    encoded by libpng through imagecodecs (faster than Pillow's encoder, and the only one of
    the two that writes 16-bit colour).

    Parameters
    ----------
    file : binary file
        Written from its current position.
    pixels : (H, W, C) uint8 or uint16 ndarray
        C in 1..4.
    dpi : (float, float), optional
        Pixels per inch in x and y, stored as pixels per metre in a pHYs chunk.
    icc_profile : bytes, optional
        Stored, zlib-compressed, in an iCCP chunk.
    exif : bytes, optional
        TIFF-structured EXIF, stored in an eXIf chunk (PNG Third Edition, 11.3.6.1).
    """
    samples = pixels[..., 0] if pixels.shape[2] == 1 else pixels
    encoded = imagecodecs.png_encode(samples, level=_LEVEL, filter=_FILTER_SUB, strategy=_STRATEGY_RLE)
    chunks = []
    if icc_profile is not None:
        chunks.append((b"iCCP", _ICC_NAME + b"\x00\x00" + zlib.compress(icc_profile, 9)))
    if dpi is not None:
        x, y = (round(value / _METRES_PER_INCH) for value in dpi)
        chunks.append((b"pHYs", struct.pack(">IIB", x, y, 1)))
    if exif is not None:
        chunks.append((b"eXIf", exif))
    file.writelines(with_chunks(encoded, chunks))


def with_chunks(png: bytes | bytearray, chunks: list[tuple[bytes, bytes]]) -> list[bytes | memoryview]:
    """Insert ancillary chunks into a PNG datastream, just before its first IDAT chunk.

    Parameters
    ----------
    png : bytes or bytearray
        A complete PNG file.
    chunks : list of (bytes, bytes)
        ``(type, data)`` pairs, e.g. ``(b"pHYs", ...)``, written in order.

    Returns
    -------
    list of bytes-like
        The PNG with the chunks added, each framed as length, type, data, CRC-32: pieces to
        write in order, views of `png` around the new chunks (the image data is not copied).

    Raises
    ------
    ValueError
        When `png` is not a PNG datastream with an IDAT chunk.
    """
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG datastream")
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        if png[position + 4 : position + 8] == b"IDAT":
            break
        position += 12 + length
    else:
        raise ValueError("PNG datastream without IDAT chunk")
    framed = b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks
    )
    view = memoryview(png)
    return [view[:position], framed, view[position:]]
