"""Opening a TIFF file for tifffile, once its chain of images is known to end.

A TIFF file's images (IFDs, image file directories) form a chain: the header points to the
first IFD and each IFD to the next, until an offset of 0. A damaged file can point back to an
IFD already seen, and tifffile then reads pages for ever: it looks for such a loop only when
it walks exactly 100 IFDs in one go, and ``TiffFile.series`` walks them one at a time, so it
never looks. chanmix therefore walks the chain first, reading it exactly as tifffile does
(``TiffPages._seek``: tag count, skip the tags, next offset) and remembering every offset. A
loop, or more than :data:`MAX_IFDS` IFDs, is a DataError; a chain that ends, however damaged,
is left to tifffile, which then stops where chanmix stopped.

OME-TIFF files may name companion files holding more of their planes; tifffile opens those
and reads their whole chain, so their chains are checked too.
"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET

import tifffile

from ..errors import DataError

__all__ = ["MAX_IFDS", "check_ifd_chain", "open_tiff"]

#: The longest chain of IFDs chanmix reads (a chain of tiny IFDs can be as long as the file).
MAX_IFDS = 1 << 20
_MAX_TAGS = 4096  # tifffile stops at an IFD declaring more tags ("corrupted tag list")
_BYTE_ORDERS = {b"II": "<", b"MM": ">"}


def open_tiff(path: str) -> tifffile.TiffFile:
    """A :class:`tifffile.TiffFile` of `path`, after :func:`check_ifd_chain`.

    Raises
    ------
    DataError
        When the header is damaged or the chain of IFDs does not end (see the module
        docstring), or (from tifffile) when the first IFD cannot be parsed.
    """
    check_ifd_chain(path)
    tif = tifffile.TiffFile(path)
    try:
        for companion in _ome_companions(tif, path):
            try:
                check_ifd_chain(companion)
            except DataError as exc:
                raise DataError(f"{path}: OME-TIFF companion file {exc}") from exc
    except BaseException:
        tif.close()
        raise
    return tif


def check_ifd_chain(path: str) -> None:
    """Walk the chain of IFDs of a TIFF or BigTIFF file as tifffile would, without parsing tags.

    Files that are not TIFF or BigTIFF are left alone (tifffile says what is wrong).

    Raises
    ------
    DataError
        ``"damaged TIFF header"`` when the header is cut short or invalid, ``"damaged TIFF"``
        when an IFD points back to one already read, and a DataError when the chain holds
        more than :data:`MAX_IFDS` IFDs.
    OSError
        When the file cannot be read.
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        head = file.read(16)
        byteorder = _BYTE_ORDERS.get(head[:2])
        if byteorder is None or len(head) < 4:
            return
        version = struct.unpack(byteorder + "H", head[2:4])[0]
        if version == 42:  # classic: 2-byte tag count, 12-byte tags, 4-byte offsets
            first, count_format, tag_size, offset_format = 4, "H", 12, "I"
            if byteorder == "<" and path.lower().endswith(".ndpi"):
                offset_format = "Q"  # tifffile reads .ndpi files with 64-bit offsets
        elif version == 43:  # BigTIFF: 8-byte tag count, 20-byte tags, 8-byte offsets
            first, count_format, tag_size, offset_format = 8, "Q", 20, "Q"
            if head[4:8] != struct.pack(byteorder + "HH", 8, 0):
                raise DataError(f"{path}: damaged TIFF header (BigTIFF offset size {head[4:8].hex()})")
        else:
            return
        count_format, offset_format = byteorder + count_format, byteorder + offset_format
        count_size, offset_size = struct.calcsize(count_format), struct.calcsize(offset_format)
        if len(head) < first + offset_size:
            raise DataError(f"{path}: damaged TIFF header (the file ends at byte {len(head)})")
        offset = struct.unpack(offset_format, head[first : first + offset_size])[0]
        seen: dict[int, int] = {}
        while 0 < offset < size:
            if offset in seen:
                raise DataError(
                    f"{path}: damaged TIFF: its chain of images loops back on itself "
                    f"(IFD {len(seen) - 1} links to IFD {seen[offset]} at byte {offset})"
                )
            if len(seen) == MAX_IFDS:
                raise DataError(
                    f"{path}: more than {MAX_IFDS} images (IFDs) in one TIFF file; "
                    "chanmix reads at most that many"
                )
            seen[offset] = len(seen)
            file.seek(offset)
            data = file.read(count_size)
            if len(data) < count_size:
                return
            tags = struct.unpack(count_format, data)[0]
            if tags > _MAX_TAGS:
                return
            # as tifffile: the last bytes read are the next offset, even when the file ends early
            data = file.read(tags * tag_size + offset_size)
            if len(data) < offset_size:
                return
            offset = struct.unpack(offset_format, data[-offset_size:])[0]


def _ome_companions(tif: tifffile.TiffFile, path: str) -> list[str]:
    """The other existing files an OME-TIFF's metadata names (``UUID@FileName``), which
    tifffile opens when it builds the file's series."""
    if not tif.is_ome:
        return []
    try:
        root = ET.fromstring(tif.ome_metadata or "")
    except (ET.ParseError, ValueError):
        return []
    folder = os.path.dirname(path)  # tifffile's folder, spelt as the user gave the file
    names = {el.get("FileName") for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "UUID"}
    files = {os.path.join(folder, name) for name in names if name}
    return sorted(f for f in files if os.path.isfile(f) and not os.path.samefile(f, path))
