"""A small results tree from the embedded demo, built once per test session: cells, respondents, the
balance table, and every model's tidy rows for two cities x two outcomes (few resampling draws)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
CITIES = ("GM9901", "GM9902")
OUTCOMES = ("smoker", "walking")
MODELS = ["twfe", "naive", "event_study", "twfe_individual", "segmented", "staggered"]


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory) -> dict:
    """{'dir', 'cells', 'respondents', 'balance', 'estimates'} for the demo study (paths and frames)."""
    from wijkeffect import stages
    from wijkeffect.clean import clean_wave
    from wijkeffect.codebook import load_codebook
    from wijkeffect.panel import build_cells, build_respondents
    from wijkeffect.study import load_study

    d = tmp_path_factory.mktemp("demo_results")
    frames = [clean_wave(load_codebook(ROOT / f"config/codebooks/demo/{w}.yaml"))[0]
              for w in (2005, 2006, 2007, 2009, 2011, 2013)]
    study = load_study(ROOT / "config/studies/demo.yaml")
    resp, _, balance = build_respondents(frames, study)
    cells = build_cells(resp, study.outcomes)
    cells_file, resp_file, balance_file = d / "wijk_period.parquet", d / "respondents.parquet", d / "balance.csv"
    cells.to_parquet(cells_file, index=False)
    resp.to_parquet(resp_file, index=False)
    balance.to_csv(balance_file)
    rows = []
    for city in CITIES:
        for outcome in OUTCOMES:
            rows += list(stages.estimate(
                "demo", city, outcome, str(cells_file), MODELS, 20260101, str(d / f"est_{city}_{outcome}.csv"),
                str(resp_file), {"twfe_individual": {"covariates": ["age", "sex", "education"]}},
                {"bootstrap_reps": 199, "randomization_reps": 99}).values())
    est = stages.adjust_across_outcomes(pd.concat(rows, ignore_index=True))
    est.to_csv(d / "estimates.csv", index=False)
    return {"dir": d, "cells": cells, "respondents": resp, "balance": balance, "estimates": est,
            "cells_file": cells_file, "respondents_file": resp_file, "balance_file": balance_file}
