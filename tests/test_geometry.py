"""Boundary reader on the real CBS TopoJSON files and on GeoPackage/GeoJSON/shapefile copies."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from wijkeffect.errors import WijkeffectError
from wijkeffect.geometry import COLUMNS, read_boundaries

# Origin of the Dutch RD grid (Onze Lieve Vrouwetoren, Amersfoort): x=155000, y=463000 by definition of
# RD New (EPSG:28992), at lon 5.38720621, lat 52.15517440 (Bessel/RD definition, as used by PROJ).
AMERSFOORT = (5.38720621, 52.15517440)


def test_topojson_2020_national(shared_data):
    b = read_boundaries(shared_data / "cbs_wijk_2020" / "wijk_2020.topojson",
                        gemeenten=shared_data / "cbs_wijk_2020" / "gemeente_2020.topojson")
    f = b.frame
    assert list(f.columns) == COLUMNS and f.crs.to_epsg() == 28992  # no CRS in the file: taken as 4326
    assert len(f) == 3177 and f["wijk_code"].is_unique and b.without_geometry == []
    x0, y0, x1, y1 = f.total_bounds  # RD New extent of the Netherlands
    assert 0 < x0 < 20_000 and 300_000 < y0 < 310_000 and 270_000 < x1 < 280_000 and 610_000 < y1 < 625_000
    ams = f[f["wijk_code"] == "WK036300"].iloc[0]
    assert ams["wijk_name"] == "Burgwallen-Oude Zijde" and ams["gemeente_name"] == "Amsterdam"
    assert f["gemeente_name"].notna().all()


def test_2014_lists_wijken_without_geometry(shared_data):
    b = read_boundaries(shared_data / "cbs_wijk_2014" / "Wijk_2014_layer_q1e3.json",
                        expected=["WK036300", "WK999999"])
    assert len(b.frame) == 2738 + 1  # the expected code absent from the file is added, without geometry
    assert b.not_in_file == ["WK999999"]
    assert len(b.without_geometry) == 13 and "WK015809" in b.without_geometry
    assert b.frame.set_index("wijk_code").loc["WK999999"].geometry is None


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("GeoJSON", ".geojson"), ("ESRI Shapefile", ".shp")])
def test_other_formats(tmp_path, driver, suffix):
    g = gpd.GeoDataFrame({"WK_CODE": ["WK000101", "WK000102"], "WK_NAAM": ["Noord", "Zuid"],
                          "GM_CODE": ["GM0001", "GM0001"], "GM_NAAM": ["Testdorp", "Testdorp"]},
                         geometry=[box(*AMERSFOORT, *AMERSFOORT).buffer(1e-4, cap_style="square"), None],
                         crs="EPSG:4326")
    path = tmp_path / f"wijken{suffix}"
    g.to_file(path, driver=driver)
    b = read_boundaries(path)
    assert b.frame.crs.to_epsg() == 28992 and list(b.frame["wijk_name"]) == ["Noord", "Zuid"]
    assert b.without_geometry == ["WK000102"] and len(b.frame) == 2  # listed, not dropped
    x, y = b.frame.geometry.iloc[0].centroid.coords[0]
    assert abs(x - 155_000) < 2 and abs(y - 463_000) < 2  # the RD origin, as RD New defines it


def test_bad_codes_refused(tmp_path):
    g = gpd.GeoDataFrame({"statcode": ["W0101"]}, geometry=[box(5, 52, 5.1, 52.1)], crs="EPSG:4326")
    g.to_file(tmp_path / "x.gpkg")
    with pytest.raises(WijkeffectError, match="W0101"):
        read_boundaries(tmp_path / "x.gpkg")


def test_national_map_draws_every_wijk(tmp_path):
    """Missing values and missing geometry are counted in the panel titles; files in every format."""
    import pandas as pd
    from matplotlib.image import imread

    from wijkeffect.figures.maps import national_map

    geo = gpd.GeoDataFrame({"wijk_code": ["WK000101", "WK000102", "WK000103"]},
                           geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), None], crs="EPSG:28992")
    values = pd.DataFrame({"wijk_code": ["WK000101", "WK000103"], "outcome": ["smoker", "smoker"],
                           "value": [-0.06, 0.01]})
    paths = national_map(geo, values, ["smoker"], [-0.05, 0.05], "test", tmp_path / "nat", highlight={"WK000101"})
    assert sorted(p.suffix for p in paths) == [".pdf", ".png", ".svg"]
    svg = (tmp_path / "nat.svg").read_text()
    assert "1 no estimate, 1 no geometry" in svg
    assert imread(tmp_path / "nat.png").shape[1] == round(183 / 25.4 * 300)  # 183 mm at the style's 300 dpi
