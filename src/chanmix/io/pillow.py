"""Images through Pillow (JPEG, BMP, PPM/PGM, GIF, WebP...); 8-bit PNG and JPEG output.

Pillow also decodes the TIFFs tifffile cannot (Old-JPEG, subsampled YCbCr...).

Pillow modes become arrays as follows (no colour conversion beyond palette expansion):

- ``P``, ``PA``: RGB uint8 through the palette; RGBA when it has transparency;
- ``1``: one uint8 band, 0 or 255;
- ``L``, ``LA``, ``RGB``, ``RGBA``, ``CMYK``...: as stored, uint8 (CMYK keeps its 4 bands);
- ``I;16`` (either byte order): uint16;
- ``I``: int32, except 16-bit PGM/PPM, which Pillow opens as ``I``: uint16;
- ``F``: float32.

EXIF orientation is not applied: pixels come in file order, as from the TIFF reader, so
that the same scene read from different formats lines up.

Pillow's own decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) is lifted while chanmix
opens a file (:func:`open_image`): chanmix's memory budget decides instead
(:mod:`chanmix.budget`), checked from the size and mode Pillow reads from the header, before
any pixel is decoded.
"""

from __future__ import annotations

import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from ..budget import check_whole, shape_text
from ..errors import ChanmixError, DataError, UsageError
from .capture import Messages, captured_messages
from .exif import EXIF_PREFIX, exif_bytes
from .raster import Raster, as_sample_array, reason, whole_image_info

__all__ = [
    "pil_image",
    "pillow_errors",
    "Decoded",
    "PillowError",
    "decode_pillow",
    "jpeg_encode_bytes",
    "open_image",
    "page_message",
    "photometric",
    "pillow_metadata",
    "quiet_exif",
    "read_pillow",
    "save_jpeg",
]

if TYPE_CHECKING:
    from PIL import Image


def pil_image() -> ModuleType:
    """``PIL.Image``, imported when first needed: about 10 ms that runs reading and writing
    only TIFF files do not pay."""
    from PIL import Image

    return Image


def pillow_errors() -> tuple[type[Exception], ...]:
    """Exceptions Pillow raises for unreadable, truncated or unsupported files (a damaged
    tag gives whatever the code using its value runs into, as in tifffile)."""
    return (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        LookupError,
        TypeError,
        struct.error,
        ArithmeticError,
        AttributeError,
        RuntimeError,
        pil_image().DecompressionBombError,
    )


class _LiftedLimit:
    """Pillow's ``MAX_IMAGE_PIXELS`` set to None while any chanmix call is inside
    :func:`open_image`, and given back its value when the last one leaves (threads may
    overlap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._saved: int | None = None

    def enter(self) -> None:
        from PIL import Image

        with self._lock:
            if self._inside == 0:
                self._saved = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = None
            self._inside += 1

    def leave(self) -> None:
        from PIL import Image

        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                Image.MAX_IMAGE_PIXELS = self._saved


_LIFTED = _LiftedLimit()


@contextmanager
def open_image(path: str) -> Iterator[Image.Image]:
    """``PIL.Image.open(path)`` (lazy: the header only), with Pillow's decompression-bomb limit
    lifted until the block ends, loading and seeking included: the caller checks the memory
    budget instead, so Pillow neither refuses nor warns."""
    Image = pil_image()  # noqa: N806 - the module's usual name
    _LIFTED.enter()
    try:
        with Image.open(path) as image:
            yield image
    finally:
        _LIFTED.leave()


_ALPHA_MODES = {"LA": 1, "La": 1, "PA": 3, "RGBA": 3, "RGBa": 3}
_PHOTOMETRIC = {
    "1": "minisblack",
    "L": "minisblack",
    "LA": "minisblack",
    "La": "minisblack",
    "I": "minisblack",
    "F": "minisblack",
    "P": "palette",
    "PA": "palette",
    "RGB": "rgb",
    "RGBA": "rgb",
    "RGBa": "rgb",
    "RGBX": "rgb",
    "CMYK": "separated",
    "YCbCr": "ycbcr",
    "LAB": "cielab",
}
_COMPRESSION = {
    "PNG": "deflate",
    "JPEG": "jpeg",
    "GIF": "lzw",
    "WEBP": "webp",
    "AVIF": "av1",
    "HEIF": "hevc",
    "PPM": "none",
}


@dataclass(frozen=True)
class Decoded:
    """One frame decoded by Pillow, with what chanmix keeps of the file's description.

    Attributes
    ----------
    pixels : (H, W, C) ndarray
        Samples in one of the chanmix sample types (see the module table).
    alpha : int or None
        Index of the alpha band.
    format, mode : str
        Pillow's format name (``'JPEG'``...) and the frame's mode as stored (``'P'``...).
    pages : int
        Number of frames in the file.
    metadata : dict
        ``resolution``, ``resolution_unit``, ``icc_profile`` and ``exif`` (see
        :func:`pillow_metadata`).
    """

    pixels: np.ndarray
    alpha: int | None
    format: str
    mode: str
    pages: int
    metadata: dict


def decode_pillow(path: str, page: int = 0) -> Decoded:
    """Decode one frame of an image with Pillow.

    Parameters
    ----------
    path : str
        Image file.
    page : int
        0-based frame (GIF, APNG, multi-page TIFF IFD).

    Returns
    -------
    Decoded

    Raises
    ------
    DataError
        When Pillow cannot identify or decode the file, or its samples are of a type chanmix
        does not compute with, or decoding it would take more than the memory budget
        (:mod:`chanmix.budget`; checked from its header before decoding).
    UsageError
        When `page` is past the last frame.
    """
    Image = pil_image()  # noqa: N806 - the module's usual name
    messages = Messages()
    try:
        with ExitStack() as stack:
            if _is_tiff(path):  # libtiff prints its complaints on stderr: keep them as the reason
                messages = stack.enter_context(captured_messages())
            else:
                stack.enter_context(quiet_exif())
            with open_image(path) as image:
                _check_budget(image, path)
                pages = getattr(image, "n_frames", 1)
                if page >= pages:
                    raise UsageError(page_message(path, page, pages))
                if page:
                    image.seek(page)
                    _check_budget(image, path)
                image.load()
                pixels, alpha = _pixels(image, path)
                return Decoded(
                    pixels, alpha, image.format or "unknown", image.mode, pages, pillow_metadata(image)
                )
    except ChanmixError:
        raise
    except MemoryError as exc:  # a damaged strip byte count, size...
        raise PillowError(f"{path}: not enough memory to decode the image", "not enough memory") from exc
    except Image.UnidentifiedImageError as exc:
        detail = messages.first() or reason(exc)
        raise PillowError(f"{path}: not an image chanmix can read ({detail})", detail) from exc
    except pillow_errors() as exc:
        detail = messages.first() or reason(exc)
        raise PillowError(f"{path}: cannot decode image data ({detail})", detail) from exc


@contextmanager
def quiet_exif() -> Iterator[None]:
    """Pillow's warnings about damaged EXIF ("Truncated File Read", "Possibly corrupt EXIF
    data"...), which it raises while opening a JPEG or an AVIF whose EXIF it parses, silenced
    until the block ends: the EXIF is carried as stored, its tags are not used. (TIFF files
    are not opened in it: their tag warnings are the reason a decode fails.)"""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.TiffImagePlugin")
        yield


class PillowError(DataError):
    """Pillow could not read a file; :attr:`detail` says why in one line (libtiff's own
    message when it printed one, else the exception's)."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def _is_tiff(path: str) -> bool:
    """Whether the file starts like a TIFF (any of the byte orders Pillow accepts)."""
    try:
        with open(path, "rb") as file:
            return file.read(2) in (b"II", b"MM")
    except OSError:
        return False


def page_message(path: str, page: int, pages: int) -> str:
    """The UsageError text for a page number past the end of a file."""
    plural = "image" if pages == 1 else "images"
    return f"{path}: no image {page} (the file has {pages} {plural}, numbered from 0)"


#: Modes Pillow stores in one byte a pixel, and in two; every other mode takes four.
_STORE_1 = ("1", "L", "P")
#: Modes expanded to RGB or RGBA (another 4 bytes a pixel) before conversion to an array.
_CONVERTED = ("P", "PA", "RGBX")


def _array_layout(image: Image.Image) -> tuple[int, np.dtype]:
    """Bands and sample type of the array :func:`_pixels` makes of `image`."""
    mode = image.mode
    if mode in ("P", "PA"):
        return (4 if mode == "PA" or "transparency" in image.info else 3), np.dtype(np.uint8)
    if mode == "RGBX":
        return 3, np.dtype(np.uint8)
    if mode == "1":
        return 1, np.dtype(np.uint8)
    try:
        described = _image_mode().getmode(mode)
        return len(described.bands), np.dtype(described.typestr)
    except (KeyError, TypeError, ValueError):
        return len(image.getbands()), np.dtype(np.float32)  # an unknown mode: at most 4 bytes


def _image_mode() -> ModuleType:
    """``PIL.ImageMode``, imported when first needed."""
    from PIL import ImageMode

    return ImageMode


def _check_budget(image: Image.Image, path: str) -> None:
    """Refuse to decode an image whose decoding would take more than the memory budget:
    Pillow's own pixels (4 bytes a pixel except for 1-, L- and P-mode (1) and 16-bit (2)
    images), the RGB(A) copy a palette is expanded to, and the array twice over
    (``np.asarray`` goes through ``tobytes``, which joins the chunks it encodes: measured
    3.3 to 3.7 times an RGB array at the peak)."""
    width, height = image.size
    bands, dtype = _array_layout(image)
    mode = image.mode
    store = 1 if mode in _STORE_1 else 2 if mode.startswith("I;16") else 4
    pixels = width * height
    needed = pixels * (store + 4 * (mode in _CONVERTED)) + 2 * pixels * bands * dtype.itemsize
    check_whole(path, f"decoding this {shape_text((height, width, bands), dtype)} image whole", needed)


def _pixels(image: Image.Image, path: str) -> tuple[np.ndarray, int | None]:
    mode = image.mode
    if mode in ("P", "PA"):
        mode = "RGBA" if mode == "PA" or "transparency" in image.info else "RGB"
        image = image.convert(mode)
    elif mode == "RGBX":
        mode = "RGB"
        image = image.convert(mode)
    pixels = np.asarray(image)
    if image.format == "PPM" and mode == "I":
        pixels = pixels.astype(np.uint16)  # Pillow opens 16-bit PGM as int32; PNM is unsigned
    if pixels.ndim == 2:
        pixels = pixels[..., np.newaxis]
    return as_sample_array(pixels, path), _ALPHA_MODES.get(mode)


def pillow_metadata(image: Image.Image) -> dict:
    """Resolution, ICC profile and EXIF from a Pillow image's ``info``, as RasterInfo fields.

    Pillow reports PNG pHYs (metre unit) and JPEG JFIF densities as ``info['dpi']``;
    densities without a unit are not reported.
    """
    dpi = image.info.get("dpi")
    resolution = (float(dpi[0]), float(dpi[1])) if dpi else None
    return {
        "resolution": resolution,
        "resolution_unit": "inch" if resolution else None,
        "icc_profile": image.info.get("icc_profile") or None,
        "exif": exif_bytes(image.info.get("exif")),
    }


def read_pillow(path: str, page: int = 0) -> Raster:
    """Read an image through Pillow (JPEG, BMP, PPM/PGM, GIF, WebP, and Pillow's other formats).

    Parameters
    ----------
    path : str
        Image file.
    page : int
        0-based frame.

    Returns
    -------
    Raster
        ``(H, W, C)`` pixels; see the module table for the mode conversions.
    """
    decoded = decode_pillow(path, page)
    info = whole_image_info(
        path,
        decoded.format,
        decoded.pixels,
        page=page,
        pages=decoded.pages,
        compression=_COMPRESSION.get(decoded.format, "unknown"),
        photometric=photometric(decoded.mode),
        alpha=decoded.alpha,
        **decoded.metadata,
    )
    return Raster(decoded.pixels, info)


def photometric(mode: str) -> str | None:
    """The TIFF-style colour interpretation of a Pillow mode (``'rgb'``, ``'palette'``...)."""
    return _PHOTOMETRIC.get(mode, "minisblack" if mode.startswith("I;16") else None)


def image_of(pixels: np.ndarray) -> Image.Image:
    """A Pillow image of mode L, LA, RGB or RGBA from uint8 ``(H, W, 1..4)`` samples."""
    return pil_image().fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)


def save_options(
    *, dpi: tuple[float, float] | None = None, icc_profile: bytes | None = None, exif: bytes | None = None
) -> dict:
    """The keywords of Pillow's ``Image.save`` for what is given (`exif` as the format takes it)."""
    given = {"dpi": dpi, "icc_profile": icc_profile, "exif": exif}
    return {key: value for key, value in given.items() if value is not None}


def jpeg_encode_bytes(height: int, width: int, channels: int) -> int:
    """The memory :func:`save_jpeg` takes beside the pixels: Pillow's copy of them (4 bytes a
    pixel for RGB, 1 for grey); the encoded bytes are written as they come."""
    return height * width * (4 if channels == 3 else 1)


#: The most EXIF bytes a JPEG APP1 segment holds beside its prefix (65535 - 2 - 6).
JPEG_MAX_EXIF = 65527


def save_jpeg(
    file: BinaryIO,
    pixels: np.ndarray,
    *,
    quality: int = 95,
    dpi: tuple[float, float] | None = None,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
) -> None:
    """Write uint8 ``(H, W, 1)`` or ``(H, W, 3)`` samples as JPEG at `quality` (1 to 100), no
    chroma subsampling; `exif` (TIFF-structured) in an APP1 segment unless it is longer than
    one holds (:data:`JPEG_MAX_EXIF`), when it is left out, as libvips does.

    Chroma is kept at full resolution (4:4:4): mixed channels are often false colour, whose
    colour edges matter as much as its brightness edges.
    """
    options = save_options(dpi=dpi, icc_profile=icc_profile)
    if exif is not None and len(exif) <= JPEG_MAX_EXIF:
        options["exif"] = EXIF_PREFIX + exif
    image_of(pixels).save(file, format="JPEG", quality=quality, subsampling=0, **options)
