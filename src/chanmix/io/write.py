"""Write ``(H, W, M)`` pixels to the format named by the output's extension, atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import DataError, UsageError
from .atomic import atomic_output
from .formats import check_output, normalized_compression
from .pillow import save_jpeg, save_png8
from .png import save_png16
from .raster import RasterInfo, icc_fits, reason
from .tiff import save_tiff

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
    apply to TIFF. Output bytes depend on the arguments only (no time stamps).
    """
    name = os.fsdecode(path)
    array = np.asarray(pixels)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3:
        raise UsageError(f"{name}: pixels must have shape (H, W, M), not {array.shape}")
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("="))
    fmt = check_output(name, channels=array.shape[2], dtype=array.dtype, alpha=alpha, compression=compression)
    if band_names is not None and len(band_names) != array.shape[2]:
        raise UsageError(f"{name}: {len(band_names)} band names for {array.shape[2]} channels")
    try:
        with atomic_output(name) as temporary:
            if fmt == "tiff":
                save_tiff(
                    temporary,
                    array,
                    alpha=alpha,
                    like=like,
                    band_names=band_names,
                    nodata=nodata,
                    compression=normalized_compression(name, fmt, compression),
                )
            elif fmt == "npy":
                with open(temporary, "wb") as file:
                    np.save(file, array, allow_pickle=False)
            else:
                dpi, icc = _carried(like, colour=3 if array.shape[2] >= 3 else 1)
                if fmt == "jpeg":
                    save_jpeg(temporary, array, dpi=dpi, icc_profile=icc)
                elif array.dtype == np.uint8:
                    save_png8(temporary, array, dpi=dpi, icc_profile=icc)
                else:
                    save_png16(temporary, array, dpi=dpi, icc_profile=icc)
    except OSError as exc:
        raise DataError(f"{name}: cannot write ({exc.strerror or reason(exc)})") from exc


def _carried(like: RasterInfo | None, colour: int) -> tuple[tuple[float, float] | None, bytes | None]:
    """Pixels per inch and an ICC profile (if its colour space fits) to carry to PNG/JPEG."""
    if like is None:
        return None, None
    dpi = None
    if like.resolution is not None and like.resolution_unit is not None:
        per_inch = 2.54 if like.resolution_unit == "centimeter" else 1.0
        dpi = (like.resolution[0] * per_inch, like.resolution[1] * per_inch)
    return dpi, like.icc_profile if icc_fits(like.icc_profile, colour) else None
