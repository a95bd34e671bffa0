"""Write ``(H, W, M)`` pixels to the format named by the output's extension, atomically.

A thin wrapper over :func:`~chanmix.io.stream_write.write_raster_blocks` with the whole
image as its one band, so an image written at once and one written band by band are the
same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import UsageError
from .raster import RasterInfo
from .stream_write import write_raster_blocks

__all__ = ["write_raster"]


def write_raster(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    band_names: Sequence[str] | None = None,
    alpha: bool = False,
    like: RasterInfo | None = None,
    nodata: float | None = None,
    compression: str | None = None,
) -> None:
    """Write an image; the file appears complete or not at all.

    Parameters
    ----------
    path : str or os.PathLike
        Output file: ``.tif``/``.tiff``, ``.png``, ``.jpg``/``.jpeg`` or ``.npy`` (see
        :mod:`chanmix.io.formats` for what each holds).
    pixels : (H, W, M) ndarray
        Samples, written as they are (no scaling). (H, W) is taken as M = 1.
    band_names : sequence of M str, optional
        Band descriptions (TIFF GDAL_METADATA).
    alpha : bool
        The last channel is alpha (TIFF ExtraSamples unassociated alpha; PNG LA/RGBA).
    like : RasterInfo, optional
        The input whose metadata to carry: resolution and ICC profile (TIFF, PNG, JPEG);
        GeoTIFF tags and dataset-level GDAL metadata (TIFF).
    nodata : float, optional
        Nodata value (TIFF GDAL_NODATA).
    compression : {None, 'none', 'deflate', 'lzw', 'zstd'}
        TIFF compression, with the predictor suited to the dtype; ignored for other formats.

    Raises
    ------
    UsageError
        When the format cannot hold the pixels or an option does not fit (checked before
        anything is written).
    DataError
        When the file cannot be written (missing folder, permissions, disk full...). No
        partial file is left and an existing file is untouched.

    Notes
    -----
    PNG, JPEG and ``.npy`` hold no georeferencing, nodata or band names; those arguments only
    apply to TIFF. TIFFs are stripped, BigTIFF when needed (see :mod:`chanmix.io.tiff_write`).
    Output bytes depend on the arguments only (no time stamps).
    """
    name = os.fsdecode(path)
    array = np.asarray(pixels)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3:
        raise UsageError(f"{name}: pixels must have shape (H, W, M), not {array.shape}")
    height, width, channels = array.shape
    write_raster_blocks(
        name,
        [array],
        height=height,
        width=width,
        channels=channels,
        dtype=array.dtype,
        band_names=band_names,
        alpha=alpha,
        like=like,
        nodata=nodata,
        compression=compression,
    )
