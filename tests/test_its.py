"""Interrupted time series: against statsmodels' GLM on the tutorial's design, known truth, and the demo.

No printed numbers of Lopez Bernal, Cummins & Gasparrini (2017, IJE 46:348) could be verified
offline, so (as the issue's fallback) the fit is checked against statsmodels GLM on the same design
matrix: the tutorial's model 4 (step + slope change centred on the last pre-period month, two
harmonic pairs of period 12, quasi-Poisson, log population offset) on a seeded Sicily-like series
of 59 months with the ban at month 37, and by simulation with known rate ratios.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.its import its, its_design, its_fit, rate_ratio
from wijkeffect.models.tidy import Context, tidy_frame


def _series(rng, rr_step=0.88, rr_slope=1.0, n=59, start=37, ar=0.0, overdisp=0.0):
    t = np.arange(1, n + 1, dtype=float)
    month = (t - 1) % 12 + 1
    pop = 380000 + 200 * t + rng.normal(0, 1500, n)
    x, names = its_design(t, start, season=month, harmonics=2)
    beta = np.r_[np.log(2.1e-3), 0.004, np.log(rr_step), np.log(rr_slope), 0.03, -0.02, 0.05, 0.01]
    e = np.zeros(n)
    for i in range(n):
        e[i] = (ar * e[i - 1] if i else 0) + rng.normal(0, overdisp)
    mu = np.exp(x @ beta + np.log(pop) + e)
    return rng.poisson(mu).astype(float), x, names, pop, t, month


@pytest.mark.parametrize("family", ["poisson", "quasipoisson"])
def test_matches_statsmodels_glm_on_the_tutorial_design(family):
    y, x, names, pop, *_ = _series(np.random.default_rng(2017), overdisp=0.03)
    fit = its_fit(y, x, names, family, offset=np.log(pop))
    ref = sm.GLM(y, x, family=sm.families.Poisson(), offset=np.log(pop)).fit(
        scale="X2" if family == "quasipoisson" else 1.0)
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.se(), ref.bse, rtol=1e-6)
    assert fit.dispersion == pytest.approx(ref.scale, rel=1e-8)
    assert names[:4] == ["intercept", "time", "step", "slope_change"]


def test_gaussian_matches_statsmodels_wls():
    rng = np.random.default_rng(4)
    t = np.arange(20.0)
    x, names = its_design(t, 12)
    w = rng.uniform(0.5, 2, t.size)
    y = x @ np.r_[0.3, 0.01, -0.05, 0.004] + rng.normal(0, 0.01, t.size) / np.sqrt(w)
    fit = its_fit(y, x, names, "gaussian", weights=w)
    ref = sm.WLS(y, x, weights=w).fit()
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.se(), ref.bse, rtol=1e-8)


def test_known_rate_ratios_are_recovered_with_nominal_coverage():
    rng = np.random.default_rng(11)
    cover, est = [], []
    for _ in range(200):
        y, x, names, pop, *_ = _series(rng, rr_step=0.88, rr_slope=0.995, overdisp=0.02)
        fit = its_fit(y, x, names, "quasipoisson", offset=np.log(pop))
        rr, lo, hi = rate_ratio(fit, "step")
        est.append(np.log(rr))
        cover.append(lo <= 0.88 <= hi)
    assert np.exp(np.mean(est)) == pytest.approx(0.88, abs=0.01)
    assert 0.90 <= np.mean(cover) <= 0.99


def test_lag1_autocorrelation_is_flagged():
    rng = np.random.default_rng(5)
    dw_iid, dw_ar, bg_iid, bg_ar = [], [], [], []
    for _ in range(30):
        fit = its_fit(*_series(rng, overdisp=0.04)[:3], "quasipoisson", offset=np.log(_series(rng)[3]))
        dw_iid.append(fit.durbin_watson)
        bg_iid.append(fit.bg_p < 0.05)
        y, x, names, pop, *_ = _series(rng, ar=0.8, overdisp=0.04)
        fit = its_fit(y, x, names, "quasipoisson", offset=np.log(pop))
        dw_ar.append(fit.durbin_watson)
        bg_ar.append(fit.bg_p < 0.05)
    assert np.mean(dw_ar) < 1.3 < np.mean(dw_iid)
    assert np.mean(bg_ar) > 0.6 and np.mean(bg_iid) < 0.2


def test_runs_on_the_demo_for_a_group_one_wijk_and_three_wijken(demo_panel):
    _, _, cells = demo_panel
    ctx = Context("demo", "ALL", "smoker", seed=1)
    treated = sorted(cells.loc[(cells["role"] == "treated") & (cells["group"] == "krachtwijk"), "wijk_code"].unique())
    early = [w for w in treated
             if cells.loc[(cells["wijk_code"] == w) & (cells["D"] > 0), "wave"].min() == 2009]
    group = tidy_frame(its(cells, ctx, wijken=early))
    assert {"step", "step_rr", "slope_change_rr", "durbin_watson", "breusch_godfrey_lag1"} <= set(group["term"])
    rr = group.set_index("term").loc["step_rr"]
    assert rr["ci_low"] < rr["estimate"] < rr["ci_high"] and rr["estimate"] > 0
    one = tidy_frame(its(cells, ctx, wijken=early[:1], per_wijk=True))
    assert one["term"].str.startswith(early[0] + ":").all()
    three = tidy_frame(its(cells, ctx, wijken=early[:3], per_wijk=True, family="gaussian"))
    assert three["term"].str.split(":").str[0].nunique() == 3
    assert not three["term"].str.endswith("_rr").any()


def test_bad_input_is_named():
    t = np.arange(10.0)
    x, names = its_design(t, 5)
    with pytest.raises(WijkeffectError, match="family"):
        its_fit(np.ones(10), x, names, "binomial")
    with pytest.raises(WijkeffectError, match="season"):
        its_design(t, 5, harmonics=1)
    with pytest.raises(WijkeffectError, match="time points"):
        its_fit(np.ones(4), x[:4], names)
