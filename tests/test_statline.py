"""StatLine reader on the real RIVM 50090NED exports, the CSV layout, the fetch path, and the cells frame."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wijkeffect import statline as sl
from wijkeffect.errors import WijkeffectError

Z = 1.959963984540054  # standard normal 0.975 quantile
FIXTURES = Path(__file__).parent / "fixtures" / "statline"
FILES = {  # file -> (year, Leeftijd code)
    "2012_18+.xlsx": (2012, "20300"), "2012_18_65.xlsx": (2012, "53115"), "2012_65+.xlsx": (2012, "80200"),
    "2016_18+.xlsx": (2016, "20300"), "2016_18_65.xlsx": (2016, "53115"), "2016_65+.xlsx": (2016, "80200"),
    "RIVM_gezondheid2020_18+.xlsx": (2020, "20300"), "RIVM_gezondheid2020_65+.xlsx": (2020, "80200"),
}


@pytest.fixture(scope="module")
def rivm(shared_data) -> pd.DataFrame:
    return sl.read_statline([shared_data / "rivm_50090NED" / f for f in FILES])


@pytest.fixture(scope="module")
def wijk_codes_2020(shared_data) -> set[str]:
    text = (shared_data / "cbs_wijk_2020" / "wijk_2020.topojson").read_text(encoding="utf-8")
    return set(re.findall(r'"statcode":\s*"(WK\d{6})"', text))


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_rivm_file(rivm, name, wijk_codes_2020):
    year, age = FILES[name]
    f = rivm[rivm["file"].str.endswith(name)]
    assert len(f) == 17341  # README: 1 country, 355 gemeenten, 3,177 wijken, 13,808 buurten
    assert f["region_type"].value_counts().to_dict() == {"Buurt": 13808, "Wijk": 3177, "Gemeente": 355, "Land": 1}
    assert set(f["year"]) == {year} and set(f["age_code"]) == {age} and set(f["margin"]) == {"value"}
    wijk = f.loc[f["region_type"] == "Wijk", "region_code"]
    assert wijk.is_unique and wijk.str.fullmatch(r"WK\d{6}").all()
    assert set(wijk) == wijk_codes_2020  # the 2020 boundaries' codes, independently parsed from the TopoJSON
    assert f["region_code"].str.strip().eq(f["region_code"]).all()  # padding removed
    gm = f.loc[f["region_type"] == "Gemeente", "region_code"]
    assert set(gm) == set(f.loc[f["region_type"] == "Wijk", "gemeente_code"])


def test_missing_markers_match_the_raw_text(shared_data, rivm):
    """'.' and empty cells become NaN, every other cell a number equal to the text (read here by openpyxl)."""
    path = shared_data / "rivm_50090NED" / "2016_65+.xlsx"
    raw = pd.read_excel(path, dtype=str, engine="openpyxl", nrows=4000)
    ours = rivm[rivm["file"].str.endswith("2016_65+.xlsx")].reset_index(drop=True).head(4000)
    for col in ("Roker_11", "HoogRisicoOpAngstOfDepressie_25", "VoldoetAanBeweegrichtlijn_5"):
        text = raw[col].str.strip()
        dots = text.eq(".")
        assert dots.sum() > 0  # this file has suppressed cells
        assert ours.loc[dots.to_numpy(), col].isna().all()
        keep = text.notna() & ~dots
        np.testing.assert_allclose(ours.loc[keep.to_numpy(), col], text[keep].astype(float))


def test_indicators_absent_by_year(rivm):
    """Which indicators StatLine left empty, per year and age group, as found in these exports.

    The data README says HoogRisicoOpAngstOfDepressie is empty in 2012 for 18+ and 65+; the files have it
    in every year (27 '.' among the 2012 18+ wijken). The exercise guideline (VoldoetAanBeweegrichtlijn,
    the 2017 guideline) is the indicator empty in 2012, for every age group.
    """
    wijk = rivm[rivm["region_type"] == "Wijk"]
    filled = wijk.groupby(["year", "age_group"])[["VoldoetAanBeweegrichtlijn_5", "HoogRisicoOpAngstOfDepressie_25",
                                                 "LopenNaarSchoolOfWerk_35"]].count()
    assert (filled.loc[2012, "VoldoetAanBeweegrichtlijn_5"] == 0).all()
    assert (filled.loc[[2016, 2020], "VoldoetAanBeweegrichtlijn_5"] > 3000).all()
    assert (filled["HoogRisicoOpAngstOfDepressie_25"] > 3000).all()
    assert filled.loc[(2012, "18+"), "HoogRisicoOpAngstOfDepressie_25"] == 3177 - 27
    # walking to school/work: only the 18-65 files of 2012 and 2016
    assert filled["LopenNaarSchoolOfWerk_35"].gt(0).to_dict() == {
        k: k[1] == "18-65" for k in filled.index}


def test_panel_reports_missing_indicators(rivm):
    panel, missing = sl.wijk_panel(rivm, {"smoker": "Roker_11", "exercise": "VoldoetAanBeweegrichtlijn_5"}, "18+")
    m = missing.set_index(["outcome", "year"])
    assert m.loc[("exercise", 2012), "status"] == "absent" and m.loc[("exercise", 2012), "missing"] == 3177
    assert m.loc[("smoker", 2012), "status"] == "partial"
    assert set(panel.loc[panel["outcome"] == "exercise", "wave"]) == {2016, 2020}
    assert len(panel[panel["outcome"] == "smoker"]) == 3 * 3177 - int(m.xs("smoker")["missing"].sum())
    assert panel["value"].between(0, 1).all()
    with pytest.raises(WijkeffectError, match="age_group"):
        sl.wijk_panel(rivm, {"smoker": "Roker_11"}, "adults")
    with pytest.raises(WijkeffectError, match="NotAColumn"):
        sl.wijk_panel(rivm, {"smoker": "NotAColumn"}, "18+")


def _as_statline_csv(df: pd.DataFrame, path: Path) -> None:
    """Write rows the way StatLine's CSV download does: ';', quoted, codes padded, '.' for missing."""
    out = df.copy()
    for c in out.columns[8:]:
        out[c] = out[c].fillna("       .")
    out.to_csv(path, sep=";", index=False, quoting=1)


def test_csv_export_reads_like_the_xlsx(shared_data, rivm, tmp_path):
    raw = pd.read_excel(shared_data / "rivm_50090NED" / "2012_18+.xlsx", dtype=str, engine="calamine").head(400)
    _as_statline_csv(raw, tmp_path / "export.csv")
    csv = sl.read_statline([tmp_path / "export.csv"])
    xl = rivm[rivm["file"].str.endswith("2012_18+.xlsx")].head(400).reset_index(drop=True)
    pd.testing.assert_frame_equal(csv.drop(columns="file"), xl.drop(columns="file"), check_dtype=False)


def test_bad_exports_are_refused(tmp_path):
    df = pd.DataFrame({"ID": ["0"], "Leeftijd": ["20300"], "Marges": ["MW00000"], "WijkenEnBuurten": ["WK01  "],
                       "Perioden": ["2016JJ00"], "SoortRegio_2": ["Wijk   "], "Roker_11": ["  21.0"]})
    df.to_csv(tmp_path / "a.csv", sep=";", index=False)
    with pytest.raises(WijkeffectError, match=r"WijkenEnBuurten.*'WK01'"):
        sl.read_statline([tmp_path / "a.csv"])
    df.assign(WijkenEnBuurten="WK036300", Perioden="2016KW01").to_csv(tmp_path / "b.csv", sep=";", index=False)
    with pytest.raises(WijkeffectError, match="Perioden"):
        sl.read_statline([tmp_path / "b.csv"])
    df.assign(WijkenEnBuurten="WK036300", Roker_11="n/a").to_csv(tmp_path / "c.csv", sep=";", index=False)
    with pytest.raises(WijkeffectError, match="Roker_11"):
        sl.read_statline([tmp_path / "c.csv"])


def test_fetch_path_on_a_recorded_response(tmp_path, monkeypatch):
    import cbsodata

    recorded = json.loads((FIXTURES / "50090NED_recorded.json").read_text(encoding="utf-8"))
    calls = []

    def fake_download(table_id, dir=None, typed=False, select=None, filters=None, catalog_url=None, **kw):
        calls.append((table_id, typed, catalog_url))
        return recorded

    monkeypatch.setattr(cbsodata, "download_data", fake_download)
    path, prov = sl.fetch_table("50090NED", tmp_path / "raw" / "statline")
    assert calls == [("50090NED", False, "dataderden.cbs.nl")]
    assert prov["table_id"] == "50090NED" and prov["periods"] == ["2016JJ00", "2020JJ00"]
    assert prov["title"].startswith("Gezondheid per wijk") and prov["downloaded_at"][:2] == "20"
    saved = json.loads((tmp_path / "raw" / "statline" / "50090NED.provenance.json").read_text())
    assert saved == prov
    df = sl.read_statline([path])
    w = df[df["region_type"] == "Wijk"].set_index(["region_code", "year"])
    assert w.loc[("WK020204", 2016), "Roker_11"] == 30.2
    assert np.isnan(w.loc[("WK020205", 2016), "HoogRisicoOpAngstOfDepressie_25"])
    # second call: from the cache, no request
    monkeypatch.setattr(cbsodata, "download_data", lambda *a, **k: pytest.fail("cache not used"))
    assert sl.fetch_table("50090NED", tmp_path / "raw" / "statline")[0] == path


def _panel() -> pd.DataFrame:
    rows = []
    for w, gm, base in (("WK000101", "GM0001", 0.30), ("WK000102", "GM0001", 0.20), ("WK000201", "GM0002", 0.25)):
        for wave, d in ((2016, 0.0), (2020, -0.02)):
            rows.append({"outcome": "smoker", "indicator": "Roker_11", "gemeente_code": gm, "wijk_code": w,
                         "wave": wave, "value": base + d, "lower": base + d - Z * 0.02, "upper": base + d + Z * 0.02})
    return pd.DataFrame(rows)


def test_cells_roles_weights_and_se():
    treated = pd.DataFrame({"wijk_code": ["WK000101"], "start": [pd.Timestamp("2018-01-01")], "group": ["k"]})
    c = sl.statline_cells(_panel(), treated, "same_city", ["GM0001"])
    assert list(c.columns[:14]) == sl.CELL_COLUMNS
    assert set(c["wijk_code"]) == {"WK000101", "WK000102"}  # other city is not a control under same_city
    t = c[c["role"] == "treated"].set_index("wave")
    assert t.loc[2016, "D"] == 0 and t.loc[2020, "D"] == 1
    assert (c["n"] == 1).all() and (c["weights"] == "equal").all() and (c["n_eff"] == 1).all()
    np.testing.assert_allclose(c["se"], 0.02)  # 95% bounds +-1.96 se
    pop = pd.Series({"WK000101": 3000.0, "WK000102": 1000.0})
    c = sl.statline_cells(_panel(), treated, "same_city", ["GM0001"], population=pop)
    assert c["weights"].iloc[0].startswith("population")
    np.testing.assert_allclose(c.set_index(["wijk_code", "wave"])["n"].xs(2016, level="wave"), [1.5, 0.5])
    with pytest.raises(WijkeffectError, match="WK000201"):
        sl.statline_cells(_panel(), treated, "all", population=pop)
    iv = sl.statline_cells(_panel(), treated, "all", weights="inverse_variance")
    assert iv["weights"].iloc[0].startswith("inverse_variance") and np.allclose(iv["n"], 1)


def test_population_from_kerncijfers(shared_data):
    pop = sl.read_population(shared_data / "cbs_kwb_amsterdam" / "Kerncijfers_wijken_en_buurten_2019.csv")
    assert len(pop) == 99 and pop.index.str.fullmatch(r"WK0363\d{2}").all()
    assert pop["WK036300"] == 4295  # Burgwallen-Oude Zijde, 2019 (line 3 of the CBS export)


def test_respondent_models_refused():
    with pytest.raises(WijkeffectError, match=r"twfe_individual.*statline"):
        sl.refuse_respondent_models(["twfe", "twfe_individual"], "krachtwijken")
    sl.refuse_respondent_models(["twfe", "event_study", "staggered"], "krachtwijken")


def test_verdicts_per_outcome():
    panel = pd.concat([_panel(), _panel().assign(outcome="exercise").query("wave == 2020")])
    before = pd.DataFrame({"wijk_code": ["WK000101"], "start": [pd.Timestamp("2015-01-01")], "group": ["k"]})
    v = sl.verdicts(sl.statline_cells(panel, before, "all")).set_index("outcome")
    assert v.loc["exercise", "verdict"].startswith("no pre-period wave") and not v.loc["exercise", "estimable"]
    later = before.assign(start=pd.Timestamp("2021-09-01"))
    v = sl.verdicts(sl.statline_cells(panel, later, "all")).set_index("outcome")
    assert not v["estimable"].any() and v.loc["smoker", "verdict"].startswith("no post-period wave yet")
    mid = before.assign(start=pd.Timestamp("2018-01-01"))
    v = sl.verdicts(sl.statline_cells(panel, mid, "all")).set_index("outcome")
    assert v.loc["smoker", "estimable"] and v.loc["smoker", "pre_waves"] == "2016"


def test_online_study_reads_through_the_cache(tmp_path, monkeypatch):
    """A study with statline.table_id fetches once into its cache (recorded response) and builds cells."""
    import cbsodata
    import yaml

    from wijkeffect.study import load_study

    recorded = json.loads((FIXTURES / "50090NED_recorded.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(cbsodata, "download_data", lambda *a, **k: recorded)
    spec = {"name": "online", "source": "statline", "indeling": 2020, "cities": ["GM0202"],
            "treated": [{"wijk_code": "WK020204", "start": "2018-01-01"}], "controls": "same_city",
            "outcomes": ["smoker", "psych_distress"],
            "statline": {"table_id": "50090NED", "cache_dir": str(tmp_path / "raw" / "statline")}}
    (tmp_path / "online.yaml").write_text(yaml.safe_dump(spec))
    out = sl.build_study(load_study(tmp_path / "online.yaml", tmp_path), tmp_path)
    c = out["cells"].set_index(["outcome", "wijk_code", "wave"])
    assert c.loc[("smoker", "WK020204", 2020), "D"] == 1 and c.loc[("smoker", "WK020205", 2016), "role"] == "control"
    assert ("psych_distress", "WK020205", 2016) not in c.index  # '.' in the response: no cell, and counted
    assert out["missing"].set_index(["outcome", "year"]).loc[("psych_distress", 2016), "missing"] == 1
    assert (tmp_path / "raw" / "statline" / "50090NED.provenance.json").exists()
