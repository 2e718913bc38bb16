"""Bring your own wave: a CSV in a layout the demo never uses goes through the whole pipeline
by adding a codebook and a config entry only (README, "Bring your own waves")."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest
import yaml

from .test_workflow import copy_project, snakemake

pytestmark = pytest.mark.e2e

CODEBOOK = """
source: gemeente_x
wave: 2015
file: data/raw/gemeente_x/gezondheid_2015.csv
read: {sep: ";", decimal: ",", encoding: latin-1}
columns:
  respondent_id: {var: RESPID}
  interview_date: {var: DATUM, date_format: "%Y-%m-%d"}
  pc6: {var: PCODE}
  weight: {var: GEWICHT}
  age: {var: LEEFTIJD, missing: [-1], range: [18, 110]}
  sex: {var: GESLACHT, recode: {M: male, V: female}, missing: ["?"]}
  education: {var: OPL, recode: {L: low, M: middle, H: high}, missing: ["?"]}
  migration_background: {var: HERKOMST, recode: {NL: dutch, W: western, NW: non_western}, missing: ["?"]}
  survey_mode: {value: cawi}
  smoker: {var: ROKER, recode: {ja: 1, nee: 0}, missing: ["?"]}
scores:
  psych:
    instrument: K10
    items: [K01, K02, K03, K04, K05, K06, K07, K08, K09, K10]
    missing: [99]
    max_missing: 1
  walk_min_week:
    expr: WANDELUUR_PW * 60
    vars: [WANDELUUR_PW]
"""


def _csv_wave(root, dst):
    """The demo's 2013 respondents re-expressed in another municipality's export layout, as 2015."""
    raw, _ = pyreadstat.read_sav(root / "data/raw/demo/monitor_2013.sav", user_missing=True)
    text = lambda s, m: s.map(m).fillna("?")  # noqa: E731
    date = pd.to_datetime(raw["AFNAMEDATUM"], format="%d-%m-%Y") + pd.DateOffset(years=2)
    minutes = (raw["LFWAD401"].where(raw["LFWAD401"] < 99) * raw["LFWAM401"].where(raw["LFWAM401"] < 999))
    df = pd.DataFrame({
        "RESPID": "X" + raw["VOLGNR"].str.replace("2013-", "", regex=False),
        "DATUM": date.dt.strftime("%Y-%m-%d"),
        "PCODE": raw["POSTCODE"].str.lower(),
        "GEWICHT": raw["ewGGD"].round(3),
        "LEEFTIJD": raw["AGLFA401"].where(raw["AGLFA401"] != 99, -1).astype(int),
        "GESLACHT": text(raw["AGGSA401"], {1: "M", 2: "V"}),
        "OPL": text(raw["AGOWA401"], {1: "L", 2: "M", 3: "H"}),
        "HERKOMST": text(raw["AGHKA401"], {1: "NL", 2: "W", 3: "NW"}),
        "ROKER": text(raw["LFRKA403"], {0: "nee", 1: "ja"}),
        **{f"K{j:02d}": raw[f"GGADA2{j:02d}"].replace(9, 99).astype(int) for j in range(1, 11)},
        "WANDELUUR_PW": (minutes / 60).round(4),
    })
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "w", encoding="latin-1", newline="") as fh:
        df.to_csv(fh, sep=";", decimal=",", index=False)
    return df


def test_a_csv_wave_goes_through_the_whole_pipeline(root, tmp_path):
    work = copy_project(root, tmp_path)
    src = _csv_wave(root, work / "data/raw/gemeente_x/gezondheid_2015.csv")
    # only configuration is added: a codebook and a config entry
    (work / "config/codebooks/gemeente_x").mkdir()
    (work / "config/codebooks/gemeente_x/2015.yaml").write_text(CODEBOOK)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["waves"] = [w for w in cfg["waves"] if w["wave"] in (2007, 2009)] + [
        {"source": "gemeente_x", "wave": 2015, "codebook": "config/codebooks/gemeente_x/2015.yaml"}]
    cfg.update(cities=["GM9903"], outcomes=["smoker", "psych_distress"], pooled=False)
    (work / "config/byo.yaml").write_text(yaml.safe_dump(cfg))

    res = snakemake(work, "--configfile", "config/byo.yaml")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    log = json.loads((work / "results/demo/clean/gemeente_x_2015.json").read_text())
    assert log["rows_in"] == len(src) == log["rows_out"] + sum(log["exclusions"].values())
    assert log["recodes"]["smoker"]["before"]["?"] == int((src["ROKER"] == "?").sum())
    acc = pd.read_csv(work / "results/demo/panel_accounting.csv")
    row = acc[acc["source"] == "gemeente_x"].iloc[0]
    assert row["rows_in"] == log["rows_out"]
    assert row["rows_in"] == row["rows_out"] + row.drop(["source", "wave", "rows_in", "rows_out"]).sum()
    cells = pd.read_parquet(work / "data/processed/demo/wijk_period.parquet")
    assert 2015 in set(cells["wave"])
    cleaned = pd.read_parquet(work / "data/processed/waves/gemeente_x/2015.parquet")
    assert cleaned["weight"].to_numpy() == pytest.approx(src["GEWICHT"].to_numpy())  # decimal commas parsed
    assert cleaned["pc6"].str.fullmatch(r"\d{4}[A-Z]{2}").fillna(True).all()
    k10 = src[[f"K{j:02d}" for j in range(1, 11)]]
    complete = (k10 != 99).all(axis=1).to_numpy()
    np.testing.assert_allclose(cleaned["psych_score"].to_numpy(float)[complete], k10[complete].sum(axis=1))
    est = pd.read_csv(work / "results/demo/estimates.csv")
    assert set(est["outcome"]) == {"smoker", "psych_distress"} and (est["city"] == "GM9903").all()
