"""TIFF output through tifffile, written incrementally from row bands.

Layout
------
- Strips by default, ``RowsPerStrip = max(1, 256 KiB // row size)`` (tifffile's choice for
  compressed strips, about GDAL's order of magnitude), whatever the compression, so the
  layout depends on the width, band count and sample type only, never on how the rows
  arrive.
- Tiles of ``(th, tw)`` when asked for (multiples of 16); edge tiles are zero-padded.
- Pixel-interleaved (PlanarConfiguration 1), the file's native byte order.
- Compression none, deflate, lzw or zstd, with the horizontal predictor (2) for integers and
  the floating-point predictor (3) for floats.
- BigTIFF on request, or (``'auto'``) when the stored samples exceed 4 GiB less 32 MiB
  (tifffile's own threshold), or 2 GiB when compressed: LZW can expand incompressible data
  by half, and a classic TIFF cannot address beyond 4 GiB.

Streaming
---------
Strips and tiles are cut from the bands as they arrive, holding at most one strip or one
tile row besides the bands (none when the bands are whole tile rows), and handed to
tifffile's iterator interface: uncompressed tiles as arrays, strips and compressed tiles as
encoded bytes (its interface takes strips only as whole pages of arrays, or as bytes).
Segments are compressed here with tifffile's own predictor and codec functions
(``tifffile.TIFF.PREDICTORS``, ``tifffile.TIFF.COMPRESSORS``), so the bytes are those
``tifffile.imwrite`` writes for the whole array. With ``workers > 1``, a thread pool
compresses them, at most ``2 * workers`` in flight.

Metadata
--------
See :func:`tiff_tags`. No time stamp is written, so the bytes depend on the inputs only.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

import numpy as np
import tifffile

from .exif import tiff_tags as exif_tiff_tags
from .geotiff import GDAL_METADATA, GDAL_NODATA, format_nodata, gdal_metadata_xml
from .raster import RasterInfo, icc_fits

__all__ = ["BIGTIFF_LIMIT", "TIFF_COMPRESSIONS", "rows_per_strip", "tiff_tags", "write_tiff_blocks"]

#: Output compressions: chanmix name -> tifffile name.
TIFF_COMPRESSIONS = {"deflate": "adobe_deflate", "lzw": "lzw", "zstd": "zstd"}
#: Stored bytes above which ``bigtiff='auto'`` writes BigTIFF (tifffile's own threshold).
BIGTIFF_LIMIT = 2**32 - 2**25
_STRIP_BYTES = 2**18


def rows_per_strip(width: int, channels: int, dtype: np.dtype) -> int:
    """RowsPerStrip of a stripped output: strips of about 256 KiB, at least one row."""
    return max(1, _STRIP_BYTES // (width * channels * np.dtype(dtype).itemsize))


def tiff_tags(
    channels: int,
    dtype: np.dtype,
    *,
    alpha: bool = False,
    like: RasterInfo | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    compression: str | None = None,
) -> dict[str, Any]:
    """The :func:`tifffile.imwrite` options describing an output image and its metadata.

    Parameters
    ----------
    channels : int
        Number of bands, C >= 1.
    dtype : numpy.dtype
        One of :data:`~chanmix.io.raster.SAMPLE_DTYPES`.
    alpha : bool
        The last band is unassociated alpha (ExtraSamples 2); other extra bands are written
        as unspecified (0).
    like : RasterInfo, optional
        The input whose resolution, ICC profile (when its colour space is RGB for three
        colour bands, GRAY for one), GeoTIFF tags, dataset-level GDAL_METADATA items and
        EXIF IFD0 tags that are TIFF tags (:data:`~chanmix.io.exif.TIFF_TAGS`: Make, Model,
        Orientation, DateTime, Artist, Copyright) are carried over.
    band_names : sequence of C str, optional
        Written as GDAL_METADATA band DESCRIPTION items (``rasterio``'s ``descriptions``).
    nodata : float, optional
        Written as GDAL_NODATA.
    compression : {None, 'deflate', 'lzw', 'zstd'}
        With the dtype's predictor.

    Returns
    -------
    dict
        Keyword arguments for :func:`tifffile.imwrite`, ``extratags`` included.

    Notes
    -----
    PhotometricInterpretation is RGB for 3 colour bands (plus alpha) of uint8 or uint16, and
    MINISBLACK otherwise.
    """
    dtype = np.dtype(dtype)
    colour = 3 if dtype in (np.uint8, np.uint16) and channels - int(alpha) == 3 else 1
    extrasamples = [0] * (channels - colour)
    if alpha:
        extrasamples[-1] = 2
    options: dict[str, Any] = {
        "photometric": "rgb" if colour == 3 else "minisblack",
        "planarconfig": "contig" if channels > 1 else None,
        "extrasamples": extrasamples or None,
        "compression": TIFF_COMPRESSIONS[compression] if compression else None,
        "predictor": True if compression else None,
        "metadata": None,
        "software": "chanmix",
    }
    extratags: list[tuple] = []
    if like is not None:
        if like.resolution is not None:
            options["resolution"] = like.resolution
            options["resolutionunit"] = {"inch": 2, "centimeter": 3}.get(like.resolution_unit or "", 1)
        icc = like.icc_profile
        if icc is not None and icc_fits(icc, colour):
            # InterColorProfile as a tag: imwrite takes iccprofile= only from tifffile 2024.5.22
            extratags.append((34675, 7, len(icc), icc, True))
        if like.geo is not None:
            extratags.extend(like.geo.tags)
        if like.exif is not None:
            extratags.extend(exif_tiff_tags(like.exif))
    xml = gdal_metadata_xml(like.gdal_metadata if like else None, band_names)
    if xml is not None:
        extratags.append((GDAL_METADATA, 2, 0, xml.encode("utf-8"), True))
    if nodata is not None:
        extratags.append((GDAL_NODATA, 2, 0, format_nodata(nodata).encode("ascii"), True))
    options["extratags"] = extratags
    return options


def write_tiff_blocks(
    file: str | os.PathLike | BinaryIO,
    rows: Iterator[np.ndarray],
    *,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    compression: str | None = None,
    tile: tuple[int, int] | None = None,
    tiles: bool = False,
    bigtiff: str = "auto",
    workers: int = 1,
    **metadata: Any,
) -> None:
    """Write row bands as one TIFF image (see the module docstring for the layout).

    Parameters
    ----------
    file : str, os.PathLike or binary file
        File to write, from its start (not atomically: see
        :func:`~chanmix.io.write_raster_blocks`).
    rows : iterator of (h_i, W, C) ndarray
        Row bands top to bottom, native byte order, whose heights sum to H; checked by the
        caller. With `tiles`, the image's tiles instead, row by row and left to right, cut to
        the image at its edges.
    shape : (int, int, int)
        ``(H, W, C)``.
    dtype : numpy.dtype
        Sample type of every band.
    compression : {None, 'deflate', 'lzw', 'zstd'}
    tile : (int, int), optional
        Tile height and width, multiples of 16; strips when None.
    tiles : bool
        `rows` are tiles (needs `tile`).
    bigtiff : {'auto', 'yes', 'no'}
    workers : int
        Threads compressing segments.
    **metadata
        `alpha`, `like`, `band_names`, `nodata`, as for :func:`tiff_tags`.
    """
    height, width, channels = shape
    dtype = np.dtype(dtype)
    options = tiff_tags(channels, dtype, compression=compression, **metadata)
    data: Iterator[np.ndarray] | Iterator[bytes]
    if tile is None:
        options["rowsperstrip"] = rows_per_strip(width, channels, dtype)
        stored = height * width
        strips = _row_groups(rows, options["rowsperstrip"], width, channels, dtype)
        if not compression:
            data = _each(strips, np.ndarray.tobytes)
        elif workers > 1:
            data = _encoded(_each(strips, np.copy), _encoder(compression, dtype), workers)
        else:
            data = _each(strips, _encoder(compression, dtype))
    else:
        options["tile"] = tile
        stored = math.ceil(height / tile[0]) * tile[0] * math.ceil(width / tile[1]) * tile[1]
        if tiles:
            pieces = _padded(rows, tile)
        else:
            pieces = _tiles(_row_groups(rows, tile[0], width, channels, dtype), tile)
        data = pieces if not compression else _encoded(pieces, _encoder(compression, dtype), workers)
    stored *= channels * dtype.itemsize
    limit = BIGTIFF_LIMIT // 2 if compression else BIGTIFF_LIMIT
    tifffile.imwrite(
        file,
        data,
        shape=(height, width, channels) if channels > 1 else (height, width),
        dtype=dtype,
        bigtiff=bigtiff == "yes" or (bigtiff == "auto" and stored > limit),
        **options,
    )


def _row_groups(
    rows: Iterator[np.ndarray], size: int, width: int, channels: int, dtype: np.dtype
) -> Iterator[np.ndarray]:
    """Regroup row bands into consecutive groups of `size` rows (the last one may be shorter).

    A group lying inside one band is a view of it; the others are gathered in one buffer,
    reused: a group is valid until the next one is requested. No band is referenced while
    the next one is being produced.
    """
    buffer: np.ndarray | None = None
    filled = 0
    for band in rows:
        position = 0
        while position < len(band):
            if filled == 0 and len(band) - position >= size:
                yield band[position : position + size]
                position += size
                continue
            if buffer is None:
                buffer = np.empty((size, width, channels), dtype)
            take = min(size - filled, len(band) - position)
            buffer[filled : filled + take] = band[position : position + take]
            filled += take
            position += take
            if filled == size:
                yield buffer
                filled = 0
        del band
    if buffer is not None and filled:
        yield buffer[:filled]


def _each(items: Iterator[np.ndarray], function: Callable[[np.ndarray], Any]) -> Iterator[Any]:
    """``function(item)`` for each item, referencing none while the next one is produced
    (an item may be a view keeping a whole band alive; tifffile also keeps the first result)."""
    for item in items:
        yield function(item)
        del item


def _tiles(groups: Iterator[np.ndarray], tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """Cut tile rows into new ``(th, tw, C)`` arrays, left to right, zero-padded at the edges."""
    for group in groups:
        yield from _cut(group, tile)
        del group


def _padded(tiles: Iterator[np.ndarray], tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """Tiles cut to the image, zero-padded to the whole tile (new arrays either way)."""
    for piece in tiles:
        if piece.shape[:2] == tile:
            yield piece
        else:
            padded = np.zeros(tile + piece.shape[2:], piece.dtype)
            padded[: piece.shape[0], : piece.shape[1]] = piece
            yield padded
        del piece


def _cut(group: np.ndarray, tile: tuple[int, int]) -> Iterator[np.ndarray]:
    """The tiles of one tile row (a group of at most `th` rows)."""
    tile_height, tile_width = tile
    for left in range(0, group.shape[1], tile_width):
        piece = group[:, left : left + tile_width]
        if piece.shape[:2] == tile:
            yield piece.copy()
        else:
            padded = np.zeros((tile_height, tile_width, group.shape[2]), group.dtype)
            padded[: piece.shape[0], : piece.shape[1]] = piece
            yield padded


def _encoder(compression: str, dtype: np.dtype) -> Callable[[np.ndarray], bytes]:
    """Predictor then codec, as tifffile applies them to a ``(rows, cols, C)`` segment."""
    tag = tifffile.COMPRESSION[TIFF_COMPRESSIONS[compression].upper()].value
    compress = tifffile.TIFF.COMPRESSORS[tag]
    predict = tifffile.TIFF.PREDICTORS[3 if dtype.kind == "f" else 2]

    def encode(segment: np.ndarray) -> bytes:
        return compress(predict(segment, axis=-2))

    return encode


def _encoded(
    segments: Iterator[np.ndarray], encode: Callable[[np.ndarray], bytes], workers: int
) -> Iterator[bytes]:
    """Encoded segments in order, `workers` threads encoding at most ``2 * workers`` at once.

    Segments must be new arrays, which nothing changes afterwards.
    """
    if workers <= 1:
        yield from _each(segments, encode)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[bytes]] = deque()
        for segment in segments:
            pending.append(pool.submit(encode, segment))
            del segment
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
