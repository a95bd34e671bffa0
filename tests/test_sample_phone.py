"""sample_images/phone/: the phone photograph the README's EXIF examples use (made by
sample_images/make_phone.py) is stored on its side with Orientation 6, and --auto-orient
turns it upright: back to coffee.png, within the JPEG's loss."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import ok

ROOT = Path(__file__).resolve().parent.parent
PHONE = ROOT / "sample_images" / "phone"
IDENTITY = "1,0,0; 0,1,0; 0,0,1"


def test_the_script_makes_the_shipped_photograph(tmp_path):
    spec = importlib.util.spec_from_file_location("make_phone", ROOT / "sample_images" / "make_phone.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    made, shipped = Image.open(tmp_path / "IMG_0001.jpg"), Image.open(PHONE / "IMG_0001.jpg")
    assert dict(made.getexif()) == dict(shipped.getexif())
    difference = np.abs(np.asarray(made, dtype=int) - np.asarray(shipped, dtype=int))
    assert difference.max() <= 2  # one JPEG codec's rounding against another's


def test_auto_orient_turns_the_photograph_upright(run, tmp_path):
    coffee = np.asarray(Image.open(ROOT / "sample_images" / "coffee.png").convert("RGB"), dtype=int)
    ok(run("apply", PHONE / "IMG_0001.jpg", "-c", IDENTITY, "-o", tmp_path / "kept.png", "-q"))
    kept = Image.open(tmp_path / "kept.png")
    assert kept.size == (400, 600) and kept.getexif()[0x0112] == 6  # as stored, the tag carried
    ok(run("apply", PHONE / "IMG_0001.jpg", "-c", IDENTITY, "--auto-orient", "-o", tmp_path / "up.png", "-q"))
    upright = Image.open(tmp_path / "up.png")
    assert upright.size == (600, 400) and upright.getexif().get(0x0112, 1) == 1
    assert np.abs(np.asarray(upright, dtype=int) - coffee).mean() < 3


def test_the_heic_photograph_reads_upright(run, tmp_path):
    pytest.importorskip("pillow_heif", reason="HEIC inputs need the heic extra (pillow-heif)")
    coffee = np.asarray(Image.open(ROOT / "sample_images" / "coffee.png").convert("RGB"), dtype=int)
    ok(run("apply", PHONE / "IMG_0001.heic", "-c", IDENTITY, "-o", tmp_path / "h.png", "-q"))
    assert np.abs(np.asarray(Image.open(tmp_path / "h.png"), dtype=int) - coffee).mean() < 4
