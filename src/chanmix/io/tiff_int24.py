"""TIFF samples of 24-bit integers (BitsPerSample 24), unpacked by chanmix instead of tifffile.

tifffile hands such samples to imagecodecs' ``packints_decode``, whose byte order has changed
between releases: before imagecodecs 2026.3.6 (every release for Python 3.10) little-endian
files come out byte-swapped, and 2026.3.6 shifts big-endian ones by 8 bits; signed 24-bit
samples tifffile does not read at all. So chanmix decodes these pages itself, segment by
segment: the segment's bytes are bit-reversed for FillOrder 2 and decompressed by tifffile's
own decompressor (:data:`tifffile.TIFF.DECOMPRESSORS`), and every 3 bytes are combined into
one sample with numpy.

The three bytes are combined as GDAL combines them, which is not the file's byte order: GDAL
writes and reads a little-endian file's 24-bit samples most significant byte first, and a
big-endian file's least significant byte first (libtiff swaps 3-byte samples of a big-endian
file, then GDAL reads them most significant byte first, on either kind of host). Unsigned
(and void) samples become uint32; signed ones (SampleFormat 2) are sign-extended into int32
-- where GDAL, which has no 24-bit signed type, returns the same 24 bits as UInt32.

Horizontal differencing (Predictor 2) is refused, as libtiff and GDAL refuse it for 24-bit
samples (and neither GDAL nor tifffile writes it): there is no reader to agree with.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
import tifffile

__all__ = ["Int24Segments", "int24_decoder", "int24_dtype"]

_UNSIGNED = {1, 4}  # SampleFormat UINT, VOID
_SIGNED = 2
#: Compressions whose segments are not a byte stream to decompress (CCITT, JPEG, Jetraw, EER:
#: codecs that return pixels or need their own calls), as tifffile's TiffPage.decode tells them
#: apart (with TIFF.IMAGE_COMPRESSIONS).
_NOT_BYTES = {2, 3, 4, 6, 7, 33007, 34892, 48124, 65000, 65001, 65002}
#: Byte values with their bits reversed (FillOrder 2).
_REVERSED = np.array([int(f"{value:08b}"[::-1], 2) for value in range(256)], np.uint8)
_READ_BYTES = 2**22


def int24_dtype(page: Any) -> np.dtype | None:
    """uint32 or int32 for a page of 24-bit integer samples; None for any other page."""
    if page.bitspersample != 24:
        return None
    formats = page.tags.valueof(339, 1)  # SampleFormat: one value, or one per sample
    formats = set(formats) if isinstance(formats, tuple) else {formats}
    if len(formats) != 1:
        return None  # samples of several formats: tifffile refuses them
    (sampleformat,) = formats
    if sampleformat in _UNSIGNED:
        return np.dtype(np.uint32)
    if sampleformat == _SIGNED:
        return np.dtype(np.int32)
    return None


def int24_decoder(keyframe: Any) -> Int24Segments | None:
    """The decoder of a page of 24-bit integer samples; None for any other page.

    Raises
    ------
    ValueError
        For 24-bit integer samples chanmix cannot decode (a predictor, an image codec).
    """
    dtype = int24_dtype(keyframe)
    return None if dtype is None else Int24Segments(keyframe, dtype)


class Int24Segments:
    """Decode the strips or tiles of pages like `keyframe` (24-bit integer samples).

    Parameters
    ----------
    keyframe : tifffile.TiffPage
        The page whose tags describe the segments.
    dtype : numpy.dtype
        uint32 or int32 (:func:`int24_dtype`).

    Attributes
    ----------
    dtype : numpy.dtype
        Of the decoded samples, native byte order.

    Raises
    ------
    ValueError
        For a predictor, or a compression that is not a byte stream.
    """

    def __init__(self, keyframe: Any, dtype: np.dtype) -> None:
        compression, predictor = int(keyframe.compression), int(keyframe.predictor)
        if predictor != 1:
            raise ValueError(f"Predictor {predictor} is not supported with 24-bit integer samples")
        self._decompress = None
        if compression != 1:
            name = _name(tifffile.COMPRESSION, compression)
            if compression in _NOT_BYTES or compression in tifffile.TIFF.IMAGE_COMPRESSIONS:
                raise ValueError(f"{name} compression is not supported with 24-bit integer samples")
            try:
                self._decompress = tifffile.TIFF.DECOMPRESSORS[compression]
            except KeyError as exc:
                raise ValueError(f"{name} compression is not supported (no decoder)") from exc
        self.dtype = dtype.newbyteorder("=")
        self._signed = dtype.kind == "i"
        self._little = keyframe.parent.byteorder == "<"
        self._fillorder2 = keyframe.fillorder == 2
        self._nodata = keyframe.nodata
        self.shaped = tuple(int(n) for n in keyframe.shaped)  # separate, depth, length, width, contig
        _, depth, length, width, samples = self.shaped
        self._tiled = bool(keyframe.is_tiled)
        if self._tiled:
            self._stored = (
                int(keyframe.tiledepth),
                int(keyframe.tilelength),
                int(keyframe.tilewidth),
                samples,
            )
        else:
            self._stored = (1, int(keyframe.rowsperstrip), width, samples)
        self._counts = tuple(math.ceil(n / s) for n, s in zip((depth, length, width), self._stored[:3]))

    def origin(self, index: int) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
        """Where segment `index` starts in the page ``(plane, z, y, x)``, and the shape
        ``(depth, rows, columns, samples)`` of the samples it holds (as tifffile numbers them)."""
        depths, lengths, widths = self._counts
        stdepth, stlength, stwidth, samples = self._stored
        if self._tiled:
            area = lengths * widths
            z, y = (index // area) % depths * stdepth, (index // widths) % lengths * stlength
            return (index // (area * depths), z, y, index % widths * stwidth), self._stored
        _, depth, length, _, _ = self.shaped
        top = index % lengths * stlength
        start = (index // (lengths * depth), (index // lengths) % depth, top, 0)
        return start, (1, min(stlength, length - top), stwidth, samples)

    def unpack(self, data: Any, count: int) -> np.ndarray:
        """The first `count` samples of uncompressed bytes `data`, 1-D in :attr:`dtype`.

        Raises
        ------
        ValueError
            When `data` holds fewer than ``3 * count`` bytes.
        """
        raw = np.frombuffer(data, np.uint8)
        if raw.size < 3 * count:
            raise ValueError(f"{raw.size} bytes hold fewer than {count} 24-bit samples")
        stored = raw[: 3 * count].reshape(count, 3)
        words = np.empty((count, 4), np.uint8)  # little-endian 32-bit words
        # GDAL's order (see the module docstring): most significant byte first in a
        # little-endian file, last in a big-endian one.
        words[:, :3] = stored[:, ::-1] if self._little else stored
        if self._signed:
            top = stored[:, 0] if self._little else stored[:, 2]
            np.multiply(top >> 7, np.uint8(255), out=words[:, 3])
        else:
            words[:, 3] = 0
        little = np.dtype("<i4" if self._signed else "<u4")
        return words.view(little).reshape(count).astype(self.dtype, copy=False)

    def segment(self, data: bytes, index: int) -> np.ndarray:
        """Segment `index` decoded from its encoded bytes: ``(depth, rows, columns, samples)``.

        Raises
        ------
        ValueError, RuntimeError...
            For bytes that do not decode to the samples the segment holds.
        """
        _, shape = self.origin(index)
        count = math.prod(shape)
        if self._fillorder2:
            data = _REVERSED[np.frombuffer(data, np.uint8)].tobytes()
        if self._decompress is not None:
            data = self._decompress(data, out=count * 4)  # as tifffile: room for 32-bit samples
        kind = "tile" if self._tiled else "strip"
        try:
            samples = self.unpack(data, count)
        except ValueError as exc:
            raise tifffile.TiffFileError(f"corrupted {kind} {index}: {exc}") from None
        return samples.reshape(shape)

    def pages(self, pages: Sequence[Any]) -> np.ndarray:
        """Whole pages like the keyframe, decoded: ``(len(pages),) + keyframe.shaped``.

        A missing page (None) is zeros and a missing segment (offset or byte count 0) the
        keyframe's nodata, as tifffile's own decoding fills them; the memory taken is the
        result's and one segment's (and up to 4 MiB of encoded bytes).

        Raises
        ------
        tifffile.TiffFileError
            When a page lists fewer segments than its image needs, or a segment is corrupted.
        ValueError, RuntimeError, OSError...
            Whatever the codec or the file raises.
        """
        needed = self.shaped[0] * math.prod(self._counts)
        out = np.empty((len(pages), *self.shaped), self.dtype)
        for number, page in enumerate(pages):
            if page is None:
                out[number] = 0
                continue
            listed = min(len(page.dataoffsets), len(page.databytecounts))
            if listed < needed:  # rows or columns no segment holds
                _, _, height, width, _ = self.shaped
                kind = "tiles" if self._tiled else "strips"
                raise tifffile.TiffFileError(
                    f"its {height} x {width} image needs {needed} {kind}, a page lists {listed}"
                )
            for data, index in _segments(page):
                (plane, z, y, x), shape = self.origin(index)
                target = out[number, plane, z : z + shape[0], y : y + shape[1], x : x + shape[2]]
                if data is None:
                    target[...] = self._nodata
                else:
                    segment = self.segment(data, index)
                    target[...] = segment[: target.shape[0], : target.shape[1], : target.shape[2]]
        return out


def _segments(page: Any) -> Iterator[tuple[bytes | None, int]]:
    """The encoded bytes of every segment of `page` (None for a missing one), with its index."""
    fh = page.parent.filehandle
    segments = fh.read_segments(page.dataoffsets, page.databytecounts, lock=fh.lock, buffersize=_READ_BYTES)
    return cast(Iterator[tuple[bytes | None, int]], segments)


def _name(enum: Any, value: int) -> str:
    try:
        return str(enum(value).name)
    except ValueError:
        return str(value)
