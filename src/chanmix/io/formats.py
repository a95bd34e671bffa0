"""Which output formats hold what: chosen by extension, checked before any pixel work.

========================  ===========================  ===================================
extension                 channels                     sample types
========================  ===========================  ===================================
``.tif``, ``.tiff``       any                          uint8, uint16, int16, uint32, int32,
                                                       float32, float64
``.png``                  1 to 4 (L, LA, RGB, RGBA)    uint8, uint16
``.jpg``, ``.jpeg``       1 or 3                       uint8
``.webp``                 1 to 4 (grey stored as RGB)  uint8
``.avif``                 1 to 4 (LA stored as RGBA)   uint8
``.jxl`` (JPEG XL)        1 to 4 (L, LA, RGB, RGBA)    uint8, uint16
``.npy``                  any                          as TIFF
``.img``, ``.dat``,       any                          as TIFF
``.bsq``, ``.bil``,
``.bip`` (ENVI)
``.zarr`` (a folder)      any                          as TIFF
========================  ===========================  ===================================

ENVI outputs are a raw data file (band sequential for ``.img``, ``.dat`` and ``.bsq``, band
interleaved by line or pixel for ``.bil`` and ``.bip``) and a ``.hdr`` header beside it
(:mod:`chanmix.io.envi_write`). A ``.zarr`` output is a Zarr v3 store, a folder laid out as
xarray writes a rioxarray raster (:mod:`chanmix.io.zarr_write`); writing it needs the zarr
package (``pip install 'chanmix[dask]'``), and a path naming one may end with a separator.

Lossy outputs (JPEG, WebP, AVIF, JPEG XL) take a quality, 1 to 100 (:data:`QUALITY`
holds each format's default); quality 100 makes WebP and JPEG XL lossless, as ``cwebp
-lossless`` and ``cjxl -q 100`` do. A quality asked of a lossless-only output is refused.

Sizes: JPEG outputs hold at most 65500 pixels a side (libjpeg's limit, a little under the
format's 65535), PNG outputs 1000000 (libpng's default limit, which imagecodecs keeps; the
format allows 2^31 - 1), WebP 16383 (the format's limit), AVIF 65536 (AV1's) and JPEG XL
262144 (the format's level 5, which every decoder supports). PNG, JPEG, WebP, AVIF and JPEG
XL outputs are also encoded whole, so their memory is checked against the budget
(:func:`chanmix.io.stream_write.check_encode`).

Alpha (the last channel) needs another channel beside it; PNG stores it only as the 2nd of 2
or the 4th of 4 channels (and a 2- or 4-channel PNG always has alpha), JPEG not at all.
Compression (deflate, lzw, zstd) is a TIFF option, ignored for the other formats but Zarr,
whose chunks are compressed with deflate (Zarr's gzip codec) or zstd, never LZW.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import DTypeLike

from ..errors import UsageError
from .raster import SAMPLE_DTYPES
from .tiff_write import TIFF_COMPRESSIONS
from .zarr_store import is_zarr_path, zarr_module
from .zarr_write import ZARR_COMPRESSIONS

__all__ = [
    "EXTENSIONS",
    "LOSSY",
    "MAX_SIDE",
    "QUALITY",
    "WHOLE",
    "check_output",
    "normalized_compression",
    "output_format",
]

#: Output extension (lower case) -> format name.
EXTENSIONS = {
    ".tif": "tiff",
    ".tiff": "tiff",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".webp": "webp",
    ".avif": "avif",
    ".jxl": "jxl",
    ".npy": "npy",
    ".img": "envi",
    ".dat": "envi",
    ".bsq": "envi",
    ".bil": "envi",
    ".bip": "envi",
    ".zarr": "zarr",
}
_PNG_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))
#: SamplesPerPixel is a 16-bit field.
TIFF_MAX_CHANNELS = 65535
#: Most pixels a side the encoders write: libjpeg (through Pillow), libpng (through
#: imagecodecs, whose default user limit is 10^6), WebP's 14-bit sides, AV1's 16-bit sides,
#: JPEG XL's level 5.
MAX_SIDE = {"jpeg": 65500, "png": 1_000_000, "webp": 16383, "avif": 65536, "jxl": 262_144}
_FORMAT_NAMES = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "avif": "AVIF", "jxl": "JPEG XL"}
#: Formats encoded whole, from one ``(H, W, M)`` array (the others are written as they come).
WHOLE = ("png", "jpeg", "webp", "avif", "jxl")
#: Lossy formats and their default quality (1 to 100): JPEG 95 as chanmix always wrote it;
#: WebP 90; AVIF 90; JPEG XL 90, cjxl's default (distance 1.0, "visually lossless").
QUALITY = {"jpeg": 95, "webp": 90, "avif": 90, "jxl": 90}
LOSSY = tuple(QUALITY)
#: Channels and sample types of the photo formats: (channels, dtypes, what to say).
_PHOTO = {
    "jpeg": ((1, 3), ("uint8",), "1 or 3 channels of uint8"),
    "webp": ((1, 2, 3, 4), ("uint8",), "1 to 4 channels of uint8"),
    "avif": ((1, 2, 3, 4), ("uint8",), "1 to 4 channels of uint8"),
    "jxl": ((1, 2, 3, 4), ("uint8", "uint16"), "1 to 4 channels of uint8 or uint16"),
}


def output_format(path: str | os.PathLike) -> str:
    """The output format for a file name: ``'tiff'``, ``'png'``, ``'jpeg'``, ``'webp'``,
    ``'avif'``, ``'jxl'``, ``'npy'``, ``'envi'`` or ``'zarr'``.

    Raises
    ------
    UsageError
        For any other extension (case is ignored), naming the path and the known extensions;
        for ``.zarr`` when the zarr package is not installed.
    """
    name = os.fspath(path)
    if is_zarr_path(name):
        zarr_module(name, "writing")
        return "zarr"
    extension = os.path.splitext(name)[1]
    try:
        return EXTENSIONS[extension.lower()]
    except KeyError:
        what = f"extension {extension!r}" if extension else f"{os.path.basename(name)!r} has no extension"
        known = ", ".join(EXTENSIONS)
        raise UsageError(f"{name}: unknown output format ({what}); use one of {known}") from None


def check_output(
    path: str | os.PathLike,
    *,
    channels: int,
    dtype: DTypeLike,
    alpha: bool = False,
    compression: str | None = None,
    height: int | None = None,
    width: int | None = None,
    quality: int | None = None,
) -> str:
    """Check that an output file can hold the result, before any pixel is computed.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; its extension selects the format.
    channels : int
        Number of output channels M, alpha included.
    dtype : numpy dtype
        Output sample type.
    alpha : bool
        Whether the last channel is alpha.
    compression : {None, 'none', 'deflate', 'lzw', 'zstd'}
        TIFF compression (case is ignored); ignored for other formats.
    height, width : int, optional
        The image's size, checked against the format's limits (:data:`MAX_SIDE`) when given.
    quality : int, optional
        1 to 100, for a lossy format (:data:`LOSSY`) only.

    Returns
    -------
    str
        The format, as :func:`output_format`.

    Raises
    ------
    UsageError
        Naming the path, e.g. ``"out.png: PNG holds 1 to 4 channels of uint8 or uint16,
        not 5 float32 channels"``.
    """
    name = os.fspath(path)
    fmt = output_format(name)
    dt = np.dtype(dtype)
    what = f"{channels} {dt.name} channel{'' if channels == 1 else 's'}"
    if channels < 1:
        raise UsageError(f"{name}: an image needs at least one channel, not {channels}")
    if fmt == "tiff" and channels > TIFF_MAX_CHANNELS:
        raise UsageError(f"{name}: TIFF holds at most {TIFF_MAX_CHANNELS} channels, not {channels}")
    if fmt == "png" and not (channels <= 4 and dt in _PNG_DTYPES):
        raise UsageError(f"{name}: PNG holds 1 to 4 channels of uint8 or uint16, not {what}")
    if fmt in _PHOTO:
        counts, dtypes, holds = _PHOTO[fmt]
        if channels not in counts or dt.name not in dtypes:
            raise UsageError(f"{name}: {_FORMAT_NAMES[fmt]} holds {holds}, not {what}")
    if quality is not None:
        _check_quality(name, fmt, quality)
    if fmt in ("webp", "avif", "jxl"):
        from .photo_write import encoder_missing  # imports Pillow: only for these outputs

        missing = encoder_missing(fmt)
        if missing is not None:
            raise UsageError(f"{name}: cannot write {_FORMAT_NAMES[fmt]}: {missing}")
    limit = MAX_SIDE.get(fmt)
    if limit is not None and max(height or 0, width or 0) > limit:
        raise UsageError(
            f"{name}: {_FORMAT_NAMES[fmt]} output holds at most {limit} pixels a side, not "
            f"{height} x {width}; write a .tif"
        )
    if fmt in ("tiff", "npy", "envi", "zarr") and dt not in SAMPLE_DTYPES:
        known = ", ".join(d.name for d in SAMPLE_DTYPES)
        label = {"tiff": "TIFF", "npy": ".npy output", "envi": "ENVI output", "zarr": "Zarr output"}[fmt]
        raise UsageError(f"{name}: {label} holds samples of type {known}, not {dt.name}")
    if alpha:
        _check_alpha(name, fmt, channels)
    normalized_compression(name, fmt, compression)
    return fmt


def _check_quality(name: str, fmt: str, quality: int) -> None:
    if fmt not in LOSSY:
        lossy = ", ".join(ext for ext, f in EXTENSIONS.items() if f in LOSSY)
        raise UsageError(
            f"quality applies to lossy outputs ({lossy}); {name} is written losslessly",
            parameter="quality",
        )
    if not 1 <= quality <= 100:
        raise UsageError(f"quality must be 1 to 100, not {quality} ({name})", parameter="quality")


def _check_alpha(name: str, fmt: str, channels: int) -> None:
    if channels < 2:
        raise UsageError(f"{name}: an alpha channel needs another channel beside it")
    if fmt == "jpeg":
        raise UsageError(f"{name}: JPEG cannot hold an alpha channel")
    if fmt in ("webp", "avif", "jxl") and channels not in (2, 4):
        raise UsageError(
            f"{name}: {_FORMAT_NAMES[fmt]} holds alpha only as the last of 2 or 4 channels, not of {channels}"
        )
    if fmt == "png" and channels not in (2, 4):
        raise UsageError(
            f"{name}: PNG holds alpha only as the last of 2 (LA) or 4 (RGBA) channels, not of {channels}"
        )


def normalized_compression(name: str, fmt: str, compression: str | None) -> str | None:
    """The compression to write: None, or a key of TIFF_COMPRESSIONS (of ZARR_COMPRESSIONS
    for a Zarr output).

    A known compression asked for another format is ignored (None): PNG always deflates,
    JPEG and ``.npy`` have their own encoding, so a caller may pass the input's compression
    whatever the output format.

    Raises
    ------
    UsageError
        For an unknown compression name, and for LZW asked of a Zarr output.
    """
    if compression is None or compression.lower() == "none":
        return None
    key = compression.lower()
    if key not in TIFF_COMPRESSIONS:
        known = ", ".join(["none", *TIFF_COMPRESSIONS])
        raise UsageError(f"{name}: unknown TIFF compression {compression!r}; use one of {known}")
    if fmt == "zarr" and key not in ZARR_COMPRESSIONS:
        known = ", ".join(["none", *ZARR_COMPRESSIONS])
        raise UsageError(f"{name}: Zarr has no {key.upper()} codec; compress a Zarr store with {known}")
    return key if fmt in ("tiff", "zarr") else None
