"""``chanmix sheet``: a contact sheet of every band (issue 14).

Ground truth comes from outside the code under test: thumbnails are ``pixels[::k, ::k]`` as
NumPy slices them (and as libvips' ``subsample`` takes them), stretched by ``numpy.percentile``
and the formula written out here (and by scikit-image's ``rescale_intensity``); the layout from
the numbers the command's documentation gives; labels as Pillow draws the same text.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from chanmix.io import open_image
from chanmix.thumbnails import read_decimated
from helpers import error_line, ok, pillow_array

#: The layout's fixed numbers as the documentation of chanmix.sheet states them.
GAP, LABEL_GAP = 8, 4
WHITE, SLATE = (255, 255, 255), (112, 128, 144)
#: Samples written pixel by pixel, one grey value per band.
STRIPS = {"photometric": "minisblack", "planarconfig": "contig"}


def font_px(size: int) -> int:
    return max(10, min(32, size // 16))


def geometry(n: int, size: int, columns: int, lines: int) -> tuple[int, int, int]:
    """(sheet width, sheet height, cell height) as documented."""
    font = font_px(size)
    cell = size + LABEL_GAP + lines * (font + font // 4)
    rows = math.ceil(n / columns)
    return columns * size + (columns + 1) * GAP, rows * cell + (rows + 1) * GAP, cell


def thumbnail_box(index: int, size: int, columns: int, cell: int, h: int, w: int) -> tuple[slice, slice]:
    row, column = divmod(index, columns)
    x = GAP + column * (size + GAP) + (size - w) // 2
    y = GAP + row * (cell + GAP) + size - h
    return slice(y, y + h), slice(x, x + w)


def reference_stretch(band: np.ndarray, valid: np.ndarray | None = None, lo_hi=(2, 98)) -> np.ndarray:
    """The stretch written out independently: percentiles of the valid samples (default all)
    in float64."""
    valid = np.ones(band.shape, bool) if valid is None else valid
    x = band.astype(np.float64)
    lo, hi = np.percentile(x[valid], lo_hi)
    t = np.clip((np.where(valid, x, lo) - lo) / (hi - lo), 0, 1)
    return np.rint(t * 255).astype(np.uint8)


def sheet_of(run, tmp_path, *args, name="sheet.png"):
    out = tmp_path / name
    ok(run("sheet", *args, "-o", out, "-q"))
    return pillow_array(out)


@pytest.fixture
def five_bands(tmp_path):
    """A 5-band uint16 TIFF, 300 x 200, deflate strips of 8 rows, no band names."""
    rng = np.random.default_rng(14)
    pixels = rng.integers(0, 60000, (200, 300, 5), dtype=np.uint16)
    path = tmp_path / "five.tif"
    tifffile.imwrite(
        path, pixels, photometric="minisblack", planarconfig="contig", rowsperstrip=8, compression="zlib"
    )
    return path, pixels


# --- reading every k-th row and column -------------------------------------------------------


@pytest.mark.parametrize("step", [1, 3, 8, 9, 50])
@pytest.mark.parametrize(
    "layout",
    [
        {"rowsperstrip": 8, "compression": "zlib"},
        {"rowsperstrip": 1},
        {"tile": (32, 32), "compression": "zlib"},
        {"rowsperstrip": 200},
    ],
)
def test_decimated_samples_are_numpys_slices(tmp_path, step, layout):
    rng = np.random.default_rng(step)
    pixels = rng.integers(0, 65535, (199, 131, 4), dtype=np.uint16)
    path = tmp_path / "in.tif"
    tifffile.imwrite(path, pixels, photometric="minisblack", planarconfig="contig", **layout)
    with open_image(str(path)) as reader:
        got = read_decimated(reader, [3, 0, 3], step)
    np.testing.assert_array_equal(got, pixels[::step, ::step][:, :, [3, 0, 3]])


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(1, 70),
    width=st.integers(1, 70),
    step=st.integers(1, 25),
    layout=st.sampled_from(
        [{"rowsperstrip": 1}, {"rowsperstrip": 7, "compression": "zlib"}, {"tile": (16, 32)}, {}]
    ),
)
def test_any_decimation_of_any_layout_is_numpys_slice(tmp_path_factory, height, width, step, layout):
    pixels = np.arange(height * width * 2, dtype=np.uint16).reshape(height, width, 2)
    path = tmp_path_factory.mktemp("decimation") / "in.tif"
    tifffile.imwrite(path, pixels, **STRIPS, **layout)
    with open_image(str(path)) as reader:
        got = read_decimated(reader, [1, 0], step)
    np.testing.assert_array_equal(got, pixels[::step, ::step][:, :, [1, 0]])


def test_decimated_samples_match_libvips_subsample(tmp_path):
    pyvips = pytest.importorskip("pyvips", reason="pyvips is not installed")
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 255, (97, 143, 1), dtype=np.uint8)
    path = tmp_path / "in.tif"
    tifffile.imwrite(path, pixels[:, :, 0], rowsperstrip=16, compression="zlib")
    with open_image(str(path)) as reader:
        got = read_decimated(reader, [0], 6)[:, :, 0]
    vips = pyvips.Image.new_from_file(str(path)).subsample(6, 6).numpy()
    assert vips.shape == (97 // 6, 143 // 6)  # libvips keeps whole steps only
    np.testing.assert_array_equal(got[: vips.shape[0], : vips.shape[1]], vips)


def test_reading_holds_one_row_band_at_a_time(tmp_path, monkeypatch):
    """Memory stays bounded: no read asks for more rows than a row band, and with a step of
    at least a strip each kept row is read alone."""
    from chanmix.io import BlockReader

    pixels = np.zeros((4000, 1024, 2), np.uint16)  # 16 MB: several 4 MiB row bands
    path = tmp_path / "tall.tif"
    tifffile.imwrite(
        path, pixels, photometric="minisblack", planarconfig="contig", rowsperstrip=16, compression="zlib"
    )
    reads: list[tuple[int, ...]] = []
    rows, window = BlockReader.read_rows, BlockReader.read_window
    monkeypatch.setattr(BlockReader, "read_rows", lambda self, *a: reads.append(a) or rows(self, *a))
    monkeypatch.setattr(BlockReader, "read_window", lambda self, *a: reads.append(a) or window(self, *a))
    with open_image(str(path)) as reader:
        read_decimated(reader, [0, 1], 16)
        assert reads == [(r, r + 1) for r in range(0, 4000, 16)]
        reads.clear()
        read_decimated(reader, [0], 4)
        assert max(read[1] - read[0] for read in reads) <= reader.block_rows < 4000


def test_a_tiled_image_is_read_a_column_of_tiles_at_a_time(tmp_path, monkeypatch):
    from chanmix.io import BlockReader

    pixels = np.random.default_rng(1).integers(0, 9, (300, 500, 3), np.uint8)
    path = tmp_path / "tiled.tif"
    tifffile.imwrite(path, pixels, **STRIPS, tile=(64, 128), compression="zlib")
    windows: list[tuple[int, int, int, int]] = []
    window = BlockReader.read_window
    monkeypatch.setattr(BlockReader, "read_window", lambda self, *a: windows.append(a) or window(self, *a))
    with open_image(str(path)) as reader:
        got = read_decimated(reader, [2, 1], 5)
    np.testing.assert_array_equal(got, pixels[::5, ::5][:, :, [2, 1]])
    assert {right - left for _, _, left, right in windows} == {128, 500 - 3 * 128}


def test_stretch_of_a_band_without_spread_and_of_the_widest_floats():
    from chanmix.thumbnails import stretch

    flat = np.array([[7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 9]], np.uint16)
    grey, limits = stretch(flat, np.ones(flat.shape, bool), (2, 90))
    assert limits == (7.0, 7.0)
    assert grey.tolist() == [[0] * 19 + [255]]  # black up to HI, white above
    wide = np.array([[-1e308, 0.0, 1e308, np.inf]])
    grey, limits = stretch(wide, np.isfinite(wide), (0, 100))
    assert limits == (-1e308, 1e308)
    assert grey.tolist() == [[0, 128, 255, 0]]  # the span overflows float64; 127.5 rounds to even
    none, limits = stretch(wide, np.zeros(wide.shape, bool), (2, 98))
    assert limits is None and not none.any()


# --- the layout ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "columns", "grid"), [(5, None, (3, 2)), (5, 2, (2, 3)), (1, None, (1, 1)), (5, 9, (5, 1))]
)
def test_sheet_size_and_grid_follow_the_band_count(run, tmp_path, five_bands, bands, columns, grid):
    path, _ = five_bands
    args = [path, "--size", 64, "--bands", f"1-{bands}"] + (["--columns", columns] if columns else [])
    sheet = sheet_of(run, tmp_path, *args)
    width, height, cell = geometry(bands, 64, grid[0], lines=1)
    assert sheet.shape == (height, width, 3)
    assert math.ceil(bands / grid[0]) == grid[1]
    step = math.ceil(300 / 64)
    h, w = math.ceil(200 / step), math.ceil(300 / step)
    for index in range(grid[0] * grid[1]):
        box = thumbnail_box(index, 64, grid[0], cell, h, w)
        region = sheet[box]
        if index < bands:  # a grey thumbnail: R = G = B, not all white
            assert (region[..., 0] == region[..., 1]).all() and (region[..., 1] == region[..., 2]).all()
            assert (region != 255).any()
        else:  # cells past the last band stay empty
            assert (region == 255).all()
    assert (sheet[:GAP] == 255).all() and (sheet[:, :GAP] == 255).all()


def test_every_thumbnail_is_the_percentile_stretch_of_its_decimated_band(run, tmp_path, five_bands):
    path, pixels = five_bands
    sheet = sheet_of(run, tmp_path, path, "--size", 64)
    step = math.ceil(300 / 64)
    _, _, cell = geometry(5, 64, 3, lines=1)
    for b in range(5):
        band = pixels[::step, ::step, b]
        expected = reference_stretch(band)
        region = sheet[thumbnail_box(b, 64, 3, cell, *band.shape)]
        for c in range(3):
            np.testing.assert_array_equal(region[..., c], expected)


def test_the_stretch_matches_scikit_image(run, tmp_path, five_bands):
    exposure = pytest.importorskip("skimage.exposure", reason="scikit-image is not installed")
    path, pixels = five_bands
    sheet = sheet_of(run, tmp_path, path, "--size", 100, "--percentiles", "5,90", "--bands", 2)
    band = pixels[::3, ::3, 1].astype(np.float64)
    lo, hi = np.percentile(band, (5, 90))
    expected = np.rint(exposure.rescale_intensity(band, in_range=(lo, hi), out_range=(0, 255)))
    _, _, cell = geometry(1, 100, 1, lines=1)
    np.testing.assert_array_equal(sheet[thumbnail_box(0, 100, 1, cell, *band.shape)][..., 0], expected)


def test_labels_are_drawn_as_pillow_draws_them(run, tmp_path, samples):
    """Each label equals its text drawn alone by Pillow's default font at the documented place."""
    sheet = sheet_of(run, tmp_path, samples / "multispectral.tif", "--bands", "8,1", "--size", 128)
    width, height, cell = geometry(2, 128, 2, lines=2)
    assert sheet.shape == (height, width, 3)
    font = ImageFont.load_default(font_px(128))
    step = math.ceil(256 / 128)
    indent = (128 - math.ceil(256 / step)) // 2
    for index, lines in enumerate([("8: B8A", "865nm"), ("1: B1", "443nm")]):
        x = GAP + index * (128 + GAP) + indent
        top = GAP + 128 + LABEL_GAP
        region = (slice(top, top + cell - 128 - LABEL_GAP), slice(x, x + 128 - indent))
        drawn = Image.new("RGB", (width, height), WHITE)
        draw = ImageDraw.Draw(drawn)
        for line, text in enumerate(lines):
            draw.text((x, top + line * (font_px(128) + font_px(128) // 4)), text, (0, 0, 0), font)
        expected = np.asarray(drawn)[region]
        assert (expected != 255).any()
        np.testing.assert_array_equal(sheet[region], expected)


def test_long_names_are_cut_to_the_cell(run, tmp_path):
    path = tmp_path / "named.tif"
    tifffile.imwrite(path, np.zeros((32, 32), np.uint8))
    long = tmp_path / "a_band_file_with_a_very_long_name_indeed.tif"
    tifffile.imwrite(long, np.zeros((32, 32), np.uint8))
    sheet = sheet_of(run, tmp_path, "--stack", path, long, "--size", 32)
    _, _, cell = geometry(2, 32, 2, lines=1)
    # nothing is drawn in the gap right of the second cell's label
    assert (sheet[:, -GAP:] == 255).all()
    assert (sheet[GAP + 32 : GAP + cell, GAP + 32 + GAP : -GAP] != 255).any()


# --- bands, stacks, nodata -----------------------------------------------------------------


def test_bands_chooses_and_orders_the_thumbnails(run, tmp_path, five_bands):
    path, pixels = five_bands
    whole = sheet_of(run, tmp_path, path, "--size", 64, name="all.png")
    chosen = sheet_of(run, tmp_path, path, "--size", 64, "--bands", "4,2", name="chosen.png")
    step = math.ceil(300 / 64)
    h, w = math.ceil(200 / step), math.ceil(300 / step)
    _, _, cell5 = geometry(5, 64, 3, lines=1)
    _, _, cell2 = geometry(2, 64, 2, lines=1)
    for index, band in enumerate([4, 2]):
        got = chosen[thumbnail_box(index, 64, 2, cell2, h, w)]
        np.testing.assert_array_equal(got, whole[thumbnail_box(band - 1, 64, 3, cell5, h, w)])
        np.testing.assert_array_equal(got[..., 0], reference_stretch(pixels[::step, ::step, band - 1]))


def test_a_wavelength_chooses_a_band(run, tmp_path, samples):
    by_number = sheet_of(run, tmp_path, samples / "multispectral.tif", "--bands", 8, name="a.png")
    by_wavelength = sheet_of(run, tmp_path, samples / "multispectral.tif", "--bands", "0.86um", name="b.png")
    np.testing.assert_array_equal(by_number, by_wavelength)


def test_a_stack_of_landsat_band_files(run, tmp_path, samples):
    files = sorted((samples / "landsat").glob("l8_B*.tif"))
    assert len(files) == 6
    sheet = sheet_of(run, tmp_path, "--stack", *files, "--size", 64, "--bands", "l8_B5,2")
    _, _, cell = geometry(2, 64, 2, lines=1)
    for index, file in enumerate([files[3], files[1]]):
        band = tifffile.imread(file)[::2, ::2]
        expected = reference_stretch(band)
        np.testing.assert_array_equal(sheet[thumbnail_box(index, 64, 2, cell, 64, 64)][..., 1], expected)


def test_nodata_is_slate_and_left_out_of_the_stretch(run, tmp_path):
    rng = np.random.default_rng(3)
    pixels = rng.random((40, 60, 2), dtype=np.float32) * 100
    pixels[:10, :, 0] = -5  # nodata, far below the data: would drag the 2nd percentile down
    pixels[20, 20, 1] = np.nan
    path = tmp_path / "f.tif"
    tifffile.imwrite(path, pixels, photometric="minisblack", planarconfig="contig")
    sheet = sheet_of(run, tmp_path, path, "--nodata", "-5", "--size", 60)
    _, _, cell = geometry(2, 60, 2, lines=1)
    for b in range(2):
        band = pixels[:, :, b]
        valid = np.isfinite(band) & (band != -5)
        region = sheet[thumbnail_box(b, 60, 2, cell, 40, 60)]
        assert (region[~valid] == SLATE).all()
        np.testing.assert_array_equal(region[valid][:, 0], reference_stretch(band, valid)[valid])
    # without nodata the -5 rows are data: black, and the stretch changes
    plain = sheet_of(run, tmp_path, path, "--nodata", "none", "--size", 60, name="plain.png")
    region = plain[thumbnail_box(0, 60, 2, cell, 40, 60)]
    assert (region[:10] == 0).all()
    np.testing.assert_array_equal(region[..., 0], reference_stretch(pixels[:, :, 0]))


def test_an_envi_cube_uses_its_own_nodata_and_wavelengths(run, tmp_path, samples):
    from chanmix.io import read_raster

    pixels = read_raster(str(samples / "hyperspectral" / "cube.hdr")).pixels
    sheet = sheet_of(run, tmp_path, samples / "hyperspectral" / "cube.hdr", "--size", 80, "--bands", "850nm")
    width, height, cell = geometry(1, 80, 1, lines=2)
    assert sheet.shape == (height, width, 3)
    band = pixels[:, :, 9]
    valid = band != 0
    assert not valid.all()
    region = sheet[thumbnail_box(0, 80, 1, cell, 64, 80)]
    assert (region[~valid] == SLATE).all()
    np.testing.assert_array_equal(region[valid][:, 2], reference_stretch(band, valid)[valid])


def test_a_band_without_valid_samples_is_all_slate(run, tmp_path):
    pixels = np.zeros((16, 16, 2), np.uint8)
    pixels[..., 1] = np.arange(16)
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, pixels, photometric="minisblack", planarconfig="contig")
    sheet = sheet_of(run, tmp_path, path, "--nodata", 0, "--size", 16)
    _, _, cell = geometry(2, 16, 2, lines=1)
    assert (sheet[thumbnail_box(0, 16, 2, cell, 16, 16)] == SLATE).all()


def test_page_chooses_the_image_of_a_multipage_tiff(run, tmp_path):
    path = tmp_path / "pages.tif"
    first, second = np.zeros((16, 16), np.uint8), np.tile(np.arange(16, dtype=np.uint8), (16, 1))
    with tifffile.TiffWriter(path) as tif:
        tif.write(first)
        tif.write(second)
    sheet = sheet_of(run, tmp_path, path, "--page", 1, "--size", 16)
    _, _, cell = geometry(1, 16, 1, lines=1)
    np.testing.assert_array_equal(
        sheet[thumbnail_box(0, 16, 1, cell, 16, 16)][..., 0],
        reference_stretch(second),
    )


def test_the_corpus_landsat_scene(run, tmp_path, corpus):
    files = [corpus / "landsat8" / f"l8_B{i}.tif" for i in range(1, 8)]
    sheet = sheet_of(run, tmp_path, "--stack", *files, "--size", 128)
    step = math.ceil(627 / 128)
    h, w = math.ceil(603 / step), math.ceil(627 / step)
    width, height, cell = geometry(7, 128, 3, lines=1)
    assert sheet.shape == (height, width, 3)
    for index, file in enumerate(files):
        band = tifffile.imread(file)[::step, ::step]
        np.testing.assert_array_equal(
            sheet[thumbnail_box(index, 128, 3, cell, h, w)][..., 0],
            reference_stretch(band),
        )


@pytest.mark.parametrize("name", ["sheet.jpg", "sheet.tif"])
def test_other_picture_formats(run, tmp_path, five_bands, name):
    path, _ = five_bands
    png = sheet_of(run, tmp_path, path, "--size", 32)
    other = sheet_of(run, tmp_path, path, "--size", 32, name=name)
    assert other.shape == png.shape
    if name.endswith(".tif"):
        np.testing.assert_array_equal(other, png)


# --- errors --------------------------------------------------------------------------------


def test_errors_are_one_line_and_leave_the_output_alone(run, tmp_path, five_bands, samples):
    path, _ = five_bands
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    cases = [
        (2, [path, path, "-o", out], "--stack"),
        (2, [path, "-o", tmp_path / "out.npy"], "a sheet is a picture"),
        (2, [path, "-o", path], "this run reads that file"),
        (2, [path, "--bands", 9, "-o", out], "there is no band 9"),
        (2, [path, "--size", 8, "-o", out], "--size"),
        (2, [path, "--bands", "865nm", "-o", out], "records no wavelengths"),
        (1, [tmp_path / "missing.tif", "-o", out], "missing.tif"),
        (1, [path, "-o", out / "sheet.png"], "is not a folder"),
    ]
    for code, args, words in cases:
        line = error_line(run("sheet", *args), code)
        assert words in line, line
        assert out.read_bytes() == b"old"


def test_a_missing_folder_of_the_sheet_is_made(run, tmp_path, five_bands):
    path, _ = five_bands
    result = run("sheet", path, "-o", tmp_path / "new" / "deep" / "sheet.png", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "deep" / "sheet.png").stat().st_size > 0


def test_the_memory_budget_is_checked_before_drawing(run, tmp_path, five_bands):
    path, _ = five_bands
    out = tmp_path / "out.png"
    line = error_line(run("sheet", path, "--size", 4096, "--max-memory", "1M", "-o", out), 1)
    assert "memory budget" in line and not out.exists()


def test_the_summary_line(run, tmp_path, five_bands):
    path, _ = five_bands
    result = ok(run("sheet", path, "--size", 64, "-o", tmp_path / "s.png"))
    assert "5 bands" in result.stderr and "1 in 5 rows and columns" in result.stderr


def test_the_readme_examples_run(run, samples, tmp_path, monkeypatch):
    """README.md's "Contact sheets" commands, on the sample images, make the sheets described."""
    import glob
    import shlex
    import shutil
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Contact sheets\n") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("```\n", start)].replace("\\\n", " ")
    commands = [shlex.split(line) for line in block.splitlines() if line.startswith("chanmix ")]
    assert len(commands) == 3
    shutil.copytree(samples, tmp_path / "sample_images")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        expanded = [path for arg in command[1:] for path in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
        ok(run(*expanded))
    # 40 bands of 80 x 64, 8 to a row, with wavelengths; 6 band files of 128 x 128, 3 to a row
    assert pillow_array("cube-sheet.png").shape == (*geometry(40, 96, 8, lines=2)[1::-1], 3)
    assert pillow_array("landsat-sheet.png").shape == (*geometry(6, 256, 3, lines=1)[1::-1], 3)
    assert pillow_array("sheet.jpg").shape == (*geometry(3, 256, 2, lines=2)[1::-1], 3)


# --- TIFF overviews --------------------------------------------------------------------------


def test_the_smallest_overview_giving_as_large_a_thumbnail_is_chosen():
    from chanmix.thumbnails import thumbnail_source

    halvings = [(-(-10000 // 2**n), -(-8000 // 2**n)) for n in range(1, 6)]
    # the image gives 250 x 200 (k = 40); so do 5000, 2500 and 1250 pixels (k = 20, 10, 5), not 625
    assert thumbnail_source(10000, 8000, 256, halvings) == (3, 5, 250, 200)
    assert thumbnail_source(10000, 8000, 256, ()) == (0, 40, 250, 200)
    assert thumbnail_source(1200, 1000, 256, [(600, 500)]) == (0, 5, 240, 200)  # 600 gives 200 x 167
    # 16000 gives 254 (k = 63); 8000 ... 250 pixels all give 250, within 9/10 of it
    levels = [(16000 // 2**n, 16000 // 2**n) for n in range(1, 8)]
    assert thumbnail_source(16000, 16000, 256, levels) == (6, 1, 250, 250)


@pytest.fixture
def gdal_overviews(tmp_path):
    """A tiled 3-band uint16 GeoTIFF with GDAL's internal overviews (average), as gdaladdo makes."""
    rasterio = pytest.importorskip("rasterio", reason="rasterio (GDAL) is not installed")
    from rasterio.enums import Resampling

    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 40000, (1000, 1200, 3), dtype=np.uint16)
    path = tmp_path / "cog.tif"
    profile = {"driver": "GTiff", "width": 1200, "height": 1000, "count": 3, "dtype": "uint16"}
    grid = {"crs": "EPSG:32616", "transform": rasterio.Affine(30, 0, 465675, 0, -30, 3395445)}
    with rasterio.open(path, "w", tiled=True, compress="deflate", **grid, **profile) as ds:
        ds.write(np.moveaxis(pixels, -1, 0))
        ds.build_overviews([2, 4, 8], Resampling.average)
    return path, pixels


def test_an_overview_is_read_as_gdal_reads_it(run, tmp_path, gdal_overviews):
    import rasterio

    path, _ = gdal_overviews
    with rasterio.open(path) as ds:
        overview = np.moveaxis(ds.read(out_shape=(3, 500, 600)), 0, -1)  # GDAL picks overview 1
    result = ok(run("sheet", path, "--size", 1000, "-o", tmp_path / "s.png"))
    assert "every row and column of overview 1" in result.stderr
    sheet = pillow_array(tmp_path / "s.png")
    _, _, cell = geometry(3, 1000, 2, lines=1)
    for b in range(3):
        region = sheet[thumbnail_box(b, 1000, 2, cell, 500, 600)]
        np.testing.assert_array_equal(region[..., 0], reference_stretch(overview[:, :, b]))


def test_without_a_large_enough_overview_the_image_is_thinned(run, tmp_path, gdal_overviews):
    path, pixels = gdal_overviews
    sheet = sheet_of(run, tmp_path, path, "--size", 256, "--bands", 2)
    _, _, cell = geometry(1, 256, 1, lines=1)
    region = sheet[thumbnail_box(0, 256, 1, cell, 200, 240)]
    np.testing.assert_array_equal(region[..., 0], reference_stretch(pixels[::5, ::5, 1]))


def test_a_stack_uses_the_overviews_every_file_has(run, tmp_path):
    rng = np.random.default_rng(2)
    bands = [rng.integers(0, 255, (512, 512), dtype=np.uint8) for _ in range(2)]
    paths = []
    for i, band in enumerate(bands):
        path = tmp_path / f"b{i}.tif"
        with tifffile.TiffWriter(path) as tif:  # a pyramid in SubIFDs, as tifffile writes COG-like files
            tif.write(band, tile=(64, 64), subifds=1)
            tif.write(band[::2, ::2] // 2 + 1, tile=(64, 64), subfiletype=1)
        paths.append(path)
    assert tifffile.imread(paths[0], level=1).shape == (256, 256)
    result = ok(run("sheet", "--stack", *paths, "--size", 256, "-o", tmp_path / "s.png"))
    assert "overview 1" in result.stderr
    sheet = pillow_array(tmp_path / "s.png")
    _, _, cell = geometry(2, 256, 2, lines=1)
    for index, band in enumerate(bands):
        region = sheet[thumbnail_box(index, 256, 2, cell, 256, 256)][..., 0]
        np.testing.assert_array_equal(region, reference_stretch(band[::2, ::2] // 2 + 1))
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, bands[1])
    result = ok(run("sheet", "--stack", paths[0], plain, "--size", 256, "-o", tmp_path / "t.png"))
    assert "of overview" not in result.stderr  # plain.tif has none: both files are thinned


def test_the_corpus_cog_is_read_from_its_overview(run, tmp_path, corpus):
    """rasterio's cogeo.tif (1024 x 1024 JPEG YCbCr tiles, overviews down to 16): at --size 256
    its 256-pixel overview is read, the one GDAL reads for that size (their JPEG decoders
    differ by a few levels), and stretched as tifffile decodes it; a damaged copy
    (corrupt.tif) whose full-resolution tiles do not decode fails in one line at --size 1024."""
    import rasterio

    cog = corpus / "rasterio" / "cogeo.tif"
    overview = tifffile.imread(cog, level=2)
    with rasterio.open(cog) as ds:
        gdal = np.moveaxis(ds.read(out_shape=(3, 256, 256)), 0, -1).astype(int)
    assert overview.shape == gdal.shape and np.abs(overview - gdal).mean() < 1
    result = ok(run("sheet", cog, "-o", tmp_path / "cog.png"))
    assert "of overview 2" in result.stderr
    sheet = pillow_array(tmp_path / "cog.png")
    _, _, cell = geometry(3, 256, 2, lines=1)
    for b in range(3):
        region = sheet[thumbnail_box(b, 256, 2, cell, 256, 256)][..., 0]
        np.testing.assert_array_equal(region, reference_stretch(overview[:, :, b]))
    out = tmp_path / "corrupt.png"
    line = error_line(run("sheet", corpus / "rasterio" / "corrupt.tif", "--size", 1024, "-o", out), 1)
    assert "corrupt.tif" in line and "cannot decode" in line and not out.exists()
