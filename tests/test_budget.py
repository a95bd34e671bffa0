"""Resource bombs: whatever is decoded or encoded whole is checked against the memory budget
before it is allocated, and a format's own size limits are checked before anything is read.

The bombs are built here: a PNG of a few dozen bytes whose IHDR declares a huge image, and a
tiled TIFF of a huge declared size whose tiles are empty. The command-line runs go through a
new process limited to 2 GiB of address space, so that a regression fails the test (with a
MemoryError) instead of taking the machine's memory.
"""

from __future__ import annotations

import itertools
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import click
import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

import subprocesses
from chanmix import budget
from chanmix.budget import BudgetError, check_whole, format_size, memory_budget, parse_size
from chanmix.cli.options import parse_max_memory
from chanmix.errors import UsageError
from chanmix.io import check_output, open_raster, read_raster
from chanmix.io.png import decoded_shape

ADDRESS_SPACE = 2 << 30


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(path: Path, width: int, height: int, depth: int = 8, colour: int = 2) -> Path:
    """A valid PNG signature and IHDR (correct CRC) declaring `width` x `height`, with a few
    bytes of image data."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    data = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + _chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + data)
    return path


def tiled_bomb(path: Path, height: int, width: int, tile: int = 512) -> Path:
    """A tiled uint8 TIFF of `height` x `width` whose tiles are empty (offset and byte count
    0, read as zeros), but the first: a small file declaring a huge image."""
    count = -(-height // tile) * -(-width // tile)
    tiles = itertools.chain([np.zeros((tile, tile), np.uint8)], itertools.repeat(None, count - 1))
    with tifffile.TiffWriter(path) as tif:
        tif.write(tiles, shape=(height, width), dtype=np.uint8, tile=(tile, tile))
    return path


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def chanmix(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The chanmix under test in a new process limited to 2 GiB of address space."""
    environment = subprocesses.environment()
    environment.pop(budget.ENV, None)
    environment.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "chanmix", *map(str, args)],
        env=environment,
        preexec_fn=_limited,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def png_1000(tmp_path) -> Path:
    """A 1000 x 1000 RGB PNG: 2.9 MiB decoded."""
    path = tmp_path / "rgb.png"
    pixels = np.random.default_rng(0).integers(0, 256, (1000, 1000, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


# --- sizes and the budget -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1 << 20),
        ("512M", 512 << 20),
        ("8G", 8 << 30),
        ("8g", 8 << 30),
        ("1.5GiB", 3 << 29),
        ("100MB", 100 << 20),
        ("64 KiB", 64 << 10),
        ("2T", 2 << 40),
        ("700B", 700),
        (" 3M ", 3 << 20),
        ("0", 0),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "abc", "1x", "-1", "M", "1iB", "1.2.3G", "1e9", "5 MM"])
def test_parse_size_refuses(text):
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_max_memory_callback_sets_the_variable_for_the_command_only(monkeypatch):
    monkeypatch.delenv(budget.ENV, raising=False)
    with click.Context(click.Command("x")) as ctx:
        assert parse_max_memory(ctx, None, "512M") == 512 << 20
        assert os.environ[budget.ENV] == str(512 << 20)
        assert memory_budget() == 512 << 20
    assert budget.ENV not in os.environ
    monkeypatch.setenv(budget.ENV, "1G")
    with click.Context(click.Command("x")) as ctx:
        parse_max_memory(ctx, None, "2G")
        assert memory_budget() == 2 << 30
    assert os.environ[budget.ENV] == "1G"
    assert parse_max_memory(None, None, None) is None
    with pytest.raises(click.BadParameter, match="'lots' is not a size"):
        parse_max_memory(None, None, "lots")


def test_format_size():
    assert format_size(100000 * 100000 * 4) == "37.3 GiB"
    assert format_size(3 << 20) == "3.0 MiB"
    assert format_size(700) == "700 B"


def test_check_whole_message(monkeypatch):
    monkeypatch.setenv(budget.ENV, "11.6G")
    check_whole("big.png", "decoding this image whole", 11 << 30)
    with pytest.raises(BudgetError) as caught:
        check_whole("big.png", "decoding this 100000 x 100000 x 4 uint8 image whole", 100000 * 100000 * 4)
    assert str(caught.value) == (
        "big.png: decoding this 100000 x 100000 x 4 uint8 image whole needs 37.3 GiB, over the memory "
        "budget of 11.6 GiB; allow more with --max-memory or CHANMIX_MAX_MEMORY"
    )
    assert caught.value.exit_code == 1
    monkeypatch.setenv(budget.ENV, "plenty")
    with pytest.raises(UsageError, match="CHANMIX_MAX_MEMORY: 'plenty' is not a size"):
        check_whole("big.png", "decoding", 1)


def test_default_budget_is_half_the_available_memory(monkeypatch, tmp_path):
    monkeypatch.delenv(budget.ENV, raising=False)
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       8000000 kB\nMemFree:  100 kB\nMemAvailable:    4096 kB\n")
    monkeypatch.setattr(budget, "_MEMINFO", str(meminfo))
    monkeypatch.setattr(budget, "_CGROUP", str(tmp_path / "no-cgroup"))
    budget.default_budget.cache_clear()
    try:
        assert memory_budget() == 2 << 20
        cgroup = tmp_path / "cgroup"
        cgroup.mkdir()
        (cgroup / "memory.max").write_text(f"{3 << 20}\n")
        (cgroup / "memory.current").write_text(f"{2 << 20}\n")
        monkeypatch.setattr(budget, "_CGROUP", str(cgroup))
        budget.default_budget.cache_clear()
        assert memory_budget() == 512 << 10  # what the container's limit leaves, halved
        (cgroup / "memory.max").write_text("max\n")
        budget.default_budget.cache_clear()
        assert memory_budget() == 2 << 20
        monkeypatch.setattr(budget, "_MEMINFO", str(tmp_path / "no-meminfo"))
        budget.default_budget.cache_clear()
        assert memory_budget() == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
        monkeypatch.setattr(budget.os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError(name)))
        budget.default_budget.cache_clear()
        assert memory_budget() == budget.FALLBACK_AVAILABLE // 2
    finally:
        budget.default_budget.cache_clear()


# --- sizes read from headers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "shape", "transparency"),
    [
        ("L", (5, 7), None),
        ("L", (5, 7), 3),
        ("LA", (5, 7, 2), None),
        ("RGB", (5, 7, 3), None),
        ("RGB", (5, 7, 3), (1, 2, 3)),
        ("RGBA", (5, 7, 4), None),
        ("P", (5, 7), None),
        ("P", (5, 7), 0),
        ("1", (5, 7), None),
        ("I;16", (5, 7), None),
    ],
)
def test_png_header_gives_what_libpng_decodes(tmp_path, mode, shape, transparency):
    path = tmp_path / "x.png"
    pixels = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape) % 4
    image = Image.fromarray(pixels).convert(mode)
    image.save(path, **({} if transparency is None else {"transparency": transparency}))
    decoded = imagecodecs.png_decode(path.read_bytes())
    decoded = decoded[..., np.newaxis] if decoded.ndim == 2 else decoded
    assert decoded_shape(str(path)) == (decoded.shape, decoded.dtype)


def test_png_16_bit_header(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(imagecodecs.png_encode(np.zeros((3, 4, 3), np.uint16)))
    assert decoded_shape(str(path)) == ((3, 4, 3), np.dtype(np.uint16))
    assert decoded_shape(str(png_bomb(tmp_path / "b.png", 100000, 100000))) == (
        (100000, 100000, 3),
        np.dtype(np.uint8),
    )


# --- output format limits ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "height", "width", "refused"),
    [
        ("o.jpg", 65500, 10, False),
        ("o.jpg", 10, 65501, True),
        ("o.jpeg", 100000, 100000, True),
        ("o.png", 1_000_000, 1, False),
        ("o.png", 1_000_001, 1, True),
        ("o.tif", 100000, 100000, False),
    ],
)
def test_check_output_size_limits(name, height, width, refused):
    if refused:
        with pytest.raises(UsageError, match="pixels a side"):
            check_output(name, channels=1, dtype="uint8", height=height, width=width)
    else:
        check_output(name, channels=1, dtype="uint8", height=height, width=width)


# --- whole decoding in the library --------------------------------------------------------


def test_tiff_decoded_whole_is_budgeted_and_streaming_is_not(tmp_path, monkeypatch):
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, np.ones((64, 64, 3), np.uint8), photometric="rgb", rowsperstrip=8)
    monkeypatch.setenv(budget.ENV, "10K")  # streamed: only one 1.5 KiB strip is decoded at once
    needed = "x.tif: decoding this 64 x 64 x 3 uint8 image whole needs 12.0 KiB"
    with pytest.raises(BudgetError, match=needed):
        read_raster(path)
    with open_raster(path) as reader:
        assert reader.read_rows(0, 64).sum() == 64 * 64 * 3
    monkeypatch.setenv(budget.ENV, "12K")
    assert read_raster(path).pixels.shape == (64, 64, 3)


def test_pillow_decoding_is_budgeted_and_its_limit_restored(tmp_path, monkeypatch):
    path = tmp_path / "x.gif"
    colours = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)[np.arange(100 * 100) % 2].reshape(100, 100, 3)
    Image.fromarray(colours).convert("P").save(path)
    limit = Image.MAX_IMAGE_PIXELS
    monkeypatch.setenv(budget.ENV, "100K")  # 1 + 4 + 2 x 3 bytes a pixel: 107.4 KiB
    with pytest.raises(BudgetError, match=r"decoding this 100 x 100 x 3 uint8 image whole needs 107\.4 KiB"):
        read_raster(path)
    assert Image.MAX_IMAGE_PIXELS == limit
    monkeypatch.setenv(budget.ENV, "108K")
    assert read_raster(path).pixels.shape == (100, 100, 3)
    assert Image.MAX_IMAGE_PIXELS == limit


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["info"], ["apply", "-p", "sepia", "-o", "{out}"]])
def test_png_bomb_is_refused_in_one_line(tmp_path, command):
    bomb = png_bomb(tmp_path / "bomb.png", 1_000_000, 1_000_000)  # 2.7 TiB: over any default
    out = tmp_path / "o.png"
    done = chanmix(command[0], bomb, *(a.format(out=out) for a in command[1:]))
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith(
        f"Error: {bomb}: decoding this 1000000 x 1000000 x 3 uint8 image whole needs 2.7 TiB,"
    )
    assert line.endswith("allow more with --max-memory or CHANMIX_MAX_MEMORY")
    assert not out.exists()


def test_png_bomb_with_a_budget_that_allows_it_runs_out_of_memory_in_one_line(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png", 100000, 100000)
    done = chanmix("info", bomb, "--max-memory", "8G")
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"Error: {bomb}: decoding this 100000 x 100000 x 3 uint8 image whole needs 27.9 GiB, over the "
        "memory budget of 8.0 GiB; allow more with --max-memory or CHANMIX_MAX_MEMORY"
    )
    done = chanmix("info", bomb, "--max-memory", "100G")  # allowed: the 2 GiB process cannot
    assert done.returncode == 1
    assert one_line(done.stderr).startswith("Error: out of memory")


def test_pillow_never_warns_of_decompression_bombs(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png", 10000, 10000)  # over Pillow's 89 megapixel warning
    done = chanmix("info", bomb, "--max-memory", "1G")
    assert done.returncode == 1
    assert "image file is truncated" in one_line(done.stderr)


def test_max_memory_lowers_and_raises_the_budget(run, png_1000, tmp_path, monkeypatch):
    monkeypatch.delenv(budget.ENV, raising=False)
    out = tmp_path / "o.tif"
    refused = run("info", png_1000, "--max-memory", "1M")
    assert refused.exit_code == 1
    needed = "rgb.png: decoding this 1000 x 1000 x 3 uint8 image whole needs 5.7 MiB"
    assert needed in one_line(refused.stderr)
    assert run("info", png_1000, "--max-memory", "100M").exit_code == 0
    assert budget.ENV not in os.environ  # set for the command only
    assert run("apply", png_1000, "-p", "sepia", "-o", out, "--max-memory", "1M").exit_code == 1
    assert not out.exists()
    fit = run("fit", "pca", png_1000, "-k", "1", "-o", tmp_path / "m.json", "--max-memory", "1M")
    assert fit.exit_code == 1 and "--max-memory" in one_line(fit.stderr)
    assert not (tmp_path / "m.json").exists()
    assert run("apply", png_1000, "-p", "sepia", "-o", out, "--max-memory", "100M").exit_code == 0


def test_environment_variable_sets_the_budget(run, png_1000, monkeypatch):
    monkeypatch.setenv(budget.ENV, "1M")
    assert run("info", png_1000).exit_code == 1
    assert run("info", png_1000, "--max-memory", "100M").exit_code == 0  # the option wins
    monkeypatch.setenv(budget.ENV, "100M")
    assert run("info", png_1000).exit_code == 0
    monkeypatch.setenv(budget.ENV, "lots")
    result = run("info", png_1000)
    assert result.exit_code == 2
    assert "'lots' is not a size" in one_line(result.stderr)
    result = run("info", png_1000, "--max-memory", "7 bytes")
    assert result.exit_code == 2 and "--max-memory" in one_line(result.stderr)


def test_png_output_counts_the_input_held_until_it_is_gathered(run, png_1000, tmp_path, monkeypatch):
    monkeypatch.delenv(budget.ENV, raising=False)
    out = tmp_path / "o.png"
    # input: 2.9 MiB decoded + the file; output: 2.9 MiB gathered + twice that for the encoder
    result = run("apply", png_1000, "-p", "sepia", "-o", out, "--max-memory", "8M")
    assert result.exit_code == 1
    assert "o.png: encoding this 1000 x 1000 x 3 uint8 image whole needs 8.6 MiB" in one_line(result.stderr)
    assert not out.exists()
    assert run("apply", png_1000, "-p", "sepia", "-o", out, "--max-memory", "9M").exit_code == 0


@pytest.fixture(scope="module")
def huge_tiff(tmp_path_factory) -> Path:
    """100000 x 100000 uint8 (9.3 GiB of pixels) in a file of 0.5 MB."""
    return tiled_bomb(tmp_path_factory.mktemp("bomb") / "huge.tif", 100000, 100000)


def test_huge_tiff_to_jpeg_is_refused_before_reading(huge_tiff, tmp_path):
    out = tmp_path / "o.jpg"
    done = chanmix("apply", huge_tiff, "-c", "1", "-o", out)
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        f"Error: {out}: JPEG output holds at most 65500 pixels a side, not 100000 x 100000; write a .tif"
    )
    assert not out.exists()


def test_huge_tiff_to_png_is_refused_before_reading(huge_tiff, tmp_path):
    out = tmp_path / "o.png"
    done = chanmix("apply", huge_tiff, "-c", "1", "-o", out, "--max-memory", "20G")
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"Error: {out}: encoding this 100000 x 100000 x 1 uint8 image whole needs 27.9 GiB, over the "
        "memory budget of 20.0 GiB; allow more with --max-memory or CHANMIX_MAX_MEMORY"
    )
    assert not out.exists()


def test_tiled_tiff_to_tiff_streams_whatever_the_budget(tmp_path):
    source = tiled_bomb(tmp_path / "big.tif", 8192, 8192)  # 64 MiB of pixels, tile by tile
    out = tmp_path / "o.tif"
    done = chanmix("apply", source, "-c", "0.5, 0.25", "-o", out, "--max-memory", "1M", "-j", "1")
    assert done.returncode == 0, done.stderr
    with tifffile.TiffFile(out) as tif:
        page = tif.pages[0]
        assert page.shape == (8192, 8192) and page.is_tiled
        assert int(page.asarray()[8000, 8000]) == 64  # bias 0.25 on zeros


def test_the_default_budget_fits_within_an_address_space_limit():
    """Under ``ulimit -v 2G`` (as the fuzz harness runs chanmix) half the available memory
    of the machine could not be had: the default is half of what the limit leaves."""
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    code = "from chanmix.budget import default_budget; print(default_budget())"
    env = subprocesses.environment()
    done = subprocess.run(
        [sys.executable, "-c", code], preexec_fn=limit, capture_output=True, text=True, env=env, check=True
    )
    assert 0 < int(done.stdout) <= 1 << 30
