"""Cleaning: codebook application, scoring, row accounting, and errors that name file, column and value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from wijkeffect.clean import Thresholds, clean_wave
from wijkeffect.codebook import load_codebook
from wijkeffect.errors import WijkeffectError

from .conftest import DEMO_WAVES


def _codebook(tmp: Path, data_file: Path, columns: dict, scores: dict | None = None, **extra) -> Path:
    cb = {"source": "t", "wave": 2020, "file": str(data_file), "columns": columns, **extra}
    if scores:
        cb["scores"] = scores
    path = tmp / "codebook.yaml"
    path.write_text(yaml.safe_dump(cb, sort_keys=False))
    return path


BASE_COLS = {"respondent_id": {"var": "id"}, "pc6": {"var": "pc"}, "weight": {"var": "w"},
             "age": {"var": "age", "missing": [999], "range": [18, 110]},
             "smoker": {"var": "smk", "recode": {1: 1, 2: 0}, "missing": [9]}}


def _frame(n=6):
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "pc": ["1234AB"] * n, "w": [1.0] * n,
                         "age": [30.0, 40, 999, 55, 61, 70][:n], "smk": [1.0, 2, 9, 1, 2, 2][:n]})


def _sav(tmp: Path, df: pd.DataFrame, labels=None) -> Path:
    path = tmp / "wave.sav"
    pyreadstat.write_sav(df, path, variable_value_labels=labels or {"smk": {1: "ja", 2: "nee", 9: "onbekend"}})
    return path


# ----------------------------------------------------------------------------- demo waves
def test_every_demo_wave_accounts_for_every_row(demo_cleaned):
    for df, log in demo_cleaned:
        assert log.rows_in == log.rows_out + sum(log.exclusions.values())
        assert len(df) == log.rows_out > 2000


def test_demo_waves_match_the_schema(demo_cleaned):
    from wijkeffect.schema import COLUMNS

    for df, _ in demo_cleaned:
        assert list(df.columns) == list(COLUMNS)
        assert df["respondent_id"].is_unique
        assert set(df["psych_instrument"].dropna().unique()) <= {"K10", "MHI-5"}
        assert df["weight"].gt(0).all()
        assert df["interview_date"].dt.year.eq(df["wave"]).all()
        for col in ("smoker", "psych_distress", "walking"):
            assert set(df[col].dropna().unique()) <= {0, 1}
            assert 0 < df[col].isna().mean() < 0.05  # missing codes became missing, not 9 or 99


def test_instrument_follows_the_scheme(demo_cleaned):
    by_wave = {int(df["wave"].iloc[0]): df for df, _ in demo_cleaned}
    assert by_wave[2005]["psych_instrument"].dropna().eq("MHI-5").all()
    assert by_wave[2013]["psych_instrument"].dropna().eq("K10").all()


def test_outcomes_agree_with_the_generator_truth(root, demo_cleaned):
    """The demo's items were generated so the definitions reproduce the latent outcome exactly."""
    raw, _ = pyreadstat.read_sav(root / "data/raw/demo/monitor_2011.sav", user_missing=True)
    df = next(d for d, _ in demo_cleaned if d["wave"].iloc[0] == 2011)
    items = raw[[f"GGADA2{j:02d}" for j in range(1, 11)]].replace(9, np.nan)
    full = items.notna().all(axis=1).to_numpy()
    k10 = items.sum(axis=1).to_numpy()[full]
    merged = df.set_index("respondent_id").loc[raw["VOLGNR"][full], "psych_score"].to_numpy(float)
    np.testing.assert_allclose(merged, k10)


# ----------------------------------------------------------------------------- scoring
def test_k10_scoring_with_prorating(tmp_path):
    items = {f"k{j}": [1, 5, 3, 9][:4] for j in range(10)}
    df = pd.DataFrame({**_frame(4), **items})
    df.loc[0, "k0"] = 9  # one missing item: prorated from the other nine
    df.loc[3, ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"]] = [3, 3, 3, 3, 3, 3, 3, 3, 9, 9]
    path = _codebook(tmp_path, _sav(tmp_path, df), BASE_COLS,
                     {"psych": {"instrument": "K10", "items": [f"k{j}" for j in range(10)], "missing": [9],
                                "max_missing": 1}})
    out, _ = clean_wave(load_codebook(path), Thresholds(k10_high=30))
    assert out["psych_score"].tolist()[:3] == [10.0, 50.0, 30.0]
    assert pd.isna(out["psych_score"].iloc[3])  # two items missing: more than max_missing
    assert out["psych_distress"].tolist()[:3] == [0, 1, 1]
    assert out["psych_instrument"].tolist()[:3] == ["K10"] * 3


def test_mhi5_scoring_reverses_positive_items(tmp_path):
    # all answers 'voortdurend' (1): nervous/down all the time but also calm/happy all the time
    df = pd.DataFrame({**_frame(2), **{f"m{j}": [1.0, 6.0] for j in range(1, 6)}})
    path = _codebook(tmp_path, _sav(tmp_path, df), BASE_COLS,
                     {"psych": {"instrument": "MHI-5", "items": [f"m{j}" for j in range(1, 6)],
                                "reverse": ["m3", "m5"]}})
    out, _ = clean_wave(load_codebook(path), Thresholds(mhi5_low=60))
    # health-direction scores: row 0 = 1,1,6,1,6 -> sum 15 -> (15-5)/25*100 = 40; row 1 = 6,6,1,6,1 -> 60
    assert out["psych_score"].tolist() == [40.0, 80.0 - 20.0]
    assert out["psych_distress"].tolist() == [1, 0]


def test_walking_minutes_from_days_times_minutes(tmp_path):
    df = pd.DataFrame({**_frame(3), "d": [0.0, 2, 99], "m": [0.0, 20, 30]})
    path = _codebook(tmp_path, _sav(tmp_path, df), BASE_COLS,
                     scores={"walk_min_week": {"expr": "d * m", "vars": ["d", "m"], "missing": {"d": [99]}}})
    out, _ = clean_wave(load_codebook(path), Thresholds(walking_min_week=30))
    assert out["walk_min_week"].tolist()[:2] == [0.0, 40.0] and pd.isna(out["walk_min_week"].iloc[2])
    assert out["walking"].tolist()[:2] == [0, 1]


def test_exclude_policy_counts_rows(tmp_path):
    df = _frame()
    df.loc[1, "age"] = 7  # out of range
    cols = {**BASE_COLS, "age": {"var": "age", "missing": [999], "range": [18, 110], "invalid": "exclude"}}
    out, log = clean_wave(load_codebook(_codebook(tmp_path, _sav(tmp_path, df), cols)))
    assert log.exclusions == {"invalid_age": 1} and len(out) == 5 and log.rows_in == 6


# ----------------------------------------------------------------------------- errors
def _error(tmp_path, df=None, cols=None, data_file=None, **extra) -> str:
    data_file = data_file or _sav(tmp_path, _frame() if df is None else df)
    with pytest.raises(WijkeffectError) as exc:
        clean_wave(load_codebook(_codebook(tmp_path, data_file, cols or BASE_COLS, **extra)))
    return str(exc.value)


def test_error_mapped_column_missing(tmp_path):
    msg = _error(tmp_path, cols={**BASE_COLS, "sex": {"var": "GESLACHT", "recode": {1: "male"}}})
    assert "wave.sav" in msg and "GESLACHT" in msg


def test_error_code_neither_labelled_nor_listed(tmp_path):
    df = _frame()
    df.loc[2, "smk"] = 7
    msg = _error(tmp_path, df)
    assert "wave.sav" in msg and "smk" in msg and "smoker" in msg and "7.0" in msg


def test_error_age_out_of_range(tmp_path):
    df = _frame()
    df.loc[0, "age"] = 250
    msg = _error(tmp_path, df)
    assert "wave.sav" in msg and "age" in msg and "250" in msg and "[18, 110]" in msg


def test_error_duplicate_ids(tmp_path):
    df = _frame()
    df.loc[3, "id"] = "r1"
    msg = _error(tmp_path, df)
    assert "wave.sav" in msg and "respondent_id" in msg and "'r1'" in msg


def test_error_unparseable_dates(tmp_path):
    df = _frame().assign(dt=["01-02-2020", "31-02-2020", "x", "03-02-2020", "04-02-2020", "05-02-2020"])
    msg = _error(tmp_path, df, {**BASE_COLS, "interview_date": {"var": "dt", "date_format": "%d-%m-%Y"}})
    assert "wave.sav" in msg and "dt" in msg and "'31-02-2020'" in msg and "%d-%m-%Y" in msg


def test_error_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    msg = _error(tmp_path, data_file=empty)
    assert "empty.csv" in msg and "empty" in msg


def test_error_truncated_sav(tmp_path):
    good = _sav(tmp_path, _frame())
    bad = tmp_path / "truncated.sav"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    msg = _error(tmp_path, data_file=bad)
    assert "truncated.sav" in msg and "SPSS" in msg


def test_error_csv_wrong_delimiter(tmp_path):
    f = tmp_path / "wave.csv"
    _frame().to_csv(f, sep=";", index=False)
    msg = _error(tmp_path, data_file=f)  # codebook says sep ',' (the default)
    assert "wave.csv" in msg and "delimiter" in msg and "';'" in msg


def test_error_misspelt_codebook_key(tmp_path):
    path = _codebook(tmp_path, _sav(tmp_path, _frame()),
                     {**BASE_COLS, "age": {"var": "age", "mising": [999]}})
    with pytest.raises(WijkeffectError) as exc:
        load_codebook(path)
    assert "codebook.yaml" in str(exc.value) and "columns/age" in str(exc.value) and "mising" in str(exc.value)


def test_csv_with_dutch_separators_cleans(tmp_path):
    f = tmp_path / "wave.csv"
    df = _frame().assign(w=[1.5, 0.5, 1.25, 1.0, 0.75, 1.0], id=[f"r,{i}" for i in range(6)])
    f.write_text(df.to_csv(sep=";", index=False, decimal=","), encoding="latin-1")
    out, log = clean_wave(load_codebook(_codebook(tmp_path, f, BASE_COLS,
                                                  read={"sep": ";", "decimal": ",", "encoding": "latin-1"})))
    assert out["weight"].tolist() == [1.5, 0.5, 1.25, 1.0, 0.75, 1.0]
    assert out["respondent_id"].tolist() == [f"r,{i}" for i in range(6)]  # text keeps its commas
    assert log.rows_out == 6


def test_all_demo_codebooks_load(root):
    for w in DEMO_WAVES:
        assert load_codebook(root / f"config/codebooks/demo/{w}.yaml").wave == w


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_excel_and_parquet_waves_clean(tmp_path, fmt):
    df = _frame()
    path = tmp_path / f"wave.{fmt}"
    df.to_excel(path, index=False) if fmt == "xlsx" else df.to_parquet(path, index=False)
    out, log = clean_wave(load_codebook(_codebook(tmp_path, path, BASE_COLS)))
    assert log.rows_out == 6 and out["smoker"].tolist()[:2] == [1, 0] and pd.isna(out["age"].iloc[2])
