"""Raster input and output: TIFF (tifffile), PNG, JPEG and Pillow's formats, NumPy ``.npy``.

Readers return a :class:`Raster`, channels-last ``(H, W, C)`` pixels plus a
:class:`RasterInfo`; :func:`write_raster` writes ``(H, W, M)`` pixels atomically, carrying
the metadata of a ``like`` input (georeferencing, resolution, ICC profile).
"""

from .atomic import atomic_output
from .formats import EXTENSIONS, check_output, output_format
from .raster import SAMPLE_DTYPES, GeoInfo, Raster, RasterInfo
from .read import read_raster
from .write import write_raster

__all__ = [
    "EXTENSIONS",
    "SAMPLE_DTYPES",
    "GeoInfo",
    "Raster",
    "RasterInfo",
    "atomic_output",
    "check_output",
    "output_format",
    "read_raster",
    "write_raster",
]
