"""Read any supported image into a :class:`~chanmix.io.raster.Raster`, choosing the reader by content.

The first bytes of the file decide, not its extension: TIFF and BigTIFF (either byte
order) go to tifffile, PNG to libpng through imagecodecs, JPEG XL to libjxl through
imagecodecs, AVIF to Pillow or, deeper than 8 bits, to libavif through imagecodecs, NumPy
``.npy`` to :func:`numpy.load` (never unpickled), HEIC to Pillow with the optional
pillow-heif plugin (``pip install 'chanmix[heic]'``; without it, a UsageError, exit 2,
naming the extra, as for Zarr stores without zarr). An ENVI header (a ``.hdr`` file) and a
file with an ENVI header beside it (:func:`~chanmix.io.envi_files.header_beside`) go to the ENVI reader;
anything else to Pillow. So a TIFF beside a ``.hdr`` that describes it for ENVI is read as
TIFF; an ENVI cube whose raw samples happen to begin like a TIFF is read as ENVI when its
header is named.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError, UsageError
from .avif import is_avif, read_avif
from .envi_files import header_beside, is_header_name
from .envi_rows import read_envi
from .heif import is_heif, register_heif
from .jxl import is_jxl, read_jxl
from .pillow import page_message, read_pillow
from .png import PNG_SIGNATURE, read_png
from .raster import Raster, as_sample_array, read_start, reason, whole_image_info
from .tiff import read_tiff, tiff_errors
from .tiff_chain import open_tiff
from .tiff_pages import series_image
from .zarr_read import read_zarr
from .zarr_store import is_zarr_path, is_zarr_store

__all__ = ["load_npy", "read_raster", "sniff"]

_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic, BigTIFF
_NPY_SIGNATURE = b"\x93NUMPY"


def read_raster(path: str | os.PathLike, *, page: int = 0) -> Raster:
    """Read one image of a file as ``(H, W, C)`` pixels plus metadata.

    Parameters
    ----------
    path : str or os.PathLike
        TIFF/BigTIFF, PNG, JPEG, BMP, PPM/PGM, GIF, WebP, AVIF (anything Pillow reads),
        JPEG XL, HEIC (with the heic extra), ``.npy``,
        an ENVI raster (its header or its data file), or a Zarr store (a folder; see
        :mod:`chanmix.io.zarr_read`).
    page : int, optional
        0-based image of a multi-image file (TIFF pages, GIF/APNG frames). Default the first.

    Returns
    -------
    Raster
        ``pixels`` of shape (H, W, C), C >= 1, in one of
        :data:`~chanmix.io.raster.SAMPLE_DTYPES`; ``info`` describing the file.

    Raises
    ------
    DataError
        When the file is missing, a folder, empty, truncated, corrupt, not an image, or holds
        samples chanmix does not compute with. The message is one line naming the file.
    UsageError
        When `page` is negative or past the last image.
    """
    name = os.fsdecode(path)
    kind = sniff(name, page)
    if kind == "tiff":
        return read_tiff(name, page)
    if kind == "png":
        return read_png(name, page)
    if kind == "npy":
        array = load_npy(name, page)
        pixels = as_sample_array(array, name)
        return Raster(pixels, whole_image_info(name, "NPY", pixels, loads_whole=False))
    if kind == "envi":
        return read_envi(name, page)
    if kind == "zarr":
        return read_zarr(name, page)
    if kind == "jxl":
        return read_jxl(name, page)
    if kind == "avif":
        return read_avif(name, page)
    if kind == "heif":
        register_heif(name)
    return read_pillow(name, page)


def image_number(path: str | os.PathLike, page: int = 0, series: int | None = None) -> int:
    """The file-wide image number of image `page` of image series `series` (0-based); with no
    series, `page` itself. Only TIFF files hold several series.

    Raises
    ------
    UsageError
        When the series or the page does not exist.
    """
    if series is None:
        return page
    name = os.fsdecode(path)
    if sniff(name, page) != "tiff":
        if series != 0:
            raise UsageError(f"series: {name} holds one image series (0), not {series}", parameter="series")
        return page
    with tiff_errors(name), open_tiff(name) as tif:
        return series_image(tif, name, series, page)


def sniff(name: str, page: int) -> str:
    """Which reader a file needs: ``'tiff'``, ``'png'``, ``'jxl'``, ``'npy'``, ``'envi'``,
    ``'zarr'`` (a ``.zarr`` path, or a folder holding a Zarr store), ``'avif'``, ``'heif'``
    (HEIC, read by Pillow with pillow-heif) or ``'pillow'``.

    Raises
    ------
    UsageError
        When `page` is negative.
    DataError
        When the file is missing, a folder or empty.
    """
    if page < 0:
        raise UsageError(f"{name}: the image number must be 0 or more, not {page}")
    if is_zarr_path(name) or is_zarr_store(name):
        return "zarr"
    head = _head(name)
    if is_header_name(name):
        return "envi"
    if head.startswith(_TIFF_SIGNATURES):
        return "tiff"
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head.startswith(_NPY_SIGNATURE):
        return "npy"
    if header_beside(name) is not None:  # before JPEG XL, whose signature is 2 bytes only
        return "envi"
    if is_jxl(head):
        return "jxl"
    if is_avif(head):
        return "avif"
    return "heif" if is_heif(head) else "pillow"


def _head(name: str) -> bytes:
    """The first 64 bytes of a file (an ISO BMFF ftyp box's brands included), or a DataError
    saying why it cannot be read."""
    head = read_start(name, 64, "an image file")
    if not head:
        raise DataError(f"{name}: empty file")
    return head


def load_npy(name: str, page: int, *, mmap: bool = False) -> np.ndarray:
    """The ``(H, W, C)`` array of a ``.npy`` file (``(H, W)`` gets C = 1), as stored.

    Parameters
    ----------
    name : str
        A file written by :func:`numpy.save`; never unpickled.
    page : int
        Must be 0.
    mmap : bool
        Map the file read-only instead of loading it.

    Raises
    ------
    DataError
        When the file is not a readable array of that shape.
    UsageError
        When `page` is not 0.
    """
    if page != 0:
        raise UsageError(page_message(name, page, 1))
    try:
        with np.errstate(all="ignore"):  # a lying shape overflows NumPy's size product
            array = np.load(name, mmap_mode="r" if mmap else None, allow_pickle=False)
    except MemoryError:
        raise
    except Exception as exc:  # a damaged header makes NumPy's parser (tokenize, ast) raise anything
        raise DataError(f"{name}: cannot read the .npy array ({reason(exc)})") from exc
    if array.ndim == 2:
        array = array[..., np.newaxis]
    if array.ndim != 3 or 0 in array.shape:
        raise DataError(f"{name}: a .npy image must have shape (H, W) or (H, W, C), not {array.shape}")
    return array
