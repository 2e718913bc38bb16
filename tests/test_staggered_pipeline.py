"""The pipeline's `staggered` (a thin adapter over `attgt.att_gt`): cohorts from start dates, cells ==
respondents, the covariate averaging against DRDID's reg_did_rc, continuous outcomes, options and terms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wijkeffect import simulate
from wijkeffect.errors import WijkeffectError
from wijkeffect.models import get_model
from wijkeffect.models.attgt import att_gt
from wijkeffect.models.staggered import cohorts
from wijkeffect.models.tidy import Context
from wijkeffect.panel import build_cells

CTX = Context("t", "ALL", "smoker", seed=5)


@pytest.fixture(scope="module")
def sim():
    r = simulate.respondents(simulate.spec_with(-0.03), seed=4)
    return r, build_cells(r, ["smoker"])


def _terms(rows):
    return {r["term"]: r for r in rows}


def _wmean(c, wijken, wave):
    s = c[c["wijk_code"].isin(wijken) & (c["wave"] == wave)]
    return (s["mean"] * s["sum_w"]).sum() / s["sum_w"].sum()


def test_cohort_comes_from_the_start_date_not_the_first_observed_post_wave(sim):
    r, c = sim
    treated = c[c["role"] == "treated"].groupby("wijk_code")["start"].first()
    early = treated[treated == pd.Timestamp("2008-07-01")].index
    gap, lost = early[0], early[1]  # gap misses its first post wave; lost has no post-start data at all
    c2 = c[~((c["wijk_code"] == gap) & (c["wave"] == 2009)) & ~((c["wijk_code"] == lost) & (c["wave"] >= 2009))]
    g = cohorts(c2)
    assert g[gap] == 2009 and g[lost] == 2009
    assert (cohorts(c2, r[~((r["wijk_code"] == gap) & (r["wave"] == 2009))]) == g).all()  # same from dates
    rows = _terms(get_model("staggered")(c2, CTX, se="analytic"))
    never = c2.loc[c2["role"] == "control", "wijk_code"].unique()
    # varying base: the pre-period 2007 vs 2006 comparison keeps `lost`'s pre data in cohort 2009
    pre = (_wmean(c2, early, 2007) - _wmean(c2, early, 2006)) - (_wmean(c2, never, 2007) - _wmean(c2, never, 2006))
    assert rows["ATT(g=2009,t=2007)"]["estimate"] == pytest.approx(pre, rel=1e-10)
    # post 2011 vs base 2007: `gap` is in cohort 2009 (it was cohort 2011 when taken from its first post cell)
    post = (_wmean(c2, early, 2011) - _wmean(c2, early, 2007)) - (_wmean(c2, never, 2011) - _wmean(c2, never, 2007))
    assert rows["ATT(g=2009,t=2011)"]["estimate"] == pytest.approx(post, rel=1e-10)


def test_cells_equal_respondents_in_every_term_and_standard_error(sim):
    """Cell means weighted by their weight sums give the respondent-level estimate and (cluster-summed)
    influence function exactly, aggregations included (the cohort-share IF is the ratio's)."""
    r, c = sim
    rows = get_model("staggered")(c, CTX, se="analytic")
    waves = np.sort(c["wave"].unique())
    rr = r[r["smoker"].notna()].assign(period=lambda x: x["wave"].map({w: i + 1 for i, w in enumerate(waves)}))
    g = cohorts(c)
    rr["g"] = np.where(rr["role"] == "control", 0, rr["wijk_code"].map(g).map(
        lambda v: list(waves).index(v) + 1 if pd.notna(v) else 0))
    fit = att_gt(rr, "smoker", "period", "g", clustervar="wijk_code", weightsname="weight", se="analytic")
    by = _terms(rows)
    for x in fit.gt.itertuples():
        row = by[f"ATT(g={waves[int(x.g) - 1]},t={waves[int(x.t) - 1]})"]
        assert row["estimate"] == pytest.approx(x.att, rel=1e-9)
        assert row["std_error"] == pytest.approx(x.se, rel=1e-9)
    for a, term in (("simple", "overall"), ("dynamic", "dynamic_overall"), ("calendar", "calendar_overall"),
                    ("group", "group_overall")):
        agg = fit.aggte(a).iloc[-1]
        assert by[term]["estimate"] == pytest.approx(agg["att"], rel=1e-9)
        assert by[term]["std_error"] == pytest.approx(agg["se"], rel=1e-9)


def test_covariate_adjustment_averages_over_the_cohort_in_the_two_compared_waves_only(sim):
    """ATT(g,t) with covariates (reg) == DRDID's reg_did_rc on cohort g and the never-treated controls
    in waves t and b: the controls' predicted change is averaged over the cohort's respondents of t and b."""
    from drdid import _estimators as dr

    from wijkeffect.models.individual import design

    r, c = sim
    covs = ["age", "sex", "education"]
    rows = _terms(get_model("staggered")(c, CTX, resp=r, covariates=covs, est_method="reg", se="analytic"))
    g_of = cohorts(c, r)
    for g, t, b in ((2011, 2013, 2009), (2009, 2011, 2007), (2011, 2007, 2006)):
        s = r[r["smoker"].notna() & r["wave"].isin([t, b])]
        s = s[(s["role"] == "control") | (s["wijk_code"].map(g_of) == g)]
        x, _, ok = design(s, covs)
        s, x = s[ok], x[ok]
        x[:, 0] = 1.0
        ref = dr.reg_did_rc(s["smoker"].to_numpy(float), (s["wave"] == t).to_numpy(float),
                            (s["role"] == "treated").to_numpy(float), x, s["weight"].to_numpy(float))
        assert rows[f"ATT(g={g},t={t})"]["estimate"] == pytest.approx(ref[0], abs=1e-10)


def test_continuous_outcome_recovers_a_known_effect():
    r = simulate.respondents(simulate.spec_with(0.0), seed=6)
    rng = np.random.default_rng(0)
    r["score"] = 50 + 0.1 * r["age"] + rng.normal(0, 5, len(r)) + 2.0 * r["post"]
    with np.errstate(invalid="ignore"):
        c = build_cells(r, ["score"])
    ctx = Context("t", "ALL", "score", seed=1)
    rows = _terms(get_model("staggered")(c, ctx))
    o = rows["overall"]
    assert o["ci_low"] < 2.0 < o["ci_high"] and abs(o["estimate"] - 2.0) < 0.5
    cov = _terms(get_model("staggered")(c, ctx, resp=r, covariates=["age"], se="analytic"))["overall"]
    assert cov["std_error"] < o["std_error"]  # age explains part of the variance


def test_options_select_terms_and_panel_mode(sim):
    _, c = sim
    rows = _terms(get_model("staggered")(c, CTX, aggregations=["dynamic"], min_e=-1, max_e=1, se="analytic"))
    assert {"event(e=-1)", "event(e=0)", "event(e=1)", "dynamic_overall", "pretest_wald"} <= set(rows)
    assert not {"overall", "event(e=2)", "group_overall", "calendar_overall"} & set(rows)
    assert 0 <= rows["pretest_wald"]["p_value"] <= 1
    assert "universal base" in _terms(get_model("staggered")(c, CTX, base_period="universal"))["overall"]["inference"]
    pan = _terms(get_model("staggered")(c, CTX, panel=True, se="analytic", control_group="not_yet"))
    assert np.isfinite(pan["overall"]["estimate"]) and pan["overall"]["std_error"] > 0
    gm = get_model("staggered")(c, CTX, cluster="gemeente", se="analytic")
    assert {r["n_clusters"] for r in gm} == {c["gemeente_code"].nunique()}
    assert gm[0]["inference"].startswith("gemeente_influence_function")
    with pytest.raises(WijkeffectError, match="aggregations"):
        get_model("staggered")(c, CTX, aggregations=["weekly"])
    with pytest.raises(WijkeffectError, match="se"):
        get_model("staggered")(c, CTX, se="wild")
