"""Continuous outcomes through panel.build_cells: a real standard error (weighted SD / sqrt(n_eff)), no warning."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from wijkeffect.panel import build_cells


def _resp(seed=0):
    rng = np.random.default_rng(seed)
    n = 400
    return pd.DataFrame({"gemeente_code": "GM0001", "wijk_code": rng.choice(["WK01", "WK02", "WK03"], n),
                         "wave": rng.choice([2020, 2022], n), "role": "control", "group": pd.NA, "start": pd.NaT,
                         "post": 0, "weight": rng.uniform(0.2, 4.0, n),
                         "bmi": rng.normal(26, 4, n), "smoker": rng.integers(0, 2, n).astype(float)})


def test_continuous_cell_se_is_the_weighted_sd_over_root_n_eff():
    """Reference: statsmodels DescrStatsW (weighted mean and SD, ddof=0) and Kish's n_eff = (sum w)^2 / sum w^2."""
    from statsmodels.stats.weightstats import DescrStatsW

    r = _resp()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (the old formula took sqrt of a negative number)
        cells = build_cells(r, ["bmi"])
    assert cells["se"].notna().all()
    for _, c in cells.iterrows():
        s = r[(r["wijk_code"] == c["wijk_code"]) & (r["wave"] == c["wave"])]
        ds = DescrStatsW(s["bmi"].to_numpy(), weights=s["weight"].to_numpy(), ddof=0)
        n_eff = s["weight"].sum() ** 2 / (s["weight"] ** 2).sum()
        assert c["mean"] == pytest.approx(ds.mean, rel=1e-12)
        assert c["se"] == pytest.approx(ds.std / np.sqrt(n_eff), rel=1e-10)
        assert 0.1 < c["se"] < 2  # SD 4, n_eff in the tens


def test_binary_cell_se_is_unchanged():
    """For a 0/1 outcome the same formula is sqrt(p (1 - p) / n_eff), the previous one."""
    cells = build_cells(_resp(1), ["smoker"])
    np.testing.assert_allclose(cells["se"], np.sqrt(cells["mean"] * (1 - cells["mean"]) / cells["n_eff"]), rtol=1e-10)


def test_twfe_runs_on_continuous_cells():
    from wijkeffect.models import get_model
    from wijkeffect.models.tidy import Context

    r = _resp(2)
    wk = r["wijk_code"].to_numpy()
    extra = r.copy()
    extra["wijk_code"] = np.where(wk == "WK01", "WK04", "WK05")  # two treated wijken, treated in 2022
    extra["role"] = "treated"
    extra["post"] = (extra["wave"] == 2022).astype(int)
    extra["bmi"] = extra["bmi"] - 1.0 * extra["post"]
    cells = build_cells(pd.concat([r, extra], ignore_index=True), ["bmi"])
    row = get_model("twfe")(cells, Context("s", "GM0001", "bmi"))[0]
    assert np.isfinite(row["std_error"]) and row["std_error"] > 0
