"""--stack: several files read as the bands of one image (chanmix.io.stack), with apply, info
and the fits; per-band nodata (chanmix.nodata)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from chanmix.io import BlockReader, open_raster, open_stack, write_raster
from chanmix.io.raster import GeoInfo
from chanmix.kernel import nodata_mask
from chanmix.nodata import recorded_nodata, select_nodata, uniform
from chanmix.stats import band_stats
from helpers import error_line, gdal_pixels, ok

pytestmark = pytest.mark.usefixtures("quiet_rasterio")

#: A UTM grid of 30 m pixels (EPSG:32616), as the corpus's Landsat bands.
UTM = (30.0, 0.0, 452475.0, 0.0, -30.0, 3408645.0)


def geo_tags(transform=UTM, epsg: int = 32616) -> tuple:
    """GeoTIFF tags (ModelPixelScale, ModelTiepoint, GeoKeyDirectory) of a north-up grid."""
    a, _, c, _, e, f = transform
    keys = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, epsg)
    return (
        (33550, 12, 3, (a, -e, 0.0), True),
        (33922, 12, 6, (0.0, 0.0, 0.0, c, f, 0.0), True),
        (34735, 3, len(keys), keys, True),
    )


def write_band(path: Path, pixels: np.ndarray, *, geo: bool = True, nodata=None, **layout) -> Path:
    """A GeoTIFF (or plain TIFF) of `pixels` (H, W) or (H, W, C), written by tifffile."""
    extratags = list(geo_tags()) if geo else []
    if nodata is not None:
        extratags.append((42113, 2, 0, f"{nodata}".encode(), True))
    planar = "contig" if pixels.ndim == 3 else None
    tifffile.imwrite(
        path, pixels, photometric="minisblack", planarconfig=planar, extratags=extratags, **layout
    )
    return path


def scene(height: int = 70, width: int = 90, bands: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (height, width, bands), dtype=np.uint16)


# --- per-band nodata ---------------------------------------------------------------------


def test_uniform_values_are_one_value():
    assert uniform([0.0, 0.0]) == 0.0
    assert np.isnan(uniform([float("nan"), float("nan")]))
    assert uniform([None, None]) is None
    assert uniform([0.0, None]) == (0.0, None)
    assert uniform([0.0, 5.0, 0.0]) == (0.0, 5.0, 0.0)


def test_select_and_record_per_band_values():
    per_band = (0.0, None, 5.0)
    assert select_nodata(per_band, [0]) == 0.0
    assert select_nodata(per_band, [1]) is None
    assert select_nodata(per_band, [2, 0]) == (5.0, 0.0)
    assert select_nodata(7.0, [2, 0]) == 7.0
    assert recorded_nodata(per_band) == 0.0 and recorded_nodata((None, 5.0)) == 5.0
    assert recorded_nodata(3.0) == 3.0 and recorded_nodata(None) is None


def test_nodata_mask_per_band():
    block = np.array([[[0, 5, 9], [1, 5, 0], [1, 2, 3], [9, 9, 9]]], np.uint16)
    assert nodata_mask(block, (0.0, None, 9.0)).tolist() == [[True, False, False, True]]
    assert nodata_mask(block, (None, 5.0, None)).tolist() == [[True, True, False, False]]
    # one value for every band is the same as that value in each band
    assert (nodata_mask(block, (9.0, 9.0, 9.0)) == nodata_mask(block, 9.0)).all()
    floats = np.array([[[np.nan, 1.0], [2.0, np.nan]]], np.float32)
    assert nodata_mask(floats, (float("nan"), None)).tolist() == [[True, False]]
    with pytest.raises(ValueError, match="2 nodata values for 3 bands"):
        nodata_mask(block, (0.0, 1.0))


def test_band_stats_per_band_nodata():
    block = np.array([[[0, 7], [5, 0], [6, 7]]], np.uint16)
    first, second = band_stats([block], (0.0, 7.0))
    assert (first.valid, first.min, first.max) == (2, 5, 6)
    assert (second.valid, second.min, second.max) == (1, 0, 0)


# --- the stacked reader ------------------------------------------------------------------


def test_a_stack_reads_every_file_side_by_side(tmp_path):
    pixels = scene(bands=4)
    paths = [
        write_band(tmp_path / "a.tif", pixels[:, :, 0]),
        write_band(tmp_path / "b.tif", pixels[:, :, 1:3], tile=(16, 32), compression="zlib"),
        write_band(tmp_path / "c.tif", pixels[:, :, 3], rowsperstrip=7, compression="lzw"),
    ]
    with open_stack(paths) as reader:
        info = reader.info
        assert (info.height, info.width, info.bands, info.dtype) == (70, 90, 4, np.uint16)
        assert info.band_names == ("a", "b:1", "b:2", "c")
        assert info.geo is not None and info.geo.transform == UTM and info.geo.crs == "EPSG:32616"
        assert info.layout == "stacked" and info.tile is None and info.compression == "none+deflate+lzw"
        assert reader.unit_rows == 112  # lcm(1, 16, 7): each strip and tile row decoded once
        assert (reader.read_rows(0, 70) == pixels).all()
        assert (reader.read_window(5, 40, 20, 61) == pixels[5:40, 20:61]).all()
        assert reader.read_rows(3, 3).shape == (0, 90, 4)
    with pytest.raises(Exception, match="closed"):
        reader.read_rows(0, 1)


def test_band_names_come_from_descriptions_then_stems(tmp_path):
    write_raster(tmp_path / "named.tif", scene(bands=2), band_names=["red", ""])
    write_band(tmp_path / "B8.tif", scene(bands=1)[:, :, 0], geo=False)
    with open_stack([tmp_path / "named.tif", tmp_path / "B8.tif"]) as reader:
        assert reader.info.band_names == ("red", "named:2", "B8")


def test_a_single_file_stack_is_that_file(tmp_path):
    pixels = scene(bands=3)
    path = write_band(tmp_path / "one.tif", pixels, tile=(16, 16))
    with open_stack([path]) as reader, open_raster(path) as plain:
        assert reader.info.path == plain.info.path and reader.info.layout == plain.info.layout
        assert reader.info.tile == (16, 16) and reader.block_rows == plain.block_rows
        assert (reader.read_rows(0, 70) == pixels).all()
        assert reader.info.band_names == ("one:1", "one:2", "one:3")


def test_stacked_nodata_is_one_value_or_one_per_band(tmp_path):
    pixels = scene(bands=3)
    same = [write_band(tmp_path / f"s{i}.tif", pixels[:, :, i], nodata=0) for i in range(2)]
    with open_stack(same) as reader:
        assert reader.info.nodata == 0 and reader.info.band_nodata is None
    mixed = same + [write_band(tmp_path / "n.tif", pixels[:, :, 2], nodata=65535)]
    mixed.append(write_band(tmp_path / "none.tif", pixels[:, :, 2]))
    with open_stack(mixed) as reader:
        assert reader.info.nodata is None and reader.info.band_nodata == (0, 0, 65535, None)


def test_wavelengths_are_stacked_when_every_file_has_them(tmp_path):
    from dataclasses import replace

    from chanmix.io.stack import stack_info

    path = write_band(tmp_path / "a.tif", scene(bands=1)[:, :, 0])
    with open_raster(path) as reader:
        info = reader.info
    red, nir = replace(info, wavelengths=(665.0,)), replace(info, wavelengths=(865.0,))
    assert stack_info([red, nir]).wavelengths == (665.0, 865.0)
    assert stack_info([red, info]).wavelengths is None


def test_a_window_reads_that_window_of_each_file(tmp_path, monkeypatch):
    """Memory: no file is read whole; each read of the stack reads its window once per file."""
    pixels = scene(128, 96, bands=3)
    tiled = {"tile": (32, 32), "compression": "zlib"}
    paths = [write_band(tmp_path / f"b{i}.tif", pixels[:, :, i], **tiled) for i in range(3)]
    reads: list[tuple[str, int, int, int, int]] = []
    original = BlockReader.read_window

    def counted(self, start, stop, left, right):
        reads.append((self.info.path, start, stop, left, right))
        return original(self, start, stop, left, right)

    monkeypatch.setattr(BlockReader, "read_window", counted)
    with open_stack(paths) as reader:
        assert reader.info.tile == (32, 32) and reader.unit_rows == 32
        for start in range(0, 128, 32):
            reader.read_rows(start, start + 32)
    per_file = {str(p): [r[1:] for r in reads if r[0] == str(p)] for p in paths}
    assert all(windows == [(s, s + 32, 0, 96) for s in range(0, 128, 32)] for windows in per_file.values())


# --- what cannot be stacked --------------------------------------------------------------


def one_line_error(call) -> str:
    from chanmix.errors import DataError

    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_mismatches_name_both_files_and_what_differs(tmp_path):
    base = write_band(tmp_path / "base.tif", scene(bands=1)[:, :, 0])
    small = write_band(tmp_path / "small.tif", scene(60, 90, bands=1)[:, :, 0])
    message = one_line_error(lambda: open_stack([base, small]))
    assert f"{small} is 90 x 60 pixels, {base} 90 x 70" in message and "gdalwarp" in message

    typed = write_band(tmp_path / "u8.tif", np.zeros((70, 90), np.uint8))
    message = one_line_error(lambda: open_stack([base, typed]))
    assert f"{typed} holds uint8 samples, {base} uint16" in message

    plain = write_band(tmp_path / "plain.tif", scene(bands=1)[:, :, 0], geo=False)
    message = one_line_error(lambda: open_stack([plain, base]))
    assert f"{base} is georeferenced, {plain} is not" in message


def test_grid_mismatches(tmp_path):
    from chanmix.io.stack import check_stackable

    with open_raster(write_band(tmp_path / "a.tif", scene(bands=1)[:, :, 0])) as reader:
        info = reader.info
    from dataclasses import replace

    def other(transform, crs="EPSG:32616"):
        return replace(info, path="b.tif", geo=GeoInfo(info.geo.tags, crs, transform))

    check_stackable(info, other((30.0, 0.0, 452475.0 + 1e-7, 0.0, -30.0, 3408645.0)))  # within tolerance
    message = one_line_error(lambda: check_stackable(info, other((20.0, 0, 452475.0, 0, -20.0, 3408645.0))))
    assert message.startswith("the transform differs: pixels of 30 in ") and "20 in b.tif" in message
    message = one_line_error(lambda: check_stackable(info, other((30.0, 0, 452505.0, 0, -30.0, 3408645.0))))
    assert "the grid starts at (452475, 3408645) in" in message and "(452505, 3408645) in b.tif" in message
    message = one_line_error(lambda: check_stackable(info, other(UTM, "EPSG:32617")))
    assert message.startswith("the CRS differs: EPSG:32616 in ") and "EPSG:32617 in b.tif" in message
    # the advice is a command that puts the other file on the first one's grid
    assert message.endswith(
        f"; resample b.tif onto the grid of {info.path} first, e.g. gdalwarp -t_srs EPSG:32616 "
        "-tr 30 30 -te 452475 3406545 455175 3408645 b.tif b-regridded.tif"
    )
    plain = replace(info, path="p.tif", geo=None)
    for first, second in ((info, plain), (plain, info)):
        assert one_line_error(lambda a=first, b=second: check_stackable(a, b)).endswith(
            f"; give p.tif the georeferencing of {info.path} first, e.g. gdal_translate -a_srs EPSG:32616 "
            "-a_ullr 452475 3408645 455175 3406545 p.tif p-georeferenced.tif"
        )
    small = replace(plain, path="s.png", height=35, width=45)
    assert one_line_error(lambda: check_stackable(plain, small)).endswith(
        "; resample s.png to the size of p.tif first, e.g. "
        "gdal_translate -outsize 90 70 s.png s-regridded.tif"
    )


def json_of(path: Path) -> dict:
    return json.loads(path.read_text())


# --- apply --stack -----------------------------------------------------------------------

#: Three band files of one scene, each laid out in its own way, and its one-file twin's layout.
LAYOUTS = {
    "strips": ({}, {}, {}, {}),
    "tiled deflate": (
        *[{"tile": (32, 32), "compression": "zlib"}] * 3,
        {"tile": (32, 32), "compression": "zlib"},
    ),
    "strips lzw": (
        *[{"rowsperstrip": 7, "compression": "lzw"}] * 3,
        {"rowsperstrip": 7, "compression": "lzw"},
    ),
    "mixed": ({"tile": (16, 16), "compression": "zlib"}, {"rowsperstrip": 5}, {"compression": "lzw"}, {}),
}
MATRIX = "0.5,0.3,0.1,0.1,0.02; 0.1,0.8,0.1,-0.2,0; 0,0.2,0.3,0.5,0.01"


def band_files(folder: Path, pixels: np.ndarray, layouts=({}, {}, {}), **tags) -> list[Path]:
    """pixels split as band files a.tif (band 1), b.tif (bands 2-3), c.tif (band 4)."""
    parts = (pixels[:, :, 0], pixels[:, :, 1:3], pixels[:, :, 3])
    names = ("a", "b", "c")
    return [
        write_band(folder / f"{n}.tif", part, **layout, **tags)
        for n, part, layout in zip(names, parts, layouts)
    ]


def one_file(path: Path, pixels: np.ndarray, names=("a", "b:1", "b:2", "c"), **layout) -> Path:
    """The same scene as one GeoTIFF of 4 bands described as the stack names them."""
    items = "".join(
        f'<Item name="DESCRIPTION" sample="{i}" role="description">{n}</Item>' for i, n in enumerate(names)
    )
    extratags = [*geo_tags(), (42112, 2, 0, f"<GDALMetadata>{items}</GDALMetadata>".encode(), True)]
    tifffile.imwrite(
        path, pixels, photometric="minisblack", planarconfig="contig", extratags=extratags, **layout
    )
    return path


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_apply_stack_equals_the_one_file_twin(run, tmp_path, layout, jobs):
    pixels = scene(130, 150, bands=4, seed=3)
    *parts, whole = LAYOUTS[layout]
    paths = band_files(tmp_path, pixels, parts)
    twin = one_file(tmp_path / "twin.tif", pixels, **whole)
    for matrix in (MATRIX, "0,0,1,0;1,0,0,0"):  # a mix, and a copy of bands (named after them)
        ok(run("apply", "--stack", *paths, "-c", matrix, "-j", jobs, "-o", tmp_path / "stack.tif"))
        ok(run("apply", twin, "-c", matrix, "-j", jobs, "-o", tmp_path / "one.tif"))
        assert (tmp_path / "stack.tif").read_bytes() == (tmp_path / "one.tif").read_bytes()


def test_the_output_is_georeferenced_like_the_first_input(run, corpus, tmp_path):
    import rasterio

    bands = [corpus / f"landsat8/l8_B{i}.tif" for i in (4, 3, 2)]
    ok(run("apply", "--stack", *bands, "-c", "1,0,0;0,1,0;0,0,1", "-o", tmp_path / "rgb.tif"))
    with rasterio.open(tmp_path / "rgb.tif") as out, rasterio.open(bands[0]) as first:
        assert out.crs == first.crs and out.transform == first.transform
        assert out.descriptions == ("l8_B4", "l8_B3", "l8_B2")
    expected = np.dstack([gdal_pixels(b) for b in bands])
    assert (gdal_pixels(tmp_path / "rgb.tif") == expected).all()
    # --bands numbers the stacked bands; a mix's own names win over the bands'
    ok(run("apply", "--stack", *bands, "--bands", "3,1", "-c", "1,0;0,1", "-o", tmp_path / "two.tif"))
    with rasterio.open(tmp_path / "two.tif") as out:
        assert out.descriptions == ("l8_B2", "l8_B4")
    assert (gdal_pixels(tmp_path / "two.tif") == expected[:, :, [2, 0]]).all()
    ok(run("apply", "--stack", *bands, "-p", "ycbcr-bt601", "-o", tmp_path / "ycc.tif"))
    with rasterio.open(tmp_path / "ycc.tif") as out:
        import chanmix

        assert out.descriptions == tuple(chanmix.get_preset("ycbcr-bt601").mix.names)
    result = run("apply", "--stack", *bands, "--bands", "4", "-c", "1", "-o", tmp_path / "x.tif")
    assert "--bands" in error_line(result, 2) and "has 3 bands, there is no band 4" in error_line(result, 2)


@pytest.mark.parametrize("tiled", [True, False])
def test_apply_reads_each_input_a_window_at_a_time(run, tmp_path, monkeypatch, tiled):
    """Memory stays bounded as for one file: no input is read whole, each pixel is read once."""
    pixels = scene(256, 192, bands=4, seed=2)
    layout = (
        {"tile": (32, 32), "compression": "zlib"} if tiled else {"rowsperstrip": 16, "compression": "zlib"}
    )
    paths = band_files(tmp_path, pixels, [layout] * 3)
    reads: dict[str, list[tuple[int, int, int, int]]] = {str(p): [] for p in paths}
    original = BlockReader.read_window

    def counted(self, start, stop, left, right):
        if self.info.path in reads:
            reads[self.info.path].append((start, stop, left, right))
        return original(self, start, stop, left, right)

    monkeypatch.setattr(BlockReader, "read_window", counted)
    monkeypatch.setattr("chanmix.io.blocks._BAND_BYTES", 32 * 192 * 4 * 2)  # 32 stacked rows a band
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "-j", "2", "-o", tmp_path / "o.tif"))
    for windows in reads.values():
        assert max((b - a) * (r - c) for a, b, c, r in windows) == (32 * 32 if tiled else 32 * 192)
        assert sum((b - a) * (r - c) for a, b, c, r in windows) == 256 * 192  # every pixel once


def test_copied_bands_keep_their_names_for_one_file_too(run, samples, tmp_path):
    import rasterio

    ok(
        run(
            "apply",
            samples / "multispectral.tif",
            "--bands",
            "7,4",
            "-c",
            "1,0;0,1",
            "-o",
            tmp_path / "o.tif",
        )
    )
    with rasterio.open(samples / "multispectral.tif") as src, rasterio.open(tmp_path / "o.tif") as out:
        assert out.descriptions == (src.descriptions[6], src.descriptions[3])


def test_stack_outputs_templates_and_the_output_guard(run, tmp_path):
    pixels = scene(bands=4)
    paths = band_files(tmp_path, pixels)
    assert "--stack writes one image: give -o OUTPUT" in error_line(
        run("apply", "--stack", *paths, "-c", MATRIX, "-O", tmp_path / "out"), 2
    )
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "-O", tmp_path / "out", "-o", "{stem}-mix{ext}"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a-mix.tif"]
    line = error_line(run("apply", "--stack", *paths, "-c", MATRIX, "-o", paths[1]), 2)
    assert f"-o {paths[1]}: this run reads that file (INPUT {paths[1]})" in line
    assert paths[1].read_bytes() == write_band(tmp_path / "again.tif", pixels[:, :, 1:3]).read_bytes()
    # -o - writes the one image to stdout
    result = ok(run("apply", "--stack", *paths, "-c", MATRIX, "-o", "-", "--format", "tif"))
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "-o", tmp_path / "file.tif"))
    assert result.stdout_bytes == (tmp_path / "file.tif").read_bytes()


def test_newer_looks_at_every_stacked_input(run, tmp_path):
    import os

    paths = band_files(tmp_path, scene(bands=4))
    out = tmp_path / "o.tif"
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "-o", out))
    os.utime(out, (1000, 1000))
    for path in paths:
        os.utime(path, (500, 500))
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "-o", out, "--newer"))
    assert out.stat().st_mtime == 1000  # up to date: left alone
    os.utime(paths[2], (2000, 2000))  # the last band changed
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "-o", out, "--newer"))
    assert out.stat().st_mtime > 1000


def test_per_input_nodata(run, tmp_path):
    pixels = scene(bands=4, seed=5)
    pixels[:10, :, 0] = 0  # nodata of a.tif
    pixels[20:25, 5:9, 3] = 65535  # nodata of c.tif
    pixels[30:35, :, 1] = 0  # 0 in b.tif, which has no nodata: valid
    parts = (pixels[:, :, 0], pixels[:, :, 1:3], pixels[:, :, 3])
    paths = [
        write_band(tmp_path / "a.tif", parts[0], nodata=0),
        write_band(tmp_path / "b.tif", parts[1]),
        write_band(tmp_path / "c.tif", parts[2], nodata=65535),
    ]
    invalid = (pixels[:, :, 0] == 0) | (pixels[:, :, 3] == 65535)
    ok(run("apply", "--stack", *paths, "-c", MATRIX, "--dtype", "float32", "-o", tmp_path / "o.tif"))
    import rasterio

    with rasterio.open(tmp_path / "o.tif") as out:
        assert out.nodata == 0  # the first input's value
        mixed = np.moveaxis(out.read(), 0, -1)
    weights = np.array([[float(v) for v in row.split(",")] for row in MATRIX.split(";")])
    expected = (pixels / 65535) @ weights[:, :4].T + weights[:, 4]
    assert (mixed[invalid] == 0).all()
    np.testing.assert_allclose(mixed[~invalid], expected[~invalid], rtol=1e-5, atol=1e-6)
    # the fits leave the same pixels out; --nodata is one value for every input
    ok(run("fit", "pca", "--stack", *paths, "-k", "2", "-o", tmp_path / "pca.json"))
    assert json_of(tmp_path / "pca.json")["fitted_on"]["pixels_used"] == (~invalid).sum()
    ok(run("fit", "pca", "--stack", *paths, "-k", "2", "--nodata", "0", "-o", tmp_path / "zero.json"))
    zero = (pixels[:, :, :3] == 0).any(axis=2) | (pixels[:, :, 3] == 0)
    assert json_of(tmp_path / "zero.json")["fitted_on"]["pixels_used"] == (~zero).sum()
    # info lists the values per band and leaves each band's own out of its statistics
    info = json.loads(ok(run("info", "--stack", *paths, "--json")).output)
    assert info["nodata"] == [0, None, None, 65535]
    assert [b["valid"] for b in info["band_stats"]] == [
        (pixels[:, :, 0] != 0).sum(),
        70 * 90,
        70 * 90,
        (pixels[:, :, 3] != 65535).sum(),
    ]
    assert "nodata per band: 0.0, none, none, 65535.0" in ok(run("info", "--stack", *paths)).output
    # selecting bands that share a value takes the one-value path
    ok(run("apply", "--stack", *paths, "--bands", "2,3", "-c", "1,1", "-o", tmp_path / "bc.tif"))
    with rasterio.open(tmp_path / "bc.tif") as out:
        assert out.nodata is None


def test_info_stack(run, corpus):
    bands = [corpus / f"landsat8/l8_B{i}.tif" for i in range(1, 8)]
    d = json.loads(ok(run("info", "--stack", *bands, "--json")).output)
    assert d["bands"] == 7 and (d["width"], d["height"]) == (627, 603) and d["dtype"] == "uint16"
    assert d["inputs"] == [str(b) for b in bands] and d["crs"] == "EPSG:32616" and d["layout"] == "stacked"
    assert [b["name"] for b in d["band_stats"]] == [f"l8_B{i}" for i in range(1, 8)]
    for b, path in zip(d["band_stats"], bands):
        single = json.loads(ok(run("info", path, "--json")).output)["band_stats"][0]
        assert [b[k] for k in ("valid", "min", "max")] == [single[k] for k in ("valid", "min", "max")]
        assert [b["mean"], b["std"]] == pytest.approx([single["mean"], single["std"]], rel=1e-12)
    text = ok(run("info", "--stack", *bands)).output
    assert text.startswith(
        f"{bands[0]} + ... + {bands[-1]} (7 files)\n  TIFF, 627 x 603 pixels, 7 bands, uint16"
    )
    without = ok(run("info", *bands, "--json")).output.splitlines()
    assert len(without) == 7  # several inputs without --stack: one image each, as before


# --- fits --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def landsat_twin(corpus, tmp_path_factory) -> tuple[list[Path], Path]:
    """The corpus's seven Landsat 8 band files and the one 7-band file they make."""
    bands = [corpus / f"landsat8/l8_B{i}.tif" for i in range(1, 8)]
    twin = tmp_path_factory.mktemp("landsat") / "l8.tif"
    with open_raster(bands[0]) as first:
        like = first.info
    write_raster(twin, np.dstack([gdal_pixels(b) for b in bands]), like=like)
    return bands, twin


def test_fit_pca_and_mnf_stack_equal_the_one_file_fits(run, landsat_twin, tmp_path):
    bands, twin = landsat_twin
    line = error_line(run("fit", "pca", *bands, "-k", "3", "-o", tmp_path / "x.json"), 2)
    assert "-k must be a number of components from 1 to 1" in line  # 7 images of one band each
    for method in ("pca", "mnf"):
        ok(run("fit", method, "--stack", *bands, "-k", "3", "-o", tmp_path / "stack.json"))
        ok(run("fit", method, twin, "-k", "3", "-o", tmp_path / "one.json"))
        stacked, one = json_of(tmp_path / "stack.json"), json_of(tmp_path / "one.json")
        np.testing.assert_allclose(stacked["weights"], one["weights"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(stacked["bias"], one["bias"], rtol=0, atol=1e-12)
        assert stacked["fitted_on"]["stack"] is True and stacked["fitted_on"]["inputs"] == [
            str(b) for b in bands
        ]


def test_the_sample_band_files_stack_into_the_sample_stack(run, samples, tmp_path):
    """sample_images/landsat: l8_B2...l8_B7.tif stacked are l8_stack.tif (no corpus needed)."""
    bands = [samples / f"landsat/l8_B{i}.tif" for i in range(2, 8)]
    whole = samples / "landsat/l8_stack.tif"
    ok(run("fit", "pca", "--stack", *bands, "-k", "3", "-o", tmp_path / "stack.json"))
    ok(run("fit", "pca", whole, "-k", "3", "-o", tmp_path / "one.json"))
    np.testing.assert_allclose(
        json_of(tmp_path / "stack.json")["weights"],
        json_of(tmp_path / "one.json")["weights"],
        rtol=0,
        atol=1e-12,
    )
    ok(run("apply", "--stack", *bands, "-c", "0.2,0.2,0.2,0.2,0.1,0.1", "-o", tmp_path / "s.tif"))
    ok(run("apply", whole, "-c", "0.2,0.2,0.2,0.2,0.1,0.1", "-o", tmp_path / "o.tif"))
    assert (gdal_pixels(tmp_path / "s.tif") == gdal_pixels(tmp_path / "o.tif")).all()


def test_fit_options_on_a_stack(run, landsat_twin, tmp_path):
    bands, twin = landsat_twin
    mask = tmp_path / "mask.tif"
    tifffile.imwrite(mask, (np.arange(603 * 627).reshape(603, 627) % 3 == 0).astype(np.uint8))
    options = ["--bands", "2,4,5,7", "--mask", mask, "--sample", "50000", "--seed", "4", "-k", "2"]
    ok(run("fit", "pca", "--stack", *bands, *options, "-o", tmp_path / "stack.json"))
    ok(run("fit", "pca", twin, *options, "-o", tmp_path / "one.json"))
    stacked, one = json_of(tmp_path / "stack.json"), json_of(tmp_path / "one.json")
    np.testing.assert_allclose(stacked["weights"], one["weights"], rtol=0, atol=1e-12)
    assert stacked["fitted_on"]["pixels_used"] == one["fitted_on"]["pixels_used"]


def test_apply_pca_on_a_stack_equals_the_one_file(run, landsat_twin, tmp_path):
    bands, twin = landsat_twin
    for jobs in ("1", "2"):
        common = ["--pca", "3", "--dtype", "float32", "-q", "-j", jobs, "--save-matrix"]
        ok(run("apply", "--stack", *bands, *common, tmp_path / "s.json", "-o", tmp_path / "s.tif"))
        ok(run("apply", twin, *common, tmp_path / "o.json", "-o", tmp_path / "o.tif"))
        np.testing.assert_allclose(
            json_of(tmp_path / "s.json")["weights"], json_of(tmp_path / "o.json")["weights"], atol=1e-12
        )
        np.testing.assert_allclose(
            gdal_pixels(tmp_path / "s.tif"), gdal_pixels(tmp_path / "o.tif"), atol=1e-6
        )


def test_lstsq_stacks_the_targets_too(run, tmp_path):
    pixels = scene(bands=4, seed=8)
    paths = band_files(tmp_path, pixels)
    weights = np.array([[0.2, 0.3, 0.1, 0.4], [0.5, 0.0, 0.25, 0.25]])
    target = np.rint(pixels.astype(np.float64) @ weights.T).astype(np.uint16)
    targets = [write_band(tmp_path / f"t{i}.tif", target[:, :, i]) for i in range(2)]
    ok(
        run(
            "fit",
            "lstsq",
            "--stack",
            *paths,
            "--target",
            targets[0],
            "--target",
            targets[1],
            "-o",
            tmp_path / "m.json",
        )
    )
    np.testing.assert_allclose(json_of(tmp_path / "m.json")["weights"], weights, atol=1e-4)
    # one target: that image
    ok(run("fit", "lstsq", "--stack", *paths, "--target", targets[1], "-o", tmp_path / "one.json"))
    np.testing.assert_allclose(json_of(tmp_path / "one.json")["weights"], weights[1:], atol=1e-4)
    # apply --fit: fitted on the stack, then applied to it
    ok(
        run(
            "apply",
            "--stack",
            *paths,
            "--fit",
            targets[0],
            "--fit",
            targets[1],
            "-q",
            "-o",
            tmp_path / "f.tif",
        )
    )
    assert np.abs(gdal_pixels(tmp_path / "f.tif").astype(int) - target).max() <= 1


# --- what cannot be stacked, on the command line -------------------------------------------


def test_each_mismatch_is_one_line_naming_both_files(run, tmp_path):
    import rasterio

    base = write_band(tmp_path / "base.tif", scene(bands=1)[:, :, 0])
    cases = {
        "size": (write_band(tmp_path / "small.tif", scene(60, 90, 1)[:, :, 0]), "is 90 x 60 pixels,"),
        "dtype": (write_band(tmp_path / "u8.tif", np.zeros((70, 90), np.uint8)), "holds uint8 samples,"),
        "not georeferenced": (
            write_band(tmp_path / "plain.tif", scene(bands=1)[:, :, 0], geo=False),
            "is not",
        ),
    }
    for name, transform, crs, what in (
        ("pixel.tif", (20.0, 0, 452475.0, 0, -20.0, 3408645.0), "EPSG:32616", "pixels of 30 in"),
        ("shift.tif", (30.0, 0, 452505.0, 0, -30.0, 3408645.0), "EPSG:32616", "the grid starts at"),
        ("crs.tif", UTM, "EPSG:32617", "the CRS differs"),
    ):
        profile = {"driver": "GTiff", "width": 90, "height": 70, "count": 1, "dtype": "uint16"}
        with rasterio.open(
            tmp_path / name, "w", crs=crs, transform=rasterio.Affine(*transform), **profile
        ) as dst:
            dst.write(scene(bands=1)[:, :, 0], 1)
        cases[name] = (tmp_path / name, what)
    for name, (other, what) in cases.items():
        for command in (["apply", "-c", "1,0"], ["info"], ["fit", "pca", "-k", "1"]):
            output = (
                []
                if command == ["info"]
                else ["-o", tmp_path / "out.json" if "fit" in command else tmp_path / "o.tif"]
            )
            line = error_line(run(*command, "--stack", base, other, *output), 1)
            assert str(base) in line and str(other) in line and what in line, (name, line)
        assert not (tmp_path / "o.tif").exists() and not (tmp_path / "out.json").exists()


def test_the_readme_examples_run(run, samples, tmp_path, monkeypatch):
    """README.md's "Several files as one image" commands, on sample_images/landsat's band files."""
    import glob
    import shlex
    import shutil

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Several files as one image\n") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("```\n", start)].replace("\\\n", " ")
    commands = [shlex.split(line) for line in block.splitlines() if line.startswith("chanmix ")]
    assert [c[1] for c in commands] == ["info", "apply", "fit", "apply", "apply"]
    shutil.copytree(samples, tmp_path / "sample_images")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        expanded = [path for arg in command[1:] for path in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
        ok(run(*expanded))
    with open_raster("pcs.tif") as reader:
        assert reader.info.bands == 3 and reader.info.band_names == ("PC1", "PC2", "PC3")
    stack = np.dstack([gdal_pixels(f"sample_images/landsat/l8_B{i}.tif") for i in (5, 4)]) / 65535
    np.testing.assert_allclose(
        gdal_pixels("nir-minus-red.tif")[:, :, 0], stack[:, :, 0] - stack[:, :, 1], atol=1e-6
    )


def test_bands_by_wavelength_when_every_file_records_them(run, tmp_path):
    import rasterio

    pixels = scene(bands=3, seed=9)
    paths = []
    for i, nm in enumerate((665, 865, 1610)):
        path = tmp_path / f"w{i}.tif"
        profile = {"driver": "GTiff", "width": 90, "height": 70, "count": 1, "dtype": "uint16"}
        with rasterio.open(path, "w", crs="EPSG:32616", transform=rasterio.Affine(*UTM), **profile) as dst:
            dst.write(pixels[:, :, i], 1)
            dst.update_tags(1, wavelength=nm, wavelength_units="nm")
        paths.append(path)
    with open_stack(paths) as reader:
        assert reader.info.wavelengths == (665.0, 865.0, 1610.0)
    ok(run("apply", "--stack", *paths, "--bands", "860nm,w0", "-c", "1,0;0,1", "-o", tmp_path / "o.tif"))
    assert (gdal_pixels(tmp_path / "o.tif") == pixels[:, :, [1, 0]]).all()
    plain = write_band(tmp_path / "plain.tif", pixels[:, :, 2])
    result = run(
        "apply", "--stack", *paths[:2], plain, "--bands", "860nm", "-c", "1", "-o", tmp_path / "x.tif"
    )
    assert "wavelength" in error_line(result, 2)
