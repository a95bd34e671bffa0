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


def json_of(path: Path) -> dict:
    return json.loads(path.read_text())
