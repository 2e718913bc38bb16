"""The open-data study definitions: krachtwijken mapping and its ambiguity report, Wij zijn de Wijk verdicts."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import TooFewClusters, WijkeffectError
from wijkeffect.policy_wijken import mapping_report, read_mapping, treated_from_mapping
from wijkeffect.statline import build_study
from wijkeffect.study import load_study

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "statline"


@pytest.fixture(scope="module")
def project(tmp_path_factory, root, shared_data) -> Path:
    """A project root whose ../shared/data is the real data (as in a checkout next to shared/)."""
    base = tmp_path_factory.mktemp("checkout")
    (base / "shared").mkdir()
    (base / "shared" / "data").symlink_to(shared_data)
    (base / "proj").mkdir()
    for d in ("config", "tests"):
        (base / "proj" / d).symlink_to(root / d)
    return base / "proj"


def test_krachtwijken_mapping_and_ambiguity_report(root, shared_data):
    m = read_mapping(root / "config/studies/krachtwijken_2020_mapping.csv")
    ref = pd.read_csv(shared_data / "reference" / "krachtwijken_40.csv")
    rep = mapping_report(m, ref)
    assert len(rep) == 40 and not (rep["status"] == "not_in_mapping").any()  # every policy wijk is accounted for
    assert rep.loc[rep["status"] == "unmapped", "policy_wijk"].tolist() == ["Bennekel"]
    shared = rep.set_index("policy_wijk")["shares_cbs_wijk_with"]
    assert shared["De Hoogte"] == "Korrewegwijk" and shared["Ondiep"] == "Zuilen Oost"
    assert set(rep.loc[rep["status"] == "ambiguous", "gemeente"]) >= {"Groningen", "Rotterdam", "Utrecht"}
    # every code is a real 2020 wijk (codes parsed from the CBS boundaries), in the named gemeente
    text = (shared_data / "cbs_wijk_2020" / "wijk_2020.topojson").read_text(encoding="utf-8")
    codes = dict(re.findall(r'"statcode":\s*"(WK\d{6})".*?"statnaam":\s*"([^"]*)"', text))
    mapped = m[m["wijk_code"].notna()]
    assert mapped["wijk_code"].isin(list(codes)).all()
    assert (mapped["wijk_code"].map(codes) == mapped["wijk_name_2020"]).all()
    # the study's treated file is the mapping's CBS wijken, each once
    treated = pd.read_csv(root / "config/studies/krachtwijken_2020_treated.csv", dtype=str)
    pd.testing.assert_frame_equal(treated, treated_from_mapping(m, "2013-01-01").astype(str))
    assert treated["wijk_code"].is_unique and len(treated) == mapped["wijk_code"].nunique()


def test_mapping_errors(tmp_path, root):
    m = pd.read_csv(root / "config/studies/krachtwijken_2020_mapping.csv", dtype=str)
    m.loc[0, "wijk_code"] = "WK059901"  # a Rotterdam code under Alkmaar
    m.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(WijkeffectError, match="outside its gemeente.*WK059901"):
        read_mapping(tmp_path / "m.csv")
    m.loc[0, "match_type"] = "roughly"
    m.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(WijkeffectError, match="match_type.*roughly"):
        read_mapping(tmp_path / "m.csv")


def test_krachtwijken_study_base_2012(project):
    study = load_study(project / "config/studies/krachtwijken_2012_2020.yaml", project)
    out = build_study(study, project, models=["twfe", "event_study", "staggered"])
    c, v = out["cells"], out["verdict"].iloc[0]
    assert v["estimable"] and v["pre_waves"] == "2012" and v["post_waves"] == "2016 2020"
    t = c[c["role"] == "treated"]
    assert t["wijk_code"].nunique() == 70 and set(t.loc[t["wave"] == 2012, "D"]) == {0.0}
    assert set(t.loc[t["wave"] > 2012, "D"]) == {1.0}
    ctl = c.loc[c["role"] == "control"].drop_duplicates("wijk_code")
    assert not ctl["gemeente_code"].isin(study.cities).all()  # controls from other cities too
    assert out["balance"].loc["MoeiteMetRondkomen_38", "mean_matched"] > 0.3  # deprived controls
    assert set(out["verdict"]["estimable"]) == {True}  # every outcome has the 2012 base wave
    assert (out["mapping"]["status"] == "unmapped").sum() == 1
    with pytest.raises(WijkeffectError, match="respondent"):
        build_study(study, project, models=["twfe", "segmented"])


def test_wij_zijn_de_wijk_has_no_post_period_yet(project):
    study = load_study(project / "config/studies/wij_zijn_de_wijk.yaml", project)
    out = build_study(study, project)
    v = out["verdict"].iloc[0]
    assert not v["estimable"] and v["verdict"].startswith("no post-period wave yet")
    assert v["pre_waves"] == "2012 2016 2020"
    assert (out["cells"].loc[out["cells"]["role"] == "control", "wijk_code"].nunique()) >= 3
    assert not out["verdict"]["estimable"].any()
    miss = out["missing"].set_index(["outcome", "year"])  # exercise: no 2012 estimate, reported
    assert miss.loc[("exercise", 2012), "status"] == "absent" and miss.loc[("exercise", 2016), "status"] == "partial"


def test_wij_zijn_de_wijk_runs_with_a_2022_wave(root):
    """On the synthetic 50120NED-layout fixture (true 2022 effect -0.04 on every outcome), twfe recovers it."""
    from wijkeffect.models.tidy import Context
    from wijkeffect.models.twfe import twfe_cells

    study = load_study(FIX / "wij_zijn_de_wijk_2022.yaml", root)
    out = build_study(study, root, models=["twfe"])
    v = out["verdict"].iloc[0]
    assert v["estimable"] and v["post_waves"] == "2022"
    c = out["cells"]
    assert c["weights"].str.startswith("inverse_variance").all() and c["se"].between(0.009, 0.031).all()
    assert out["missing"].set_index(["outcome", "year"]).loc[("smoker", 2020), "missing"] == 1
    for outcome in study.outcomes:
        row = twfe_cells(c[c["outcome"] == outcome], Context(study.name, "ALL", outcome))[0]
        assert row["estimate"] == pytest.approx(-0.04, abs=0.01), outcome


def test_stage_writes_cells_and_accounting(tmp_path, root, monkeypatch):
    """stages_opendata.statline_panel on the fixture study: the cells contract and the accounting table."""
    import wijkeffect.paths as paths
    from wijkeffect.stages_opendata import statline_panel
    from wijkeffect.statline import CELL_COLUMNS

    monkeypatch.setattr(paths, "ROOT", root)
    out = statline_panel(str(FIX / "wij_zijn_de_wijk_2022.yaml"), str(tmp_path / "cells.parquet"),
                         str(tmp_path / "acc.csv"), out_verdict=str(tmp_path / "verdict.csv"),
                         out_mapping=str(tmp_path / "mapping.csv"), out_sources=str(tmp_path / "sources.csv"))
    cells = pd.read_parquet(tmp_path / "cells.parquet")
    assert list(cells.columns[:14]) == CELL_COLUMNS
    acc = pd.read_csv(tmp_path / "acc.csv")
    assert {"outcome", "wave", "indicator", "wijken_missing", "status", "treated_cells", "control_cells"} <= set(acc)
    assert acc.loc[(acc["outcome"] == "smoker") & (acc["wave"] == 2020), "wijken_missing"].item() == 1
    assert pd.read_csv(tmp_path / "verdict.csv")["estimable"].all()
    assert len(pd.read_csv(tmp_path / "sources.csv")["sha256"].item()) == 64
    assert out["mapping"]["policy_wijk"].tolist() == ["Presikhaaf", "Bloemenbuurt", "De Nude"]


def test_amsterdam_population_weights(project, shared_data):
    """Population weights from the real Kerncijfers 2019 export: each cell's weight is its inhabitants' share."""
    from wijkeffect.statline import read_population

    study = load_study(project / "config/studies/krachtwijken_amsterdam_2012_2020.yaml", project)
    out = build_study(study, project)
    c = out["cells"]
    assert out["zero_population"]["wijk_code"].tolist() == ["WK036350"]  # IJburg Oost: 0 inhabitants in 2019
    assert "WK036350" not in set(c["wijk_code"]) and (out["accounting"]["wijken_without_inhabitants"] == 1).all()
    assert c["weights"].str.startswith("population").all() and c["wijk_code"].str.startswith("WK0363").all()
    assert c.groupby("outcome")["n"].mean().round(9).eq(1).all()  # normalised to mean 1 per outcome
    pop = read_population(shared_data / "cbs_kwb_amsterdam" / "Kerncijfers_wijken_en_buurten_2019.csv")
    s = c[c["outcome"] == "smoker"]
    np.testing.assert_allclose(s["n"] / s["n"].sum(), s["wijk_code"].map(pop) / s["wijk_code"].map(pop).sum())
    assert (c.loc[c["role"] == "treated", "wijk_code"].nunique()) == 33


def test_city_cells_keep_each_citys_matches(project):
    """A city without deprived wijken of its own (Alkmaar) is compared with the controls matched to it."""
    from wijkeffect.models.tidy import Context
    from wijkeffect.models.twfe import twfe_cells
    from wijkeffect.statline import city_cells

    study = load_study(project / "config/studies/krachtwijken_2012_2020.yaml", project)
    cells = build_study(study, project)["cells"]
    alk = city_cells(cells, "GM0361")
    assert set(alk.loc[alk["role"] == "treated", "wijk_code"]) == {"WK036103"}  # Overdie
    ctl = alk.loc[alk["role"] == "control", "wijk_code"].unique()
    assert len(ctl) == 2 and not any(c.startswith("WK0361") for c in ctl)  # k=2, both in other cities
    assert len(city_cells(cells, "ALL")) == len(cells)
    for city in study.cities:  # every city's twfe is estimable on its own matches, or refused (issue 8:
        sub = city_cells(cells, city)  # fewer than 2 treated clusters give no cluster-robust inference)
        d = sub[sub["outcome"] == "smoker"]
        if d.loc[d["role"] == "treated", "wijk_code"].nunique() < 2:
            with pytest.raises(TooFewClusters, match="1 treated"):
                twfe_cells(d, Context(study.name, city, "smoker"))
            continue
        row = twfe_cells(d, Context(study.name, city, "smoker"))[0]
        assert np.isfinite(row["estimate"]), city
