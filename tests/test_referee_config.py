"""Issue 11: the interrupted time series and synthetic control run from config on the demo, for a single
wijk and for the three-wijk case, and write rows of the tidy contract (via the estimate stage's call)."""

from __future__ import annotations

import numpy as np
import pytest

from wijkeffect import stages
from wijkeffect.models.tidy import RESULT_COLUMNS


@pytest.fixture(scope="module")
def demo_cells(demo_panel):
    return demo_panel[2]


@pytest.mark.parametrize("n_wijken", [1, 3])
def test_its_and_synth_from_config_on_the_demo(demo_cells, n_wijken):
    city = "GM9902"
    c = demo_cells[demo_cells["gemeente_code"] == city]
    treated = sorted(c.loc[(c["role"] == "treated") & (c["start"].dt.year == 2008), "wijk_code"].unique())
    wijken = treated[:n_wijken]
    assert len(wijken) == n_wijken
    options = {"its": {"wijken": wijken, "family": "gaussian"}, "synth": {"wijken": wijken, "reps": 50}}
    rows = stages.estimate_outcome("demo", city, "smoker", c, None, ["its", "synth"], 7, options, {})
    assert list(rows.columns) == RESULT_COLUMNS
    assert set(rows["model"]) == {"its", "synth"}
    main = rows[rows["estimate"].notna()]
    assert np.isfinite(main["estimate"]).all() and len(main) >= 2
    assert (rows["seed"] == 7).all() and (rows["city"] == city).all()
