"""Linking, treatment attachment and cell aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import WijkeffectError
from wijkeffect.geo import link, read_lookup
from wijkeffect.panel import pool_cells


def test_link_counts_unlinked_by_reason(tmp_path):
    lk = tmp_path / "lk.csv"
    lk.write_text("pc6,buurt_code,wijk_code,gemeente_code\n1234AB,BU99010100,WK990101,GM9901\n")
    df = pd.DataFrame({"pc6": pd.array(["1234AB", None, "9999ZZ", "1234AB"], dtype="string"), "x": range(4)})
    out, counts = link(df, read_lookup(lk))
    assert counts == {"pc6_missing": 1, "pc6_not_in_lookup": 1}
    assert len(out) == 2 and (out["wijk_code"] == "WK990101").all()


def test_lookup_with_bad_codes_is_an_error(tmp_path):
    lk = tmp_path / "lk.csv"
    lk.write_text("pc6,buurt_code,wijk_code,gemeente_code\n1234AB,BU99010100,WK9901,GM9901\n")
    with pytest.raises(WijkeffectError, match=r"lk.csv: column wijk_code.*'WK9901'"):
        read_lookup(lk)


def test_demo_panel_accounts_for_every_row(demo_panel, demo_cleaned):
    _, acc, _ = demo_panel
    excluded = acc.drop(columns=["source", "wave", "rows_in", "rows_out"]).sum(axis=1)
    assert (acc["rows_in"] == acc["rows_out"] + excluded).all()
    assert acc["rows_in"].tolist() == [log.rows_out for _, log in demo_cleaned]
    assert (acc["pc6_not_in_lookup"] > 0).all()


def test_cells_are_weighted_means_of_respondents(demo_panel):
    resp, _, cells = demo_panel
    r = resp[(resp["wijk_code"] == "WK990105") & (resp["wave"] == 2009) & resp["smoker"].notna()]
    c = cells[(cells["wijk_code"] == "WK990105") & (cells["wave"] == 2009) & (cells["outcome"] == "smoker")].iloc[0]
    assert c["n"] == len(r)
    assert c["mean"] == pytest.approx(np.average(r["smoker"].astype(float), weights=r["weight"].astype(float)))
    w = r["weight"].astype(float)
    assert c["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum())


def test_post_follows_each_wijks_own_start(demo_panel):
    resp, _, _ = demo_panel
    t = resp[resp["role"] == "treated"]
    assert ((t["interview_date"] >= t["start"]) == t["post"].astype(bool)).all()
    assert resp.loc[resp["role"] == "control", "post"].eq(0).all()
    assert t.groupby("wijk_code")["start"].nunique().eq(1).all() and t["start"].nunique() >= 2


def test_pooling_cells_equals_pooling_respondents(demo_panel):
    resp, _, cells = demo_panel
    ctl = cells[(cells["outcome"] == "walking") & (cells["role"] == "control") & (cells["gemeente_code"] == "GM9902")]
    pooled = pool_cells(ctl, ["wave"]).set_index("wave")
    r = resp[(resp["role"] == "control") & (resp["gemeente_code"] == "GM9902") & resp["walking"].notna()]
    for wave, g in r.groupby("wave"):
        assert pooled.loc[wave, "mean"] == pytest.approx(np.average(g["walking"].astype(float), weights=g["weight"]))


# ----------------------------------------------------------------------------- crosswalks
def _lookup(tmp_path):
    lk = tmp_path / "lk.csv"
    lk.write_text("pc6,buurt_code,wijk_code,gemeente_code\n"
                  "1000AA,BU99010100,WK990101,GM9901\n1000AB,BU99010101,WK990101,GM9901\n"
                  "1001AA,BU99010200,WK990102,GM9901\n1002AA,BU99010300,WK990103,GM9901\n"
                  "1003AA,BU99010400,WK990104,GM9901\n")
    return lk


def _crosswalk(tmp_path, text):
    from wijkeffect.geo import read_crosswalk

    f = tmp_path / "cw.csv"
    f.write_text(text)
    return read_crosswalk(f)


CW_2014 = ("old_code,new_code,share\n"
           "WK990150,WK990101,0.6\nWK990150,WK990102,0.4\n"  # split: one old wijk became two
           "WK990160,WK990103,1\n"                             # renamed
           "WK990170,WK990104,1\nWK990171,WK990104,1\n")       # merged


def test_a_wave_on_an_older_indeling_is_crosswalked(tmp_path):
    """Issue 3: a wave coded on the 2014 indeling lands on the 2020 reference codes."""
    n = 4000
    rng = np.random.default_rng(0)
    old = rng.choice(["WK990150", "WK990160", "WK990170", "WK990171", "WK990199"], size=n, p=[.5, .2, .1, .1, .1])
    wave = pd.DataFrame({"source": "t", "wave": 2015, "pc6": pd.array([None] * n, dtype="string"),
                         "source_wijk_code": pd.array(old, dtype="string"), "source_indeling": 2014})
    cw = _crosswalk(tmp_path, CW_2014)
    linked, counts = link(wave, read_lookup(_lookup(tmp_path)), "pc6", {2014: cw}, 2020, seed=5)
    assert counts == {"wijk_not_in_crosswalk": int((old == "WK990199").sum())}
    assert len(linked) + sum(counts.values()) == n
    by_old = pd.crosstab(pd.Series(old[old != "WK990199"]), linked["wijk_code"].to_numpy())
    assert by_old.loc["WK990160"].idxmax() == "WK990103" and by_old.loc["WK990160"].max() == (old == "WK990160").sum()
    assert by_old.loc["WK990170", "WK990104"] == (old == "WK990170").sum()
    split = by_old.loc["WK990150", ["WK990101", "WK990102"]]
    assert split.sum() == (old == "WK990150").sum()
    assert split["WK990101"] / split.sum() == pytest.approx(0.6, abs=0.03)
    assert linked["gemeente_code"].eq("GM9901").all()
    again, _ = link(wave, read_lookup(_lookup(tmp_path)), "pc6", {2014: cw}, 2020, seed=5)
    assert again["wijk_code"].equals(linked["wijk_code"])  # seeded: the same draw every run


def test_a_wave_without_its_crosswalk_is_counted(tmp_path):
    wave = pd.DataFrame({"source": "t", "wave": 2015, "pc6": pd.array([None] * 3, dtype="string"),
                         "source_wijk_code": pd.array(["WK990150"] * 3, dtype="string"), "source_indeling": 2010})
    linked, counts = link(wave, read_lookup(_lookup(tmp_path)), "pc6", {}, 2020)
    assert linked.empty and counts == {"no_crosswalk_from_2010": 3}


def test_crosswalk_shares_must_sum_to_one(tmp_path):
    with pytest.raises(WijkeffectError, match=r"cw.csv: column share.*'WK990150: 0.9'"):
        _crosswalk(tmp_path, "old_code,new_code,share\nWK990150,WK990101,0.6\nWK990150,WK990102,0.3\n")


def test_pc4_linking_refuses_pc4s_that_span_wijken(tmp_path):
    lk = tmp_path / "lk.csv"
    lk.write_text("pc6,buurt_code,wijk_code,gemeente_code\n1000AA,BU99010100,WK990101,GM9901\n"
                  "1000AB,BU99010200,WK990102,GM9901\n1001AA,BU99010300,WK990103,GM9901\n")
    with pytest.raises(WijkeffectError, match=r"lk.csv: column pc4: postcodes in more than one area.*'1000'"):
        read_lookup(lk, "pc4")
    lk.write_text("pc6,buurt_code,wijk_code,gemeente_code\n1001AA,BU99010300,WK990103,GM9901\n"
                  "1001AB,BU99010301,WK990103,GM9901\n")
    df = pd.DataFrame({"pc4": pd.array(["1001", "1002"], dtype="string")})
    out, counts = link(df, read_lookup(lk, "pc4"), "pc4")
    assert out["wijk_code"].tolist() == ["WK990103"] and counts == {"pc4_not_in_lookup": 1}


def test_too_many_unlinked_postcodes_fail_with_examples(tmp_path, root, demo_cleaned):
    """Postcodes absent from the lookup: a wave linked against the wrong lookup fails, naming it."""
    import yaml

    from wijkeffect.panel import build_respondents
    from wijkeffect.study import load_study

    study_file = tmp_path / "study.yaml"
    spec = yaml.safe_load((root / "config/studies/demo.yaml").read_text())
    spec.update(lookup=str(_lookup(tmp_path)), treated={"file": str(root / "data/raw/demo/interventions.csv")})
    study_file.write_text(yaml.safe_dump(spec))
    with pytest.raises(WijkeffectError) as exc:
        build_respondents([demo_cleaned[0][0]], load_study(study_file))
    msg = str(exc.value)
    assert "lk.csv" in msg and "wave demo 2005, column pc6" in msg and "could not be linked" in msg
    assert "'" in msg.split("bad values [")[1][:3]  # example postcodes listed
