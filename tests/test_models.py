"""Estimators: recovery of known effects, agreement with direct computation, and the demo's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from wijkeffect.errors import WijkeffectError
from wijkeffect.models import get_model
from wijkeffect.models.tidy import RESULT_COLUMNS, Context, tidy_frame


def _cells(effect=0.04, noise=0.0, seed=0, n_wijk=30, waves=(1, 2, 3, 4, 5, 6)):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_wijk):
        treated = i < n_wijk // 3
        level = 0.2 + 0.1 * treated + 0.01 * i
        for t in waves:
            d = float(treated and t >= 4)
            y = level + 0.01 * t + effect * d + noise * rng.normal()
            rows.append(dict(outcome="smoker", gemeente_code="GM0001", wijk_code=f"WK0001{i:02d}", wave=t,
                             role="treated" if treated else "control", n=20 + i, mean=y, D=d,
                             sum_w=20.0 + i, sum_w2=20.0 + i))
    return pd.DataFrame(rows)


def test_twfe_recovers_an_exact_effect_without_noise():
    rows = get_model("twfe")(_cells(effect=0.04), Context("s", "GM0001", "smoker"))
    assert rows[0]["estimate"] == pytest.approx(0.04, abs=1e-10)


def test_twfe_matches_a_direct_two_way_within_regression():
    cells = _cells(effect=0.03, noise=0.02, seed=3)
    est = get_model("twfe")(cells, Context("s", "GM0001", "smoker"))[0]["estimate"]
    # balanced panel, weights constant within wijk: weighted within transform then WLS
    y = cells.pivot(index="wijk_code", columns="wave", values="mean").to_numpy()
    d = cells.pivot(index="wijk_code", columns="wave", values="D").to_numpy()
    w = cells.groupby("wijk_code")["n"].first().to_numpy(float)[:, None]

    def within(x):
        xi = x.mean(axis=1, keepdims=True)
        return x - xi - (w * x).sum(0) / w.sum() + (w * xi).sum() / w.sum()

    yd, dd = within(y), within(d)
    assert est == pytest.approx((w * dd * yd).sum() / (w * dd * dd).sum(), rel=1e-8)


def test_twfe_ci_covers_in_most_replications():
    """A small coverage check (the full 200-replication table is a bench script)."""
    cover = 0
    for s in range(40):
        r = get_model("twfe")(_cells(effect=0.04, noise=0.03, seed=s), Context("s", "GM0001", "smoker"))[0]
        cover += r["ci_low"] <= 0.04 <= r["ci_high"]
    assert 34 <= cover <= 40


def test_twfe_without_treated_post_cells_is_an_error():
    cells = _cells()
    cells["D"] = 0.0
    with pytest.raises(WijkeffectError, match="city GM0001, outcome smoker: no treated post-period cells"):
        get_model("twfe")(cells, Context("s", "GM0001", "smoker"))


def test_naive_is_the_weighted_post_period_difference():
    cells = _cells(effect=0.04)
    r = get_model("naive")(cells, Context("s", "GM0001", "smoker"))[0]
    post = cells[cells["wave"] >= 4]
    t, c = post[post["role"] == "treated"], post[post["role"] == "control"]
    expected = np.average(t["mean"], weights=t["n"]) - np.average(c["mean"], weights=c["n"])
    assert r["estimate"] == pytest.approx(expected, rel=1e-10)
    assert r["n_obs"] == len(post)


def test_tidy_rows_follow_the_contract():
    rows = get_model("twfe")(_cells(noise=0.01), Context("s", "GM0001", "smoker", seed=7))
    df = tidy_frame(rows)
    assert list(df.columns) == RESULT_COLUMNS
    assert df["seed"].iloc[0] == 7 and df["n_clusters"].iloc[0] == 30 and df["n_obs"].iloc[0] == 180


def test_demo_twfe_covers_truth_and_naive_does_not(root, demo_panel):
    """Issue 2 acceptance: pooled twfe 95% CI covers TRUTH.yaml for every outcome; naive misses it."""
    _, _, cells = demo_panel
    truth = yaml.safe_load((root / "data/raw/demo/TRUTH.yaml").read_text())
    for outcome in ("smoker", "psych_distress", "walking"):
        ctx = Context("demo", "ALL", outcome)
        tw = get_model("twfe")(cells, ctx)[0]
        nv = get_model("naive")(cells, ctx)[0]
        assert tw["ci_low"] <= truth[outcome] <= tw["ci_high"], (outcome, tw)
        assert not nv["ci_low"] <= truth[outcome] <= nv["ci_high"], (outcome, nv)
