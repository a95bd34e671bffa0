"""WebP, AVIF and JPEG XL output: today's photo formats, encoded whole.

- WebP and AVIF through Pillow (libwebp, libavif), 8 bits. WebP has no grey image: grey
  (and grey + alpha) is stored as RGB (RGBA), as ImageMagick and libvips store it, and reads
  back as 3 (4) channels. AVIF stores grey as a monochrome (4:0:0) image and grey + alpha as
  RGBA. Chroma is kept at full resolution (AVIF 4:4:4), as for JPEG: mixed channels are
  often false colour.
- JPEG XL through imagecodecs (libjxl), 8 or 16 bits, grey, grey + alpha, RGB or RGBA.
  EXIF goes in an ``Exif`` box of the file's ISO BMFF container (ISO/IEC 18181-2, section
  9.3), in which a bare codestream is wrapped when there is EXIF to carry. imagecodecs'
  encoder takes no ICC profile, so JPEG XL outputs carry none.

Quality is 1 to 100 (:data:`chanmix.io.formats.QUALITY` holds the defaults); 100 makes WebP
and JPEG XL lossless (``lossless=True``, as ``cwebp -lossless`` and ``cjxl -q 100``). For JPEG
XL, quality is turned into libjxl's distance as cjxl turns it (:func:`jxl_distance`: 90 is
distance 1.0).

EXIF is given as TIFF-structured bytes (starting ``II*\\0`` or ``MM\\0*``, no ``Exif\\0\\0``
prefix; see :mod:`chanmix.io.exif`).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, BinaryIO

import imagecodecs
import numpy as np

from .pillow import image_of, pil_image, save_options

if TYPE_CHECKING:
    pass

__all__ = [
    "JXL_SIGNATURE",
    "encode_bytes",
    "encoder_missing",
    "jxl_distance",
    "save_avif",
    "save_jxl",
    "save_webp",
    "with_exif_box",
]

#: The JPEG XL container's signature box (ISO/IEC 18181-2, section 3).
JXL_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_FTYP = struct.pack(">I4s4sI4s", 20, b"ftyp", b"jxl ", 0, b"jxl ")


def encoder_missing(fmt: str) -> str | None:
    """Why this installation cannot write `fmt` (``'webp'``, ``'avif'`` or ``'jxl'``), or
    None when it can: Pillow built without libwebp or libavif (Pillow's wheels carry libavif
    from 11.3), imagecodecs built without libjxl."""
    if fmt == "jxl":
        return None if imagecodecs.JPEGXL.available else "this imagecodecs was built without libjxl"
    image = pil_image()
    image.init()
    if fmt.upper() in image.SAVE:
        return None
    return f"this Pillow ({image.__version__}) was built without {'libwebp' if fmt == 'webp' else 'libavif'}"


def encode_bytes(fmt: str, shape: tuple[int, int, int], itemsize: int) -> int:
    """The most memory an encoder of this module takes beside the ``(H, W, M)`` samples.

    Bounds a little above what was measured (peak resident memory beyond the samples, a
    4000 x 3000 photograph-like image, 2 threads): WebP 119 MB for RGB and 123 MB for grey
    (12 Mpx: Pillow's copy, libwebp's ARGB and YUV pictures); AVIF 487 MB for RGB and 227 MB
    for grey (libavif's YUV planes and libaom's frame buffers, about 40 and 19 bytes a
    pixel); JPEG XL 263 MB for 8-bit RGB and 346 MB for 16-bit RGBA (libjxl's float planes).
    The encoded bytes (at most about the samples) come on top.
    """
    height, width, channels = shape
    pixels = height * width
    raw = pixels * channels * itemsize
    if fmt == "webp":
        return pixels * (4 + 4 * (channels < 3) + 4) + raw
    if fmt == "avif":
        return pixels * (20 if channels == 1 else 42) + raw
    return 2 * pixels * channels * 4 + raw


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """Grey (grey + alpha) ``(H, W, 1..2)`` samples as RGB (RGBA); others unchanged."""
    channels = pixels.shape[2]
    if channels > 2:
        return pixels
    return np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)


def save_webp(
    file: BinaryIO,
    pixels: np.ndarray,
    *,
    quality: int,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
) -> None:
    """Write uint8 ``(H, W, 1..4)`` samples as WebP: lossy at `quality` (1 to 99), lossless
    at 100; EXIF and ICC in the file's EXIF and ICCP chunks."""
    image = image_of(_rgb(pixels))
    lossless = quality == 100
    image.save(
        file,
        format="WEBP",
        lossless=lossless,
        quality=100 if lossless else quality,
        method=4 if lossless else 6,
        exact=True,  # keep the colour of fully transparent pixels
        **save_options(exif=exif, icc_profile=icc_profile),
    )


def save_avif(
    file: BinaryIO,
    pixels: np.ndarray,
    *,
    quality: int,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
) -> None:
    """Write uint8 ``(H, W, 1..4)`` samples as AVIF at `quality` (1 to 100), 4:4:4 (grey:
    4:0:0); EXIF (its orientation also as the irot/imir properties, which Pillow adds) and ICC
    carried."""
    channels = pixels.shape[2]
    image = image_of(_rgb(pixels) if channels == 2 else pixels)  # AVIF has no grey + alpha
    image.save(
        file,
        format="AVIF",
        quality=quality,
        subsampling="4:0:0" if channels == 1 else "4:4:4",
        **save_options(exif=exif, icc_profile=icc_profile),
    )


def jxl_distance(quality: int) -> float:
    """libjxl's Butteraugli distance for a quality of 1 to 100, as ``cjxl -q`` and
    ``JxlEncoderDistanceFromQuality`` compute it: 90 is 1.0 ("visually lossless"), 100 is 0
    (lossless), 30 to 100 linear, a parabola below."""
    if quality >= 100:
        return 0.0
    if quality >= 30:
        return 0.1 + (100 - quality) * 0.09
    return 53 / 3000 * quality**2 - 23 / 20 * quality + 25


def save_jxl(file: BinaryIO, pixels: np.ndarray, *, quality: int, exif: bytes | None = None) -> None:
    """Write uint8 or uint16 ``(H, W, 1..4)`` samples as JPEG XL: lossy at `quality` (1 to 99,
    as :func:`jxl_distance`), lossless at 100; with `exif`, in a container holding it in an
    ``Exif`` box."""
    samples = pixels[..., 0] if pixels.shape[2] == 1 else pixels
    if quality == 100:
        encoded = imagecodecs.jpegxl_encode(samples, lossless=True)
    else:
        encoded = imagecodecs.jpegxl_encode(samples, distance=jxl_distance(quality))
    file.writelines(with_exif_box(encoded, exif) if exif is not None else [encoded])


def with_exif_box(encoded: bytes | bytearray, exif: bytes) -> list[bytes | memoryview]:
    """A JPEG XL file holding `exif` in an ``Exif`` box (a 4-byte offset to the TIFF header,
    0, then the TIFF-structured EXIF), as pieces to write in order: a bare codestream is
    put in a container (signature, ``ftyp``, ``Exif``, ``jxlc``); a container (libjxl writes
    one when it needs a ``jxll`` level box) gets the box after its ``ftyp`` box."""
    exif_box = struct.pack(">I4sI", 12 + len(exif), b"Exif", 0) + exif
    view = memoryview(encoded)
    if not bytes(view[: len(JXL_SIGNATURE)]) == JXL_SIGNATURE:
        return [JXL_SIGNATURE, _FTYP, exif_box, struct.pack(">I4s", 8 + len(encoded), b"jxlc"), view]
    (ftyp_size,) = struct.unpack(">I", view[len(JXL_SIGNATURE) : len(JXL_SIGNATURE) + 4])
    cut = len(JXL_SIGNATURE) + ftyp_size
    return [view[:cut], exif_box, view[cut:]]
