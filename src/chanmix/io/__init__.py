"""Raster input and output: TIFF (tifffile), PNG, JPEG, WebP, AVIF, JPEG XL and Pillow's formats,
HEIC (the optional pillow-heif package), NumPy ``.npy``, ENVI, Zarr (the optional zarr package).

Readers return a :class:`Raster`, channels-last ``(H, W, C)`` pixels plus a
:class:`RasterInfo`; :func:`write_raster` writes ``(H, W, M)`` pixels atomically, carrying
the metadata of a ``like`` input (georeferencing, resolution, ICC profile, EXIF: see
:mod:`chanmix.io.exif`).

For images of any size, :func:`open_raster` reads row bands on demand (:class:`BlockReader`)
and :func:`write_raster_blocks` writes an image from an iterable of row bands; memory is
then bounded by the band size (TIFF, ``.npy``, ENVI and Zarr). :func:`open_stack` reads several
files as the bands of one image, a window of each at a time.

A Zarr store can also be written by many workers at once: :func:`zarr_output` (its atomic
folder), :func:`create_zarr_store` (its metadata), then :func:`write_zarr_window` for each
window of chunks, from any thread, process or machine (see :mod:`chanmix.io.zarr_write`).
"""

from .atomic import Outputs, abandon_outputs, atomic_output
from .blocks import BlockReader, open_raster
from .formats import EXTENSIONS, check_output, output_format
from .raster import SAMPLE_DTYPES, GeoInfo, Raster, RasterInfo
from .read import image_number, read_raster
from .shared import shared_reader
from .stack import open_image, open_stack
from .stream_write import check_encode, write_raster_blocks
from .write import write_raster
from .zarr_blocks import write_zarr_store
from .zarr_write import create_zarr_store, write_zarr_window, zarr_output

__all__ = [
    "EXTENSIONS",
    "Outputs",
    "BlockReader",
    "SAMPLE_DTYPES",
    "GeoInfo",
    "Raster",
    "RasterInfo",
    "abandon_outputs",
    "atomic_output",
    "check_encode",
    "check_output",
    "create_zarr_store",
    "image_number",
    "open_image",
    "open_raster",
    "open_stack",
    "output_format",
    "read_raster",
    "shared_reader",
    "write_raster",
    "write_raster_blocks",
    "write_zarr_store",
    "write_zarr_window",
    "zarr_output",
]
