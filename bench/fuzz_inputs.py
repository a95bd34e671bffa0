"""Seed files and mutations for the fuzz harness (bench/fuzz.py).

Seeds are the inputs chanmix reads: images (TIFF in its layouts, PNG, JPEG, BMP, PGM, .npy)
and matrix files (.json, .csv, .tsv, .txt, .npy, .npz). Three sources, in this order:

- generated here at run time with NumPy, tifffile, imagecodecs and Pillow, so that a plain
  clone fuzzes too (deterministic: fixed pixel values, no timestamps);
- every file in tests/data/ (regression inputs that once broke chanmix);
- a fixed sample of small files of the real-file corpus (../shared/corpus), when present.

A mutation turns a seed's bytes into a new input and names what it did. Generic mutations
(truncation, bit flips, overwritten/inserted/deleted bytes, random bytes behind the magic
number) work on any file; format-aware ones lie in header fields with the format's own
checksums kept valid (TIFF tags and IFD links, PNG IHDR and chunks with correct CRCs, JPEG
SOF, BMP header, .npy header, .npz members, JSON structure and numbers, text tables).
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fuzz_envi import ENVI_HEADER, MTL_AWARE, envi_data, envi_seeds
from fuzz_formats import AWARE, zip_archive

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CORPUS = ROOT.parent / "shared" / "corpus"

#: Small corpus files (path, bands to mix under the default --alpha keep; None = unknown or
#: unreadable, then apply mixes --bands 1). A fixed sample: every layout, codec and dtype kind.
CORPUS_SAMPLE = (
    ("rasterio/byte.tif", 1),
    ("rasterio/float32.tif", 1),
    ("rasterio/float_nan.tif", 1),
    ("rasterio/rotated.tif", 1),
    ("rasterio/rgb-byte-tenth.tif", 3),
    ("image-tiff/extra_bits_rgb_8b.tiff", 4),
    ("image-tiff/random-fp16-pred3.tiff", 1),
    ("image-tiff/geo-5b.tif", 5),
    ("image-tiff/int16_zstd.tif", 1),
    ("image-tiff/BigTIFF.tif", 3),
    ("image-tiff/BigTIFFMotorola.tif", 3),
    ("image-tiff/12bit.cropped.rgb.tiff", 3),
    ("libtiff/test_two_ifds.tif", 1),
    ("libtiff/webp_lossless_rgba_alpha_fully_opaque.tif", 3),
    ("libtiff/test_float64_predictor2_be_lzw.tif", 1),
    ("libtiff/minisblack-2c-8b-alpha.tiff", 1),
    ("libtiff/logluv-3c-16b.tiff", None),
    ("libtiff/32bpp-None.tiff", 3),
    ("libtiff/tiff_with_subifd_chain.tif", 1),
    ("libtiff/minisblack-1c-8b.pgm", 1),
    ("libtiff/quad-tile.jpg.tiff", 3),
    ("libtiffpic/smallliz.tif", 3),
    ("libtiffpic/depth/flower-palette-02.tif", 3),
    ("libtiffpic/depth/flower-rgb-planar-02.tif", 3),
    ("libtiffpic/depth/flower-separated-contig-08.tif", 4),
)


@dataclass(frozen=True)
class Seed:
    """One valid (or once-breaking) input file."""

    name: str  #: file name, with the extension chanmix sees
    fmt: str  #: tiff, png, jpeg, bmp, pnm, npy, webp, avif, jxl (images); json, csv, tsv, txt, npy,
    #: npz (matrices);
    #: envi (a header, its data file the companion); mtl txt, mtl xml (Landsat metadata)
    role: str  #: "image", "matrix", "envi" or "mtl"
    data: bytes
    bands: int | None = None  #: bands a matrix must have columns for; None = use --bands 1
    origin: str = "generated"  #: generated, tests/data, corpus
    #: a second file that goes with `data` (an ENVI header's data file): (name, bytes)
    companion: tuple[str, bytes] | None = None


# ---------------------------------------------------------------------------- seeds


def _pixels(h: int, w: int, c: int, dtype: str) -> np.ndarray:
    y, x, b = np.mgrid[0:h, 0:w, 0:c]
    ramp = ((x * 7 + y * 13 + b * 61) % 251) / 250.0
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return (ramp * 2 - 0.25).astype(dt)
    info = np.iinfo(dt)
    return (info.min + ramp * (float(info.max) - info.min)).astype(dt)


def _tiff(array: np.ndarray, **kw) -> bytes:
    import tifffile

    out = io.BytesIO()
    tifffile.imwrite(out, array, software=False, **kw)
    return out.getvalue()


def _pillow(array: np.ndarray, fmt: str, **kw) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array.squeeze()).save(out, fmt, **kw)
    return out.getvalue()


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    return zip_archive({f"{key}.npy": _npy(value) for key, value in arrays.items()})


def _phone_exif() -> bytes:
    """EXIF as a phone writes it: Make, DateTime, a GPS latitude and Orientation 6."""
    from PIL import Image

    exif = Image.Exif()
    exif[271], exif[306], exif[274] = "Apple", "2024:01:02 03:04:05", 6
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)
    return exif.tobytes()


def generated_seeds() -> list[Seed]:
    """Small images in every layout chanmix reads, and valid 3 -> 3 matrices in every format."""
    import imagecodecs

    rgb8 = _pixels(40, 48, 3, "uint8")
    u16 = _pixels(40, 48, 3, "uint16")
    seeds = [
        Seed("tiled.tif", "tiff", "image", _tiff(rgb8, photometric="rgb", tile=(16, 16)), 3),
        Seed(
            "planar.tif",
            "tiff",
            "image",
            _tiff(np.moveaxis(u16, 2, 0), photometric="rgb", planarconfig="separate", rowsperstrip=8),
            3,
        ),
        Seed(
            "deflate.tif",
            "tiff",
            "image",
            _tiff(
                _pixels(40, 48, 4, "float32"),
                photometric="minisblack",
                planarconfig="contig",
                compression="zlib",
                predictor=True,
                rowsperstrip=16,
            ),
            4,
        ),
        Seed(
            "lzw-int16.tif",
            "tiff",
            "image",
            _tiff(_pixels(40, 48, 1, "int16")[..., 0], compression="lzw", predictor=True, rowsperstrip=8),
            1,
        ),
        Seed(
            "rgba.tif",
            "tiff",
            "image",
            _tiff(
                _pixels(32, 40, 4, "uint8"),
                photometric="rgb",
                extrasamples=["unassalpha"],
                compression="packbits",
            ),
            3,
        ),
        Seed(
            "jpeg-tiled.tif",
            "tiff",
            "image",
            _tiff(rgb8, photometric="rgb", tile=(16, 16), compression="jpeg"),
            3,
        ),
        Seed("big.tif", "tiff", "image", _tiff(u16, photometric="rgb", bigtiff=True, rowsperstrip=10), 3),
        Seed("rgb8.png", "png", "image", _pillow(rgb8, "PNG"), 3),
        Seed("gray16.png", "png", "image", imagecodecs.png_encode(np.ascontiguousarray(u16[..., 0])), 1),
        Seed("rgba16.png", "png", "image", imagecodecs.png_encode(_pixels(24, 20, 4, "uint16")), 3),
        Seed("rgb.jpg", "jpeg", "image", _pillow(rgb8, "JPEG", quality=90), 3),
        Seed("rgb.bmp", "bmp", "image", _pillow(_pixels(20, 18, 3, "uint8"), "BMP"), 3),
        Seed("phone.jpg", "jpeg", "image", _pillow(rgb8, "JPEG", exif=_phone_exif()), 3),
        Seed("rgba.webp", "webp", "image", _pillow(_pixels(24, 20, 4, "uint8"), "WEBP", lossless=True), 3),
        Seed("rgb.jxl", "jxl", "image", imagecodecs.jpegxl_encode(rgb8, distance=1.0), 3),
        Seed("rgba16.jxl", "jxl", "image", imagecodecs.jpegxl_encode(_pixels(24, 20, 4, "uint16")), 3),
        Seed("deep.avif", "avif", "image", imagecodecs.avif_encode(u16 >> 6, level=90, bitspersample=10), 3),
        Seed("float32.npy", "npy", "image", _npy(_pixels(24, 20, 4, "float32")), 4),
        Seed("uint16.npy", "npy", "image", _npy(_pixels(24, 20, 2, "uint16")), 2),
    ]
    w = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [-0.2, 0.3, 0.9]])
    b = np.array([0.0, 0.05, -0.1])
    wb = np.hstack([w, b[:, None]])
    text = lambda rows, sep: "".join(sep.join(f"{v:g}" for v in r) + "\n" for r in rows)  # noqa: E731
    doc = {"weights": w.tolist(), "bias": b.tolist(), "names": ["x", "y", "z"], "source": "fuzz seed"}
    seeds += [
        Seed("m.json", "json", "matrix", json.dumps(doc, indent=1).encode()),
        Seed("m.csv", "csv", "matrix", text(wb, ",").encode()),
        Seed("m.tsv", "tsv", "matrix", text(w, "\t").encode()),
        Seed("m.txt", "txt", "matrix", ("# a 3x3 mix\n" + text(w, " ") + "# end\n").encode()),
        Seed("m.npy", "npy", "matrix", _npy(w)),
        Seed("m-bias.npy", "npy", "matrix", _npy(wb.astype(np.float32))),
        Seed("m-conv.npy", "npy", "matrix", _npy(w.reshape(3, 3, 1, 1).astype(np.float32))),
        Seed("m.npz", "npz", "matrix", _npz(weight=w.reshape(3, 3, 1, 1), bias=b)),
        Seed("m-weights.npz", "npz", "matrix", _npz(weights=w)),
    ]
    return seeds


def sniff(data: bytes) -> str:
    """The image format of some bytes, by magic number (as chanmix chooses its reader)."""
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:2] == b"\xff\xd8":
        return "jpeg"
    if data[:2] == b"BM":
        return "bmp"
    if data[:6] == b"\x93NUMPY":
        return "npy"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"\xff\x0a" or data[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "jxl"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "avif"
    if data[:1] == b"P" and data[1:2].isdigit():
        return "pnm"
    return "other"


def data_seeds(folder: Path = DATA) -> list[Seed]:
    """Every file in tests/data/ (except its MANIFEST.md), as an image seed."""
    if not folder.is_dir():
        return []
    return [
        Seed(p.name, sniff(p.read_bytes()), "image", p.read_bytes(), None, "tests/data")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "MANIFEST.md"
    ]


def corpus_seeds(corpus: Path | None = CORPUS) -> list[Seed]:
    """The fixed sample of corpus files that exist (none when the corpus is absent)."""
    if corpus is None or not (corpus / "MANIFEST.md").is_file():
        return []
    seeds = []
    for rel, bands in CORPUS_SAMPLE:
        path = corpus / rel
        if path.is_file():
            data = path.read_bytes()
            seeds.append(Seed(path.name, sniff(data), "image", data, bands, "corpus"))
    return seeds


def envi_pairs() -> list[Seed]:
    """Generated ENVI rasters: the header as the seed's data, the data file its companion."""
    return [
        Seed(hdr, "envi", "envi", header, bands, companion=(name, raw))
        for name, hdr, header, raw, bands in envi_seeds()
    ]


def mtl_seeds(data: Path = DATA) -> list[Seed]:
    """Landsat MTL files: the sample's and those of tests/data/mtl/."""
    paths = [ROOT / "sample_images" / "landsat" / "l8_MTL.txt"]
    paths += sorted(p for p in (data / "mtl").glob("*") if p.suffix in (".txt", ".xml"))
    return [
        Seed(p.name, "mtl " + p.suffix[1:], "mtl", p.read_bytes(), origin=str(p.parent.relative_to(ROOT)))
        for p in paths
        if p.is_file()
    ]


def all_seeds(corpus: Path | None = CORPUS, data: Path = DATA) -> list[Seed]:
    return generated_seeds() + data_seeds(data) + corpus_seeds(corpus) + envi_pairs() + mtl_seeds(data)


# ---------------------------------------------------------------------------- generic mutations

Mutator = Callable[[bytes, random.Random], bytes]
BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def _where(data: bytes, rng: random.Random) -> int:
    """An offset, half the time within the first 256 bytes (where the headers are)."""
    n = max(len(data), 1)
    return rng.randrange(min(n, 256)) if rng.random() < 0.5 else rng.randrange(n)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: _where(data, rng)]


def bitflip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        if out:
            i = _where(out, rng)
            out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    i = _where(out, rng)
    n = rng.choice((1, 2, 4, 8, 16))
    fill = rng.choice(BYTES) if rng.random() < 0.5 else None
    out[i : i + n] = bytes(fill if fill is not None else rng.randrange(256) for _ in range(n))
    return bytes(out)


def insert(data: bytes, rng: random.Random) -> bytes:
    i = _where(data, rng)
    return data[:i] + rng.randbytes(rng.choice((1, 3, 16, 64, 1000))) + data[i:]


def delete(data: bytes, rng: random.Random) -> bytes:
    i = _where(data, rng)
    return data[:i] + data[i + rng.choice((1, 2, 4, 16, 64)) :]


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    """Random bytes behind the magic number, so that the same reader still gets them."""
    keep = rng.choice((0, 4, 8, 16))
    return data[:keep] + rng.randbytes(max(len(data) - keep, rng.randrange(1, 512)))


GENERIC: dict[str, Mutator] = {
    "truncate": truncate,
    "bitflip": bitflip,
    "overwrite": overwrite,
    "insert": insert,
    "delete": delete,
    "random": random_bytes,
}


def mutate(seed: Seed, rng: random.Random) -> tuple[str, bytes]:
    """One to three mutations of `seed` (3 % of cases: none). Returns (name, bytes)."""
    if rng.random() < 0.03:
        return "none", seed.data
    aware = MTL_AWARE if seed.role == "mtl" else AWARE.get((seed.role, seed.fmt), {})
    data, names = seed.data, []
    for _ in range(rng.choices((1, 2, 3), (80, 15, 5))[0]):
        pool = aware if aware and rng.random() < (0.6 if seed.role == "matrix" else 0.5) else GENERIC
        name = rng.choice(sorted(pool))
        try:
            data = pool[name](data, rng)
        except Exception:  # noqa: BLE001
            name = "truncate"  # a format-aware mutator found no structure left to mutate
            data = truncate(data, rng)
        names.append(name)
    return "+".join(names), data


def mutate_envi(seed: Seed, rng: random.Random) -> tuple[str, bytes, bytes | None]:
    """One to three mutations of an ENVI pair: (name, header, data file or None when missing).
    Two in three mutate the header (mostly header-aware), one in three the data file."""
    assert seed.companion is not None
    header, raw = seed.data, seed.companion[1]
    if rng.random() < 0.03:
        return "none", header, raw
    names = []
    for _ in range(rng.choices((1, 2, 3), (80, 15, 5))[0]):
        if rng.random() < 1 / 3 and raw is not None:
            name, raw = envi_data(raw, rng)
        else:
            pool = ENVI_HEADER if rng.random() < 0.8 else GENERIC
            name = rng.choice(sorted(pool))
            try:
                header = pool[name](header, rng)
            except Exception:  # noqa: BLE001
                name = "truncate"
                header = truncate(header, rng)
        names.append(name)
    return "+".join(names), header, raw


__all__ = [
    "AWARE",
    "CORPUS",
    "CORPUS_SAMPLE",
    "DATA",
    "GENERIC",
    "Seed",
    "all_seeds",
    "corpus_seeds",
    "data_seeds",
    "generated_seeds",
    "envi_pairs",
    "mtl_seeds",
    "mutate",
    "mutate_envi",
    "sniff",
]
