"""The values the readers return: pixels plus what chanmix knows about the file they came from.

Every reader returns a :class:`Raster`: a channels-last ``(H, W, C)`` array in one of the
sample types chanmix computes with (:data:`SAMPLE_DTYPES`) and a :class:`RasterInfo` that
records the input's layout and the metadata a writer may carry to the output (georeferencing,
nodata, resolution, ICC profile, band names, alpha position).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = [
    "SAMPLE_DTYPES",
    "GeoInfo",
    "Raster",
    "RasterInfo",
    "as_sample_array",
    "icc_fits",
    "read_start",
    "reason",
    "whole_image_info",
]

#: The sample types chanmix reads and writes, smallest first.
SAMPLE_DTYPES: tuple[np.dtype, ...] = tuple(
    np.dtype(name) for name in ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
)


@dataclass(frozen=True)
class GeoInfo:
    """GeoTIFF georeferencing of an input, carried unchanged to TIFF outputs.

    Attributes
    ----------
    tags : tuple of (int, int, int, object, bool)
        The input's GeoTIFF tags as tifffile ``extratags`` tuples
        ``(code, datatype, count, value, writeonce)``: 33550 ModelPixelScale, 33922
        ModelTiepoint, 34264 ModelTransformation, 34735 GeoKeyDirectory, 34736
        GeoDoubleParams, 34737 GeoAsciiParams (the last as UTF-8 bytes).
    crs : str or None
        ``"EPSG:<code>"`` from ProjectedCSTypeGeoKey (3072) or GeographicTypeGeoKey (2048);
        for a user-defined (32767) system, the citation text (PCSCitation, GeogCitation or
        GTCitation); None when the file has no GeoKeyDirectory.
    transform : (6,) tuple of float or None
        GDAL/rasterio affine ``(a, b, c, d, e, f)``: ``x = a*col + b*row + c``,
        ``y = d*col + e*row + f``, in CRS units at pixel corners. A PixelIsPoint raster
        (GTRasterTypeGeoKey 1025 = 2) is shifted by half a pixel as GDAL does.
        None when the file holds several tiepoints (GCPs) and no scale or transformation.
    envi_map : (str, str or None) or None
        For an ENVI input, its header's ``map info`` and ``coordinate system string``
        values (inside the braces), carried unchanged to ENVI outputs; `tags` then hold the
        same grid (and CRS, when chanmix identifies it) as GeoTIFF tags, for TIFF outputs
        (see :mod:`chanmix.io.envi_geo`). None for other inputs.
    wkt : str or None
        The CRS as WKT, where the input states it (a Zarr store's ``crs_wkt``, an ENVI
        ``coordinate system string``), carried unchanged to Zarr outputs; None otherwise.
        ``crs`` holds its EPSG code when chanmix identifies one (see :mod:`chanmix.io.crs`).
    """

    tags: tuple
    crs: str | None
    transform: tuple[float, float, float, float, float, float] | None
    envi_map: tuple[str, str | None] | None = None
    wkt: str | None = None


@dataclass(frozen=True)
class RasterInfo:
    """What a reader learnt about an input file, besides its pixels.

    Attributes
    ----------
    path : str
        The path as given to the reader.
    format : str
        ``'TIFF'``, ``'PNG'``, ``'JPEG'``, ``'NPY'``, ``'ENVI'``, ``'ZARR'``, or Pillow's format
        name (``'PPM'``, ``'GIF'``...).
    height, width, bands : int
        Shape of the pixel array, ``(height, width, bands)``.
    dtype : numpy.dtype
        Sample type of the pixel array, one of :data:`SAMPLE_DTYPES` (float16 files are
        promoted to float32, 1-bit files to uint8 0/255, ENVI's 64-bit integers to float64).
    layout : str
        How the file stores the samples: ``'interleaved'`` (pixel by pixel), ``'planar'``
        (band after band, TIFF PlanarConfiguration 2) or ``'single band'``; for ENVI, its
        interleave: ``'bsq'``, ``'bil'`` or ``'bip'``; for Zarr, the array's dimensions in
        storage order, ``'band, y, x'``.
    tile : (int, int) or None
        TIFF tile, or Zarr chunk, ``(height, width)`` in pixels; None for strips, a Zarr store
        of one chunk, and other files.
    compression : str
        Lower-case codec name: ``'none'``, ``'deflate'``, ``'lzw'``, ``'jpeg'``, ``'zstd'``,
        ``'packbits'``, ``'webp'``, ``'ojpeg'``...; PNG files report ``'deflate'``.
    photometric : str or None
        Colour interpretation as stored: ``'rgb'``, ``'minisblack'``, ``'miniswhite'``,
        ``'palette'``, ``'ycbcr'``, ``'separated'``...; None when the format does not say.
    band_names : tuple of str or None
        One name per band (``''`` where a band has none), from GDAL_METADATA DESCRIPTION
        items or OME channel names; None when the file names no band.
    alpha : int or None
        0-based index of the alpha band, or None.
    nodata : float or None
        GDAL_NODATA value (NaN allowed). For float32 bands it is rounded to float32, as GDAL
        does, so it compares equal to the samples; compare in the band dtype
        (:attr:`nodata_sample`).
    resolution : (float, float) or None
        Pixels per `resolution_unit` in x and y.
    resolution_unit : str or None
        ``'inch'``, ``'centimeter'``, or None (no absolute unit: `resolution` is an aspect ratio).
    icc_profile : bytes or None
        Embedded ICC profile.
    geo : GeoInfo or None
        GeoTIFF georeferencing.
    gdal_metadata : str or None
        Raw GDAL_METADATA XML of the input.
    page, pages : int
        Index of the image read and number of images in the file (TIFF reduced-resolution
        levels and transparency masks are not counted).
    loads_whole : bool
        True when the image has to be decoded whole at once (Pillow formats, PNG, and TIFFs
        whose layout cannot be decoded by strips or tiles: see :mod:`chanmix.io.tiff`); False
        for ``.npy``, ENVI and most TIFFs, whose rows :func:`~chanmix.io.open_raster` reads
        a block at a time.
    wavelengths : tuple of float or None
        One centre wavelength per band, in nanometres (NaN where a band has none recorded),
        from an ENVI header's ``wavelength`` and ``wavelength units``, or GDAL_METADATA
        ``wavelength`` / ``wavelength_units`` or ``CENTRAL_WAVELENGTH_UM`` items (see
        :func:`~chanmix.io.geotiff.band_wavelengths`); None when no band has one.
    fwhm : tuple of float or None
        Full width at half maximum of each band in nanometres (NaN where unknown), from an
        ENVI header's ``fwhm``; None when the file records none.
    description : str or None
        The file's free-text description (an ENVI header's ``description``).
    band_nodata : tuple of (float or None), or None
        One nodata value per band (None for a band without one), when the bands do not share
        one value: an image stacked from files with different nodata values
        (:func:`~chanmix.io.open_stack`), whose `nodata` is then None. None when `nodata`
        holds for every band.
    """

    path: str
    format: str
    height: int
    width: int
    bands: int
    dtype: np.dtype
    layout: str
    tile: tuple[int, int] | None
    compression: str
    photometric: str | None
    band_names: tuple[str, ...] | None
    alpha: int | None
    nodata: float | None
    resolution: tuple[float, float] | None
    resolution_unit: str | None
    icc_profile: bytes | None
    geo: GeoInfo | None
    gdal_metadata: str | None
    page: int
    pages: int
    loads_whole: bool
    wavelengths: tuple[float, ...] | None = None
    band_nodata: tuple[float | None, ...] | None = None
    fwhm: tuple[float, ...] | None = None
    description: str | None = None
    exif: bytes | None = None

    @property
    def nodata_sample(self) -> np.generic | None:
        """The nodata value as a scalar of the band dtype, or None.

        None also when the value cannot be stored in the band dtype (say -9999 for uint8), in
        which case no sample can equal it. NaN stays NaN for float bands; test it with
        ``numpy.isnan``.
        """
        value = self.nodata
        if value is None:
            return None
        if self.dtype.kind == "f":
            with np.errstate(over="ignore"):
                return self.dtype.type(value)
        if not math.isfinite(value) or value != int(value):
            return None
        limits = np.iinfo(self.dtype)
        return self.dtype.type(value) if limits.min <= value <= limits.max else None


def whole_image_info(
    path: str, fmt: str, pixels: np.ndarray, *, page: int = 0, pages: int = 1, **fields: Any
) -> RasterInfo:
    """The :class:`RasterInfo` of a format without tiles or georeferencing (PNG, Pillow, .npy),
    decoded whole unless `fields` say ``loads_whole=False``; `fields` give the rest
    (compression, photometric, alpha, resolution...)."""
    height, width, bands = pixels.shape
    defaults: dict[str, Any] = {
        "layout": "interleaved" if bands > 1 else "single band",
        "tile": None,
        "compression": "none",
        "photometric": None,
        "band_names": None,
        "alpha": None,
        "nodata": None,
        "resolution": None,
        "resolution_unit": None,
        "icc_profile": None,
        "geo": None,
        "gdal_metadata": None,
        "loads_whole": True,
    }
    defaults.update(fields)
    return RasterInfo(
        path=path,
        format=fmt,
        height=height,
        width=width,
        bands=bands,
        dtype=pixels.dtype,
        page=page,
        pages=pages,
        **defaults,
    )


@dataclass(frozen=True)
class Raster:
    """An image read into memory.

    Attributes
    ----------
    pixels : (H, W, C) ndarray
        Channels-last samples, always 3-D with ``C >= 1``, C-contiguous, native byte order.
    info : RasterInfo
        Layout and metadata of the file.
    """

    pixels: np.ndarray
    info: RasterInfo


def reason(exc: BaseException) -> str:
    """Describe an exception in one short line, ``"TypeName: first line of message"``.

    Control characters (which a damaged file's bytes can put in a message) are escaped, so
    that the line shows on a terminal as it is.
    """
    lines = str(exc).strip().splitlines()
    text = lines[0].strip() if lines else ""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_start(path: str, size: int, kind: str) -> bytes:
    """Up to `size` bytes from the start of the file `path`; a DataError naming it when it is
    missing, a folder (not `kind`, e.g. "an image file") or cannot be opened."""
    try:
        with open(path, "rb") as file:
            return file.read(size)
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise DataError(f"{path}: is a folder, not {kind}") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror or reason(exc)})") from exc


def as_sample_array(pixels: np.ndarray, path: str) -> np.ndarray:
    """Bring decoded samples to one of :data:`SAMPLE_DTYPES`, native byte order, C order.

    Parameters
    ----------
    pixels : (H, W, C) ndarray
        Decoded samples of any dtype.
    path : str
        The file they came from, for the error message.

    Returns
    -------
    (H, W, C) ndarray
        float16 promoted to float32, bool to uint8 0/255, others unchanged.

    Raises
    ------
    DataError
        For any other sample type (int8, 64-bit integers, complex...).
    """
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * np.uint8(255)
    elif pixels.dtype == np.float16:
        pixels = pixels.astype(np.float32)
    native = pixels.dtype.newbyteorder("=")
    if native not in SAMPLE_DTYPES:
        known = ", ".join(dt.name for dt in SAMPLE_DTYPES)
        raise DataError(
            f"{path}: samples of type {native.name} are not supported (chanmix reads {known},"
            " float16 and 1-bit)"
        )
    return np.ascontiguousarray(pixels, dtype=native)


def icc_fits(profile: bytes | None, colour: int) -> bool:
    """Whether an ICC profile's data colour space (header bytes 16-19) suits the colour bands.

    Parameters
    ----------
    profile : bytes or None
        An ICC profile.
    colour : int
        Number of colour bands of the output: 3 needs ``b"RGB "``, 1 needs ``b"GRAY"``.
    """
    return profile is not None and profile[16:20] == (b"RGB " if colour == 3 else b"GRAY")
