"""TIFF input through tifffile (codecs from imagecodecs): metadata, and whole-image decoding.

Images are numbered as :mod:`chanmix.io.tiff_pages` says; the channels are the samples of a
page, or one page per ``C`` channel (OME). Samples come out as tifffile decodes them, with
these exceptions (:func:`finish_pixels`):

- palette images are expanded through their colormap to RGB: uint8 when every colormap value
  is a multiple of 257 (8-bit values scaled to 16 bits), uint16 otherwise;
- float16 becomes float32 and 1-bit becomes uint8 0/255; other types outside
  :data:`~chanmix.io.raster.SAMPLE_DTYPES` are a :class:`~chanmix.errors.DataError`;
- YCbCr is converted to RGB by the JPEG decoder for JPEG-compressed files; YCbCr without
  JPEG compression is decoded by Pillow (libtiff), which converts it to RGB;
- MINISWHITE samples are not inverted (as GDAL and tifffile return them).

Files tifffile cannot decode (Old-JPEG, chroma-subsampled YCbCr, a DEFLATE strip with
trailing bytes...) are decoded by Pillow when it can; their metadata still comes from tifffile.

An image is *streamable* (:attr:`TiffImage.planes` is set, ``loads_whole`` False) when it is
made of whole 2-D TIFF pages of this file whose strips or tiles tifffile has a decoder for;
the block reader (:mod:`chanmix.io.tiff_rows`) then decodes only the segments covering the
rows asked for. Anything else is decoded whole.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import tifffile

from ..budget import BudgetError, check_whole, shape_text
from ..errors import ChanmixError, DataError
from .geotiff import GDAL_METADATA, GDAL_NODATA, band_descriptions, band_wavelengths, geo_info, parse_nodata
from .pillow import PillowError, decode_pillow
from .raster import Raster, RasterInfo, as_sample_array, reason
from .tiff_chain import open_tiff
from .tiff_pages import (
    IMAGE_AXES,
    JPEG_CODES,
    YCBCR,
    image_position,
    locate,
    page_numbers,
    single_ifd,
    streamable_pages,
)

__all__ = [
    "TIFF_ERRORS",
    "TiffImage",
    "decode_with_pillow",
    "describe_tiff",
    "finish_pixels",
    "read_tiff",
    "tiff_errors",
    "tiff_info",
]

#: What tifffile and imagecodecs raise for files they cannot parse or decode: besides
#: TiffFileError, a damaged tag gives whatever the code using its value runs into.
TIFF_ERRORS = (
    tifffile.TiffFileError,  # a ValueError only from tifffile 2025.9.20
    ValueError,  # UnicodeDecodeError...
    TypeError,  # a tuple where one number was expected...
    LookupError,  # IndexError, KeyError
    struct.error,
    OSError,
    EOFError,
    RuntimeError,  # imagecodecs errors, NotImplementedError, RecursionError
    ArithmeticError,  # ZeroDivisionError, OverflowError
    AttributeError,  # None where a value was expected
    AssertionError,  # tifffile's own consistency checks
    MemoryError,
)
_PALETTE = 3
#: Tag, TiffPage attribute, largest value its TIFF type holds: SHORT or LONG (TIFF 6.0,
#: section 8; BigTIFF widens only offsets and byte counts).
_TAG_LIMITS = (
    ("ImageWidth", "imagewidth", 2**32 - 1),
    ("ImageLength", "imagelength", 2**32 - 1),
    ("ImageDepth", "imagedepth", 2**32 - 1),
    ("SamplesPerPixel", "samplesperpixel", 2**16 - 1),
)
_ALPHA_EXTRASAMPLES = {1, 2}  # associated, unassociated
_RESOLUTION_UNITS = {2: "inch", 3: "centimeter"}


@dataclass(frozen=True)
class TiffImage:
    """What a TIFF file says about one of its images, before any pixel is decoded.

    Attributes
    ----------
    series : tifffile.TiffPageSeries
        The series holding the image.
    index : int
        The image's number within `series`.
    images : int
        Number of images in the file (see the module docstring).
    keyframe : tifffile.TiffPage
        The page whose tags describe every page of `series`.
    tags : dict of int to (int, object)
        Tag code to ``(TIFF datatype, value)`` of `keyframe`.
    ifd : int or None
        Top-level IFD number of the image when it is stored in one IFD (for Pillow).
    planes : tuple of tifffile.TiffPage or TiffFrame, or None
        When the image is streamable: the pages holding it, in channel order (one page, or
        one page per ``C`` channel). None when it must be decoded whole.
    from_samples : bool
        The image's channels are the samples of one page (False: a ``C`` axis of pages).
    """

    series: Any
    index: int
    images: int
    keyframe: Any
    tags: dict[int, tuple[int, Any]]
    ifd: int | None
    planes: tuple[Any, ...] | None
    from_samples: bool


@contextmanager
def tiff_errors(path: str) -> Iterator[None]:
    """Turn what tifffile raises while parsing a file into a one-line DataError naming `path`.

    The file's header and chain of IFDs have been checked (:func:`~chanmix.io.tiff_chain.open_tiff`),
    so what fails here is the tags of an IFD: ``"damaged TIFF tags (<exception>: <message>)"``.
    """
    try:
        yield
    except ChanmixError:
        raise
    except MemoryError as exc:
        raise DataError(f"{path}: not enough memory to parse the TIFF tags") from exc
    except OSError as exc:
        if exc.errno is None:
            raise DataError(f"{path}: damaged TIFF tags ({reason(exc)})") from exc
        raise DataError(f"{path}: cannot read ({exc.strerror or reason(exc)})") from exc
    except TIFF_ERRORS as exc:
        raise DataError(f"{path}: damaged TIFF tags ({reason(exc)})") from exc


def describe_tiff(tif: tifffile.TiffFile, path: str, page: int) -> TiffImage:
    """Locate image `page` of an open TIFF file and collect what its tags say.

    Raises
    ------
    DataError
        When the file holds no image.
    UsageError
        When `page` is past the last image.
    """
    series, index, images = locate(tif, path, page)
    keyframe = series.keyframe
    for tag, attribute, limit in _TAG_LIMITS:  # tifffile reads them from wider types too
        if getattr(keyframe, attribute) > limit:
            value = getattr(keyframe, attribute)
            raise DataError(f"{path}: damaged TIFF tags ({tag} is {value}; a TIFF holds at most {limit})")
    tags = {tag.code: (int(tag.dtype), tag.value) for tag in keyframe.tags}
    numbers = streamable_pages(series, index)
    if numbers is not None and not _decodable(keyframe):
        numbers = None
    planes = None if numbers is None else tuple(series.pages[int(n)] for n in numbers.ravel())
    if planes is not None and any(p is None or p.parent is not tif for p in planes):
        planes = None
    from_samples = numbers is None or numbers.ndim == 0
    ifd = single_ifd(series, index)
    return TiffImage(series, index, images, keyframe, tags, ifd, planes, from_samples)


def tiff_info(
    image: TiffImage,
    tif: tifffile.TiffFile,
    path: str,
    page: int,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    alpha: int | None,
) -> RasterInfo:
    """The :class:`RasterInfo` of a TIFF image whose pixels are `shape` ``(H, W, C)`` `dtype`."""
    height, width, bands = shape
    fields = _described_fields(image.keyframe, image.tags)
    channel_names = _ome_channel_names(tif, image.series)
    return RasterInfo(
        path=path,
        format="TIFF",
        height=height,
        width=width,
        bands=bands,
        dtype=dtype,
        band_names=band_descriptions(fields["gdal_metadata"], bands) or _sized(channel_names, bands),
        wavelengths=band_wavelengths(fields["gdal_metadata"], bands),
        alpha=alpha,
        nodata=parse_nodata(image.tags.get(GDAL_NODATA, (0, None))[1], dtype),
        page=page,
        pages=image.images,
        loads_whole=image.planes is None,
        **fields,
    )


def read_tiff(path: str, page: int = 0) -> Raster:
    """Read one image of a TIFF file.

    Parameters
    ----------
    path : str
        TIFF or BigTIFF file.
    page : int
        0-based image number (see the module docstring).

    Returns
    -------
    Raster
        ``(H, W, C)`` pixels and the file's metadata.

    Raises
    ------
    DataError
        When the file cannot be parsed or decoded (by tifffile, nor by Pillow), or when
        decoding it whole would take more than the memory budget (:mod:`chanmix.budget`).
    UsageError
        When `page` is past the last image.
    """
    with tiff_errors(path), open_tiff(path) as tif:
        image = describe_tiff(tif, path, page)
        keyframe = image.keyframe
        failure: BaseException | None = None
        pixels = None
        if not (keyframe.photometric == YCBCR and keyframe.compression not in JPEG_CODES):
            _check_budget(image, path)
            try:
                pixels, from_samples = _decode(tif, image.series, image.index)
            except TIFF_ERRORS as exc:
                failure = exc
        if pixels is None:
            pixels, alpha = decode_with_pillow(path, image, failure)
        else:
            pixels, alpha = finish_pixels(pixels, keyframe, from_samples, path)
        info = tiff_info(image, tif, path, page, pixels.shape, pixels.dtype, alpha)
    return Raster(pixels, info)


def finish_pixels(
    pixels: np.ndarray, keyframe: Any, from_samples: bool, path: str
) -> tuple[np.ndarray, int | None]:
    """Bring tifffile's decoded samples to chanmix's: palette expanded, sample type checked.

    Parameters
    ----------
    pixels : (h, W, C) ndarray
        Rows as tifffile decodes them, channels last.
    keyframe : tifffile.TiffPage
        The page describing them.
    from_samples : bool
        The channels are the page's samples (not one page per channel).
    path : str
        For error messages.

    Returns
    -------
    pixels : (h, W, C') ndarray
        In one of :data:`~chanmix.io.raster.SAMPLE_DTYPES`, native byte order, C order.
    alpha : int or None
        Index of the alpha channel.
    """
    alpha = None
    colormap = keyframe.colormap
    if keyframe.photometric == _PALETTE and pixels.shape[2] == 1 and colormap is not None:
        pixels = _expand_palette(pixels[..., 0], colormap)
    elif from_samples and pixels.shape[2] == keyframe.samplesperpixel:
        alpha = _alpha_index(keyframe)
    return as_sample_array(pixels, path), alpha


def _check_byte_counts(tif: tifffile.TiffFile, series: Any) -> None:
    """Refuse a strip or tile byte count that no segment needs and that runs past the end of
    the file: tifffile would allocate it as declared (a damaged StripByteCounts says 3 GB)."""
    size = int(tif.filehandle.size)
    key = series.keyframe
    samples = key.imagelength * key.imagewidth * key.imagedepth * key.samplesperpixel
    limit = 2 * samples * max(1, -(-int(key.bitspersample) // 8)) + (1 << 20)
    for page in series.pages:
        if page is None:
            continue
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            if count > limit and offset + count > size:
                raise tifffile.TiffFileError(
                    f"a segment of {count} bytes at byte {offset} runs past the end of the file"
                )


def _decode(tif: tifffile.TiffFile, series: Any, index: int) -> tuple[np.ndarray, bool]:
    """Decode image `index` of `series` as ``(H, W, C)``; also say whether C is the ``S`` axis."""
    axes, shape = series.axes, series.shape
    _check_byte_counts(tif, series)
    extra, position = image_position(series, index)
    numbers = page_numbers(series, extra, position) if extra else None
    if numbers is not None:
        lead = len(axes) - len(series.keyframe.axes)
        data = tif.asarray(key=numbers.ravel().tolist(), series=series)
        data = data.reshape(numbers.shape + tuple(shape[lead:]))
        data_axes = ("C" if numbers.ndim else "") + axes[lead:]
    else:
        data = series.asarray()
        select: list[int | slice] = [slice(None)] * len(axes)
        for i, p in zip(extra, position):
            select[i] = p
        data = data[tuple(select)]
        data_axes = "".join(axis for axis in axes if axis in IMAGE_AXES)
    if "Y" not in data_axes or "X" not in data_axes:
        raise ValueError(f"the image has no rows and columns (axes {axes!r})")
    channels = [i for i, axis in enumerate(data_axes) if axis in "CS"]
    data = np.transpose(data, [data_axes.index("Y"), data_axes.index("X"), *channels])
    pixels = data.reshape(data.shape[0], data.shape[1], -1)
    return pixels, "C" not in data_axes


def _check_budget(image: TiffImage, path: str) -> None:
    """Refuse to decode an image whole with tifffile when that takes more than the memory
    budget: what tifffile allocates (the image's pages, or the whole series when they cannot
    be picked out, as :func:`_decode` does), plus the finished pixels when they are a copy
    (palette expansion, float16 or 1-bit conversion, channels moved last)."""
    series, keyframe = image.series, image.keyframe
    if keyframe.dtype is None:
        return  # samples tifffile cannot hold: decoding fails without allocating
    extra, position = image_position(series, image.index)
    numbers = page_numbers(series, extra, position) if extra else None
    decoded = series.nbytes if numbers is None else numbers.size * keyframe.nbytes
    height, width = int(keyframe.imagelength), int(keyframe.imagewidth)
    channels = (1 if numbers is None else numbers.size) * int(keyframe.samplesperpixel)
    dtype = np.dtype(keyframe.dtype)
    palette = keyframe.photometric == _PALETTE
    if palette:
        channels, dtype = 3, np.dtype(np.uint16)
    elif dtype.kind in "fb" and dtype.itemsize < 4:
        dtype = np.dtype(np.float32 if dtype.kind == "f" else np.uint8)
    copied = palette or numbers is not None or series.axes not in ("YX", "YXS") or dtype != keyframe.dtype
    needed = decoded + (height * width * channels * dtype.itemsize if copied else 0)
    what = f"decoding this {shape_text((height, width, channels), dtype)} image whole"
    check_whole(path, what, needed)


def _decodable(keyframe: Any) -> bool:
    """Whether tifffile has a decoder for the page's segments (tried on an empty segment)."""
    try:
        keyframe.decode(None, 0)
    except TIFF_ERRORS:
        return False
    return True


def decode_with_pillow(
    path: str, image: TiffImage, failure: BaseException | None
) -> tuple[np.ndarray, int | None]:
    """Pillow's decoding of a TIFF image tifffile could not (or should not) decode.

    Raises
    ------
    DataError
        ``"cannot decode image data (<why tifffile failed>)"`` when Pillow fails too, or
        decodes an image of another size; when tifffile did not try, why Pillow failed
        (libtiff's own message when it printed one).
    """
    keyframe = image.keyframe
    expected = (keyframe.imagelength, keyframe.imagewidth)
    cause = failure
    why = reason(failure) if failure is not None else None
    if image.ifd is not None:
        try:
            decoded = decode_pillow(path, image.ifd)
        except BudgetError:
            raise
        except ChanmixError as exc:
            cause = cause or exc.__cause__ or exc
            why = why or (exc.detail if isinstance(exc, PillowError) else reason(cause))
        else:
            if decoded.pixels.shape[:2] == expected:
                return decoded.pixels, decoded.alpha
    detail = f" ({why})" if why is not None else ""
    raise DataError(f"{path}: cannot decode image data{detail}") from cause


def _described_fields(keyframe: Any, tags: dict[int, tuple[int, Any]]) -> dict[str, Any]:
    """The RasterInfo fields a TIFF page states in its tags, whatever its pixels decode to."""
    samples = keyframe.samplesperpixel
    resolution = resolution_unit = None
    if 282 in tags and 283 in tags:  # XResolution, YResolution
        resolution = tuple(float(v) for v in keyframe.resolution)
        resolution_unit = _RESOLUTION_UNITS.get(int(keyframe.resolutionunit))
        if resolution_unit is None and resolution == (1.0, 1.0):
            resolution = None  # what tifffile writes by default: no resolution at all
    icc = keyframe.tags.valueof(34675)  # InterColorProfile (TiffPage.iccprofile from tifffile 2024.5.22)
    if samples == 1:
        layout = "single band"
    else:
        layout = "planar" if keyframe.planarconfig == 2 else "interleaved"
    return {
        "layout": layout,
        "tile": (int(keyframe.tilelength), int(keyframe.tilewidth)) if keyframe.is_tiled else None,
        "compression": _compression_name(keyframe.compression),
        "photometric": _enum_name(tifffile.PHOTOMETRIC, keyframe.photometric),
        "resolution": resolution,
        "resolution_unit": resolution_unit,
        "icc_profile": bytes(icc) if icc is not None else None,
        "geo": geo_info(tags),
        "gdal_metadata": tags.get(GDAL_METADATA, (0, None))[1],
    }


def _enum_name(enum: Any, value: int) -> str:
    try:
        return enum(int(value)).name.lower()
    except ValueError:
        return str(int(value))


def _compression_name(value: int) -> str:
    name = _enum_name(tifffile.COMPRESSION, value)
    return "deflate" if name == "adobe_deflate" else name


def _ome_channel_names(tif: tifffile.TiffFile, series: Any) -> tuple[str, ...] | None:
    """Channel names of an OME-TIFF image (``Pixels/Channel@Name``), in order."""
    if not tif.is_ome or series.kind != "ome":
        return None
    try:
        root = ET.fromstring(tif.ome_metadata or "")
    except ET.ParseError:
        return None
    images = [el for el in root if el.tag.rsplit("}", 1)[-1] == "Image"]
    number = [s for s in tif.series if s.kind == "ome"].index(series)
    if number >= len(images):
        return None
    channels = [el for el in images[number].iter() if el.tag.rsplit("}", 1)[-1] == "Channel"]
    return tuple(el.get("Name", "") for el in channels)


def _sized(names: tuple[str, ...] | None, bands: int) -> tuple[str, ...] | None:
    return names if names and len(names) == bands and any(names) else None


def _expand_palette(indices: np.ndarray, colormap: np.ndarray) -> np.ndarray:
    """RGB ``(H, W, 3)`` from palette indices and a ``(3, N)`` uint16 TIFF colormap."""
    colormap = np.asarray(colormap)
    if not np.any(colormap % 257):
        colormap = (colormap // 257).astype(np.uint8)
    return np.take(colormap, indices, axis=1, mode="clip").transpose(1, 2, 0)


def _alpha_index(keyframe: Any) -> int | None:
    """The alpha sample's index; None when ExtraSamples names none, or would leave no colour
    sample (a damaged tag: the image's only band is then not alpha)."""
    extras = tuple(int(v) for v in keyframe.extrasamples)
    first = keyframe.samplesperpixel - len(extras)
    if first < 1:
        return None
    for offset, kind in enumerate(extras):
        if kind in _ALPHA_EXTRASAMPLES:
            return first + offset
    return None
