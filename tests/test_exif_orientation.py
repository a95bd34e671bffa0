"""EXIF carried from a phone JPEG to every output that holds it, and --auto-orient, checked with
Pillow (tags; ``ImageOps.exif_transpose`` as the orientation reference) and ImageMagick 6
(``convert-im6.q16 -auto-orient``)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image, ImageOps

from chanmix.io import read_raster
from chanmix.io.exif import orientation, oriented, with_orientation
from helpers import error_line, needs_encoder, ok, pillow_array

IDENTITY = "1,0,0;0,1,0;0,0,1"
MAKE, DATE, GPS_IFD = 271, 306, 0x8825


def phone_jpeg(path, value: int = 6, size: tuple[int, int] = (40, 60)):
    """A JPEG as a phone writes it: EXIF with Make, DateTime, GPS and Orientation `value`;
    `size` is (height, width) as stored. Returns the stored pixels as Pillow decodes them."""
    rng = np.random.default_rng(value)
    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[MAKE] = "Apple"
    exif[DATE] = "2024:05:06 07:08:09"
    exif[274] = value
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0)}  # (Pillow < 11 keeps no get_ifd() edits)
    Image.fromarray(pixels).save(path, exif=exif.tobytes(), quality=95)
    return pillow_array(path)


def tags(path) -> tuple[dict, dict]:
    with Image.open(path) as image:
        exif = image.getexif()
        return dict(exif), dict(exif.get_ifd(GPS_IFD))


@pytest.mark.parametrize("ext", ["jpg", "png", "webp", "avif"])
def test_exif_carried_with_orientation(run, tmp_path, ext):
    needs_encoder(ext)
    src = tmp_path / "phone.jpg"
    stored = phone_jpeg(src)
    out = tmp_path / f"out.{ext}"
    ok(run("apply", src, "-c", IDENTITY, "-o", out, "-q"))
    main, gps = tags(out)
    assert main[MAKE] == "Apple" and main[DATE] == "2024:05:06 07:08:09"
    assert main[274] == 6  # carried, pixels as stored (as ImageMagick and libvips do)
    assert gps[1] == "N" and gps[2] == (48.0, 51.0, 30.0)
    assert read_raster(out).pixels.shape == stored.shape


def test_exif_carried_to_jxl_turned(run, tmp_path):
    """JPEG XL's orientation is in the codestream (written as 1): the pixels are turned, the
    EXIF box's orientation is 1, the other tags are kept."""
    src = tmp_path / "phone.jpg"
    stored = phone_jpeg(src)
    out = tmp_path / "out.jxl"
    ok(run("apply", src, "-c", IDENTITY, "--quality", "100", "-o", out, "-q"))
    raster = read_raster(out)
    assert np.array_equal(raster.pixels, np.rot90(stored, -1))
    assert orientation(raster.info.exif) == 1
    exif = Image.Exif()
    exif.load(raster.info.exif)
    assert exif[MAKE] == "Apple"


@pytest.mark.parametrize("value", range(1, 9))
def test_auto_orient_matches_pillow(run, tmp_path, value):
    src = tmp_path / "phone.jpg"
    phone_jpeg(src, value)
    out = tmp_path / "out.png"
    ok(run("apply", src, "-c", IDENTITY, "--auto-orient", "-o", out, "-q"))
    with Image.open(src) as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    assert np.array_equal(pillow_array(out), expected)
    main, gps = tags(out)
    assert main.get(274, 1) == 1 and main[MAKE] == "Apple" and gps[1] == "N"


@pytest.mark.parametrize("value", [3, 6, 7])
def test_auto_orient_matches_imagemagick(run, tmp_path, value):
    magick = shutil.which("convert-im6.q16")
    if magick is None:
        pytest.skip("ImageMagick 6 (convert-im6.q16) is not installed")
    src = tmp_path / "phone.jpg"
    phone_jpeg(src, value)
    theirs = tmp_path / "im.png"
    subprocess.run([magick, str(src), "-auto-orient", f"PNG24:{theirs}"], check=True)
    ours = tmp_path / "out.png"
    ok(run("apply", src, "-c", IDENTITY, "--auto-orient", "-o", ours, "-q"))
    assert np.array_equal(pillow_array(ours), pillow_array(theirs, "RGB"))


def test_oriented_is_pillow_transpose_for_every_value():
    pixels = np.arange(3 * 5 * 2, dtype=np.uint8).reshape(3, 5, 2)
    methods = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }  # ImageOps.exif_transpose's table
    for value, method in methods.items():
        expected = np.asarray(Image.fromarray(pixels[..., 0]).transpose(method))
        assert np.array_equal(oriented(pixels, value)[..., 0], expected), value


def test_with_orientation_changes_two_bytes_only():
    exif = Image.Exif()
    exif[MAKE] = "Apple"
    exif[274] = 8
    data = exif.tobytes()[6:]
    reset = with_orientation(data, 1)
    assert orientation(data) == 8 and orientation(reset) == 1
    assert len(reset) == len(data) and sum(a != b for a, b in zip(data, reset)) == 1


@pytest.mark.parametrize("auto_orient", [False, True])
def test_tiff_output_gets_the_tiff_tags(run, tmp_path, auto_orient):
    """TIFF outputs are streamed: the EXIF IFD0 tags that are TIFF tags are written (Make,
    DateTime, Orientation), the GPS sub-IFD is not."""
    src = tmp_path / "phone.jpg"
    stored = phone_jpeg(src)
    out = tmp_path / "out.tif"
    ok(run("apply", src, "-c", IDENTITY, "-o", out, "-q", *(["--auto-orient"] if auto_orient else [])))
    main, _ = tags(out)
    assert main[MAKE] == "Apple" and main[DATE] == "2024:05:06 07:08:09"
    assert main[274] == (1 if auto_orient else 6) and GPS_IFD not in main
    assert np.array_equal(read_raster(out).pixels, np.rot90(stored, -1) if auto_orient else stored)


def test_auto_orient_on_image_without_exif_is_identity(run, tmp_path):
    src = tmp_path / "plain.png"
    pixels = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(src)
    out = tmp_path / "out.png"
    ok(run("apply", src, "-c", IDENTITY, "--auto-orient", "-o", out, "-q"))
    assert np.array_equal(pillow_array(out), pixels)


def test_auto_orient_is_a_flag(run, tmp_path):
    src = tmp_path / "phone.jpg"
    phone_jpeg(src)
    line = error_line(run("apply", src, "-c", IDENTITY, "--auto-orient=yes", "-o", tmp_path / "o.png"), 2)
    assert "auto-orient" in line


def test_exif_too_long_for_jpeg_is_left_out(run, tmp_path):
    """An EXIF over one APP1 segment (a PNG's eXIf chunk may be larger) is left out of a JPEG
    output, as libvips does, and kept in a WebP output."""
    exif = Image.Exif()
    exif[MAKE] = "Apple"
    exif[270] = "x" * 70000  # ImageDescription
    src = tmp_path / "big-exif.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src, exif=exif.tobytes())
    ok(run("apply", src, "-c", IDENTITY, "-o", tmp_path / "out.jpg", "-q"))
    assert tags(tmp_path / "out.jpg")[0] == {}
    ok(run("apply", src, "-c", IDENTITY, "-o", tmp_path / "out.webp", "-q"))
    assert tags(tmp_path / "out.webp")[0][MAKE] == "Apple"


@pytest.mark.parametrize("ext", ["webp", "avif"])
def test_icc_profile_carried(run, tmp_path, ext):
    needs_encoder(ext)
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src, icc_profile=profile)
    out = tmp_path / f"out.{ext}"
    ok(run("apply", src, "-c", IDENTITY, "-o", out, "-q"))
    with Image.open(out) as image:
        assert image.info.get("icc_profile") == profile


def test_webp_to_stdout(run, tmp_path):
    src = tmp_path / "phone.jpg"
    phone_jpeg(src)
    result = ok(run("apply", src, "-c", IDENTITY, "--quality", "100", "-o", "-", "--format", "webp"))
    out = tmp_path / "piped.webp"
    out.write_bytes(result.stdout_bytes)
    assert tags(out)[0][MAKE] == "Apple"
    assert np.array_equal(pillow_array(out), pillow_array(src))
