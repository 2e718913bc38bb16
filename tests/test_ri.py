"""Randomisation inference: CI by test inversion (coverage, shift equivariance) and stratified reassignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.inference import randomization_ci, randomization_inference


def _cells(rng: np.random.Generator, tau: float, treated_per_city=(4, 4), city_shock: float = 0.0,
           n_wijk: int = 15, waves: int = 6, start: int = 3) -> pd.DataFrame:
    rows = []
    for c, n_tr in enumerate(treated_per_city):
        for w in range(n_wijk):
            alpha = rng.normal(0, 0.05)
            for t in range(waves):
                d = float(w < n_tr and t >= start)
                shock = city_shock * (c == 0) * (t >= start)
                rows.append(dict(gemeente_code=f"GM{c}", wijk_code=f"WK{c}{w:02d}", wave=2000 + t, D=d,
                                 n=40.0, mean=0.3 + alpha + 0.01 * t + shock + tau * d + rng.normal(0, 0.03)))
    return pd.DataFrame(rows)


def test_ci_is_shift_equivariant_and_contains_the_estimate():
    d = _cells(np.random.default_rng(1), 0.05)
    b, p, lo, hi = randomization_ci(d, "mean", "n", reps=199, seed=3)
    assert lo < b < hi
    d2 = d.assign(mean=d["mean"] + 0.1 * d["D"])
    b2, _, lo2, hi2 = randomization_ci(d2, "mean", "n", reps=199, seed=3)
    assert (b2 - b, lo2 - lo, hi2 - hi) == pytest.approx((0.1, 0.1, 0.1), abs=1e-6)
    # the p-value of 0 agrees with the plain RI p-value (same draws)
    assert p == pytest.approx(randomization_inference(d, "mean", "n", 199, seed=3)[1])


@pytest.mark.parametrize("strata", [None, "gemeente_code"])
def test_ci_coverage_on_simulated_data(strata):
    rng = np.random.default_rng(7)
    tau = 0.04
    cover = []
    for i in range(60):
        d = _cells(rng, tau)
        _, _, lo, hi = randomization_ci(d, "mean", "n", reps=99, seed=i, strata=strata)
        cover.append(lo <= tau <= hi)
    assert 0.85 <= np.mean(cover) <= 1.0


def test_stratified_reassignment_keeps_size_when_cities_differ():
    # city 0 has most treated wijken and a post-start shock of its own: permuting across cities
    # confounds the shock with treatment; permuting within city keeps the test's size
    rng = np.random.default_rng(11)
    rej_plain, rej_strat = 0, 0
    for i in range(40):
        d = _cells(rng, 0.0, treated_per_city=(8, 1), city_shock=0.04)
        rej_plain += randomization_inference(d, "mean", "n", 99, seed=i)[1] < 0.05
        rej_strat += randomization_inference(d, "mean", "n", 99, seed=i, strata="gemeente_code")[1] < 0.05
    assert rej_strat <= 5
    assert rej_plain >= 8  # 13 of 40 at these seeds; nominal would be 2


def test_bad_strata_is_named():
    d = _cells(np.random.default_rng(0), 0.0)
    with pytest.raises(WijkeffectError, match="stratum_x"):
        randomization_ci(d, "mean", "n", reps=9, strata="stratum_x")
    with pytest.raises(WijkeffectError, match="varies within wijk"):
        randomization_inference(d, "mean", "n", 9, strata="wave")


def test_each_draw_matches_a_panelols_fit_of_the_reassigned_paths():
    """The draws are computed exactly from per-(wijk, path) sums; each must equal a weighted two-way FE
    fit (linearmodels PanelOLS, entity and time effects) of y on the reassigned D paths, with
    staggered paths, absent cells and unequal weights."""
    from linearmodels.panel import PanelOLS

    from wijkeffect.models.inference import _ri_draws

    rng = np.random.default_rng(5)
    d = _cells(rng, 0.05)
    d.loc[(d["wijk_code"] == "WK001") & (d["wave"] >= 2001), "D"] = 1.0  # an earlier start
    d = d.drop(index=[3, 17, 40]).reset_index(drop=True)  # absent wijk x wave cells
    d["n"] = rng.integers(5, 60, len(d)).astype(float)
    b0, by, bd = _ri_draws(d, "mean", "n", reps=12, seed=9, strata=None)

    def fit(dcol: pd.Series, y: pd.Series) -> float:
        frame = pd.DataFrame({"y": y, "x": dcol}).set_index(pd.MultiIndex.from_frame(d[["wijk_code", "wave"]]))
        res = PanelOLS(frame["y"], frame[["x"]], entity_effects=True, time_effects=True,
                       weights=d.set_index(["wijk_code", "wave"])["n"]).fit()
        return float(res.params["x"])

    paths = d.pivot(index="wijk_code", columns="wave", values="D")
    units = paths.index.to_numpy()
    draws = np.random.default_rng(9)  # the same permutation sequence
    assert b0 == pytest.approx(fit(d["D"], d["mean"]), abs=1e-10)
    for r in range(12):
        perm = draws.permutation(units.size)
        moved = paths.iloc[perm].set_axis(units)  # wijk u gets the path of wijk perm[u]
        x = np.nan_to_num(moved.stack(future_stack=True).reindex(pd.MultiIndex.from_frame(d[["wijk_code", "wave"]])).to_numpy())
        x = pd.Series(x, index=d.index)
        assert by[r] == pytest.approx(fit(x, d["mean"]), abs=1e-10)
        assert bd[r] == pytest.approx(fit(x, d["D"]), abs=1e-10)
