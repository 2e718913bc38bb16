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
