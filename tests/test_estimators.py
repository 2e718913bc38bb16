"""Estimators (issue 4): parity between specifications, golden numbers from established
implementations, inference, matching, and a small recovery study (the full table is
bench/bench_recovery.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wijkeffect import simulate
from wijkeffect.models import get_model
from wijkeffect.models.tidy import Context
from wijkeffect.panel import build_cells

CTX = Context("t", "ALL", "smoker", seed=11)


@pytest.fixture(scope="module")
def sim():
    r = simulate.respondents(simulate.spec_with(-0.03), seed=3)
    return r, build_cells(r)


# ----------------------------------------------------------------------------- parity
def test_cells_and_respondents_give_the_same_estimate(sim):
    """twfe on cells weighted by the sum of survey weights == respondent-level LPM without covariates."""
    r, c = sim
    cells = get_model("twfe")(c, CTX, weights="sum_w")[0]
    indiv = get_model("twfe_individual")(r, CTX)[0]
    assert cells["estimate"] == pytest.approx(indiv["estimate"], rel=1e-8)


def test_event_study_with_one_pooled_post_period_equals_twfe(sim):
    _, c = sim
    pooled = get_model("event_study")(c, CTX, pooled_post=True)[0]
    twfe = get_model("twfe")(c, CTX)[0]
    assert pooled["estimate"] == pytest.approx(twfe["estimate"], rel=1e-8)
    assert pooled["std_error"] == pytest.approx(twfe["std_error"], rel=1e-6)  # one CR1 convention everywhere


def test_staggered_with_a_single_start_equals_the_2x2_did(sim):
    _, c = sim
    one = c[c["wave"].isin([2007, 2009]) & ((c["role"] == "control") | (c["group"] == "krachtwijk"))]
    rows = {r["term"]: r for r in get_model("staggered")(one, CTX)}

    def mean(role, wave):
        s = one[(one["outcome"] == "smoker") & (one["role"] == role) & (one["wave"] == wave)]
        return (s["mean"] * s["sum_w"]).sum() / s["sum_w"].sum()

    did = (mean("treated", 2009) - mean("treated", 2007)) - (mean("control", 2009) - mean("control", 2007))
    assert rows["overall"]["estimate"] == pytest.approx(did, rel=1e-10)
    assert rows["ATT(g=2009,t=2009)"]["estimate"] == pytest.approx(did, rel=1e-10)


def test_twfe_individual_matches_linearmodels_absorbingls(sim):
    """Coefficient and SE to 4 significant digits; stated correction: ours with ssc="g_only" = G/(G-1) x
    AbsorbingLS(cov_type='clustered', debiased=False), absorbed effects not counted. (The default
    convention became fixest's CR1; tests/test_ssc.py checks each convention against pyfixest.)"""
    from linearmodels.iv.absorbing import AbsorbingLS

    from wijkeffect.models.individual import design

    r, _ = sim
    covs = ["age", "sex", "education", "migration_background"]
    ours = get_model("twfe_individual")(r, CTX, covariates=covs, ssc="g_only")[0]
    d = r[r["smoker"].notna()]
    x, names, ok = design(d, covs)
    d, x = d[ok], x[ok]
    absorb = pd.DataFrame({"w": pd.Categorical(d["wijk_code"]), "t": pd.Categorical(d["wave"])})
    ref = AbsorbingLS(d["smoker"].to_numpy(float), pd.DataFrame(x, columns=names), absorb=absorb,
                      weights=d["weight"].to_numpy(float)).fit(
        cov_type="clustered", clusters=pd.Series(pd.factorize(d["wijk_code"])[0]), debiased=False)
    g = d["wijk_code"].nunique()
    assert ours["estimate"] == pytest.approx(ref.params["D"], rel=1e-4)
    assert ours["std_error"] == pytest.approx(ref.std_errors["D"] * np.sqrt(g / (g - 1)), rel=1e-4)


# ----------------------------------------------------------------------------- golden numbers
def test_golden_wage_panel_fixed_effects():
    """Wooldridge, Introductory Econometrics (5th ed.), Example 14.4 / Table 14.2, fixed-effects column,
    on Vella and Verbeek's wage panel as shipped by linearmodels (linearmodels.datasets.wage_panel, used in
    linearmodels' panel examples): lwage on expersq, married, union with person and year effects gives
    expersq -.0052, married .047, union .080."""
    from linearmodels.datasets import wage_panel

    from wijkeffect.models.fe import wls_absorb

    d = wage_panel.load()
    fit = wls_absorb(d["lwage"].to_numpy(float), d[["expersq", "married", "union"]].to_numpy(float),
                     np.ones(len(d)), [d["nr"].to_numpy(), d["year"].to_numpy()], d["nr"].to_numpy())
    assert fit.params == pytest.approx([-0.0052, 0.047, 0.080], abs=6e-4)
    assert fit.params[0] == pytest.approx(-0.0052, abs=6e-5)


def test_golden_spector_logit():
    """Spector and Mazzeo (1980) logit, as printed in statsmodels' documentation (Discrete Choice Models,
    data statsmodels.datasets.spector): const -13.0213 (4.931), GPA 2.8261 (1.263), TUCE 0.0952 (0.142),
    PSI 2.3787 (1.065)."""
    import statsmodels.api as sm

    from wijkeffect.models.segmented import logit_fit

    data = sm.datasets.spector.load_pandas()
    x = np.column_stack([np.ones(len(data.exog)), data.exog[["GPA", "TUCE", "PSI"]].to_numpy(float)])
    beta, vcov = logit_fit(data.endog.to_numpy(float), x)
    np.testing.assert_allclose(beta, [-13.0213, 2.8261, 0.0952, 2.3787], atol=6e-5)
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), [4.931, 1.263, 0.142, 1.065], atol=6e-4)


def test_holm_and_bh_match_statsmodels():
    from statsmodels.stats.multitest import multipletests

    from wijkeffect.models.inference import benjamini_hochberg, holm

    p = np.array([0.001, 0.04, 0.03, 0.2, 0.011])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1])
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])


# ----------------------------------------------------------------------------- inference
def _partialled(c):
    from wijkeffect.models.inference import partial_out_cells

    d = c[(c["outcome"] == "smoker")].reset_index(drop=True)
    return d, partial_out_cells(d)


def test_wild_bootstrap_is_seeded_and_brackets_the_estimate(sim):
    from wijkeffect.models.inference import wild_cluster_bootstrap

    _, c = sim
    _, p = _partialled(c)
    a = wild_cluster_bootstrap(p, 1999, "webb", seed=4)
    assert a == wild_cluster_bootstrap(p, 1999, "webb", seed=4)
    assert a[1] < p.beta() < a[2]
    twfe = get_model("twfe")(c, CTX)[0]
    assert a[0] == pytest.approx(twfe["p_value"], abs=0.03)  # 72 clusters: close to the CR1 t test
    assert a[1] == pytest.approx(twfe["ci_low"], abs=0.25 * twfe["std_error"])


def test_wild_bootstrap_rejects_at_about_the_nominal_rate_under_the_null():
    from wijkeffect.models.inference import partial_out, wild_cluster_bootstrap

    rng = np.random.default_rng(0)
    reject = 0
    for _ in range(100):
        g = np.repeat(np.arange(16), 20)
        x = (g < 5).astype(float) * (rng.random(g.size) < 0.5)
        y = rng.normal(size=16)[g] + rng.normal(size=g.size)
        p = partial_out(y, x, np.ones(g.size), [g], g)
        reject += wild_cluster_bootstrap(p, 399, "rademacher", seed=int(rng.integers(1 << 30)))[0] < 0.05
    assert 1 <= reject <= 12


def test_randomization_inference(sim):
    from wijkeffect.models.inference import randomization_inference

    _, c = sim
    d = c[(c["outcome"] == "smoker")].reset_index(drop=True)
    b, p = randomization_inference(d, "mean", "n", 199, seed=1)
    assert b == pytest.approx(get_model("twfe")(c, CTX)[0]["estimate"], rel=1e-8)
    assert (b, p) == randomization_inference(d, "mean", "n", 199, seed=1)
    assert 1 / 200 <= p <= 1


def test_event_study_pretrend_test_detects_a_violated_trend(sim):
    _, c = sim
    c = c.copy()
    treated = c["role"] == "treated"
    c.loc[treated, "mean"] += 0.02 * (c.loc[treated, "wave"] - 2005)  # treated wijken drift upward
    rows = {r["term"]: r for r in get_model("event_study")(c, CTX)}
    assert rows["pretrend_wald"]["p_value"] < 0.01
    ok = {r["term"]: r for r in get_model("event_study")(sim[1], CTX)}
    assert ok["pretrend_wald"]["p_value"] > 0.01


# ----------------------------------------------------------------------------- matching
def test_matched_controls_improve_balance(demo_panel):
    from wijkeffect.controls import balance_table, match_controls, wijk_features
    from wijkeffect.panel import candidate_controls
    from wijkeffect.study import load_study

    resp, _, _ = demo_panel
    from .conftest import ROOT

    study = load_study(ROOT / "config/studies/demo.yaml")
    feats = wijk_features(resp, study.outcomes, study.treated["start"].min())
    cands = candidate_controls(resp, study)
    treated = sorted(cands)
    pool = sorted({x for v in cands.values() for x in v})
    for method in ("nearest", "propensity"):
        matched = match_controls(feats, treated, cands, k=2, method=method)
        assert set(matched) <= set(pool) and 0 < len(matched) <= 2 * len(treated)
        bal = balance_table(feats, treated, pool, matched)
        assert bal["smd_after"].abs().mean() < bal["smd_before"].abs().mean()


# ----------------------------------------------------------------------------- recovery (small)
def test_recovery_small():
    """Each model's 95% CI covers the true effect in most of 25 seeded replications, without bias."""
    truth, spec = -0.03, simulate.spec_with(-0.03)
    est = {m: [] for m in ("twfe", "twfe_individual", "event_k0", "staggered")}
    cover = dict.fromkeys(est, 0)
    for seed in range(25):
        r = simulate.respondents(spec, seed=100 + seed)
        c = build_cells(r)
        ctx = Context("t", "ALL", "smoker", seed=seed)
        res = {"twfe": get_model("twfe")(c, ctx)[0], "twfe_individual": get_model("twfe_individual")(r, ctx)[0],
               "event_k0": next(x for x in get_model("event_study")(c, ctx) if x["term"] == "k=0"),
               "staggered": next(x for x in get_model("staggered")(c, ctx) if x["term"] == "overall")}
        for m, row in res.items():
            est[m].append(row["estimate"])
            cover[m] += row["ci_low"] <= truth <= row["ci_high"]
    for m, values in est.items():
        v = np.array(values)
        assert abs(v.mean() - truth) < 3.5 * v.std(ddof=1) / np.sqrt(len(v)), m
        assert cover[m] >= 20, (m, cover[m])


def test_segmented_recovers_a_slope_change():
    from wijkeffect.models.segmented import segmented

    hits, est = 0, []
    for seed in range(12):
        r = simulate.segmented_respondents(seed, diff_slope_change=0.15)
        row = next(x for x in segmented(r, Context("t", "ALL", "walking")) if x["term"] == "diff_slope_change[g]")
        est.append(row["estimate"])
        hits += row["ci_low"] <= 0.15 <= row["ci_high"]
    assert abs(np.mean(est) - 0.15) < 0.05 and hits >= 9


def test_adjusted_p_values_per_group_equal_statsmodels():
    """stages.adjust_across_outcomes (vectorised over groups) against statsmodels' multipletests run group by
    group: groups of 1-5 outcomes, ties, missing p-values and single-outcome groups (left empty)."""
    from statsmodels.stats.multitest import multipletests

    from wijkeffect.stages import adjust_across_outcomes

    rng = np.random.default_rng(7)
    rows = []
    for g in range(300):
        k = int(rng.integers(1, 6))
        p = rng.uniform(0, 0.2, k) if g % 3 else np.round(rng.uniform(0, 0.2, k), 2)  # rounded: ties
        for j in range(k):
            rows.append(dict(city=f"GM{g % 7:04d}", model=f"m{g % 5}", term=f"t{g}", inference="i", spec="default",
                             outcome=f"o{j}", p_value=np.nan if (g % 11 == 0 and j == 0) else p[j]))
    est = pd.DataFrame(rows).sample(frac=1, random_state=1)  # row order must not matter
    got = adjust_across_outcomes(est)
    checked = 0
    for _, grp in got.groupby(["city", "model", "term"]):
        have = grp[grp["p_value"].notna()]
        if have["outcome"].nunique() < 2:
            assert grp["p_holm"].isna().all() and grp["p_bh"].isna().all()
            continue
        np.testing.assert_allclose(have["p_holm"], multipletests(have["p_value"], method="holm")[1], rtol=1e-12)
        np.testing.assert_allclose(have["p_bh"], multipletests(have["p_value"], method="fdr_bh")[1], rtol=1e-12)
        assert grp.loc[grp["p_value"].isna(), ["p_holm", "p_bh"]].isna().all().all()
        checked += 1
    assert checked > 150
