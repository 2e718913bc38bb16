"""MDE (Burlig, Preonas & Woerman 2020) checked by simulation, by BPW's own form, and on the demo cells."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from wijkeffect import power as P
from wijkeffect.errors import WijkeffectError

# strong, lag-varying serial correlation of wijk-wave effects: a constant-correlation shortcut is wrong here
DESIGN = P.Design(n_treated=10, n_control=30, n_per_cell=36, pre=3, post=3, var_y=0.25 * 0.75, icc=0.03,
                  lag_corr=(0.7, 0.4, 0.2), deff=1.3)


def test_bpw_formula_equals_quadratic_form():
    # BPW (2020) eq. in terms of s2, psi_B, psi_A, psi_X; P(1-P)J = 1 / (1/J_T + 1/J_C)
    for d in (DESIGN, replace(DESIGN, pre=5, post=2, lag_corr=(0.9, -0.1))):
        c = P.bpw_components(d)
        m, r = d.pre, d.post
        bracket = (m + r) / (m * r) * c["s2"] + (m - 1) / m * c["psi_B"] + (r - 1) / r * c["psi_A"] - 2 * c["psi_X"]
        assert P.did_variance(d) == pytest.approx(bracket * (1 / d.n_treated + 1 / d.n_control), rel=1e-12)


def test_serial_correlation_changes_the_mde():
    flat = replace(DESIGN, lag_corr=(0.4,))  # one correlation for every lag
    assert P.mde(DESIGN) != pytest.approx(P.mde(flat), rel=1e-3)
    assert P.mde(replace(DESIGN, n_per_cell=144)) < P.mde(DESIGN)


@pytest.mark.parametrize("design", [DESIGN, replace(DESIGN, n_treated=5, n_control=20, pre=2, post=4,
                                                   lag_corr=(0.3,), icc=0.05)])
def test_power_at_the_mde_is_80_percent_by_simulation(design):
    m = P.mde(design)
    power = P.simulate_power(design, m, reps=400, seed=11)
    assert 0.75 <= power <= 0.85
    assert P.simulate_power(design, 0.0, reps=400, seed=12) < 0.10  # size


def _simulated_cells(d: P.Design, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t, j = d.pre + d.post, d.n_treated + d.n_control
    u = rng.multivariate_normal(np.zeros(t), d.cell_cov() - np.eye(t) * (1 - d.icc) * d.var_y * d.deff / d.n_per_cell,
                                size=j)
    samp_var = (1 - d.icc) * d.var_y * d.deff / d.n_per_cell
    y = 0.3 + u + rng.normal(0, np.sqrt(samp_var), size=(j, t))
    wijk, wave = np.repeat(np.arange(j), t), np.tile(np.arange(2000, 2000 + t), j)
    treated = wijk < d.n_treated
    return pd.DataFrame(dict(outcome="y", gemeente_code="GM1", wijk_code=[f"WK{w:03d}" for w in wijk], wave=wave,
                             role=np.where(treated, "treated", "control"), n=d.n_per_cell,
                             n_eff=d.n_per_cell / d.deff, mean=y.ravel(), se=np.sqrt(samp_var),
                             D=(treated & (wave >= 2000 + d.pre)).astype(float)))


def test_design_from_cells_recovers_the_components():
    truth = replace(DESIGN, n_treated=20, n_control=400, icc=0.05)
    cells = _simulated_cells(truth, seed=5)
    # se^2 * n_eff = within-cell variance, as panel.build_cells defines se for proportions
    cells["se"] = np.sqrt((1 - truth.icc) * truth.var_y / cells["n_eff"])
    est = P.design_from_cells(cells, "y")
    assert (est.n_treated, est.n_control, est.pre, est.post) == (20, 400, 3, 3)
    assert est.deff == pytest.approx(1.3)
    assert est.icc == pytest.approx(truth.icc, abs=0.015)
    assert est.lag_corr[0] == pytest.approx(0.7, abs=0.15)
    assert P.mde(est) == pytest.approx(P.mde(truth), rel=0.2)


def test_demo_mde_table_cli_and_figure(demo_panel, tmp_path):
    _, _, cells = demo_panel
    path = tmp_path / "cells.parquet"
    cells.to_parquet(path)
    P.main(["--cells", str(path), "--out", str(tmp_path / "mde.csv"), "--figure", str(tmp_path / "mde")])
    t = pd.read_csv(tmp_path / "mde.csv")
    assert set(t["outcome"]) == set(cells["outcome"])
    assert (t["mde"] > 0).all() and t["study_design"].sum() == t["outcome"].nunique()
    one = t[(t["outcome"] == "smoker")]
    assert one.groupby("n_per_cell")["mde"].apply(lambda s: s.is_monotonic_decreasing).all()
    assert (tmp_path / "mde_smoker.png").exists()
    written = P.write_outputs(cells, tmp_path / "stage", language="nl")
    assert {p.name for p in written} >= {"mde_smoker.csv", "mde_walking.svg", "mde_psych_distress.pdf"}
    np.testing.assert_allclose(pd.read_csv(tmp_path / "stage/mde_smoker.csv")["mde"], one["mde"], rtol=1e-9)


def test_bad_design_is_named():
    with pytest.raises(WijkeffectError, match="n_treated"):
        P.did_variance(replace(DESIGN, n_treated=0))
    with pytest.raises(WijkeffectError, match="outcome"):
        P.design_from_cells(_simulated_cells(DESIGN, 1), "smoker")
