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
