"""EPSG codes from WKT and GeoKeys, and GeoTIFF tags for a grid, without a projection library."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from chanmix.io.crs import geo_system, georeferencing, wkt_system


def test_wkt_1_and_2_name_their_code_as_pyproj_writes_them():
    pyproj = pytest.importorskip("pyproj")
    for code, projected in ((32618, True), (4326, False), (2154, True), (4269, False)):
        crs = pyproj.CRS.from_epsg(code)
        for version in ("WKT1_GDAL", "WKT2_2019", "WKT2_2015", "WKT1_ESRI"):
            expected = None if version == "WKT1_ESRI" else (projected, code)  # ESRI WKT has no authority
            assert wkt_system(crs.to_wkt(version)) == expected, (code, version)


def test_only_a_top_level_authority_counts():
    spheroid = 'SPHEROID["WGS 84",6378137,298.257223563]'
    base = f'GEOGCS["WGS 84",DATUM["WGS_1984",{spheroid}],AUTHORITY["EPSG","4326"]]'
    assert wkt_system(f'PROJCS["custom",{base},PROJECTION["Transverse_Mercator"],UNIT["metre",1]]') is None
    assert wkt_system(f'COMPD_CS["x",{base}]') is None
    assert wkt_system("EPSG:4326") is None  # not WKT
    assert wkt_system(base) == (False, 4326)


@pytest.mark.parametrize(
    "transform, system",
    [
        ((30.0, 0.0, 500000.0, 0.0, -30.0, 4200000.0), (True, 32618)),
        ((0.25, 0.1, 10.0, 0.1, -0.25, 50.0), (False, 4326)),
    ],
    ids=["north-up UTM", "rotated geographic"],
)
def test_georeferencing_makes_the_tags_gdal_reads_as_its_grid_and_code(tmp_path, transform, system):
    rasterio = pytest.importorskip("rasterio")
    geo = georeferencing(transform, system, wkt="WKT")
    assert (geo.crs, geo.transform, geo.wkt) == (f"EPSG:{system[1]}", transform, "WKT")
    assert geo_system(geo) == system
    tifffile.imwrite(tmp_path / "g.tif", np.zeros((4, 5), np.uint8), extratags=list(geo.tags))
    with rasterio.open(tmp_path / "g.tif") as ds:
        assert ds.crs.to_epsg() == system[1]
        a, b, c, d, e, f = transform
        assert ds.transform.to_gdal() == pytest.approx((c, a, b, f, d, e))


def test_no_grid_and_no_code_is_no_georeferencing():
    assert georeferencing(None, None) is None
    assert georeferencing(None, (True, 32618)).transform is None
    assert geo_system(None) is None
