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
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
    compression: str | None = None,
    quality: int | None = None,
) -> None:
    """Write an image; the file appears complete or not at all.

    Parameters
    ----------
    pixels : (H, W, M) ndarray
        Samples, written as they are (no scaling). (H, W) is taken as M = 1.

    The other parameters, the errors raised and the bytes written are those of
    :func:`~chanmix.io.write_raster_blocks` given the image as one band, with strips.
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
        wavelengths=wavelengths,
        fwhm=fwhm,
        compression=compression,
        quality=quality,
    )
