"""Rows (or windows) of a TIFF image decoded from just the strips or tiles that cover them.

For rows ``[start, stop)`` and columns ``[left, right)`` the reader picks, in every page of
the image (one page, or one per ``C`` channel) and every sample plane (PlanarConfiguration
2), the segments that overlap them, reads them under the file's lock and decodes them outside
it with the page's own decode function (:attr:`tifffile.TiffPage.decode`: codec, predictor,
byte order, bit unpacking, JPEG tables and YCbCr-to-RGB conversion, as
:meth:`tifffile.TiffPage.asarray` applies them), or, for 24-bit integer samples, with
chanmix's own (:mod:`chanmix.io.tiff_int24`). Uncompressed segments are read partially:
only the bytes of the rows asked for. Each decoded segment is copied into the output and
dropped before the next is read, so a call holds its output plus one segment (and up to
4 MiB of encoded bytes read at once).

Calls from several threads are safe: file reads are serialised by the file handle's lock,
decoding runs in parallel. The commonest layout of all, uncompressed interleaved strips
stored back to back, is read without the lock and without an intermediate copy: the rows'
bytes are one range of the file, read straight into the output array (``os.preadv``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np
import tifffile

from .tiff_int24 import int24_decoder

__all__ = ["TiffRows"]

_READ_BYTES = 2**22  # consolidate reads of adjacent segments up to about this many bytes


class TiffRows:
    """Decode row ranges of one streamable TIFF image.

    Parameters
    ----------
    tif : tifffile.TiffFile
        The open file; the reader turns its file handle's lock on.
    keyframe : tifffile.TiffPage
        The page describing the image (:attr:`~chanmix.io.tiff.TiffImage.keyframe`).
    planes : sequence of tifffile.TiffPage or TiffFrame
        The pages holding its channels (:attr:`~chanmix.io.tiff.TiffImage.planes`, set when
        the image is streamable), from :func:`~chanmix.io.tiff.describe_tiff`.
    """

    def __init__(self, tif: tifffile.TiffFile, keyframe: Any, planes: Sequence[Any]) -> None:
        tif.filehandle.set_lock(True)
        self._fh = tif.filehandle
        self._file_size = int(tif.filehandle.size)
        self._decode = keyframe.decode
        self._jpegheader = keyframe.jpegheader
        self._planes = [(tuple(p.dataoffsets), tuple(p.databytecounts), p.jpegtables) for p in planes]
        self._separate, _, self.height, self.width, self._contig = keyframe.shaped
        if keyframe.is_tiled:
            self.segment_rows, self._segment_cols = int(keyframe.tilelength), int(keyframe.tilewidth)
        else:
            self.segment_rows, self._segment_cols = int(keyframe.rowsperstrip), self.width
        self._across = math.ceil(self.width / self._segment_cols)
        self._down = math.ceil(self.height / self.segment_rows)
        needed = self._across * self._down * self._separate
        listed = min(len(offsets) for offsets, _, _ in self._planes)
        if listed < needed:  # a size that lies: rows or columns no segment holds
            kind = "tiles" if keyframe.is_tiled else "strips"
            raise tifffile.TiffFileError(
                f"its {self.height} x {self.width} image needs {needed} {kind}, the file lists {listed}"
            )
        self._tiled = bool(keyframe.is_tiled)
        #: chanmix's own decoder for 24-bit integer samples (tifffile's may unpack them wrong).
        self._int24 = int24_decoder(keyframe)
        self.dtype = np.dtype(keyframe.dtype if self._int24 is None else self._int24.dtype).newbyteorder("=")
        #: Encoded bytes no segment needs: twice its samples and 1 MiB (incompressible data
        #: grows a little); a larger StripByteCounts or TileByteCounts past the file's end lies.
        raw_segment = self.segment_rows * self._segment_cols * self._contig * self.dtype.itemsize
        self._segment_limit = 2 * raw_segment + (1 << 20)
        #: Bytes one decoded segment takes (a strip or a tile, for every sample it holds).
        self.segment_bytes = raw_segment
        self._nodata = keyframe.nodata
        bits = keyframe.bitspersample
        raw = keyframe.compression == 1 and keyframe.predictor == 1 and keyframe.fillorder == 1
        #: The samples' stored dtype when segments hold them as they are (uncompressed), read
        #: with numpy; 24-bit samples are unpacked by their decoder.
        self._raw_dtype: np.dtype | None = None
        #: Bytes a stored sample takes, when segments hold the samples as they are.
        self._raw_bytes: int | None = None
        if raw and self._int24 is not None:
            self._raw_bytes = 3
        elif raw and self.dtype.kind in "uif" and bits == self.dtype.itemsize * 8:
            self._raw_dtype = np.dtype(tif.byteorder + keyframe.dtype.char)
            self._raw_bytes = self._raw_dtype.itemsize
        #: The file offset of row 0 and the stored dtype, when all rows are one run of bytes.
        self._run: tuple[int, np.dtype] | None = None
        if self._raw_dtype is not None and (base := self._back_to_back(self._raw_dtype)) is not None:
            self._run = (base, self._raw_dtype)

    def _back_to_back(self, raw_dtype: np.dtype) -> int | None:
        """The file offset of row 0 when every row of the image, uncompressed samples of
        `raw_dtype`, lies in one run of the file, interleaved, in a file ``os.preadv`` can
        read; else None."""
        fh = self._fh
        simple = (
            not self._tiled
            and len(self._planes) == 1
            and self._separate == 1
            and fh.is_file
            and getattr(fh, "_offset", None) == 0
        )
        if not simple or not hasattr(os, "preadv"):
            return None
        offsets, counts, _ = self._planes[0]
        if len(offsets) < self._down or len(counts) < self._down:
            return None
        row_bytes = self.width * self._contig * raw_dtype.itemsize
        position = offsets[0]
        for index in range(self._down):
            full = self._rows_stored(index * self.segment_rows) * row_bytes
            if offsets[index] != position or counts[index] < full:
                return None
            position += full
        return int(offsets[0])

    def _read_run(self, start: int, stop: int, base: int, raw_dtype: np.dtype) -> np.ndarray | None:
        """Rows ``[start, stop)`` read in one piece from the run of rows at offset `base` (see
        :meth:`_back_to_back`), or None when the file ends early (the segment path then says
        what is wrong)."""
        out = np.empty((stop - start, self.width, self._contig), raw_dtype)
        view = out.data.cast("B")
        position, done = base + start * view.nbytes // (stop - start), 0
        while done < view.nbytes:
            got = os.preadv(self._fh.fileno(), [view[done:]], position + done)
            if got <= 0:
                return None
            done += got
        return out if out.dtype.isnative else out.astype(self.dtype)

    @property
    def exact_rows(self) -> bool:
        """Whether any rows can be read without decoding more (uncompressed, no predictor)."""
        return self._raw_bytes is not None

    @property
    def channels(self) -> int:
        """Channels of a decoded row: pages x sample planes x interleaved samples."""
        return len(self._planes) * self._separate * self._contig

    def read(self, start: int, stop: int, left: int = 0, right: int | None = None) -> np.ndarray:
        """Rows ``[start, stop)``, columns ``[left, right)``, as tifffile decodes them.

        Parameters
        ----------
        start, stop : int
            ``0 <= start < stop <= height``.
        left, right : int
            ``0 <= left < right <= width``; the whole width by default.

        Returns
        -------
        (stop - start, right - left, C) ndarray
            In :attr:`dtype`, channels in page, plane, sample order (as the whole-image read).

        Raises
        ------
        ValueError, RuntimeError, OSError...
            Whatever tifffile or the codec raises for a segment it cannot read or decode
            (see :data:`~chanmix.io.tiff.TIFF_ERRORS`).
        """
        right = self.width if right is None else right
        if self._run is not None and (left, right) == (0, self.width):
            if (run := self._read_run(start, stop, *self._run)) is not None:
                return run
        out = np.empty(
            (len(self._planes), self._separate, stop - start, right - left, self._contig), self.dtype
        )
        first, last = start // self.segment_rows, (stop - 1) // self.segment_rows
        columns = range(left // self._segment_cols, (right - 1) // self._segment_cols + 1)
        for plane, (offsets, counts, tables) in enumerate(self._planes):
            indices = [
                (s * self._down + row) * self._across + column
                for s in range(self._separate)
                for row in range(first, last + 1)
                for column in columns
            ]
            ranges = [self._byte_range(i, offsets, counts, start, stop) for i in indices]
            partial = {i for i, (_, _, rows_only) in zip(indices, ranges) if rows_only}
            # Yields positions in `indices`: given the indices, tifffile before 2025.12.20 looks a
            # lone segment up by its index instead of its position (an IndexError past the first).
            segments = self._fh.read_segments(
                [r[0] for r in ranges],
                [r[1] for r in ranges],
                lock=self._fh.lock,
                buffersize=_READ_BYTES,
            )
            for data, position in cast(Iterator[tuple[bytes | None, int]], segments):
                index = indices[position]
                self._place(out[plane], data, index, index in partial, tables, (start, stop, left, right))
        return out.transpose(2, 3, 0, 1, 4).reshape(stop - start, right - left, -1)

    def _origin(self, index: int) -> tuple[int, int, int]:
        """Sample plane, first row and first column of segment `index`."""
        plane, rest = divmod(index, self._down * self._across)
        row, column = divmod(rest, self._across)
        return plane, row * self.segment_rows, column * self._segment_cols

    def _rows_stored(self, top: int) -> int:
        """Rows a segment starting at row `top` holds: whole tiles, or a strip's remainder."""
        return self.segment_rows if self._tiled else min(self.segment_rows, self.height - top)

    def _byte_range(
        self, index: int, offsets: tuple[int, ...], counts: tuple[int, ...], start: int, stop: int
    ) -> tuple[int, int, bool]:
        """Offset and byte count to read for segment `index`, and whether they cover only the
        rows in ``[start, stop)`` (uncompressed segments of the expected size)."""
        if index >= len(offsets) or index >= len(counts):
            return 0, 0, False  # missing segment: decoded as empty, as tifffile does
        offset, count = offsets[index], counts[index]
        if count > self._segment_limit and offset + count > self._file_size:
            count = max(0, self._file_size - offset)  # a count that lies (3 GB): read what there is
        if self._raw_bytes is None or not offset or not count:
            return offset, count, False
        _, top, _ = self._origin(index)
        row_bytes = self._segment_cols * self._contig * self._raw_bytes
        if count < self._rows_stored(top) * row_bytes:
            return offset, count, False  # short segment: let the decoder judge it
        first = max(start, top) - top
        last = min(stop, top + self._rows_stored(top)) - top
        return offset + first * row_bytes, (last - first) * row_bytes, True

    def _place(
        self,
        out: np.ndarray,
        data: bytes | None,
        index: int,
        rows_only: bool,
        tables: bytes | None,
        window: tuple[int, int, int, int],
    ) -> None:
        """Decode segment `index` and copy its part of the window ``(start, stop, left, right)``
        into `out` ``(S, h, w, c)``.

        `rows_only` says `data` holds just the window's rows, uncompressed samples as they are
        stored (the file's byte order).
        """
        start, stop, left, right = window
        plane, top, origin = self._origin(index)
        low, high = max(start, top), min(stop, top + self._rows_stored(top))
        first, end = max(left, origin), min(right, origin + self._segment_cols, self.width)
        target = out[plane, low - start : high - start, first - left : end - left]
        columns = slice(first - origin, end - origin)
        if data is None:
            target[...] = self._nodata
        elif rows_only:
            count = (high - low) * self._segment_cols * self._contig
            wanted = count * cast(int, self._raw_bytes)
            if len(data) != wanted:  # the file ends early: say so as tifffile does
                raise ValueError(f"failed to read {wanted} bytes, got {len(data)}")
            if self._int24 is not None:
                samples = self._int24.unpack(data, count)
            else:
                samples = np.frombuffer(data, self._raw_dtype)
            target[...] = samples.reshape(high - low, self._segment_cols, self._contig)[:, columns]
        else:
            if self._int24 is not None:
                segment = self._int24.segment(data, index)
            else:
                segment, _, _ = self._decode(data, index, jpegtables=tables, jpegheader=self._jpegheader)
            target[...] = segment[0, low - top : high - top, columns]
