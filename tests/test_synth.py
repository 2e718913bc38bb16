"""Synthetic control and synthetic DiD against diff-diff (a second implementation), known truth, and the demo."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.synth import sdid_estimate, sdid_placebo_se, synth, synth_paths, synthetic_control
from wijkeffect.models.tidy import Context, tidy_frame


def _factor_panel(seed: int, n0=25, n1=3, t0=4, t1=3, tau=-0.03):
    rng = np.random.default_rng(seed)
    n, t = n0 + n1, t0 + t1
    alpha, f, load = rng.normal(0, 0.05, n), rng.normal(0, 0.02, t), rng.normal(1, 0.5, n)
    y = 0.3 + alpha[:, None] + load[:, None] * f[None, :] + rng.normal(0, 0.01, (n, t))
    y[n0:, t0:] += tau
    long = pd.DataFrame([dict(unit=i, period=s, y=y[i, s], treated=int(i >= n0), D=int(i >= n0 and s >= t0))
                         for i in range(n) for s in range(t)])
    return y, long


@pytest.mark.parametrize("seed", [0, 1])
def test_sdid_matches_diff_diff(seed):
    from diff_diff import SyntheticDiD

    y, long = _factor_panel(seed)
    tau, om, lam = sdid_estimate(y, 25, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SyntheticDiD(seed=1, n_bootstrap=20).fit(long, outcome="y", treatment="treated", unit="unit",
                                                      time="period", post_periods=[4, 5, 6])
    assert tau == pytest.approx(ref.att, abs=1e-9)
    assert om.sum() == pytest.approx(1) and lam.sum() == pytest.approx(1)


def test_synthetic_control_matches_diff_diff():
    from diff_diff import SyntheticControl

    y, long = _factor_panel(2)
    fit = synthetic_control(y[25], y[:25].T, 4)
    one = long[(long["unit"] < 25) | (long["unit"] == 25)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SyntheticControl(v_method="custom", custom_v=np.ones(4), standardize="none").fit(
            one, outcome="y", treatment="D", unit="unit", time="period", pre_period_outcomes=[0, 1, 2, 3])
    assert fit.effect == pytest.approx(ref.att, abs=1e-7)
    w_ref = np.array([ref.donor_weights.get(j, 0.0) for j in range(25)])
    np.testing.assert_allclose(fit.weights, w_ref, atol=1e-5)
    assert fit.ratio == pytest.approx(ref.rmspe_ratio, rel=1e-5)


def test_known_effect_is_recovered_and_placebo_inference_behaves():
    taus = [sdid_estimate(_factor_panel(s, tau=-0.04)[0], 25, 4)[0] for s in range(10)]
    assert np.mean(taus) == pytest.approx(-0.04, abs=0.006)
    y, _ = _factor_panel(5, tau=-0.04)
    se = sdid_placebo_se(y, 25, 4, reps=30, seed=1)
    assert 0.002 < se < 0.03
    # with 8 pre-periods (few exact pre-fits among the placebos) a large effect ranks at the top
    yb = _factor_panel(6, t0=8, tau=-0.3)[0]
    big = synthetic_control(yb[25], yb[:25].T, 8)
    assert big.p_value <= 2 / 26
    nulls = [synthetic_control(*(lambda y: (y[25], y[:25].T))(_factor_panel(s, t0=8, tau=0.0)[0]), 8).p_value
             for s in range(8)]
    assert np.mean(np.array(nulls) <= 0.1) <= 0.3


def test_demo_single_and_three_wijken_rows_and_figures(demo_panel, tmp_path):
    from wijkeffect.figures.synth import placebo_ratio_plot, synth_plot

    _, _, cells = demo_panel
    gm = sorted(cells["gemeente_code"].unique())[-1]
    city = cells[cells["gemeente_code"] == gm]
    ctx = Context("demo", gm, "smoker", seed=3)
    first = city[(city["role"] == "treated") & (city["D"] > 0)].groupby("wijk_code")["wave"].min()
    early = sorted(first[first == first.min()].index)
    assert len(early) >= 3
    one = tidy_frame(synth(city, ctx, wijken=early[:1], reps=20))
    assert list(one["term"]) == [f"sc:{early[0]}", "sdid"]
    assert 0 < one["p_value"].iloc[0] <= 1 and one["ci_low"].iloc[1] < one["estimate"].iloc[1] < one["ci_high"].iloc[1]
    three = tidy_frame(synth(city, ctx, wijken=early[:3], reps=20))
    assert len(three) == 4 and three["term"].str.startswith("sc:").sum() == 3
    fit = synth_paths(city, "smoker", early[0])
    assert fit.weights.sum() == pytest.approx(1) and fit.placebo_gaps.shape[1] == len(fit.waves)
    paths = synth_plot(fit, "smoker", "Demo", tmp_path / "synth", language="nl")
    paths += placebo_ratio_plot(fit, tmp_path / "placebo")
    assert all(p.exists() for p in paths)


def test_bad_input_is_named(demo_panel):
    _, _, cells = demo_panel
    ctx = Context("demo", "x", "smoker")
    with pytest.raises(WijkeffectError, match="WK999999"):
        synth(cells, ctx, wijken=["WK999999"])
