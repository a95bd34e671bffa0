"""AVIF input: 8-bit files through Pillow, 10- and 12-bit files through imagecodecs (libavif).

Pillow reduces AVIF images deeper than 8 bits to 8, so those are decoded by
``imagecodecs.avif_decode``, which keeps every bit, and brought to uint16's full range as
PNG's 16-bit samples are (``round(v * 65535 / (2**bits - 1))``: 10-bit 1023 becomes 65535),
so that normalized units mean the same whatever the depth. The depth is read from the
file's ``pixi`` properties (ISO/IEC 23008-12, section 6.5.6) before decoding; the EXIF, ICC
profile and size come from Pillow, which reads them without decoding pixels.

Pixels come as stored in either case: neither decoder applies the rotation and mirroring
properties (irot, imir), whose orientation Pillow reports in the EXIF it gives, so that
``--auto-orient`` and the EXIF carried to outputs treat an AVIF as a JPEG.
"""

from __future__ import annotations

import os
import struct

import imagecodecs
import numpy as np

from ..budget import check_whole, shape_text
from ..errors import DataError, UsageError
from .pillow import (
    open_image,
    page_message,
    photometric,
    pillow_errors,
    pillow_metadata,
    quiet_exif,
    read_pillow,
)
from .raster import Raster, reason, whole_image_info

__all__ = ["is_avif", "read_avif", "sample_bits"]

_AVIF_BRANDS = (b"avif", b"avis")
#: How far into a file ``pixi`` properties are looked for (they sit in the meta box, first).
_META_BYTES = 1 << 20


def is_avif(head: bytes) -> bool:
    """Whether a file's first bytes are an AVIF file's: an ``ftyp`` box whose major brand,
    or one of whose compatible brands (within `head`), is ``avif`` or ``avis``."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    (size,) = struct.unpack(">I", head[:4])
    brands = [head[8:12]] + [head[k : k + 4] for k in range(16, min(size, len(head)) - 3, 4)]
    return any(brand in _AVIF_BRANDS for brand in brands)


def sample_bits(data: bytes) -> int:
    """The largest bits per channel the ``pixi`` properties in `data` state; 8 when there
    is none (libavif writes one for every image it encodes)."""
    bits = 8
    position = data.find(b"pixi")
    while position >= 4:
        start = position + 8  # after the type, a FullBox's version and flags
        if start < len(data):
            channels = data[start]
            values = data[start + 1 : start + 1 + channels]
            if len(values) == channels:
                bits = max([bits, *values])
        position = data.find(b"pixi", position + 4)
    return bits


def read_avif(path: str, page: int = 0) -> Raster:
    """Read an AVIF file, keeping 10- and 12-bit samples (as uint16, full range).

    Returns
    -------
    Raster
        ``(H, W, C)`` uint8 (8-bit files, through Pillow) or uint16 pixels, C in 1..4.

    Raises
    ------
    DataError
        When the file cannot be decoded, or decoding it would take more than the memory
        budget (checked from its header first).
    UsageError
        When `page` is past the first image of a deep file (frames of 8-bit files are Pillow's).
    """
    try:
        with open(path, "rb") as file:
            head = file.read(_META_BYTES)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or reason(exc)})") from exc
    bits = sample_bits(head)
    if bits <= 8 or not imagecodecs.AVIF.available:  # else Pillow reduces to 8 bits
        return read_pillow(path, page)
    if page != 0:
        raise UsageError(page_message(path, page, 1))
    try:
        with quiet_exif(), open_image(path) as image:
            width, height = image.size
            bands = len(image.getbands())
            mode, metadata = image.mode, pillow_metadata(image)
    except pillow_errors() as exc:
        raise DataError(f"{path}: cannot decode image data ({reason(exc)})") from exc
    shape = (height, width, bands)
    # libavif's YUV planes, the decoded array, its uint32 scaling and the result, the file
    needed = height * width * (3 * 2 + bands * (2 + 4 + 2)) + os.path.getsize(path)
    check_whole(path, f"decoding this {shape_text(shape, np.dtype(np.uint16))} image whole", needed)
    try:
        with open(path, "rb") as file:
            decoded = imagecodecs.avif_decode(file.read())
    except (RuntimeError, ValueError) as exc:  # imagecodecs.AvifError is a RuntimeError
        raise DataError(f"{path}: cannot decode AVIF data ({reason(exc)})") from exc
    if decoded.ndim == 2:
        decoded = decoded[..., np.newaxis]
    top = (1 << bits) - 1
    pixels = ((decoded.astype(np.uint32) * 65535 + top // 2) // top).astype(np.uint16)
    channels = pixels.shape[2]
    info = whole_image_info(
        path,
        "AVIF",
        pixels,
        compression="av1",
        photometric=photometric(mode),
        alpha=channels - 1 if channels in (2, 4) else None,
        **metadata,
    )
    return Raster(pixels, info)
