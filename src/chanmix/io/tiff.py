"""TIFF input and output through tifffile (codecs from imagecodecs).

Reading
-------
The channel axis is found from the series' own axes string: ``S`` (samples of a pixel,
interleaved or planar) and ``C`` (channels, e.g. one OME page per channel) become the last
axis; ``Y`` and ``X`` are rows and columns. Every other axis (``I`` pages, ``Q``, ``Z``,
``T``...) counts images, and ``page`` picks one of them. Images are numbered through the
file's series in order, skipping reduced-resolution levels and transparency masks, so a COG's
overviews and GDAL mask are never "pages".

Samples come out as tifffile decodes them, with these exceptions:

- palette images are expanded through their colormap to RGB: uint8 when every colormap value
  is a multiple of 257 (8-bit values scaled to 16 bits), uint16 otherwise;
- float16 becomes float32 and 1-bit becomes uint8 0/255; other types outside
  :data:`~chanmix.io.raster.SAMPLE_DTYPES` are a :class:`~chanmix.errors.DataError`;
- YCbCr is converted to RGB by the JPEG decoder for JPEG-compressed files; YCbCr without
  JPEG compression is decoded by Pillow (libtiff), which converts it to RGB;
- MINISWHITE samples are not inverted (as GDAL and tifffile return them).

Files tifffile cannot decode (Old-JPEG, chroma-subsampled YCbCr, a DEFLATE strip with
trailing bytes...) are decoded by Pillow when it can; their metadata still comes from tifffile.

Writing
-------
See :func:`save_tiff`.
"""

from __future__ import annotations

import math
import os
import struct
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

import numpy as np
import tifffile

from ..errors import ChanmixError, DataError, UsageError
from .geotiff import (
    GDAL_METADATA,
    GDAL_NODATA,
    band_descriptions,
    format_nodata,
    gdal_metadata_xml,
    geo_info,
    parse_nodata,
)
from .pillow import decode_pillow, page_message
from .raster import Raster, RasterInfo, as_sample_array, icc_fits, reason

__all__ = ["TIFF_COMPRESSIONS", "read_tiff", "save_tiff"]

#: Output compressions: chanmix name -> tifffile name.
TIFF_COMPRESSIONS = {"deflate": "adobe_deflate", "lzw": "lzw", "zstd": "zstd"}

_TIFF_ERRORS = (
    ValueError,  # includes tifffile.TiffFileError
    TypeError,
    IndexError,
    KeyError,
    struct.error,
    OSError,
    EOFError,
    RuntimeError,  # imagecodecs errors, NotImplementedError
    MemoryError,
    ZeroDivisionError,
)
_IMAGE_AXES = "YXSC"
_REDUCED_OR_MASK = 0b101  # NewSubfileType bits 0 (reduced resolution) and 2 (transparency mask)
_PALETTE, _YCBCR = 3, 6
_JPEG_CODES = {6, 7, 33007, 34892}  # OJPEG, JPEG, ALT_JPEG, JPEG_LOSSY
_ALPHA_EXTRASAMPLES = {1, 2}  # associated, unassociated
_RESOLUTION_UNITS = {2: "inch", 3: "centimeter"}
_BIGTIFF_LIMIT = 2**32 - 2**25  # tifffile's own threshold: 4 GiB less 32 MiB for metadata


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
        When the file cannot be parsed or decoded (by tifffile, nor by Pillow).
    UsageError
        When `page` is past the last image.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            series, index, pages = _locate(tif, path, page)
            keyframe = series.keyframe
            tags = {tag.code: (int(tag.dtype), tag.value) for tag in keyframe.tags}
            fields = _described_fields(keyframe, tags)
            channel_names = _ome_channel_names(tif, series)
            failure: BaseException | None = None
            pixels = None
            if not (keyframe.photometric == _YCBCR and keyframe.compression not in _JPEG_CODES):
                try:
                    pixels, from_samples = _decode(tif, series, index)
                except _TIFF_ERRORS as exc:
                    failure = exc
            ifd = _single_ifd(series, index)
    except ChanmixError:
        raise
    except _TIFF_ERRORS as exc:
        raise DataError(f"{path}: not a TIFF file chanmix can read ({reason(exc)})") from exc

    alpha = None
    if pixels is None:
        pixels, alpha = _decode_with_pillow(path, ifd, keyframe, failure)
    else:
        colormap = keyframe.colormap
        if keyframe.photometric == _PALETTE and pixels.shape[2] == 1 and colormap is not None:
            pixels = _expand_palette(pixels[..., 0], colormap)
        elif from_samples and pixels.shape[2] == keyframe.samplesperpixel:
            alpha = _alpha_index(keyframe)
        pixels = as_sample_array(pixels, path)

    height, width, bands = pixels.shape
    info = RasterInfo(
        path=path,
        format="TIFF",
        height=height,
        width=width,
        bands=bands,
        dtype=pixels.dtype,
        band_names=band_descriptions(fields["gdal_metadata"], bands) or _sized(channel_names, bands),
        alpha=alpha,
        nodata=parse_nodata(tags.get(GDAL_NODATA, (0, None))[1], pixels.dtype),
        page=page,
        pages=pages,
        loads_whole=False,
        **fields,
    )
    return Raster(pixels, info)


def _images_in(series: tifffile.TiffPageSeries) -> int:
    return math.prod(n for axis, n in zip(series.axes, series.shape) if axis not in _IMAGE_AXES)


def _locate(tif: tifffile.TiffFile, path: str, page: int) -> tuple[Any, int, int]:
    """The series holding image `page`, the image's index in it, and the file's image count."""
    images = [s for s in tif.series if not s.keyframe.subfiletype & _REDUCED_OR_MASK]
    images = images or list(tif.series)[:1]
    if not images:
        raise DataError(f"{path}: the TIFF file holds no image (truncated?)")
    starts = np.cumsum([0] + [_images_in(s) for s in images])
    if page >= starts[-1]:
        raise UsageError(page_message(path, page, int(starts[-1])))
    which = int(np.searchsorted(starts, page, side="right")) - 1
    return images[which], page - int(starts[which]), int(starts[-1])


def _decode(tif: tifffile.TiffFile, series: Any, index: int) -> tuple[np.ndarray, bool]:
    """Decode image `index` of `series` as ``(H, W, C)``; also say whether C is the ``S`` axis."""
    axes, shape = series.axes, series.shape
    extra = [i for i, axis in enumerate(axes) if axis not in _IMAGE_AXES]
    position = tuple(int(p) for p in np.unravel_index(index, [shape[i] for i in extra]))
    numbers = _page_numbers(series, extra, position) if extra else None
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
        data_axes = "".join(axis for axis in axes if axis in _IMAGE_AXES)
    if "Y" not in data_axes or "X" not in data_axes:
        raise ValueError(f"the image has no rows and columns (axes {axes!r})")
    channels = [i for i, axis in enumerate(data_axes) if axis in "CS"]
    data = np.transpose(data, [data_axes.index("Y"), data_axes.index("X"), *channels])
    pixels = data.reshape(data.shape[0], data.shape[1], -1)
    return pixels, "C" not in data_axes


def _page_numbers(series: Any, extra: list[int], position: Sequence[int]) -> np.ndarray | None:
    """Which TIFF pages of `series` hold the image at `position` along the `extra` axes.

    Returns None when the series is not one page per index of its leading axes (volumetric
    pages, unusual layouts); the caller then decodes the whole series and slices it.
    """
    axes = series.axes
    lead = len(axes) - len(series.keyframe.axes)
    leading = axes[:lead]
    if (
        lead <= 0
        or axes[lead:] != series.keyframe.axes
        or any(i >= lead for i in extra)
        or any(axis in "YXS" for axis in leading)
        or leading.count("C") > 1
        or math.prod(series.shape[:lead]) != len(series.pages)
    ):
        return None
    grid = np.arange(len(series.pages)).reshape(series.shape[:lead])
    where = dict(zip(extra, position))
    return grid[tuple(where[i] if i in where else slice(None) for i in range(lead))]


def _single_ifd(series: Any, index: int) -> int | None:
    """The top-level IFD number of image `index`, when it is stored in one IFD (for Pillow)."""
    if len(series.pages) != _images_in(series):
        return None
    ifd = series.pages[index].index if series.pages[index] is not None else None
    return ifd if isinstance(ifd, int) else None


def _decode_with_pillow(
    path: str, ifd: int | None, keyframe: Any, failure: BaseException | None
) -> tuple[np.ndarray, int | None]:
    """Pillow's decoding of a TIFF image tifffile could not (or should not) decode."""
    expected = (keyframe.imagelength, keyframe.imagewidth)
    cause = failure
    if ifd is not None:
        try:
            decoded = decode_pillow(path, ifd)
        except ChanmixError as exc:
            cause = cause or exc.__cause__ or exc
        else:
            if decoded.pixels.shape[:2] == expected:
                return decoded.pixels, decoded.alpha
    detail = f" ({reason(cause)})" if cause is not None else ""
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
    icc = keyframe.iccprofile
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
    extras = tuple(int(v) for v in keyframe.extrasamples)
    first = keyframe.samplesperpixel - len(extras)
    for offset, kind in enumerate(extras):
        if kind in _ALPHA_EXTRASAMPLES:
            return first + offset
    return None


def save_tiff(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    alpha: bool = False,
    like: RasterInfo | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    compression: str | None = None,
) -> None:
    """Write ``(H, W, C)`` samples as a pixel-interleaved TIFF (BigTIFF above ~4 GiB).

    Parameters
    ----------
    path : str or os.PathLike
        File to write.
    pixels : (H, W, C) ndarray
        Any C >= 1, dtype one of :data:`~chanmix.io.raster.SAMPLE_DTYPES`.
    alpha : bool
        The last band is unassociated alpha (ExtraSamples 2); other extra bands are written
        as unspecified (0).
    like : RasterInfo, optional
        The input whose resolution, ICC profile (when its colour space is RGB for three
        colour bands, GRAY for one), GeoTIFF tags and dataset-level GDAL_METADATA items are
        carried over.
    band_names : sequence of C str, optional
        Written as GDAL_METADATA band DESCRIPTION items (``rasterio``'s ``descriptions``).
    nodata : float, optional
        Written as GDAL_NODATA.
    compression : {None, 'deflate', 'lzw', 'zstd'}
        With the horizontal predictor for integers and the floating-point predictor for floats.

    Notes
    -----
    PhotometricInterpretation is RGB for 3 colour bands (plus alpha) of uint8 or uint16, and
    MINISBLACK otherwise. No time stamp is written, so the bytes depend on the inputs only.
    """
    height, width, bands = pixels.shape
    colour = 3 if pixels.dtype in (np.uint8, np.uint16) and bands - int(alpha) == 3 else 1
    extrasamples = [0] * (bands - colour)
    if alpha:
        extrasamples[-1] = 2
    options: dict[str, Any] = {
        "photometric": "rgb" if colour == 3 else "minisblack",
        "planarconfig": "contig" if bands > 1 else None,
        "extrasamples": extrasamples or None,
        "compression": TIFF_COMPRESSIONS[compression] if compression else None,
        "predictor": True if compression else None,
        "metadata": None,
        "software": "chanmix",
        "bigtiff": pixels.nbytes > _BIGTIFF_LIMIT,
    }
    extratags: list[tuple] = []
    if like is not None:
        if like.resolution is not None:
            options["resolution"] = like.resolution
            options["resolutionunit"] = {"inch": 2, "centimeter": 3}.get(like.resolution_unit or "", 1)
        if icc_fits(like.icc_profile, colour):
            options["iccprofile"] = like.icc_profile
        if like.geo is not None:
            extratags.extend(like.geo.tags)
    xml = gdal_metadata_xml(like.gdal_metadata if like else None, band_names)
    if xml is not None:
        extratags.append((GDAL_METADATA, 2, 0, xml.encode("utf-8"), True))
    if nodata is not None:
        extratags.append((GDAL_NODATA, 2, 0, format_nodata(nodata).encode("ascii"), True))
    data = pixels[..., 0] if bands == 1 else pixels
    tifffile.imwrite(path, np.ascontiguousarray(data), extratags=extratags, **options)
