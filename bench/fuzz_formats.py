"""Format-aware mutations for the fuzz harness: header fields that lie, checksums kept valid.

Each mutator takes (bytes, random.Random) and returns new bytes; it raises ValueError (or
struct.error, IndexError) when the input has no structure left to mutate, and the caller then
falls back to a generic mutation. :data:`AWARE` maps (role, format) to the mutators.
"""

from __future__ import annotations

import ast
import io
import random
import struct
import zipfile
import zlib

import numpy as np

HUGE = (0, 1, 2, 3, 7, 255, 65535, 65536, 46341, 100_000, 2**31 - 1, 2**31, 2**32 - 1)


def _size(orig: int, rng: random.Random) -> int:
    """A lying size: tiny, one off, doubled or huge."""
    return rng.choice(HUGE + (orig - 1, orig + 1, orig * 2, orig * 256))


# ---------------------------------------------------------------------------- TIFF

_TYPE_SIZE = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
_ELEM = {
    1: "B",
    6: "B",
    7: "B",
    2: "B",
    3: "H",
    8: "H",
    4: "I",
    9: "I",
    13: "I",
    11: "I",
    5: "I",
    10: "I",
    16: "Q",
    17: "Q",
    18: "Q",
    12: "Q",
}  # RATIONAL: its numerator
_SIZES, _OFFSETS, _COUNTS = {256, 257, 322, 323}, {273, 324, 330}, {279, 325}
_CHOICES = {
    258: (0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 24, 32, 33, 64, 128, 255, 65535),  # BitsPerSample
    259: (0, 1, 2, 3, 5, 6, 7, 8, 32773, 32946, 34676, 34712, 34887, 34925, 50000, 50001, 65535),
    262: (0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 32844, 32845, 65535),  # Photometric
    277: (0, 1, 2, 3, 4, 5, 255, 65535),  # SamplesPerPixel
    278: (0, 1, 3, 2**32 - 1),  # RowsPerStrip
    284: (0, 1, 2, 3),  # PlanarConfiguration
    317: (0, 1, 2, 3, 4, 34892, 65535),  # Predictor
    338: (0, 1, 2, 3, 65535),  # ExtraSamples
    339: (0, 1, 2, 3, 4, 5, 6, 7),  # SampleFormat
}
_INTERESTING = _SIZES | _OFFSETS | _COUNTS | set(_CHOICES)


def tiff_layout(data: bytes) -> tuple[str, bool, list[tuple[int, int, int, int, int]], list[tuple[int, int]]]:
    """(byte order, BigTIFF, entries, links) of up to 16 IFDs; an entry is (position, tag, type,
    count, position of its values), a link (IFD offset, position of its next-IFD pointer)."""
    bo = {b"II": "<", b"MM": ">"}[data[:2]]
    big = struct.unpack(bo + "H", data[2:4])[0] == 43
    off, cnt, es = ("Q", "Q", 20) if big else ("I", "H", 12)
    ifd = struct.unpack_from(bo + off, data, 8 if big else 4)[0]
    entries, nexts, seen = [], [], set()
    while 0 < ifd < len(data) and ifd not in seen and len(seen) < 16:
        seen.add(ifd)
        n = struct.unpack_from(bo + cnt, data, ifd)[0]
        base = ifd + struct.calcsize(cnt)
        for k in range(min(n, 512)):
            pos = base + k * es
            if pos + es > len(data):
                break
            tag, typ = struct.unpack_from(bo + "HH", data, pos)
            count = struct.unpack_from(bo + off, data, pos + 4)[0]
            field = pos + (12 if big else 8)
            inline = 8 if big else 4
            values = field
            if count * _TYPE_SIZE.get(typ, 1) > inline:
                values = struct.unpack_from(bo + off, data, field)[0]
            entries.append((pos, tag, typ, count, values))
        nxt = base + n * es
        nexts.append((ifd, nxt))
        if nxt + struct.calcsize(off) > len(data):
            break
        ifd = struct.unpack_from(bo + off, data, nxt)[0]
    if not entries:
        raise ValueError("no IFD entries")
    return bo, big, entries, nexts


def tiff_field(data: bytes, rng: random.Random) -> bytes:
    """Set one value of a tag (sizes, offsets, byte counts, bits, codec...) to a lying value;
    a SHORT too small for the value becomes a LONG."""
    bo, big, entries, _ = tiff_layout(data)
    chosen = [e for e in entries if e[1] in _INTERESTING]
    pos, tag, typ, count, values = rng.choice(chosen if chosen and rng.random() < 0.8 else entries)
    fmt = _ELEM.get(typ, "I")
    index = rng.randrange(max(min(count, 4096), 1))
    at = values + index * _TYPE_SIZE.get(typ, 1)
    if at + struct.calcsize(fmt) > len(data):
        at, index = values, 0
    orig = struct.unpack_from(bo + fmt, data, at)[0] if at + struct.calcsize(fmt) <= len(data) else 1
    if tag in _SIZES or tag in _COUNTS:
        new = _size(orig, rng)
    elif tag in _OFFSETS:
        new = rng.choice(
            (
                0,
                1,
                8,
                len(data) - 1,
                len(data),
                len(data) + 1,
                2**31 - 1,
                2**32 - 1,
                orig + rng.randrange(1, 64),
                max(orig - rng.randrange(1, 64), 0),
            )
        )
    elif tag in _CHOICES:
        new = rng.choice(_CHOICES[tag])
    else:
        new = rng.choice((0, 1, orig + 1, 2**16 - 1, 2**32 - 1, rng.randrange(2**32)))
    out = bytearray(data)
    if fmt == "H" and new > 0xFFFF and count == 1:  # widen the entry: SHORT -> LONG, inline
        struct.pack_into(bo + "H", out, pos + 2, 4)
        fmt, at = ("I", pos + (12 if big else 8))
    new &= (1 << (8 * struct.calcsize(fmt))) - 1
    struct.pack_into(bo + fmt, out, at, new)
    return bytes(out)


def tiff_ifd(data: bytes, rng: random.Random) -> bytes:
    """Lie in the IFD chain: a next-IFD link to itself or back, past the end; a huge entry count;
    the header's first-IFD offset."""
    bo, big, entries, nexts = tiff_layout(data)
    off = "Q" if big else "I"
    out = bytearray(data)
    first = struct.unpack_from(bo + off, data, 8 if big else 4)[0]
    what = rng.randrange(3)
    if what == 0:  # a next-IFD pointer
        this, at = rng.choice(nexts)
        if at + struct.calcsize(off) > len(out):
            raise ValueError("no room for a next-IFD pointer")
        new = rng.choice((first, this, this, 1, len(data), 2**32 - 1, at - 2, first + 2))
        struct.pack_into(bo + off, out, at, new)
    elif what == 1:  # the entry count of the first IFD
        struct.pack_into(bo + ("Q" if big else "H"), out, first, rng.choice((0, 1, 2, 0xFFFF, 1000)))
    else:  # the first-IFD offset
        struct.pack_into(
            bo + off,
            out,
            8 if big else 4,
            rng.choice((0, 1, 7, 8, len(data), len(data) - 2, 2**31, 2**32 - 1)),
        )
    return bytes(out)


def tiff_entry(data: bytes, rng: random.Random) -> bytes:
    """Change one entry's data type or count (a count that lies about how many values follow)."""
    bo, big, entries, _ = tiff_layout(data)
    pos, tag, typ, count, _values = rng.choice(entries)
    out = bytearray(data)
    if rng.random() < 0.4:
        struct.pack_into(
            bo + "H", out, pos + 2, rng.choice((0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 16, 19, 0xFFFF))
        )
    else:
        new = rng.choice((0, 2, count + 1, count * 1000, 2**31 - 1, 2**32 - 1))
        struct.pack_into(bo + ("Q" if big else "I"), out, pos + 4, new & (2**32 - 1))
    return bytes(out)


# ---------------------------------------------------------------------------- PNG


def _png_chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(position, length, type) of each chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not PNG")
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks.append((pos, length, kind))
        pos += 12 + length
    return chunks


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_ihdr(data: bytes, rng: random.Random) -> bytes:
    """Lie in IHDR (width, height, bit depth, colour type, methods) with a correct CRC."""
    pos, length, kind = _png_chunks(data)[0]
    if kind != b"IHDR" or length != 13:
        raise ValueError("no IHDR")
    w, h, depth, colour, comp, filt, lace = struct.unpack_from(">IIBBBBB", data, pos + 8)
    field = rng.randrange(6)
    if field == 0:
        w = _size(w, rng) & 0xFFFFFFFF
    elif field == 1:
        h = _size(h, rng) & 0xFFFFFFFF
    elif field == 2:
        w, h = rng.choice(((2**31 - 1, 2**31 - 1), (100_000, 100_000), (65536, 65536), (1, 2**30)))
    elif field == 3:
        depth = rng.choice((0, 1, 2, 3, 4, 5, 8, 16, 32, 255))
    elif field == 4:
        colour = rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 255))
    else:
        comp, filt, lace = rng.choice(((1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 2)))
    body = struct.pack(">IIBBBBB", w, h, depth, colour, comp, filt, lace)
    return data[:pos] + _chunk(b"IHDR", body) + data[pos + 25 :]


def png_chunk(data: bytes, rng: random.Random) -> bytes:
    """A chunk whose length lies, whose data is corrupt under a correct CRC, dropped,
    duplicated, or a new ancillary/critical chunk."""
    chunks = _png_chunks(data)
    pos, length, kind = rng.choice(chunks)
    end = pos + 12 + length
    what = rng.randrange(5)
    if what == 0:
        new = rng.choice((0, 1, length - 1, length + 1, 2**31 - 1, 2**32 - 1)) & 0xFFFFFFFF
        return data[:pos] + struct.pack(">I", new) + data[pos + 4 :]
    if what == 1 and length:
        body = bytearray(data[pos + 8 : pos + 8 + length])
        for _ in range(rng.choice((1, 4, 16))):
            body[rng.randrange(len(body))] = rng.randrange(256)
        return data[:pos] + _chunk(kind, bytes(body)) + data[end:]
    if what == 2:
        return data[:pos] + data[end:]
    if what == 3:
        return data[:end] + data[pos:end] + data[end:]
    extra = rng.choice(
        (
            _chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(rng.randbytes(200))),
            _chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"\x00" * 5_000_000)),
            _chunk(b"eXIf", b"II*\x00\x08\x00\x00\x00" + rng.randbytes(40)),
            _chunk(b"PLTE", rng.randbytes(rng.choice((0, 3, 768, 771)))),
            _chunk(b"tRNS", rng.randbytes(rng.choice((0, 2, 6, 300)))),
            _chunk(b"sBIT", rng.randbytes(4)),
            _chunk(b"gAMA", struct.pack(">I", rng.choice((0, 1, 2**32 - 1)))),
            _chunk(b"aBCD", b"unknown critical"),
            struct.pack(">I", 2**31 - 1) + b"tEXt" + b"lies",
        )
    )
    at = chunks[1][0] if len(chunks) > 1 else 8
    return data[:at] + extra + data[at:]


# ---------------------------------------------------------------------------- JPEG, BMP


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(position, marker, length) of each header segment up to SOS."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, length = data[pos + 1], struct.unpack_from(">H", data, pos + 2)[0]
        segments.append((pos, marker, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    if not segments:
        raise ValueError("no JPEG segments")
    return segments


def jpeg_header(data: bytes, rng: random.Random) -> bytes:
    """Lie in the SOF segment (height, width, components, precision, sampling) or in a
    segment's length."""
    segments = _jpeg_segments(data)
    sof = [s for s in segments if s[1] in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB)]
    out = bytearray(data)
    if sof and rng.random() < 0.7:
        pos = sof[0][0]
        field = rng.randrange(5)
        if field in (0, 1):
            at = pos + 5 + 2 * field
            orig = struct.unpack_from(">H", data, at)[0]
            struct.pack_into(">H", out, at, _size(orig, rng) & 0xFFFF)
        elif field == 2:
            out[pos + 9] = rng.choice((0, 1, 2, 4, 255))
        elif field == 3:
            out[pos + 4] = rng.choice((0, 1, 12, 16, 255))
        else:
            out[pos + 11] = rng.choice((0x00, 0x44, 0x41, 0xFF, 0x13))
    else:
        pos, _, length = rng.choice(segments)
        struct.pack_into(">H", out, pos + 2, rng.choice((0, 1, 2, length - 1, length + 1, 0xFFFF)))
    return bytes(out)


_BMP_FIELDS = (  # (offset, struct format, values)
    (2, "<I", (0, 1, 2**32 - 1)),
    (10, "<I", (0, 14, 54, 2**31, 2**32 - 1)),
    (14, "<I", (0, 12, 40, 56, 108, 124, 2**32 - 1)),
    (18, "<i", (0, 1, -1, 65535, 100_000, 2**31 - 1, -(2**31))),
    (22, "<i", (0, 1, -1, -20, 65535, 100_000, 2**31 - 1, -(2**31))),
    (26, "<H", (0, 2, 65535)),
    (28, "<H", (0, 1, 2, 4, 8, 15, 16, 24, 32, 64, 65535)),
    (30, "<I", (0, 1, 2, 3, 4, 5, 6, 11, 2**32 - 1)),
    (34, "<I", (0, 1, 2**32 - 1)),
    (46, "<I", (0, 1, 256, 257, 2**31, 2**32 - 1)),
)


def bmp_header(data: bytes, rng: random.Random) -> bytes:
    """Lie in the BMP file/info header: sizes, pixel offset, bits, compression, palette size."""
    at, fmt, values = rng.choice(_BMP_FIELDS)
    out = bytearray(data)
    struct.pack_into(fmt, out, at, rng.choice(values))
    return bytes(out)


# ---------------------------------------------------------------------------- .npy, .npz


def _npy_parts(data: bytes) -> tuple[dict, bytes]:
    if data[:6] != b"\x93NUMPY":
        raise ValueError("not npy")
    if data[6] == 1:
        hlen, start = struct.unpack_from("<H", data, 8)[0], 10
    else:
        hlen, start = struct.unpack_from("<I", data, 8)[0], 12
    return ast.literal_eval(data[start : start + hlen].decode("latin1")), data[start + hlen :]


def npy_build(header: str, body: bytes, major: int = 1) -> bytes:
    """A .npy file from header text (any text: it may lie) and data bytes."""
    prefix = 10 if major == 1 else 12
    text = header + " " * ((-(prefix + len(header) + 1)) % 64) + "\n"
    size = struct.pack("<H", len(text) & 0xFFFF) if major == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes((major, 0)) + size + text.encode("latin1") + body


_DESCRS = (
    "|O",
    "<c8",
    "<c16",
    "<U4",
    "|S4",
    "|b1",
    "<f2",
    ">f8",
    "<i8",
    ">u2",
    "|V4",
    "<m8[s]",
    "<M8[D]",
    "[('a', '<f4')]",
    "|u1",
    "<g",
    "<f8",
    ">i4",
)


def npy_header(data: bytes, rng: random.Random) -> bytes:
    """Lie in the .npy header: shape (huge, empty, other rank), dtype (objects, complex,
    strings, dates, byte order), Fortran order, version, header length, or garbage text."""
    d, body = _npy_parts(data)
    shape = tuple(d["shape"])
    what = rng.randrange(6)
    if what == 0:
        huge = rng.choice((100_000, 2**31, 2**40))
        shape = rng.choice(
            (
                (),
                (0,),
                shape[:1],
                shape + (1,),
                shape + (2,),
                (0,) + shape[1:],
                shape[:-1] + (0,),
                (huge,) * len(shape),
                (huge,) + shape[1:],
                shape[:-1] + (2**16,),
                (1, 1, 2**20),
                (2**31, 2**31, 2**31),
                (-1,) + shape[1:],
                (len(body),),
            )
        )
    elif what == 1:
        d["descr"] = rng.choice(_DESCRS)
    elif what == 2:
        d["fortran_order"] = not d["fortran_order"]
    elif what == 3:
        header = rng.choice(
            (
                "{}",
                "[]",
                "{'descr': '<f8'}",
                "__import__('os').system('false')",
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3)" + "," * 5000 + "}",
                "{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 200 + ")" * 200 + "}",
            )
        )
        return npy_build(header, body)
    elif what == 4:
        out = bytearray(data)
        out[6] = rng.choice((0, 2, 3, 255))
        return bytes(out)
    else:
        out = bytearray(data)
        struct.pack_into("<H", out, 8, rng.choice((0, 1, 10, 0xFFFF)))
        return bytes(out)
    d["shape"] = shape
    text = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in d.items()) + ", }"
    return npy_build(text, body)


def npz_member(data: bytes, rng: random.Random) -> bytes:
    """Rebuild the archive: one member's .npy header lies, keys renamed, objects or complex
    numbers stored, extra members, no members, or a deflate member under a lying size."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    if not members:
        raise ValueError("empty archive")
    name = rng.choice(sorted(members))
    what = rng.randrange(6)
    if what == 0:
        members[name] = npy_header(members[name], rng)
    elif what == 1:
        members[rng.choice(("w.npy", "bias.npy", "layer.weight.npy", "a.weight.npy", "weight"))] = (
            members.pop(name)
        )
    elif what == 2:
        out = io.BytesIO()
        np.save(out, np.array([[1, "x", None]], dtype=object), allow_pickle=True)
        members[name] = out.getvalue()
    elif what == 3:
        out = io.BytesIO()
        np.save(out, np.eye(3) * (1 + 2j))
        members[name] = out.getvalue()
    elif what == 4:
        members = rng.choice(
            (
                {},
                dict(members, **{f"x{i}.npy": members[name] for i in range(300)}),
                {"../weight.npy": members[name]},
                {"weight.npy": b"not an array"},
            )
        )
    else:  # huge declared shape, tiny data, deflated
        members[name] = npy_build(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", b"\0" * 64
        )
    return zip_archive(members, zipfile.ZIP_DEFLATED if rng.random() < 0.5 else zipfile.ZIP_STORED)


def zip_archive(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive (an .npz) of ``members``, dated 1980-01-01 whatever the clock says: the
    same case is the same bytes in any second (zipfile and np.savez stamp the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for key, value in members.items():
            zf.writestr(zipfile.ZipInfo(key, date_time=(1980, 1, 1, 0, 0, 0)), value, compression)
    return out.getvalue()


from fuzz_text import json_struct, text_table  # noqa: E402

AWARE = {
    ("image", "tiff"): {"tiff-field": tiff_field, "tiff-ifd": tiff_ifd, "tiff-entry": tiff_entry},
    ("image", "png"): {"png-ihdr": png_ihdr, "png-chunk": png_chunk},
    ("image", "jpeg"): {"jpeg-header": jpeg_header},
    ("image", "bmp"): {"bmp-header": bmp_header},
    ("image", "npy"): {"npy-header": npy_header},
    ("matrix", "npy"): {"npy-header": npy_header},
    ("matrix", "npz"): {"npz-member": npz_member},
    ("matrix", "json"): {"json-struct": json_struct},
    ("matrix", "csv"): {"text-table": text_table},
    ("matrix", "tsv"): {"text-table": text_table},
    ("matrix", "txt"): {"text-table": text_table},
}
