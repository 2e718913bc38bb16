"""The embedded demo: what the generator makes, in the shapes the cleaning code is written against."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyreadstat
import pytest
import yaml

from wijkeffect import demo

from .conftest import DEMO_WAVES


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    demo.generate(demo.DEMO, out)
    return out


def test_committed_demo_is_what_the_generator_makes(root, regenerated):
    committed = root / "data/raw/demo"
    made = sorted(p.name for p in regenerated.iterdir())
    assert made == sorted(p.name for p in committed.iterdir())
    for name in made:
        assert _sha(regenerated / name) == _sha(committed / name), f"{name} differs from the generator's output"


def test_demo_is_small(root):
    total = sum(p.stat().st_size for p in (root / "data/raw/demo").iterdir())
    assert total < 10e6


def test_cities_wijken_buurten_postcodes(root):
    lookup = pd.read_csv(root / "data/raw/demo/pc6_lookup.csv", dtype=str)
    per_city = lookup.groupby("gemeente_code")["wijk_code"].nunique()
    assert len(per_city) >= 3 and per_city.between(15, 40).all()
    assert lookup["pc6"].str.fullmatch(r"\d{4}[A-Z]{2}").all() and lookup["pc6"].is_unique
    assert lookup["buurt_code"].str.fullmatch(r"BU\d{8}").all()
    # buurten nest in wijken, wijken in gemeenten (CBS code structure)
    assert (lookup["buurt_code"].str[2:8] == lookup["wijk_code"].str[2:]).all()
    assert (lookup["wijk_code"].str[2:6] == lookup["gemeente_code"].str[2:]).all()


def test_waves_dates_and_starts(root):
    truth = yaml.safe_load((root / "data/raw/demo/TRUTH.yaml").read_text())
    starts = sorted(pd.Timestamp(g["start"]) for g in truth["groups"].values())
    assert len(DEMO_WAVES) >= 6
    assert sum(pd.Timestamp(f"{w}-12-31") < starts[0] for w in DEMO_WAVES) >= 2
    assert len({s for s in starts}) >= 2  # staggered


def test_sav_files_have_labels_missing_codes_weights_and_two_schemes(root):
    old, meta_old = pyreadstat.read_sav(root / "data/raw/demo/monitor_2005.sav", user_missing=True)
    new, meta_new = pyreadstat.read_sav(root / "data/raw/demo/monitor_2013.sav", user_missing=True)
    assert "ROOKT" in old and "LFRKA403" in new and "ROOKT" not in new
    assert meta_old.variable_value_labels["ROOKT"][9] == "onbekend"
    assert meta_new.variable_value_labels["LFRKA403"] == {0: "nee", 1: "ja", 9: "weet niet/geen antwoord"}
    assert (old["ROOKT"] == 9).any() and (new["LFRKA403"] == 9).any()
    assert {f"GGADA2{j:02d}" for j in range(1, 11)} <= set(new) and {f"MHI{j}" for j in range(1, 6)} <= set(old)
    assert (old["WEEGFACTOR"] > 0).all() and old["WEEGFACTOR"].std() > 0.1
    dates = pd.to_datetime(new["AFNAMEDATUM"], format="%d-%m-%Y")
    assert (dates.dt.year == 2013).all()


def test_geometries_tile_each_city(root):
    import geopandas as gpd

    g = gpd.read_file(root / "data/raw/demo/wijken.gpkg")
    assert g.crs.to_epsg() == 28992
    lookup = pd.read_csv(root / "data/raw/demo/pc6_lookup.csv", dtype=str)
    assert set(g["wijk_code"]) == set(lookup["wijk_code"])
    for _, city in g.groupby("gemeente_code"):
        union = city.union_all()
        assert union.area == pytest.approx(city.area.sum(), rel=1e-6)  # no overlaps
        assert union.geom_type == "Polygon"  # no holes between wijken: one piece


def test_truth_is_the_twfe_estimand_of_the_design(root):
    truth = yaml.safe_load((root / "data/raw/demo/TRUTH.yaml").read_text())
    for outcome in ("smoker", "psych_distress", "walking"):
        assert 0.003 < abs(truth[outcome]) < 0.1, "true effects should be a few percentage points"
    # homogeneous effects: the estimand equals the structural effect
    assert truth["smoker"] == pytest.approx(truth["groups"]["krachtwijk"]["effects"]["smoker"])


def test_twfe_estimand_matches_panelols_on_noise_free_cells():
    import numpy as np
    from linearmodels.panel import PanelOLS

    rng = np.random.default_rng(1)
    wijken, waves = [f"WK{i:06d}" for i in range(12)], [1, 2, 3, 4, 5]
    rows = []
    for i, w in enumerate(wijken):
        start = 3 if i < 3 else (5 if i < 5 else 99)
        tau = 0.02 * (i + 1) if i < 5 else 0.0
        for t in waves:
            d = float(t >= start)
            rows.append(dict(wijk_code=w, wave=t, D=d, w=1 + i % 4, eff=tau * d, y=0.1 * i + 0.03 * t + tau * d))
    cells = pd.DataFrame(rows)
    expected = demo.twfe_estimand(cells, "eff")
    fit = PanelOLS(cells.set_index(["wijk_code", "wave"])["y"], cells.set_index(["wijk_code", "wave"])[["D"]],
                   entity_effects=True, time_effects=True, weights=cells.set_index(["wijk_code", "wave"])["w"]).fit()
    assert fit.params["D"] == pytest.approx(expected, abs=1e-10)
    assert rng is not None


def test_national_scale_refuses_the_repo_without_out():
    with pytest.raises(SystemExit):
        demo.main(["--scale", "national"])
