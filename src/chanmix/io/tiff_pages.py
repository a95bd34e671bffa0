"""Which TIFF pages make image number N of a file.

The channel axis is found from the series' own axes string: ``S`` (samples of a pixel,
interleaved or planar) and ``C`` (channels, e.g. one OME page per channel) become the last
axis; ``Y`` and ``X`` are rows and columns. Every other axis (``I`` pages, ``Q``, ``Z``,
``T``...) counts images, and ``page`` picks one of them. Images are numbered through the
file's series in order, skipping reduced-resolution levels and transparency masks, so a COG's
overviews and GDAL mask are never "pages".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import tifffile

from ..errors import DataError, UsageError
from .pillow import page_message

__all__ = [
    "IMAGE_AXES",
    "JPEG_CODES",
    "YCBCR",
    "image_position",
    "locate",
    "page_numbers",
    "series_image",
    "single_ifd",
    "streamable_pages",
]

#: Axes of one image; the others count images.
IMAGE_AXES = "YXSC"
#: Compression codes of JPEG flavours: OJPEG, JPEG, ALT_JPEG, JPEG_LOSSY.
JPEG_CODES = {6, 7, 33007, 34892}
#: PhotometricInterpretation YCbCr.
YCBCR = 6
_OJPEG = 6
_REDUCED_OR_MASK = 0b101  # NewSubfileType bits 0 (reduced resolution) and 2 (transparency mask)


def _images_in(series: tifffile.TiffPageSeries) -> int:
    """Number of images in a series: the product of its non-image axes."""
    return math.prod(n for axis, n in zip(series.axes, series.shape) if axis not in IMAGE_AXES)


def _image_series(tif: tifffile.TiffFile, path: str) -> tuple[list[Any], np.ndarray]:
    """The series that hold images (not overviews or masks) and the number of their first images."""
    images = [s for s in tif.series if not s.keyframe.subfiletype & _REDUCED_OR_MASK]
    images = images or list(tif.series)[:1]
    if not images:
        raise DataError(f"{path}: the TIFF file holds no image (truncated?)")
    return images, np.cumsum([0] + [_images_in(s) for s in images])


def series_image(tif: tifffile.TiffFile, path: str, series: int, page: int) -> int:
    """The file-wide number of image `page` of image series `series` (both 0-based)."""
    images, starts = _image_series(tif, path)
    if not 0 <= series < len(images):
        last = len(images) - 1
        raise UsageError(
            f"series: {path} has {len(images)} image series (0 to {last}), not {series}", parameter="series"
        )
    count = int(starts[series + 1] - starts[series])
    if not 0 <= page < count:
        raise UsageError(
            f"page: series {series} of {path} has {count} image(s) (0 to {count - 1}), not {page}",
            parameter="page",
        )
    return int(starts[series]) + page


def locate(tif: tifffile.TiffFile, path: str, page: int) -> tuple[Any, int, int]:
    """The series holding image `page`, the image's index in it, and the file's image count."""
    images, starts = _image_series(tif, path)
    if page >= starts[-1]:
        raise UsageError(page_message(path, page, int(starts[-1])))
    which = int(np.searchsorted(starts, page, side="right")) - 1
    return images[which], page - int(starts[which]), int(starts[-1])


def image_position(series: Any, index: int) -> tuple[list[int], tuple[int, ...]]:
    """The series' non-image axes and the position of image `index` along them."""
    extra = [i for i, axis in enumerate(series.axes) if axis not in IMAGE_AXES]
    position = tuple(int(p) for p in np.unravel_index(index, [series.shape[i] for i in extra]))
    return extra, position


def page_numbers(series: Any, extra: list[int], position: Sequence[int]) -> np.ndarray | None:
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


def streamable_pages(series: Any, index: int) -> np.ndarray | None:
    """The page numbers (0-d, or 1-d along ``C``) of image `index`, if its layout allows
    decoding it by segments.

    That needs whole 2-D pages (no SGI depth), none of the layouts read_tiff leaves to Pillow
    (YCbCr without JPEG, Old-JPEG) and none tifffile decodes specially (NDPI JPEG headers).
    Whether tifffile has a decoder at all is the caller's question.
    """
    keyframe = series.keyframe
    if (
        keyframe.compression == _OJPEG
        or (keyframe.photometric == YCBCR and keyframe.compression not in JPEG_CODES)
        or keyframe.jpegheader is not None
        or keyframe.imagedepth != 1
        or not set(keyframe.axes) <= set("YXS")
    ):
        return None
    if series.axes == keyframe.axes and len(series.pages) == 1:
        numbers: np.ndarray | None = np.array(0)
    else:
        numbers = page_numbers(series, *image_position(series, index))
    return numbers


def single_ifd(series: Any, index: int) -> int | None:
    """The top-level IFD number of image `index`, when it is stored in one IFD (for Pillow)."""
    if len(series.pages) != _images_in(series):
        return None
    ifd = series.pages[index].index if series.pages[index] is not None else None
    return ifd if isinstance(ifd, int) else None
