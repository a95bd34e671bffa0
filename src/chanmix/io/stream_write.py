"""Write an image from a stream of row bands, atomically, in the format named by the extension.

- TIFF is written incrementally (:mod:`chanmix.io.tiff_write`): strips of about 256 KiB by
  default, ``(th, tw)`` tiles when asked (the pipeline asks for 512 x 512 on large outputs),
  at most one strip or tile row buffered.
- ``.npy`` is written incrementally too: the header, then each band's bytes.
- ENVI (``.img``, ``.dat``, ``.bsq``, ``.bil``, ``.bip``) too: each band's samples where
  the interleave puts them, then the ``.hdr`` header (:mod:`chanmix.io.envi_write`).
- A Zarr store (``.zarr``, a folder) too: a row of chunks at a time, or chunk by chunk when
  the blocks are its chunks (:mod:`chanmix.io.zarr_blocks`).
- PNG, JPEG, WebP, AVIF and JPEG XL encoders need the whole image: the bands are gathered
  into one ``(H, W, M)`` array first, so those outputs are held in memory whole, after a
  check of what that takes against the memory budget (:func:`check_encode`). They carry the
  input's EXIF (:mod:`chanmix.io.exif`), resolution (PNG, JPEG) and ICC profile (all but
  JPEG XL).

The output appears complete under its name or not at all, whatever fails, the bands iterator
included (see :mod:`chanmix.io.atomic`). For the same options the bytes do not depend on
how the rows are split into bands.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import BinaryIO

import numpy as np
from numpy.typing import DTypeLike

from ..budget import check_whole, shape_text
from ..errors import DataError, UsageError
from .atomic import Outputs, atomic_output
from .envi_write import write_envi_blocks
from .exif import with_orientation
from .formats import QUALITY, WHOLE, check_output, normalized_compression
from .photo_write import encode_bytes as photo_encode_bytes
from .photo_write import save_avif, save_jxl, save_webp
from .pillow import jpeg_encode_bytes, save_jpeg
from .png import encode_bytes as png_encode_bytes
from .png import save_png
from .raster import RasterInfo, icc_fits, reason
from .tiff_write import BIGTIFF_LIMIT, write_tiff_blocks
from .zarr_blocks import write_zarr_blocks
from .zarr_write import DEFAULT_CHUNKS

__all__ = ["check_encode", "write_raster_blocks"]

_BIGTIFF_CHOICES = ("auto", "yes", "no")
#: The largest resolution carried to PNG and JPEG: 2^32 - 1 pixels per metre.
_MAX_DPI = (2**32 - 1) * 0.0254


def write_raster_blocks(
    path: str | os.PathLike,
    bands: Iterable[np.ndarray],
    *,
    height: int,
    width: int,
    channels: int,
    dtype: DTypeLike,
    band_names: Sequence[str] | None = None,
    alpha: bool = False,
    like: RasterInfo | None = None,
    nodata: float | None = None,
    wavelengths: Sequence[float] | None = None,
    fwhm: Sequence[float] | None = None,
    compression: str | None = None,
    tile: tuple[int, int] | None = None,
    tiles: bool = False,
    bigtiff: str = "auto",
    workers: int = 1,
    together: Outputs | None = None,
    quality: int | None = None,
) -> None:
    """Write an image given as row bands, top to bottom, or as tiles; the file appears complete
    or not at all.

    Parameters
    ----------
    path : str or os.PathLike
        Output file: ``.tif``/``.tiff``, ``.png``, ``.jpg``/``.jpeg``, ``.webp``, ``.avif``,
        ``.jxl``, ``.npy``, ENVI (``.img``, ``.dat``, ``.bsq``, ``.bil``, ``.bip``) or a Zarr
        store (``.zarr``); see :mod:`chanmix.io.formats` for what each holds.
    bands : iterable of (h_i, W, M) ndarray
        Consecutive row bands whose heights sum to `height`; any heights, any byte order.
        ``(h_i, W)`` is accepted when M = 1. Samples are written as they are (no scaling).
    height, width, channels : int
        Shape ``(H, W, M)`` of the image.
    dtype : numpy dtype
        Sample type of every band.
    band_names : sequence of M str, optional
        Band descriptions (TIFF GDAL_METADATA, ENVI band names, the Zarr ``band`` coordinate).
    alpha : bool
        The last channel is alpha (TIFF ExtraSamples unassociated alpha; PNG LA/RGBA).
    like : RasterInfo, optional
        The input whose metadata to carry: resolution (TIFF, PNG, JPEG); ICC profile (TIFF,
        PNG, JPEG, WebP, AVIF); EXIF (PNG, JPEG, WebP, AVIF, JPEG XL);
        GeoTIFF tags and dataset-level GDAL metadata (TIFF); georeferencing as map info
        (ENVI), as CRS and transform attributes (Zarr).
    nodata : float, optional
        Nodata value (TIFF GDAL_NODATA, ENVI data ignore value, Zarr ``_FillValue``).
    wavelengths, fwhm : sequence of M float, optional
        Centre wavelength and width of each band in nanometres, NaN where unknown (ENVI,
        Zarr; ignored for other formats).
    compression : {None, 'none', 'deflate', 'lzw', 'zstd'}
        TIFF compression, with the predictor suited to the dtype; Zarr's codec (deflate as
        gzip; no LZW); ignored for other formats.
    tile : (int, int), optional
        TIFF tile height and width, multiples of 16; strips when None. Zarr chunk height and
        width (any sizes; :data:`~chanmix.io.zarr_write.DEFAULT_CHUNKS` when None). Ignored
        for other formats.
    tiles : bool
        `bands` are the TIFF's tiles (the Zarr store's chunks) instead, row by row and left
        to right, each ``(th, tw, M)`` cut to the image at its right and bottom edges (so the
        writer holds one tile, whatever the image's width). Needs a TIFF or Zarr `tile`.
    bigtiff : {'auto', 'yes', 'no'}
        TIFF container: ``'auto'`` writes BigTIFF when a classic TIFF could overflow (see
        :mod:`chanmix.io.tiff_write`).
    workers : int
        Threads compressing TIFF strips or tiles, or writing Zarr chunks.
    together : Outputs, optional
        Commit the file with the other outputs of a run (see :class:`~chanmix.io.atomic.Outputs`).
    quality : int, optional
        1 to 100, for JPEG, WebP, AVIF and JPEG XL outputs only; None for the format's default
        (:data:`~chanmix.io.formats.QUALITY`). 100 is lossless for WebP and JPEG XL.

    Raises
    ------
    UsageError
        When the format cannot hold the image or an option does not fit (checked before
        anything is written), or when a band does not match the announced shape and dtype.
    DataError
        When the file cannot be written (missing folder, permissions, disk full...), when an
        encoder fails, or when a PNG, JPEG, WebP, AVIF or JPEG XL output would take more than
        the memory budget (:func:`check_encode`, before anything is taken from `bands`).

    Notes
    -----
    On any failure -- these errors, or an exception raised by `bands` itself -- no partial
    file is left and an existing file is untouched. PNG, JPEG, WebP, AVIF and JPEG XL outputs
    are gathered in memory whole. Output bytes depend on the arguments only (no time stamps).
    """
    name = os.fsdecode(path)
    dt = np.dtype(dtype).newbyteorder("=")
    fmt = check_output(
        name,
        channels=channels,
        dtype=dt,
        alpha=alpha,
        compression=compression,
        height=height,
        width=width,
        quality=quality,
    )
    codec = normalized_compression(name, fmt, compression)
    per_band = {"band names": band_names, "wavelengths": wavelengths, "fwhm values": fwhm}
    _check_request(name, fmt, (height, width, channels), per_band, tile, bigtiff, workers)
    check_encode(name, fmt, (height, width, channels), dt)
    if fmt == "tiff" and bigtiff == "no" and codec is None:
        if height * width * channels * dt.itemsize > BIGTIFF_LIMIT:
            raise UsageError(f"{name}: {height}x{width}x{channels} {dt.name} samples need a BigTIFF file")
    if fmt == "zarr":  # chunks no larger than the image
        chunks = tile or DEFAULT_CHUNKS
        tile = (min(chunks[0], height), min(chunks[1], width))
    if tiles:
        if fmt not in ("tiff", "zarr") or tile is None:
            raise UsageError(f"{name}: blocks given as tiles need a tiled TIFF or a Zarr output")
        rows = _checked_tiles(name, bands, (height, width, channels), tile, dt)
    else:
        rows = _checked_rows(name, bands, (height, width, channels), dt)
    if fmt == "zarr" and tile is not None:  # (always a tile)
        write_zarr_blocks(
            name,
            rows,
            shape=(height, width, channels),
            dtype=dt,
            chunks=tile,
            tiles=tiles,
            geo=like.geo if like is not None else None,
            band_names=band_names,
            nodata=nodata,
            wavelengths=wavelengths,
            fwhm=fwhm,
            compression=codec,
            workers=workers,
            together=together,
        )
        return
    if fmt == "envi":
        write_envi_blocks(
            name,
            rows,
            shape=(height, width, channels),
            dtype=dt,
            like_geo=like.geo if like is not None else None,
            band_names=band_names,
            nodata=nodata,
            wavelengths=wavelengths,
            fwhm=fwhm,
            together=together,
        )
        return
    uncompressed = fmt == "npy" or (fmt == "tiff" and codec is None)
    reserve = height * width * channels * dt.itemsize if uncompressed else 0
    try:
        with atomic_output(name, reserve=reserve, together=together) as file:
            if fmt == "tiff":
                write_tiff_blocks(
                    file,
                    rows,
                    shape=(height, width, channels),
                    dtype=dt,
                    compression=codec,
                    tile=tile,
                    tiles=tiles,
                    bigtiff=bigtiff,
                    workers=workers,
                    alpha=alpha,
                    like=like,
                    band_names=band_names,
                    nodata=nodata,
                )
                for _ in rows:  # tifffile takes no more blocks than the image holds: any left
                    pass  # over make _checked_rows or _checked_tiles raise
            elif fmt == "npy":
                _write_npy(file, rows, (height, width, channels), dt)
            else:
                pixels = _gathered(rows, (height, width, channels), dt)
                try:
                    _encode(file, fmt, pixels, like, quality)
                except (ValueError, RuntimeError) as exc:  # Pillow's and imagecodecs' encoders
                    raise DataError(f"{name}: cannot encode {fmt.upper()} ({reason(exc)})") from exc
    except OSError as exc:
        raise DataError(f"{name}: cannot write ({exc.strerror or reason(exc)})") from exc


def _encode(
    file: BinaryIO, fmt: str, pixels: np.ndarray, like: RasterInfo | None, quality: int | None
) -> None:
    """Encode a whole image in one of the formats of :data:`~chanmix.io.formats.WHOLE`,
    carrying `like`'s metadata."""
    dpi, icc = _carried(like, colour=3 if pixels.shape[2] >= 3 else 1)
    exif = like.exif if like is not None else None
    if fmt == "png":
        save_png(file, pixels, dpi=dpi, icc_profile=icc, exif=exif)
        return
    chosen = QUALITY[fmt] if quality is None else quality
    if fmt == "jpeg":
        save_jpeg(file, pixels, quality=chosen, dpi=dpi, icc_profile=icc, exif=exif)
    elif fmt == "webp":  # grey is stored as RGB: an RGB profile fits it
        rgb_icc = _carried(like, colour=3)[1] if pixels.shape[2] < 3 else icc
        save_webp(file, pixels, quality=chosen, exif=exif, icc_profile=rgb_icc)
    elif fmt == "avif":
        save_avif(file, pixels, quality=chosen, exif=exif, icc_profile=icc)
    else:  # the codestream's orientation (1: imagecodecs sets none) governs: the EXIF says so too
        save_jxl(file, pixels, quality=chosen, exif=with_orientation(exif, 1) if exif is not None else None)


def check_encode(
    name: str, fmt: str, shape: tuple[int, int, int], dtype: DTypeLike, *, held: int = 0
) -> None:
    """Refuse a PNG, JPEG, WebP, AVIF or JPEG XL output whose gathering and encoding would
    take more than the memory budget (:mod:`chanmix.budget`); other formats are written as
    they come and pass.

    The peak is the gathered ``(H, W, M)`` array plus the larger of what the encoder takes
    beside it and `held`, bytes the caller holds until the last band is gathered (an input
    decoded whole, freed before encoding starts).

    Raises
    ------
    BudgetError
        A DataError naming `name`, the bytes needed and the budget.
    """
    if fmt not in WHOLE:
        return
    height, width, channels = shape
    dt = np.dtype(dtype)
    raw = height * width * channels * dt.itemsize
    if fmt == "png":
        encoder = png_encode_bytes(raw)
    elif fmt == "jpeg":
        encoder = jpeg_encode_bytes(height, width, channels)
    else:
        encoder = photo_encode_bytes(fmt, shape, dt.itemsize)
    check_whole(name, f"encoding this {shape_text(shape, dt)} image whole", raw + max(held, encoder))


def _check_request(
    name: str,
    fmt: str,
    shape: tuple[int, int, int],
    per_band: Mapping[str, Sequence | None],
    tile: tuple[int, int] | None,
    bigtiff: str,
    workers: int,
) -> None:
    """Refuse, before anything is written, a request no file can satisfy."""
    height, width, channels = shape
    if height < 1 or width < 1:
        raise UsageError(f"{name}: an image needs at least one row and one column, not {height}x{width}")
    for what, values in per_band.items():
        if values is not None and len(values) != channels:
            raise UsageError(f"{name}: {len(values)} {what} for {channels} channels")
    if fmt == "zarr" and tile is not None and (len(tile) != 2 or any(t < 1 for t in tile)):
        raise UsageError(f"{name}: Zarr chunks must be two positive sizes, not {tile}")
    if fmt != "zarr" and tile is not None and (len(tile) != 2 or any(t < 16 or t % 16 for t in tile)):
        raise UsageError(f"{name}: TIFF tiles must be two positive multiples of 16, not {tile}")
    if bigtiff not in _BIGTIFF_CHOICES:
        raise UsageError(f"{name}: bigtiff must be one of {', '.join(_BIGTIFF_CHOICES)}, not {bigtiff!r}")
    if workers < 1:
        raise UsageError(f"{name}: the number of workers must be 1 or more, not {workers}")


def _channels_last(block: np.ndarray, channels: int) -> np.ndarray:
    """A band or tile as an array with a channel axis (a 2-D block is one channel's)."""
    array = np.asarray(block)
    return array[..., np.newaxis] if array.ndim == 2 and channels == 1 else array


def _checked_rows(
    name: str, bands: Iterable[np.ndarray], shape: tuple[int, int, int], dtype: np.dtype
) -> Iterator[np.ndarray]:
    """The bands as C-contiguous, native-order ``(h, W, M)`` arrays, checked against `shape`.

    Empty bands are skipped. Raises UsageError for a band of the wrong width, channel count
    or sample type, and when the heights do not add up to H.
    """
    height, width, channels = shape
    done = 0
    for band in bands:
        array = _channels_last(band, channels)
        if array.ndim != 3 or array.shape[1:] != (width, channels) or array.dtype.newbyteorder("=") != dtype:
            raise UsageError(
                f"{name}: a band of shape {array.shape} and type {array.dtype} does not fit an image"
                f" of {width} columns and {channels} {dtype.name} channels"
            )
        if done + len(array) > height:
            raise UsageError(f"{name}: the bands hold more than the {height} rows announced")
        done += len(array)
        if len(array):
            yield np.ascontiguousarray(array, dtype=dtype)
        del band, array  # hold no band while the next one is produced
    if done != height:
        raise UsageError(f"{name}: the bands hold {done} rows, not the {height} announced")


def _checked_tiles(
    name: str,
    tiles: Iterable[np.ndarray],
    shape: tuple[int, int, int],
    tile: tuple[int, int],
    dtype: np.dtype,
) -> Iterator[np.ndarray]:
    """The tiles as C-contiguous, native-order arrays, each checked against the shape its place
    in the image gives it (see :func:`write_raster_blocks`); UsageError otherwise."""
    height, width, channels = shape
    places = ((r, c) for r in range(0, height, tile[0]) for c in range(0, width, tile[1]))
    for block in tiles:
        place = next(places, None)
        if place is None:
            raise UsageError(f"{name}: more tiles than a {height} x {width} image holds")
        array = _channels_last(block, channels)
        expected = (min(tile[0], height - place[0]), min(tile[1], width - place[1]), channels)
        if array.shape != expected or array.dtype.newbyteorder("=") != dtype:
            raise UsageError(
                f"{name}: the tile at row {place[0]}, column {place[1]} has shape {array.shape} and"
                f" type {array.dtype}, not {expected} {dtype.name}"
            )
        yield np.ascontiguousarray(array, dtype=dtype)
        del block, array  # hold no tile while the next one is produced
    if next(places, None) is not None:
        raise UsageError(f"{name}: fewer tiles than a {height} x {width} image holds")


def _gathered(rows: Iterator[np.ndarray], shape: tuple[int, int, int], dtype: np.dtype) -> np.ndarray:
    """The whole ``(H, W, M)`` image, for encoders that need it at once (see :func:`_encode`)."""
    pixels = np.empty(shape, dtype)
    start = 0
    for band in rows:
        pixels[start : start + len(band)] = band
        start += len(band)
    return pixels


def _write_npy(
    file: BinaryIO, rows: Iterator[np.ndarray], shape: tuple[int, int, int], dtype: np.dtype
) -> None:
    """The bytes :func:`numpy.save` writes for the whole ``(H, W, M)`` array, band by band."""
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(file, header)
    for band in rows:
        file.write(band.data)


def _carried(like: RasterInfo | None, colour: int) -> tuple[tuple[float, float] | None, bytes | None]:
    """Pixels per inch and an ICC profile (if its colour space fits) to carry to a whole-encoded
    format."""
    if like is None:
        return None, None
    dpi = None
    if like.resolution is not None and like.resolution_unit is not None:
        per_inch = 2.54 if like.resolution_unit == "centimeter" else 1.0
        dpi = (like.resolution[0] * per_inch, like.resolution[1] * per_inch)
        if not all(math.isfinite(v) and 0 < v < _MAX_DPI for v in dpi):
            dpi = None  # a damaged resolution tag: PNG's pHYs holds 32-bit pixels per metre
    return dpi, like.icc_profile if icc_fits(like.icc_profile, colour) else None
