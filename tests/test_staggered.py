"""Callaway-Sant'Anna (`models.attgt`, `models.staggered`) against independent implementations.

References (test extras): `drdid` 1.1.7, the Python port of R's DRDID (the 2x2 estimators R `did` calls:
reg_did_*, std_ipw_did_*, drdid_panel, drdid_rc), and `diff-diff` 3.13.0's CallawaySantAnna (ATT(g,t),
event-study, group and simple aggregations with influence-function SEs). Convention differences, stated
where they are skipped: diff-diff's repeated-cross-section `reg` SE leaves out the OLS estimation effect
(its bread is divided by n twice; our IF equals the numerical derivative of the estimate and drdid's), and
its panel `dr` normalises the control term by the treated weights (DRDID's drdid_panel, which R did uses,
by the control odds weights). diff-diff has no calendar aggregation: calendar and the overall values are
checked against R did's formulas on diff-diff's ATT(g,t), their SEs against the empirical influence function
(the derivative of the whole estimate with respect to a cluster's weight).
R did's own mpdta example is not used: mpdta ships with no installable Python package here (diff-diff and
csdid download it at run time).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.attgt import att_gt, gt_fit

COHORTS, PROBS = [0, 3, 4, 5], [0.4, 0.12, 0.28, 0.2]  # never, three cohorts of unequal size


def simulate(seed: int, n: int = 500, panel: bool = True, missing: float = 0.0, pre_trend: float = 0.0):
    """Staggered starts at periods 3-5 of 6, covariate-dependent trends and effects, optional missing rows."""
    rng = np.random.default_rng(seed)
    g = rng.choice(COHORTS, size=n, p=PROBS)
    x1, x2 = rng.normal(size=n) + 0.3 * (g > 0), (rng.random(n) < 0.4 + 0.1 * (g == 4)).astype(float)
    frames = []
    for t in range(1, 7):
        if not panel:  # new people every period
            g = rng.choice(COHORTS, size=n, p=PROBS)
            x1, x2 = rng.normal(size=n) + 0.3 * (g > 0), (rng.random(n) < 0.4 + 0.1 * (g == 4)).astype(float)
        eff = np.where((g > 0) & (t >= g), 1.0 + 0.2 * (t - g) + 0.5 * x1, 0.0)
        y = (0.5 * t + x1 * (0.3 + 0.1 * t) + 0.2 * x2 * t + 0.2 * g + eff + pre_trend * (g > 0) * t
             + rng.normal(size=n))
        ids = np.arange(n) + (0 if panel else 10_000 * t)
        frames.append(pd.DataFrame(dict(id=ids, t=t, g=g, y=y, x1=x1, x2=x2, w=rng.uniform(0.5, 2.0, n),
                                        cl=ids % 40)))
    d = pd.concat(frames, ignore_index=True)
    if missing:
        d = d[rng.random(len(d)) >= missing].reset_index(drop=True)
    return d


def _diff_diff(d, method, panel, control_group="never", base_period="varying", covariates=("x1", "x2")):
    from diff_diff import CallawaySantAnna

    cg = {"never": "never_treated", "not_yet": "not_yet_treated"}[control_group]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CallawaySantAnna(estimation_method=method, panel=panel, control_group=cg, base_period=base_period,
                                pscore_trim=1e-6).fit(d, "y", "id", "t", "g", covariates=list(covariates))


# ----------------------------------------------------------------------------- the 2x2 estimators vs DRDID
@pytest.mark.parametrize("panel", [True, False])
@pytest.mark.parametrize("method", ["reg", "ipw", "dr"])
def test_two_by_two_estimators_and_influence_functions_match_drdid(panel, method):
    from drdid import _estimators as dr

    rng = np.random.default_rng(5)
    n = 800
    d = (rng.random(n) < 0.35).astype(float)
    x = np.column_stack([np.ones(n), rng.normal(size=n) + 0.4 * d, (rng.random(n) < 0.5).astype(float)])
    w = rng.uniform(0.5, 2, n)
    y0 = x[:, 1] + x[:, 2] + rng.normal(size=n)
    y1 = y0 + 0.5 * x[:, 1] + d + rng.normal(size=n)
    if panel:
        ref = {"reg": dr.reg_did_panel, "ipw": dr.std_ipw_did_panel, "dr": dr.drdid_panel}[method](y1, y0, d, x, w)
        att, psi = gt_fit(y1 - y0, d, np.ones(n), x, w, method, True)
    else:
        post = (rng.random(n) < 0.5).astype(float)
        y = np.where(post == 1, y1, y0)
        ref = {"reg": dr.reg_did_rc, "ipw": dr.std_ipw_did_rc, "dr": dr.drdid_rc}[method](y, post, d, x, w)
        att, psi = gt_fit(y, d, post, x, w, method, False)
    assert att == pytest.approx(ref[0], abs=1e-10)
    # DRDID's IF psi_i gives se = sqrt(sum psi^2) / n; ours sums to att_hat - att
    np.testing.assert_allclose(psi * n, ref[1], rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- ATT(g,t) vs diff-diff
@pytest.mark.parametrize("panel,method", [(True, "reg"), (True, "ipw"), (False, "ipw"), (False, "dr"),
                                          (True, "dr"), (False, "reg")])
@pytest.mark.parametrize("control_group", ["never", "not_yet"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_att_gt_matches_diff_diff(panel, method, control_group, base_period):
    """Every ATT(g,t) to 1e-8 (SEs to 1e-8 relative) on staggered, covariate-dependent data (cross-sections
    with 3% of the rows missing)."""
    d = simulate(7, panel=panel, missing=0.0 if panel else 0.03)  # unbalanced panels: next test
    ours = att_gt(d, "y", "t", "g", idname="id", covariates=["x1", "x2"], panel=panel, est_method=method,
                  control_group=control_group, base_period=base_period)
    ref = _diff_diff(d, method, panel, control_group, base_period).group_time_effects
    o = ours.gt.set_index(["g", "t"])
    compared = 0
    for (g, t), v in ref.items():
        if (g, t) not in o.index:  # diff-diff reports universal's reference period as 0 (we omit it)
            assert v["effect"] == 0 or not np.isfinite(v["effect"])
            continue
        exact = not (panel and method == "dr")  # convention difference (module docstring)
        assert o.loc[(g, t), "att"] == pytest.approx(v["effect"], abs=1e-8 if exact else 1e-3)
        if exact and not (not panel and method == "reg"):
            assert o.loc[(g, t), "se"] == pytest.approx(v["se"], rel=1e-8)
        compared += 1
    assert compared == len(o) == (15 if base_period == "varying" else 15)


def test_panel_drops_units_missing_a_period_as_did():
    """R did (allow_unbalanced_panel=FALSE) keeps the units observed in every period; diff-diff does not."""
    d = simulate(8, panel=True, missing=0.05)
    ours = att_gt(d, "y", "t", "g", idname="id", panel=True, est_method="reg")
    complete = d.groupby("id")["t"].transform("size") == 6
    full = att_gt(d[complete], "y", "t", "g", idname="id", panel=True, est_method="reg")
    np.testing.assert_allclose(ours.gt["att"], full.gt["att"], atol=1e-12)


# ----------------------------------------------------------------------------- aggregations
@pytest.mark.parametrize("panel", [True, False])
def test_aggregations_match_diff_diff(panel):
    d = simulate(9, panel=panel)
    ours = att_gt(d, "y", "t", "g", idname="id", covariates=["x1", "x2"], panel=panel, est_method="ipw")
    ref = _diff_diff(d, "ipw", panel)
    simple = ours.aggte("simple")
    assert simple["att"].iloc[-1] == pytest.approx(ref.overall_att, abs=1e-8)
    assert simple["se"].iloc[-1] == pytest.approx(ref.overall_se, rel=1e-8)
    es = ref.aggregate("event_study").to_dataframe().set_index("event_time")
    dyn = ours.aggte("dynamic").dropna(subset=["key"]).set_index("key")
    assert list(dyn.index) == list(es.index)
    np.testing.assert_allclose(dyn["att"], es["att"], atol=1e-8)
    np.testing.assert_allclose(dyn["se"], es["se"], rtol=1e-8)
    grp = ref.aggregate("group").to_dataframe().set_index("label")
    ours_g = ours.aggte("group").dropna(subset=["key"]).set_index("key")
    np.testing.assert_allclose(ours_g["att"], grp["att"].to_numpy(float), atol=1e-8)
    np.testing.assert_allclose(ours_g["se"], grp["se"].to_numpy(float), rtol=1e-8)
    # balance_e = 2 keeps cohorts observed two periods after their start (3 and 4), as R did and diff-diff
    bal = ours.aggte("dynamic", balance_e=2).dropna(subset=["key"]).set_index("key")
    es_b = ref.aggregate("event_study", balance_e=2).to_dataframe().set_index("event_time")
    assert bal.index.max() == 2  # R did also truncates event time at balance_e
    np.testing.assert_allclose(bal["att"], es_b.loc[bal.index, "att"], atol=1e-8)
    np.testing.assert_allclose(bal["se"], es_b.loc[bal.index, "se"], rtol=1e-8)


def test_overall_and_calendar_aggregates_follow_did_formulas_and_their_influence_function():
    """Point estimates: R did's aggte formulas applied to diff-diff's ATT(g,t) and the cohort shares.
    SEs: the analytic IF of each aggregate (cohort-share estimation included) equals the numerical
    derivative of the whole estimate with respect to one cluster's weight, for several clusters."""
    d = simulate(10, panel=False, n=300)
    kw = dict(yname="y", tname="t", gname="g", clustervar="cl", covariates=["x1", "x2"], est_method="dr")
    fit = att_gt(d, **kw)
    ref = _diff_diff(d, "dr", False).group_time_effects
    att = {k: v["effect"] for k, v in ref.items()}
    share = {g: (d["g"] == g).sum() for g in (3, 4, 5)}
    post = [(g, t) for (g, t) in fit.gt[["g", "t"]].itertuples(index=False) if t >= g]
    simple = sum(share[g] * att[g, t] for g, t in post) / sum(share[g] for g, t in post)
    cal = [sum(share[g] * att[g, t] for g, tt in post if tt == t) / sum(share[g] for g, tt in post if tt == t)
           for t in range(3, 7)]
    by_e = {e: [(g, t) for g, t in post if t - g == e] for e in range(0, 4)}
    dyn = np.mean([sum(share[g] * att[g, t] for g, t in k) / sum(share[g] for g, _ in k) for k in by_e.values()])
    grp = sum(share[g] * np.mean([att[gg, t] for gg, t in post if gg == g]) for g in share) / sum(share.values())
    aggs = {a: fit.aggte(a) for a in ("simple", "group", "dynamic", "calendar")}
    assert aggs["simple"]["att"].iloc[-1] == pytest.approx(simple, abs=1e-8)
    np.testing.assert_allclose(aggs["calendar"]["att"].iloc[:-1], cal, atol=1e-8)
    assert aggs["calendar"]["att"].iloc[-1] == pytest.approx(np.mean(cal), abs=1e-8)
    assert aggs["dynamic"]["att"].iloc[-1] == pytest.approx(dyn, abs=1e-8)
    assert aggs["group"]["att"].iloc[-1] == pytest.approx(grp, abs=1e-8)

    kw["weightsname"] = "w"  # the influence-function check with survey-like weights
    fit = att_gt(d, **kw)
    aggs = {a: fit.aggte(a) for a in aggs}

    def values(dd):
        f = att_gt(dd, **kw)
        return np.concatenate([f.gt["att"].to_numpy()] + [f.aggte(a)["att"].to_numpy() for a in aggs])

    analytic = np.array([e.d for e in fit.ests] + [e.d for a in aggs.values() for e in a.attrs["ests"]])
    for c in (0, 7, 23):
        eps = 1e-6
        up, dn = d.copy(), d.copy()
        up.loc[up["cl"] == c, "w"] *= 1 + eps
        dn.loc[dn["cl"] == c, "w"] *= 1 - eps
        np.testing.assert_allclose((values(up) - values(dn)) / (2 * eps), analytic[:, c], rtol=1e-5, atol=1e-9)


def test_clustered_analytic_se_is_close_to_the_cluster_jackknife():
    d = simulate(11, panel=False, n=400)
    kw = dict(yname="y", tname="t", gname="g", clustervar="cl", est_method="reg")
    a = att_gt(d, se="analytic", **kw)
    j = att_gt(d, se="jackknife", **kw)
    np.testing.assert_allclose(a.gt["att"], j.gt["att"], atol=1e-12)
    np.testing.assert_allclose(j.gt["se"] / a.gt["se"], 1, atol=0.15)  # 40 clusters
    m = att_gt(d, se="multiplier", reps=2999, seed=1, **kw)
    np.testing.assert_allclose(m.gt["se"] / (a.gt["se"] * np.sqrt(39 / 40)), 1, atol=0.08)


def test_pretest_wald_rejects_violated_parallel_trends_only():
    ok = att_gt(simulate(12, panel=False), "y", "t", "g", covariates=["x1", "x2"], est_method="dr").pretest()
    bad = att_gt(simulate(12, panel=False, pre_trend=0.3), "y", "t", "g", covariates=["x1", "x2"],
                 est_method="dr").pretest()
    assert ok[1] == bad[1] == 6  # pre-period ATT(g,t): 1 + 2 + 3
    assert ok[2] > 0.01 and bad[2] < 1e-6


def test_bad_input_raises():
    d = simulate(1, n=50)
    with pytest.raises(WijkeffectError, match="est_method"):
        att_gt(d, "y", "t", "g", est_method="ols")
    with pytest.raises(WijkeffectError, match=r"column g has first-treated periods \[3.5\]"):
        att_gt(d.assign(g=np.where(d["g"] == 3, 3.5, d["g"])), "y", "t", "g")
    with pytest.raises(WijkeffectError, match="missing"):
        att_gt(d, "y", "t", "gg")
    with pytest.raises(WijkeffectError, match="idname"):
        att_gt(d, "y", "t", "g", panel=True)
