"""Area-overlap crosswalk 2014 -> 2020 on the real CBS boundaries, in the format geo.read_crosswalk reads."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from wijkeffect.geo import read_crosswalk
from wijkeffect.geometry import build_crosswalk, read_boundaries


@pytest.fixture(scope="module")
def real(shared_data):
    old = read_boundaries(shared_data / "cbs_wijk_2014" / "Wijk_2014_layer_q1e3.json")
    new = read_boundaries(shared_data / "cbs_wijk_2020" / "wijk_2020.topojson")
    return old, new


def test_cli_writes_a_crosswalk_the_cleaner_reads(shared_data, tmp_path, root):
    out = tmp_path / "cw_2014_2020.csv"
    run = subprocess.run([sys.executable, "-m", "wijkeffect.geo", "crosswalk",
                          str(shared_data / "cbs_wijk_2014" / "Wijk_2014_layer_q1e3.json"),
                          str(shared_data / "cbs_wijk_2020" / "wijk_2020.topojson"), "--out", str(out)],
                         capture_output=True, text=True, cwd=root)
    assert run.returncode == 0, run.stderr
    assert "slivers_dropped" in run.stdout and "old_unmatched" in run.stdout
    cw = read_crosswalk(out)  # shares in (0, 1], summing to 1 per old code, WK codes: checked by the reader
    assert list(cw.columns) == ["old_code", "new_code", "share"]
    assert cw["old_code"].nunique() > 2600  # 2,738 wijken in 2014, 13 of them without geometry


def test_den_haag_matches_one_to_one(real):
    """README: Den Haag's 44 wijk codes are the same in 2014 and 2020 (boundaries generalised differently)."""
    old, new = real
    o = old.frame[old.frame["gemeente_code"] == "GM0518"]
    dom, stats = build_crosswalk(o, new.frame, mode="dominant")
    assert len(dom) == 44 and (dom["old_code"] == dom["new_code"]).all() and (dom["share"] == 1).all()
    split, _ = build_crosswalk(o, new.frame, min_share=0.05)
    same = split[split["old_code"] == split["new_code"]]
    # the 2014 file is quantized to ~300 m cells: most, not all, of each wijk's area falls in its own code
    assert len(same) == 44 and same["share"].median() > 0.6
    assert split.groupby("old_code")["share"].sum().round(6).eq(1).all()


def test_amsterdam_codes_changed(real):
    old, new = real
    o = old.frame[old.frame["gemeente_code"] == "GM0363"]
    cw, _ = build_crosswalk(o, new.frame)
    new_ams = set(new.frame.loc[new.frame["gemeente_code"] == "GM0363", "wijk_code"])
    assert cw["new_code"].str.startswith("WK0363").mean() > 0.9  # a few pieces fall in neighbouring gemeenten
    dom, _ = build_crosswalk(o, new.frame, mode="dominant")
    assert (dom["old_code"] == dom["new_code"]).mean() < 0.2  # same code, different area: codes were reissued
    assert cw.groupby("old_code").size().max() > 3  # old wijken split over several 2020 wijken
    assert len(new_ams & set(cw["new_code"])) >= 90  # most of the 99 wijken of 2020 are reached (tiny ones: slivers)


def test_shares_on_known_squares():
    """Two 2x1 old wijken over a new grid of 1x1 squares: shares are exact area fractions."""
    old = gpd.GeoDataFrame({"wijk_code": ["WK000101", "WK000102"]},
                           geometry=[box(0, 0, 2000, 1000), box(0, 1000, 3000, 2000)], crs="EPSG:28992")
    new = gpd.GeoDataFrame({"wijk_code": ["WK000201", "WK000202", "WK000203"]},
                           geometry=[box(0, 0, 1000, 2000), box(1000, 0, 2995, 2000), box(2995, 0, 4000, 2000)],
                           crs="EPSG:28992")
    cw, stats = build_crosswalk(old, new, min_share=0.01)
    got = cw.set_index(["old_code", "new_code"])["share"].to_dict()
    assert got == {("WK000101", "WK000201"): 0.5, ("WK000101", "WK000202"): 0.5,
                   ("WK000102", "WK000201"): pytest.approx(1 / 2.995, abs=1e-6),
                   ("WK000102", "WK000202"): pytest.approx(1.995 / 2.995, abs=1e-6)}
    assert stats["slivers_dropped"] == 1  # the 5 m strip (0.17% of WK000102)
