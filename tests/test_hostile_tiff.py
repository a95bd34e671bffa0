"""Damaged and hostile TIFFs: every run ends, with exit 0 or 1 and at most one line on stderr.

Damaged files are made here from small tifffile-written ones by changing a few bytes; the one
found by fuzzing is in tests/data (see its MANIFEST.md).
"""

from __future__ import annotations

import logging
import re
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile

import subprocesses
from chanmix import Mix, apply
from chanmix.cli import info as info_module
from chanmix.errors import DataError
from chanmix.fit import Moments
from chanmix.io import image_number, open_raster, read_raster, tiff_chain
from chanmix.io.capture import Messages
from chanmix.io.pillow import decode_pillow
from chanmix.io.raster import reason
from chanmix.stats import band_stats
from chanmix.transfer import decode_srgb

DATA = Path(__file__).resolve().parent / "data"


def chanmix(*args, cwd, timeout: float = 60) -> subprocess.CompletedProcess:
    """The chanmix under test in a new process; a run that does not end fails the test."""
    env = subprocesses.environment()
    return subprocess.run(
        [sys.executable, "-m", "chanmix", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ends_within(seconds: float, function, *args) -> BaseException | None:
    """Run `function` in a thread; the exception it raised, or None. A call still running
    after `seconds` fails the test (and is left to spin in its daemon thread)."""
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            result = function(*args)
            if hasattr(result, "close"):
                result.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"{function} still running after {seconds} s"
    return outcome[0]


def one_clear_line(result: subprocess.CompletedProcess) -> str:
    """The run ended with exit 0 or 1, no traceback and at most one stderr line; that line."""
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) <= 1, result.stderr
    return lines[0] if lines else ""


def tiff_bytes(path: Path) -> bytearray:
    return bytearray(path.read_bytes())


def ifd_ends(path: Path) -> tuple[list[int], str, int]:
    """Where each IFD's next-IFD offset is stored, the byte order and the offset size."""
    with tifffile.TiffFile(path) as tif:
        tiff = tif.tiff
        ends = [page.offset + tiff.tagnosize + len(page.tags) * tiff.tagsize for page in tif.pages]
        return ends, tiff.byteorder, tiff.offsetsize


def chain_to(path: Path, page: int, target: int) -> None:
    """Make IFD `page` point to IFD `target` instead of its successor."""
    with tifffile.TiffFile(path) as tif:
        offsets = [p.offset for p in tif.pages]
    ends, byteorder, size = ifd_ends(path)
    data = tiff_bytes(path)
    pointer = struct.pack(byteorder + ("I" if size == 4 else "Q"), offsets[target])
    data[ends[page] : ends[page] + size] = pointer
    path.write_bytes(bytes(data))


def pages_file(path: Path, pages: int, **options) -> Path:
    """A TIFF of `pages` 4x4 uint8 pages (tifffile's own writer)."""
    data = np.arange(pages * 16, dtype=np.uint8).reshape(pages, 4, 4)
    tifffile.imwrite(path, data, photometric="minisblack", metadata=None, **options)
    return path


# --- the IFD chain ------------------------------------------------------------------------


def test_circular_ifd_file_from_fuzzing_ends(tmp_path):
    """tests/data/circular-ifd-hang.tiff made info and apply run for ever."""
    for args in (["info", "case.tiff"], ["apply", "case.tiff", "-p", "invert", "-o", "out.tif"]):
        (tmp_path / "case.tiff").write_bytes((DATA / "circular-ifd-hang.tiff").read_bytes())
        line = one_clear_line(chanmix(*args, cwd=tmp_path))
        assert line.startswith("Error: case.tiff: damaged TIFF: its chain of images loops back")
        assert not (tmp_path / "out.tif").exists()


@pytest.mark.parametrize(
    ("pages", "page", "target", "options"),
    [
        (1, 0, 0, {}),  # a single IFD pointing to itself
        (3, 2, 0, {}),  # back to the first
        (3, 1, 1, {"byteorder": ">"}),
        (3, 2, 1, {"bigtiff": True}),
        (150, 149, 120, {}),  # a loop tifffile's own check (at the 100th IFD) does not see
        (150, 60, 10, {"bigtiff": True, "byteorder": ">"}),
    ],
)
def test_a_loop_in_the_ifd_chain_is_one_data_error(tmp_path, pages, page, target, options):
    path = pages_file(tmp_path / "loop.tif", pages, **options)
    chain_to(path, page, target)
    for read in (read_raster, open_raster, lambda p: image_number(p, series=0)):
        error = ends_within(30, read, path)
        assert isinstance(error, DataError)
        assert str(error).startswith(f"{path}: damaged TIFF: its chain of images loops back on itself")
        assert f"(IFD {page} links to IFD {target} at byte " in str(error)


def test_the_chain_check_reads_as_tifffile_does(tmp_path):
    """Long, ending chains (also BigTIFF and big-endian) pass, and give every page."""
    for options in ({}, {"bigtiff": True}, {"byteorder": ">"}):
        path = pages_file(tmp_path / "pages.tif", 300, **options)
        tiff_chain.check_ifd_chain(str(path))
        with tiff_chain.open_tiff(str(path)) as tif:
            assert len(tif.pages) == 300
        assert read_raster(path, page=299).pixels[0, 0, 0] == (299 * 16) % 256


def test_chains_longer_than_the_limit_are_refused(tmp_path, monkeypatch):
    path = pages_file(tmp_path / "long.tif", 6)
    monkeypatch.setattr(tiff_chain, "MAX_IFDS", 6)
    assert read_raster(path, page=5).info.pages == 6
    monkeypatch.setattr(tiff_chain, "MAX_IFDS", 5)
    with pytest.raises(DataError, match=r"long\.tif: more than 5 images \(IFDs\) in one TIFF file"):
        read_raster(path)
    with pytest.raises(DataError, match="more than 5 images"):
        open_raster(path)


def test_a_cut_or_invalid_header_is_a_damaged_header(tmp_path):
    path = pages_file(tmp_path / "big.tif", 1, bigtiff=True)
    data = tiff_bytes(path)
    (tmp_path / "size.tif").write_bytes(bytes(data[:4] + b"\x04\x00" + data[6:]))
    with pytest.raises(DataError, match=r"size\.tif: damaged TIFF header \(BigTIFF offset size 04000000\)$"):
        read_raster(tmp_path / "size.tif")
    (tmp_path / "cut.tif").write_bytes(bytes(data[:12]))
    with pytest.raises(DataError, match=r"cut\.tif: damaged TIFF header \(the file ends at byte 12\)$"):
        read_raster(tmp_path / "cut.tif")


def _ome_pair(folder: Path) -> Path:
    """a.ome.tif, whose OME-XML puts its second channel in b.ome.tif, whose chain loops."""
    chain_to(pages_file(folder / "b.ome.tif", 150), 149, 120)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06" UUID="urn:uuid:a">'
        '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" '
        'SizeX="4" SizeY="4" SizeC="2" SizeZ="1" SizeT="1">'
        '<Channel ID="Channel:0:0" SamplesPerPixel="1"/><Channel ID="Channel:0:1" SamplesPerPixel="1"/>'
        '<TiffData FirstC="0" IFD="0" PlaneCount="1"><UUID FileName="a.ome.tif">urn:uuid:a</UUID></TiffData>'
        '<TiffData FirstC="1" IFD="0" PlaneCount="1"><UUID FileName="b.ome.tif">urn:uuid:b</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    path = folder / "a.ome.tif"
    pixels = np.zeros((4, 4), np.uint8)
    tifffile.imwrite(path, pixels, photometric="minisblack", description=xml, metadata=None)
    return path


def test_a_loop_in_an_ome_companion_file_is_one_data_error(tmp_path):
    """tifffile reads the whole chain of the files an OME-TIFF names."""
    _ome_pair(tmp_path)
    line = one_clear_line(chanmix("info", "a.ome.tif", cwd=tmp_path))
    assert line.startswith("Error: a.ome.tif: OME-TIFF companion file b.ome.tif: damaged TIFF: its chain")


# --- damaged tags -----------------------------------------------------------------------------


def damaged_tag(folder: Path, code: int, *, count: int | None = None, dtype: int | None = None) -> Path:
    """An 8x8 RGB TIFF whose tag `code` declares another value count or data type."""
    path = folder / f"tag{code}.tif"
    tifffile.imwrite(path, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages.first.tags[code].offset
    data = tiff_bytes(path)
    if count is not None:
        data[entry + 4 : entry + 8] = struct.pack("<I", count)
    if dtype is not None:
        data[entry + 2 : entry + 4] = struct.pack("<H", dtype)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("code", "change"),
    [  # what tifffile raised when written, in its own words (they change with its version)
        (256, {"count": 2}),  # ImageWidth: a tuple (TypeError: int() argument must be ...)
        (277, {"count": 0}),  # SamplesPerPixel (TypeError: slice indices must be integers ...)
        (256, {"dtype": 12}),  # ImageWidth as a DOUBLE read over 4 bytes (ZeroDivisionError)
        (278, {"dtype": 12}),  # RowsPerStrip (OverflowError: cannot convert float infinity ...)
        (258, {"count": 0}),  # BitsPerSample (IndexError: tuple index out of range)
    ],
)
def test_damaged_tags_are_one_line_in_words(tmp_path, code, change):
    path = damaged_tag(tmp_path, code, **change)
    for read in (read_raster, open_raster):
        with pytest.raises(DataError) as caught:
            read(path)
        # chanmix's words and the library's exception type, then the library's message
        assert re.fullmatch(rf"{re.escape(str(path))}: damaged TIFF tags \(\w+: .+\)", str(caught.value))


def test_control_characters_in_a_reason_are_escaped():
    assert reason(ValueError("tag \x1b[2J\x07 value\r")) == r"ValueError: tag \x1b[2J\x07 value"


# --- the command line: one line, whatever the libraries print ------------------------------


def test_tifffile_log_lines_are_not_shown_by_the_cli(run, tmp_path):
    """tifffile logs tags it cannot parse at ERROR level; the file still reads."""
    damaged_tag(tmp_path, 305, dtype=0)  # Software, an invalid data type
    result = chanmix("info", "tag305.tif", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stderr == ""
    tifffile_log = logging.getLogger("tifffile")
    before = tifffile_log.level
    assert run("info", tmp_path / "tag305.tif").exit_code == 0
    assert tifffile_log.level == before  # a library user's logging is left as it was


def test_python_warnings_are_one_line_each(run, samples, monkeypatch):
    def warn(*args, **kwargs):
        warnings.warn("two\n  lines", UserWarning, stacklevel=1)
        return band_stats(*args, **kwargs)

    monkeypatch.setattr(info_module, "band_stats", warn)
    show = warnings.showwarning
    result = run("info", samples / "astronaut.png")
    assert result.exit_code == 0
    assert result.stderr == "Warning: two lines\n"
    assert warnings.showwarning is show


# --- what libtiff prints, through Pillow ---------------------------------------------------


def damaged_strip(folder: Path, name: str, *, cut: bool, **options) -> Path:
    """A 32x32 RGB TIFF (one strip) with its strip cut short or its bytes flipped."""
    path = folder / name
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    tifffile.imwrite(path, pixels, rowsperstrip=32, **options)
    with tifffile.TiffFile(path) as tif:
        start, size = tif.pages.first.dataoffsets[0], tif.pages.first.databytecounts[0]
    data = tiff_bytes(path)
    if cut:
        data = data[: start + size // 3]
    else:
        for i in range(start + 10, start + size, 7):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def test_libtiff_messages_become_the_reason_and_nothing_else(tmp_path):
    # tifffile cannot decode the LZW strip; Pillow's libtiff prints "Using code not yet in table"
    damaged_strip(tmp_path, "lzw.tif", cut=False, photometric="rgb", compression="lzw")
    with pytest.raises(Exception) as tifffile_error:  # the decoder's own error is the reason
        tifffile.imread(tmp_path / "lzw.tif")
    why = f"{type(tifffile_error.value).__name__}: {tifffile_error.value}"
    line = one_clear_line(chanmix("info", "lzw.tif", cwd=tmp_path))
    assert line == f"Error: lzw.tif: cannot decode image data ({why})"
    # YCbCr without JPEG goes to Pillow straight away: libtiff's message is the reason
    ycbcr = {"photometric": "ycbcr", "subsampling": (1, 1)}
    damaged_strip(tmp_path, "cut.tif", cut=True, compression="deflate", **ycbcr)
    line = one_clear_line(chanmix("apply", "cut.tif", "-p", "invert", "-o", "out.tif", cwd=tmp_path))
    assert line.startswith("Error: cut.tif: cannot decode image data (TIFFFillStrip: ")  # libtiff's
    assert not (tmp_path / "out.tif").exists()
    # decoded after all: what libtiff said is dropped
    damaged_strip(tmp_path, "flip.tif", cut=False, compression="lzw", **ycbcr)
    result = chanmix("info", "flip.tif", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""


def test_pillow_warnings_while_it_decodes_a_tiff_are_not_shown(tmp_path):
    """Pillow warns ("Truncated File Read") about a tag whose value lies past the end of the
    file, and decodes it."""
    path = tmp_path / "far.tif"
    pixels = np.zeros((8, 8, 3), np.uint8)
    ycbcr = {"photometric": "ycbcr", "subsampling": (1, 1), "compression": "lzw"}
    tifffile.imwrite(path, pixels, software="chanmix test", **ycbcr)
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages.first.tags[305].offset
    data = tiff_bytes(path)
    data[entry + 8 : entry + 12] = struct.pack("<I", len(data) + 1000)
    path.write_bytes(bytes(data))
    result = chanmix("info", "far.tif", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_a_capture_keeps_the_cli_s_own_messages(tmp_path):
    """While file descriptor 2 is captured, what the command line prints still shows."""
    script = (
        "import os, click\n"
        "from chanmix.cli.main import _quiet_libraries\n"
        "from chanmix.io.capture import captured_messages\n"
        "with _quiet_libraries():\n"
        "    with captured_messages() as messages:\n"
        "        os.write(2, b'tempfile.tif: from C\\n')\n"
        "        click.echo('Error: from chanmix', err=True)\n"
        "    print(messages.lines, messages.first())\n"
    )
    env = subprocesses.environment()
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.stderr == "Error: from chanmix\n"
    assert result.stdout == "['from C'] from C\n"


def test_captured_lines_prefer_errors_to_warnings():
    messages = Messages()
    messages.lines = ["TIFFReadDirectory: Warning, Unknown field with tag 700", "LZWDecode: Corrupted"]
    assert messages.first() == "LZWDecode: Corrupted"
    messages.lines = ["TIFFReadDirectory: Warning, Unknown field"]
    assert messages.first() == "TIFFReadDirectory: Warning, Unknown field"
    assert Messages().first() is None


# --- found by fuzzing the corpus ----------------------------------------------------------


def retyped_tag(path: Path, code: int, dtype: int, value: bytes | None = None) -> None:
    """Give tag `code` of the first IFD another data type (and a new 4-byte value)."""
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages.first.tags[code].offset
    data = tiff_bytes(path)
    data[entry + 2 : entry + 4] = struct.pack("<H", dtype)
    if value is not None:
        data[entry + 8 : entry + 12] = value
    path.write_bytes(bytes(data))


def test_absurd_samples_per_pixel_is_a_damaged_tag(tmp_path):
    """A LONG SamplesPerPixel of 196608 made info and apply run for hours."""
    path = tmp_path / "spp.tif"
    tifffile.imwrite(path, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    retyped_tag(path, 277, 4, struct.pack("<I", 196608))
    for read in (read_raster, open_raster):
        with pytest.raises(DataError, match=r"spp\.tif: damaged TIFF tags \(SamplesPerPixel is 196608; "):
            read(path)


def test_a_width_no_tiff_can_hold_is_a_damaged_tag(tmp_path):
    """An 8-byte ImageWidth of 2**40 made apply end in a traceback from tifffile's writer."""
    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), photometric="minisblack", bigtiff=True)
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages.first.tags[256].offset
    data = tiff_bytes(path)
    data[entry + 2 : entry + 4] = struct.pack("<H", 16)  # LONG8
    data[entry + 12 : entry + 20] = struct.pack("<Q", 2**40)
    path.write_bytes(bytes(data))
    for read in (read_raster, open_raster):
        with pytest.raises(DataError, match=r"wide\.tif: damaged TIFF tags \(ImageWidth is 1099511627776; "):
            read(path)


def test_pillow_log_lines_are_not_shown_by_the_cli(tmp_path):
    """Pillow logs 'More samples per pixel than can be decoded' before refusing a TIFF."""
    path = tmp_path / "many.tif"
    tifffile.imwrite(path, np.zeros((8, 8, 3), np.uint8), photometric="rgb")
    retyped_tag(path, 277, 3, struct.pack("<HH", 65535, 0))
    result = chanmix("apply", "many.tif", "--bands", "1,1,1", "-p", "invert", "-o", "o.tif", cwd=tmp_path)
    line = one_clear_line(result)
    assert line.startswith("Error: many.tif: cannot decode image data (")


@pytest.mark.parametrize(
    ("code", "dtype"),
    [
        (33550, 5),  # ModelPixelScale as RATIONAL: tifffile gives 2 integers per value
        (33922, 10),  # ModelTiepoint as SRATIONAL
        (34737, 1),  # GeoAsciiParams as BYTE: tifffile gives bytes
        (34737, 7),  # ... as UNDEFINED
    ],
)
def test_geotiff_tags_of_another_type_are_carried_to_the_output(run, tmp_path, code, dtype):
    path = tmp_path / "geo.tif"
    tags = [
        (33550, 12, 3, (30.0, 30.0, 0.0), True),
        (33922, 12, 6, (0.0, 0.0, 0.0, 440720.0, 3751320.0, 0.0), True),
        (34735, 3, 8, (1, 1, 0, 1, 1024, 0, 1, 1), True),
        (34737, 2, 0, "NAD27 / UTM zone 11N|", True),
    ]
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), photometric="minisblack", extratags=tags)
    retyped_tag(path, code, dtype)
    with tifffile.TiffFile(path) as tif:
        carried = tif.pages.first.tags[code]
        expected = (carried.dtype, carried.count, carried.value)
    result = run("apply", path, "-c", "1", "-o", tmp_path / "out.tif")
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        written = tif.pages.first.tags[code]
        assert (written.dtype, written.count, written.value) == expected


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (MemoryError(), "not enough memory to decode the image"),
        (ZeroDivisionError("integer division by zero"), "cannot decode image data (ZeroDivisionError: "),
    ],
)
def test_whatever_pillow_raises_decoding_a_tiff_is_one_data_error(tmp_path, monkeypatch, error, message):
    """Pillow decodes the TIFFs tifffile cannot; a damaged strip byte count made it run out of
    memory (under a 2 GiB address-space limit)."""
    damaged_strip(tmp_path, "lzw.tif", cut=False, photometric="rgb", compression="lzw")
    from PIL import TiffImagePlugin

    def fail(self):
        raise error

    monkeypatch.setattr(TiffImagePlugin.TiffImageFile, "load", fail)
    with pytest.raises(DataError, match=r"lzw\.tif: cannot decode image data \(ImcdError: "):
        read_raster(tmp_path / "lzw.tif")  # tifffile's reason comes first
    with pytest.raises(DataError) as caught:
        decode_pillow(str(tmp_path / "lzw.tif"))
    assert str(caught.value).startswith(f"{tmp_path / 'lzw.tif'}: {message}")


# --- NumPy's warnings on extreme samples -----------------------------------------------------

EXTREME = np.array([3e38, -3e38, np.inf, -np.inf, np.nan, 1.0, 0.0, 5e-45] * 24, np.float32).reshape(8, 8, 3)


@pytest.fixture
def warnings_fail():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


@pytest.mark.parametrize("kernel", ["numpy", "auto"])
@pytest.mark.parametrize("linear", [False, True])
def test_mixing_extreme_samples_gives_no_warning(warnings_fail, monkeypatch, kernel, linear):
    monkeypatch.setenv("CHANMIX_KERNEL", kernel)
    sepia = Mix(np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]))
    for dtype in ("same", "uint8", "float64"):
        apply(EXTREME, sepia, dtype=dtype, linear=linear)
    decode_srgb(EXTREME.copy())


def test_statistics_of_extreme_samples_give_no_warning(warnings_fail, tmp_path, run):
    block = np.array([1.7e308, -1.7e308, np.inf, np.nan, 1e-320, 0.0] * 32).reshape(8, 8, 3)
    band_stats([block])
    band_stats([EXTREME])
    Moments.of(EXTREME.astype(np.float64))
    tifffile.imwrite(tmp_path / "f64.tif", block, photometric="rgb")
    result = run("info", tmp_path / "f64.tif")
    assert result.exit_code == 0 and result.stderr == ""


# --- stdin --------------------------------------------------------------------------------


def test_errors_about_stdin_name_stdin(run, samples, tmp_path):
    result = run("apply", "-", "-p", "sepia", "-o", tmp_path / "out.png")  # empty stdin
    assert result.exit_code == 1
    assert result.stderr == "Error: stdin: empty file\n"
    cut = (samples / "multispectral.tif").read_bytes()[:100]
    to_stdout = ["-c", "1,0,0,0,0,0,0,0", "-o", "-", "--format", "tif"]
    result = run("apply", "-", *to_stdout, input=cut)
    assert result.exit_code == 1 and result.stdout_bytes == b""
    assert result.stderr.startswith("Error: stdin: ") and result.stderr.count("\n") == 1
    assert "chanmix-" not in result.stderr
    two = ["-", samples / "astronaut.png", "-p", "sepia", "-O", tmp_path / "out"]
    result = run("apply", *two, input=b"\x89PNG")
    assert result.exit_code == 1
    error, summary = result.stderr.splitlines()
    assert error.startswith("Error: stdin: ") and "chanmix-" not in error
    assert summary == "1 of 2 images mixed, 1 failed"


def test_geotiff_integers_past_int64_are_carried_as_integers(run, tmp_path):
    """A fuzzed GeoKeyDirectory typed IFD8 held integers past int64, which NumPy made floats
    that tifffile's writer refused."""
    path = tmp_path / "ifd8.tif"
    keys = (2**63 + 5, 2**64 - 1, 1, 0)
    tags = [(33550, 12, 3, (30.0, 30.0, 0.0), True), (34735, 18, 4, keys, True)]
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), photometric="minisblack", extratags=tags)
    result = run("apply", path, "-c", "1", "-o", tmp_path / "out.tif")
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.pages.first.tags[34735].value == keys


def test_extra_samples_leaving_no_colour_sample_make_no_alpha(run, tmp_path):
    """A fuzzed one-band TIFF whose ExtraSamples called its only band alpha: apply --pca had
    no band left to fit and ended in a traceback."""
    path = tmp_path / "alone.tif"
    pixels = np.arange(128, dtype=np.uint8).reshape(8, 8, 2)
    tifffile.imwrite(path, pixels, photometric="minisblack", extrasamples=["assocalpha"])
    retyped_tag(path, 277, 3, struct.pack("<HH", 1, 0))  # SamplesPerPixel 1, ExtraSamples kept
    with tifffile.TiffFile(path) as tif:
        assert tif.pages.first.samplesperpixel == 1 and tif.pages.first.extrasamples == (1,)
    assert read_raster(path).info.alpha is None
    result = run("apply", path, "--pca", "1", "--dtype", "float32", "-o", tmp_path / "out.tif")
    assert result.exit_code == 0, result.output


def test_a_length_no_strip_holds_is_a_damaged_tag_not_hours_of_zeros(tmp_path):
    """ImageLength 2**31 - 1 over one strip of 8 rows: 'info' used to read zeros for ever."""
    path = tmp_path / "tall.tif"
    tifffile.imwrite(path, np.arange(64, dtype=np.uint8).reshape(8, 8), rowsperstrip=8)
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags["ImageLength"]
        where, kind = tag.valueoffset, tag.dtype
    data = tiff_bytes(path)
    struct.pack_into("<I" if kind == 4 else "<H", data, where, 2**31 - 1 if kind == 4 else 65535)
    path.write_bytes(bytes(data))
    line = one_clear_line(chanmix("info", path, cwd=tmp_path, timeout=30))
    assert "tall.tif: damaged TIFF tags" in line and "strips, the file lists 1" in line


def test_a_strip_byte_count_past_the_end_of_the_file_allocates_nothing(tmp_path):
    """StripByteCounts of 3 GB in a file of 1 kB: it was read (allocated) as declared."""
    import resource

    path = tmp_path / "counts.tif"
    image = np.arange(16 * 20 * 3, dtype=np.uint8).reshape(16, 20, 3)
    tifffile.imwrite(path, image, photometric="rgb", compression="zlib", rowsperstrip=16)
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags["StripByteCounts"]
        where, kind = tag.valueoffset, tag.dtype
    data = tiff_bytes(path)
    struct.pack_into("<I", data, where, 3_000_000_000)
    assert kind == 4
    path.write_bytes(bytes(data))
    env = subprocesses.environment()
    done = subprocess.run(
        [sys.executable, "-m", "chanmix", "apply", path, "-c", "1,0,0;0,1,0;0,0,1", "-o", tmp_path / "o.tif"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)),
    )
    assert done.returncode == 0 and done.stderr == f"1 image mixed: {path} -> {tmp_path / 'o.tif'}\n"
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "o.tif"), image)


def test_a_lying_byte_count_in_an_image_decoded_whole_is_refused_without_allocating(tmp_path):
    """tifffile reads the segments of an image decoded whole as declared: a LogLuv file whose
    StripByteCounts said 2 GB was a MemoryError under ulimit -v (fuzz seed 2, case 501)."""
    from chanmix.io.tiff import _check_byte_counts

    path = tmp_path / "whole.tif"
    tifffile.imwrite(path, np.zeros((300, 400), np.uint8), rowsperstrip=300)
    with tifffile.TiffFile(path) as tif:
        _check_byte_counts(tif, tif.series[0])  # a true count passes
        tag = tif.pages[0].tags["StripByteCounts"]
        where, kind = tag.valueoffset, tag.dtype
    assert kind == 4
    data = tiff_bytes(path)
    struct.pack_into("<I", data, where, 2**31)
    path.write_bytes(bytes(data))
    with tifffile.TiffFile(path) as tif, pytest.raises(tifffile.TiffFileError, match="past the end"):
        _check_byte_counts(tif, tif.series[0])
