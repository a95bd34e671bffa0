"""WebP, AVIF and JPEG XL outputs (--quality), JPEG XL and HEIC inputs: round trips against
independent decoders (Pillow for WebP and AVIF, imagecodecs' libjxl, ImageMagick 6 where
installed, pillow-heif for HEIC), and the impossible combinations refused with exit 2."""

from __future__ import annotations

import shutil
import subprocess
import sys

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from chanmix.io import read_raster, write_raster
from chanmix.io.jxl import image_size, split_container
from helpers import error_line, needs_encoder, ok, pillow_array

IDENTITY = "1,0,0;0,1,0;0,0,1"


def smooth(height: int, width: int, channels: int, dtype=np.uint8) -> np.ndarray:
    """A photograph-like image: smooth gradients plus a little noise."""
    top = np.iinfo(dtype).max
    y, x = np.mgrid[0:height, 0:width]
    bands = [(np.sin(x / 9 + k) + np.cos(y / 7 - k)) * 0.25 + 0.5 for k in range(channels)]
    noise = np.random.default_rng(channels).normal(0, 0.002, (height, width, channels))
    return np.clip(np.round((np.stack(bands, axis=2) + noise) * top), 0, top).astype(dtype)


def png_input(path, pixels):
    Image.fromarray(pixels).save(path)


@pytest.mark.parametrize("channels", [3, 4])
def test_webp_lossless_round_trip(run, tmp_path, channels):
    pixels = smooth(33, 47, channels)
    src, out = tmp_path / "in.png", tmp_path / "out.webp"
    png_input(src, pixels)
    coeffs = IDENTITY if channels == 3 else IDENTITY  # alpha passes through
    ok(run("apply", src, "-c", coeffs, "--quality", "100", "-o", out, "-q"))
    assert np.array_equal(pillow_array(out), pixels)


def test_webp_grey_is_stored_as_rgb(tmp_path):
    grey = smooth(20, 30, 1)
    out = tmp_path / "g.webp"
    write_raster(out, grey, quality=100)
    back = pillow_array(out)
    assert back.shape == (20, 30, 3) and all(np.array_equal(back[..., k], grey[..., 0]) for k in range(3))


@pytest.mark.parametrize("ext", ["jpg", "webp", "avif", "jxl"])
def test_lossy_outputs_within_bound(run, tmp_path, ext):
    """Default quality on a smooth photograph: mean error under 2.5 levels of 255, 99th
    percentile at most 16 (measured: mean 0.8 to 1.7, 99th percentile 3 to 8; JPEG XL 2.4 and
    14 with the libjxl of imagecodecs 2023.3.16, the lowest version chanmix supports)."""
    needs_encoder(ext)
    pixels = smooth(64, 96, 3)
    src, out = tmp_path / "in.png", tmp_path / f"out.{ext}"
    png_input(src, pixels)
    ok(run("apply", src, "-c", IDENTITY, "-o", out, "-q"))
    back = read_raster(out).pixels.astype(int)
    error = np.abs(back - pixels)
    assert error.mean() < 2.5 and np.percentile(error, 99) <= 16


def test_quality_changes_size(run, tmp_path):
    pixels = smooth(64, 96, 3)
    src = tmp_path / "in.png"
    png_input(src, pixels)
    for ext in ("jpg", "webp", "avif", "jxl"):
        needs_encoder(ext)
        low, high = tmp_path / f"low.{ext}", tmp_path / f"high.{ext}"
        ok(run("apply", src, "-c", IDENTITY, "--quality", "20", "-o", low, "-q"))
        ok(run("apply", src, "-c", IDENTITY, "--quality", "95", "-o", high, "-q"))
        assert low.stat().st_size < high.stat().st_size, ext


def test_jpeg_default_quality_unchanged(run, tmp_path):
    """Without --quality a JPEG is the bytes quality 95 gives."""
    pixels = smooth(32, 32, 3)
    src = tmp_path / "in.png"
    png_input(src, pixels)
    ok(run("apply", src, "-c", IDENTITY, "-o", tmp_path / "a.jpg", "-q"))
    ok(run("apply", src, "-c", IDENTITY, "--quality", "95", "-o", tmp_path / "b.jpg", "-q"))
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_jxl_lossless_round_trip(tmp_path, dtype, channels):
    pixels = smooth(21, 34, channels, dtype)
    out = tmp_path / "o.jxl"
    write_raster(out, pixels, alpha=channels in (2, 4), quality=100)
    theirs = imagecodecs.jpegxl_decode(out.read_bytes())
    assert np.array_equal(theirs.reshape(pixels.shape), pixels)
    back = read_raster(out)
    assert np.array_equal(back.pixels, pixels) and back.info.format == "JXL"
    assert back.info.alpha == (channels - 1 if channels in (2, 4) else None)


def test_jxl_cli_16_bit(run, tmp_path):
    pixels = smooth(25, 19, 3, np.uint16)
    src, out = tmp_path / "in.tif", tmp_path / "out.jxl"
    write_raster(src, pixels)
    ok(run("apply", src, "-c", IDENTITY, "--quality", "100", "-o", out, "-q"))
    assert np.array_equal(read_raster(out).pixels, pixels)


@pytest.mark.parametrize("shape", [(8, 8), (1, 1), (600, 800), (3000, 17), (64, 64 * 16 // 9)])
def test_jxl_size_header(shape):
    codestream, _ = split_container(imagecodecs.jpegxl_encode(np.zeros((*shape, 3), np.uint8)))
    assert image_size(codestream) == shape


def test_avif_grey_and_alpha(tmp_path):
    needs_encoder("avif")
    grey = smooth(16, 24, 1)
    write_raster(tmp_path / "g.avif", grey, quality=100)
    with Image.open(tmp_path / "g.avif") as image:
        assert image.mode == "L"
    rgba = smooth(16, 24, 4)
    write_raster(tmp_path / "a.avif", rgba, alpha=True)
    back = pillow_array(tmp_path / "a.avif")
    assert back.shape == (16, 24, 4) and np.abs(back[..., 3].astype(int) - rgba[..., 3]).max() <= 8


@pytest.mark.parametrize("ext", ["webp", "avif"])
def test_imagemagick_reads_outputs(run, tmp_path, ext):
    needs_encoder(ext)
    magick = shutil.which("convert-im6.q16")
    if magick is None:
        pytest.skip("ImageMagick 6 (convert-im6.q16) is not installed")
    pixels = smooth(30, 40, 3)
    src, out, theirs = tmp_path / "in.png", tmp_path / f"out.{ext}", tmp_path / "im.png"
    png_input(src, pixels)
    ok(run("apply", src, "-c", IDENTITY, "--quality", "100", "-o", out, "-q"))
    done = subprocess.run([magick, str(out), f"PNG24:{theirs}"], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"this ImageMagick cannot read {ext}: {done.stderr.decode().strip()}")
    error = np.abs(pillow_array(theirs, "RGB").astype(int) - pixels)
    if ext == "webp":  # lossless
        assert error.max() == 0
    else:  # ImageMagick 6's libheif 1.15 converts YUV to RGB less exactly than Pillow's libavif
        assert error.mean() < 4


@pytest.mark.parametrize(
    ("coeffs", "dtype", "ext", "says"),
    [
        ("1,0,0;0,1,0;0,0,1;1,1,1;0,0,0", "same", "webp", "WebP holds 1 to 4 channels of uint8"),
        (IDENTITY, "float32", "avif", "AVIF holds 1 to 4 channels of uint8, not 3 float32"),
        (IDENTITY, "uint16", "webp", "WebP holds 1 to 4 channels of uint8, not 3 uint16"),
        (IDENTITY, "float32", "jxl", "JPEG XL holds 1 to 4 channels of uint8 or uint16"),
        ("1,0,0;0,1,0;0,0,1;1,1,1;0,0,0", "same", "jxl", "JPEG XL holds 1 to 4"),
    ],
)
def test_impossible_combinations(run, tmp_path, coeffs, dtype, ext, says):
    src, out = tmp_path / "in.png", tmp_path / f"out.{ext}"
    png_input(src, smooth(8, 8, 3))
    line = error_line(run("apply", src, "-c", coeffs, "--dtype", dtype, "-o", out), 2)
    assert says in line and str(out) in line
    assert not out.exists()


@pytest.mark.parametrize("ext", ["png", "tif", "npy"])
def test_quality_refused_for_lossless_outputs(run, tmp_path, ext):
    src, out = tmp_path / "in.png", tmp_path / f"out.{ext}"
    png_input(src, smooth(8, 8, 3))
    line = error_line(run("apply", src, "-c", IDENTITY, "--quality", "80", "-o", out), 2)
    assert "--quality applies to lossy outputs" in line and f"{out} is written losslessly" in line
    assert not out.exists()


def test_quality_range(run, tmp_path):
    src = tmp_path / "in.png"
    png_input(src, smooth(8, 8, 3))
    line = error_line(run("apply", src, "-c", IDENTITY, "--quality", "101", "-o", tmp_path / "o.jpg"), 2)
    assert "--quality" in line


def test_webp_side_limit(tmp_path):
    from chanmix.errors import UsageError

    with pytest.raises(UsageError, match="WebP output holds at most 16383 pixels a side"):
        write_raster(tmp_path / "wide.webp", np.zeros((1, 16384, 3), np.uint8))
    assert not (tmp_path / "wide.webp").exists()


def test_damaged_jxl_is_one_line(run, tmp_path):
    good = tmp_path / "good.jxl"
    write_raster(good, smooth(40, 40, 3), quality=100)
    bad = tmp_path / "bad.jxl"
    bad.write_bytes(good.read_bytes()[:30])
    line = error_line(run("info", bad), 1)
    assert str(bad) in line and "JPEG XL" in line


def test_jxl_budget_checked_before_decoding(run, tmp_path):
    src = tmp_path / "big.jxl"
    write_raster(src, np.zeros((2000, 2000, 3), np.uint8), quality=100)
    line = error_line(run("info", src, "--max-memory", "10M"), 1)
    assert "2000 x 2000 JPEG XL" in line and "--max-memory" in line


def heic_file(path, pixels):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif (chanmix[heic]) is not installed")
    pillow_heif.from_bytes(mode="RGB", size=(pixels.shape[1], pixels.shape[0]), data=pixels.tobytes()).save(
        path, quality=-1
    )  # quality -1: lossless


def test_heic_read(run, tmp_path):
    pixels = smooth(32, 48, 3)
    src = tmp_path / "photo.heic"
    heic_file(src, pixels)
    raster = read_raster(src)
    assert raster.pixels.shape == pixels.shape and raster.info.format == "HEIF"
    assert np.abs(raster.pixels.astype(int) - pixels).mean() < 4  # HEVC, 4:2:0
    out = tmp_path / "out.png"
    ok(run("apply", src, "-c", IDENTITY, "-o", out, "-q"))
    assert np.array_equal(pillow_array(out), raster.pixels)


def test_heic_without_pillow_heif_names_the_extra(run, tmp_path, monkeypatch):
    src = tmp_path / "photo.heic"
    heic_file(src, smooth(16, 16, 3))
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import pillow_heif now fails
    line = error_line(run("apply", src, "-c", IDENTITY, "-o", tmp_path / "o.png"), 2)
    assert str(src) in line and "pip install 'chanmix[heic]'" in line


def test_pillow_without_avif_is_a_usage_error(run, tmp_path, monkeypatch):
    needs_encoder("avif")
    Image.init()
    monkeypatch.delitem(Image.SAVE, "AVIF")  # as a Pillow built without libavif
    src, out = tmp_path / "in.png", tmp_path / "out.avif"
    png_input(src, smooth(8, 8, 3))
    line = error_line(run("apply", src, "-c", IDENTITY, "-o", out), 2)
    assert str(out) in line and "cannot write AVIF" in line and "libavif" in line
    assert not out.exists()


def test_heic_orientation_is_applied_by_libheif(tmp_path):
    """libheif applies the rotation pillow-heif stored for EXIF Orientation 6: pixels come as
    displayed, and the EXIF carried says 1 (no second turn by viewers of the output)."""
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif (chanmix[heic]) is not installed")
    from chanmix.io.exif import orientation

    pixels = smooth(32, 48, 3)
    exif = Image.Exif()
    exif[271] = "Apple"
    exif[274] = 6
    src = tmp_path / "turned.heic"
    pillow_heif.register_heif_opener()
    Image.fromarray(pixels).save(src, exif=exif.tobytes(), quality=-1)
    raster = read_raster(src)
    assert raster.pixels.shape == (48, 32, 3) and orientation(raster.info.exif) == 1
    assert np.abs(raster.pixels.astype(int) - np.rot90(pixels, -1)).mean() < 4


def test_jxl_float_input(tmp_path):
    pixels = np.random.default_rng(0).random((10, 12, 3)).astype(np.float32)
    src = tmp_path / "f.jxl"
    src.write_bytes(imagecodecs.jpegxl_encode(pixels, lossless=True))
    raster = read_raster(src)
    assert raster.pixels.dtype == np.float32 and np.array_equal(raster.pixels, pixels)


def test_mutated_jxl_raises_only_chanmix_errors(tmp_path):
    """Bytes flipped and files cut at random places: a ChanmixError (one line, exit 1) or a
    successful read, never another exception."""
    import random

    from chanmix.errors import ChanmixError

    good = tmp_path / "good.jxl"
    exif = bytes.fromhex("4d4d002a00000008000101120003000000010006000000000000")
    write_raster(good, smooth(24, 24, 3), quality=80, like=read_raster_info_with_exif(tmp_path, exif))
    data = good.read_bytes()
    rng = random.Random(0)
    bad = tmp_path / "bad.jxl"
    for _ in range(100):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        bad.write_bytes(mutated[: rng.randrange(1, len(mutated) + 1)] if rng.random() < 0.3 else mutated)
        try:
            read_raster(bad)
        except ChanmixError:
            pass


def read_raster_info_with_exif(tmp_path, exif: bytes):
    """The RasterInfo of a small PNG holding `exif` in an eXIf chunk, as read by chanmix."""
    path = tmp_path / "exif.png"
    Image.fromarray(smooth(4, 4, 3)).save(path, exif=exif)
    info = read_raster(path).info
    assert info.exif == exif
    return info


@pytest.mark.parametrize("ext", ["webp", "avif", "jxl"])
def test_encoding_checked_against_the_budget(run, tmp_path, ext):
    needs_encoder(ext)
    src, out = tmp_path / "in.png", tmp_path / f"out.{ext}"
    png_input(src, smooth(300, 400, 3))
    line = error_line(run("apply", src, "-c", IDENTITY, "-o", out, "--max-memory", "1M"), 1)
    assert str(out) in line and "encoding this 300 x 400 x 3 uint8 image whole" in line
    assert not out.exists()


@pytest.mark.parametrize("bits", [10, 12])
def test_deep_avif_keeps_its_bits(run, tmp_path, bits):
    """A 10- or 12-bit AVIF (lossless through libavif) is read at full precision, scaled to
    uint16's range as a 16-bit PNG would hold it; Pillow would give 8 bits."""
    if not imagecodecs.AVIF.available:
        pytest.skip("this imagecodecs was built without libavif")
    needs_encoder("avif")  # an AVIF's size and EXIF come from Pillow's AVIF plugin (Pillow 11.3+)
    top = (1 << bits) - 1
    stored = np.round(smooth(24, 32, 3, np.uint16) / 65535 * top).astype(np.uint16)
    src = tmp_path / f"deep{bits}.avif"
    src.write_bytes(imagecodecs.avif_encode(stored, level=100, bitspersample=bits))
    # lossless with today's libavif, lossy with older ones (imagecodecs 2023.3): compare with
    # what libavif itself decodes
    decoded = imagecodecs.avif_decode(src.read_bytes())
    assert decoded.dtype == np.uint16 and int(decoded.max()) <= top
    raster = read_raster(src)
    expected = np.round(decoded.astype(np.float64) * 65535 / top).astype(np.uint16)
    assert raster.pixels.dtype == np.uint16 and np.array_equal(raster.pixels, expected)
    out = tmp_path / "out.png"
    ok(run("apply", src, "-c", IDENTITY, "-o", out, "-q"))
    assert np.array_equal(read_raster(out).pixels, expected)


def test_eight_bit_avif_through_pillow(tmp_path):
    needs_encoder("avif")
    pixels = smooth(16, 16, 3)
    write_raster(tmp_path / "e.avif", pixels)
    raster = read_raster(tmp_path / "e.avif")
    assert raster.pixels.dtype == np.uint8
    assert np.array_equal(raster.pixels, pillow_array(tmp_path / "e.avif"))


@pytest.mark.parametrize(("dtype", "channels"), [(np.uint8, 3), (np.uint16, 4)])
def test_jxl_exif_box(tmp_path, dtype, channels):
    """EXIF in an Exif box, whether libjxl wrote a bare codestream (8-bit) or a container
    (16-bit, with its level box); libjxl still decodes the file, chanmix finds the EXIF."""
    exif = bytes.fromhex("4d4d002a00000008000101100002000000060000001a0000000044554d4d5900")
    like = read_raster_info_with_exif(tmp_path, exif)
    pixels = smooth(20, 28, channels, dtype)
    out = tmp_path / "e.jxl"
    write_raster(out, pixels, alpha=channels == 4, like=like, quality=100)
    data = out.read_bytes()
    assert data.startswith(b"\x00\x00\x00\x0cJXL ") and b"Exif" in data
    assert np.array_equal(imagecodecs.jpegxl_decode(data), pixels)
    back = read_raster(out)
    assert back.info.exif == exif and np.array_equal(back.pixels, pixels)


def test_envi_data_starting_like_jpeg_xl_stays_envi(tmp_path):
    """JPEG XL's codestream signature is two bytes (FF 0A): a raw ENVI cube whose first
    samples are 255, 10 is still read as ENVI when its header is beside it."""
    pixels = np.full((4, 5, 1), 7, np.uint8)
    pixels[0, 0, 0], pixels[0, 1, 0] = 255, 10
    (tmp_path / "cube.img").write_bytes(pixels.tobytes())
    (tmp_path / "cube.hdr").write_text(
        "ENVI\nsamples = 5\nlines = 4\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\n"
        "data type = 1\ninterleave = bsq\nbyte order = 0\n"
    )
    raster = read_raster(tmp_path / "cube.img")
    assert raster.info.format == "ENVI" and np.array_equal(raster.pixels, pixels)
