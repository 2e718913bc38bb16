"""Sun and Abraham (2021) interaction-weighted event study and event_study with covariates.

Cross-checks: the cohort x event-time regression against pyfixest 0.60.0's
`i(rel_time, cohort, ref=-1, ref2=0)` (the regression pyfixest's SaturatedEventStudy fits, with
never-treated cohort 0 as the control), estimates to 1e-6 and the interaction-weighted averages'
SEs from pyfixest's covariance (ssc "fixest" = pyfixest's default); recovery of heterogeneous
dynamic effects where the dummies event study is biased; event_study with respondent covariates
against pyfixest on the respondents.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from wijkeffect.models import api, get_model
from wijkeffect.models.tidy import Context

pf = pytest.importorskip("pyfixest")


def feols(fml, data, weights, cluster):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=data, weights=weights, vcov={"CRV1": cluster}, fixef_rm="none", fixef_tol=1e-12)


def staggered_panel(seed: int = 1, n: int = 60) -> pd.DataFrame:
    """Units in 3 cohorts (2003, 2005, 2007) + never treated; the effect grows with time since start,
    faster for early cohorts (heterogeneity that biases the dummies event study)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n):
        g = [2003, 2005, 2007, 0][u % 4]
        for t in range(2000, 2010):
            e = t - g if g else None
            effect = 0.0 if g == 0 or e < 0 else (0.3 if g == 2003 else 0.1) * (e + 1)
            rows.append(dict(unit=u, t=t, g=g, w=float(rng.uniform(0.5, 2)),
                             y=0.05 * u + 0.1 * (t - 2000) + effect + rng.normal(0, 0.1)))
    return pd.DataFrame(rows)


def test_sunab_matches_pyfixest_interactions_and_weights():
    d = staggered_panel()
    fit = api.event_study(d, "y", "t", "unit", "g", weightsname="w", method="sunab")
    e = api.event_time(d, "t", "g")
    dd = d.assign(rel=e.fillna(-1).astype(int))
    ref = feols("y ~ i(rel, g, ref=-1, ref2=0) | unit + t", dd, "w", "unit")
    coef, vcov = ref.coef(), ref._vcov
    # cohort x event-time coefficients
    det = fit.detail.set_index(["g", "e"])
    for i, name in enumerate(coef.index):
        rel = int(name.split("::")[1].split(":")[0])
        g = float(name.split("::")[2])
        assert det.loc[(g, rel), "estimate"] == pytest.approx(coef.iloc[i], rel=1e-6)
    assert len(det) == len(coef)
    # interaction weights: each cohort's share of the weight of treated rows at that event time
    treated = dd[(dd["g"] > 0) & (dd["rel"] != -1)]
    share = treated.groupby(["rel", "g"])["w"].sum() / treated.groupby("rel")["w"].sum()
    tidy = fit.tidy().set_index("term")
    for rel in sorted(treated["rel"].unique()):
        r = np.array([share.get((rel, int(n_.split("::")[2])), 0.0) if int(n_.split("::")[1].split(":")[0]) == rel
                      else 0.0 for n_ in coef.index])
        assert tidy.loc[f"k={rel}", "estimate"] == pytest.approx(r @ coef.to_numpy(), rel=1e-6)
        assert tidy.loc[f"k={rel}", "std_error"] == pytest.approx(np.sqrt(r @ vcov @ r), rel=1e-6)


def test_sunab_recovers_heterogeneous_dynamic_effects():
    d = staggered_panel(seed=3, n=120)
    sa = api.event_study(d, "y", "t", "unit", "g", method="sunab").tidy().set_index("term")
    # truth: e = 2 cohorts 2003 (0.9), 2005 (0.3), 2007 (0.3), equal shares -> 0.5; e = 4 cohorts 2003 (1.5)
    # and 2005 (0.5) -> 1.0; e = 5 cohort 2003 alone (1.8); leads 0
    for term, truth in {"k=2": 0.5, "k=4": 1.0, "k=5": 1.8, "k=-3": 0.0, "k=-5": 0.0}.items():
        assert abs(sa.loc[term, "estimate"] - truth) < 3 * sa.loc[term, "std_error"], term
    # the dummies event study mixes cohorts through forbidden comparisons: spurious leads
    tw = api.event_study(d, "y", "t", "unit", "g").tidy().set_index("term")
    assert abs(tw.loc["k=-5", "estimate"]) > 5 * tw.loc["k=-5", "std_error"]


def test_sunab_drops_always_treated_cohorts():
    d = staggered_panel()
    d.loc[d["unit"] % 4 == 3, "g"] = 1999  # the never-treated become always treated ...
    d = pd.concat([d, staggered_panel(seed=9).query("g == 0").assign(unit=lambda x: x["unit"] + 1000)])
    fit = api.event_study(d, "y", "t", "unit", "g", method="sunab")
    assert 1999.0 not in set(fit.detail["g"])  # ... and leave the estimation


def test_event_study_with_respondent_covariates_matches_pyfixest():
    """The pipeline's event_study with covariates runs on respondents (survey weights), cohorts from cells."""
    from tests.test_ssc import cells_of, respondents

    r = respondents(seed=11, n_wijk=30)
    c = cells_of(r)
    ctx = Context("t", "GM0001", "y")
    rows = {x["term"]: x for x in get_model("event_study")(c, ctx, resp=r, covariates=["age", "sex"])}
    first = c[c["D"] > 0].groupby("wijk_code")["wave"].min()
    waves = np.sort(c["wave"].unique())
    pos = pd.Series(np.arange(len(waves)), index=waves)
    k = (r["wave"].map(pos) - r["wijk_code"].map(first).map(pos)).fillna(-1).astype(int)
    ref = feols("y ~ i(k, ref=-1) + age + C(sex) | wijk_code + wave", r.assign(k=k), "weight", "wijk_code")
    for name, b in ref.coef().items():
        if name.startswith("C(k") or name.startswith("k::"):
            v = int(name.split("::")[1])
            assert rows[f"k={v}"]["estimate"] == pytest.approx(b, rel=1e-6)
            assert rows[f"k={v}"]["std_error"] == pytest.approx(ref.se()[name], rel=1e-6)
    assert rows["k=0"]["covariates"] == "age+sex"
    assert "pretrend_wald" in rows


def test_pipeline_event_study_sunab_on_cells():
    from tests.test_ssc import cells_of, respondents

    c = cells_of(respondents(seed=2, n_wijk=30))
    rows = get_model("event_study")(c, Context("t", "GM0001", "y"), method="sunab")
    terms = [x["term"] for x in rows]
    assert "att" in terms and "pretrend_wald" in terms
    assert all("Sun-Abraham" in x["weights"] for x in rows)
