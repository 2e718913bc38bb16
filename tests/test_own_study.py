"""Anyone's study runs the first time (issue 8): CSV waves in a layout unlike the demo's, no geometry, and a
config that gives only what the study needs. The project copy holds no demo data and no default config,
so nothing of the demo can be read."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from wijkeffect import demo, simulate

from .test_workflow import snakemake

pytestmark = pytest.mark.e2e
CODE_PARTS = ["Snakefile", "workflow", "notebooks"]  # code only: no config/, no data/raw/demo
EFFECT = -0.06  # every group, every outcome (probability scale)

CODEBOOK = """# GGD Oost-like export: Dutch CSV, own names, dd-mm-yyyy dates
source: oost
wave: {wave}
file: data/raw/oost/gezondheid_{wave}.csv
read: {{sep: ";", decimal: ",", encoding: latin-1}}
columns:
  respondent_id: {{var: RESPNR}}
  interview_date: {{var: AFNAME, date_format: "%d-%m-%Y"}}
  pc6: {{var: POSTCODE}}
  weight: {{var: WEEGFACTOR}}
  age: {{var: LFT, missing: [999], range: [16, 110]}}
  sex: {{var: GESLACHT, recode: {{man: male, vrouw: female}}, missing: [onbekend]}}
  smoker: {{var: ROOKT, recode: {{ja: 1, nee: 0}}, missing: [onbekend]}}
  psych_distress: {{var: PSYKLACHT, recode: {{1: 1, 2: 0}}, missing: [9]}}
scores:
  walk_min_week: {{expr: "WANDELUUR * 60", vars: [WANDELUUR], missing: {{WANDELUUR: [-1]}}}}
"""

CONFIG = """# only what this study needs: everything else takes the schema's defaults
study: config/oost.yaml
waves:
{waves}
"""


def _codes(s: pd.Series) -> pd.Series:
    """Move the synthetic codes into another range (GM99xx -> GM07xx), so nothing looks like the demo."""
    return s.str.replace(r"^(GM|WK|BU)99", r"\g<1>07", regex=True)


def _write_study(work) -> tuple[pd.DataFrame, list[int]]:
    spec = simulate.spec_with(EFFECT, demo.DEMO)
    r = simulate.respondents(spec, seed=424242)
    r["wijk_code"], r["gemeente_code"] = _codes(r["wijk_code"]), _codes(r["gemeente_code"])
    raw = work / "data/raw/oost"
    raw.mkdir(parents=True)
    waves = sorted(r["wave"].unique())
    rng = np.random.default_rng(7)
    for wave in waves:
        w = r[r["wave"] == wave].reset_index(drop=True)
        walk = np.where(w["walking"] == 1, rng.uniform(0.6, 5, len(w)), rng.uniform(0, 0.45, len(w)))
        df = pd.DataFrame({
            "RESPNR": [f"O{wave}-{i:05d}" for i in range(len(w))],
            "AFNAME": w["interview_date"].dt.strftime("%d-%m-%Y"),
            "POSTCODE": w["pc6"].str[:4] + " " + w["pc6"].str[4:].str.lower(),
            "WEEGFACTOR": w["weight"].round(4),
            "LFT": w["age"].astype(int),
            "GESLACHT": w["sex"].map({"male": "man", "female": "vrouw"}),
            "ROOKT": w["smoker"].map({1.0: "ja", 0.0: "nee"}),
            "PSYKLACHT": w["psych_distress"].map({1.0: 1, 0.0: 2}),
            "WANDELUUR": np.round(walk, 3),
        })
        with open(raw / f"gezondheid_{wave}.csv", "w", encoding="latin-1", newline="") as fh:
            df.to_csv(fh, sep=";", decimal=",", index=False)
        cb = work / f"config/codebooks/oost/{wave}.yaml"
        cb.parent.mkdir(parents=True, exist_ok=True)
        cb.write_text(CODEBOOK.format(wave=wave))
    lookup = r[["pc6", "wijk_code", "gemeente_code"]].drop_duplicates("pc6").sort_values("pc6")
    lookup["buurt_code"] = "BU" + lookup["wijk_code"].str[2:] + "01"
    lookup.to_csv(work / "data/raw/oost/postcodes.csv", index=False)
    treated = r.loc[r["role"] == "treated", ["wijk_code", "start", "group"]].drop_duplicates("wijk_code")
    treated.assign(start=treated["start"].dt.strftime("%Y-%m-%d")).sort_values("wijk_code").to_csv(
        work / "data/raw/oost/interventies.csv", index=False)
    cities = sorted(r["gemeente_code"].unique())
    (work / "config/oost.yaml").write_text(
        "name: oost\nindeling: 2020\nlookup: data/raw/oost/postcodes.csv\n"
        "treated: {file: data/raw/oost/interventies.csv}\ncontrols: same_city\n"
        f"cities: [{', '.join(cities)}]\noutcomes: [smoker, psych_distress, walking]\n")
    lines = "\n".join(f"  - {{source: oost, wave: {w}, codebook: config/codebooks/oost/{w}.yaml}}" for w in waves)
    (work / "config/mine.yaml").write_text(CONFIG.format(waves=lines))
    return r, waves


@pytest.fixture(scope="module")
def own_run(root, tmp_path_factory):
    work = tmp_path_factory.mktemp("own_study")
    for part in CODE_PARTS:
        src = root / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / part)
    resp, waves = _write_study(work)
    res = snakemake(work, "--configfile", "config/mine.yaml")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return work, resp, waves


def test_nothing_of_the_demo_is_there_to_be_read(own_run):
    work, _, _ = own_run
    assert not (work / "config/config.yaml").exists() and not (work / "data/raw/demo").exists()
    assert not (work / "results/demo").exists()


def test_estimates_tables_trends_and_audit_without_geometry(own_run):
    work, resp, _ = own_run
    res = work / "results/oost"
    est = pd.read_csv(res / "estimates.csv")
    assert set(est["outcome"]) == {"smoker", "psych_distress", "walking"}
    assert {"ALL", *resp["gemeente_code"].unique()} == set(est["city"])
    # no truth was configured, so none is shown; the pooled twfe recovers the simulated effect
    tw = est[(est["model"] == "twfe") & (est["city"] == "ALL") & est["inference"].str.startswith("cluster_wijk")]
    assert len(tw) == 3
    for _, row in tw.iterrows():
        assert row["ci_low"] <= EFFECT <= row["ci_high"], row.to_dict()
    assert (res / "tables/estimates.csv").exists() and (res / "tables/prevalence.csv").exists()
    for wijk in resp.loc[resp["role"] == "treated", "wijk_code"].unique()[:5]:
        city = resp.loc[resp["wijk_code"] == wijk, "gemeente_code"].iloc[0]
        assert (res / f"figures/{city}/{wijk}/trends.png").exists()
    assert not list(res.glob("figures/*/map_*"))
    index = pd.read_csv(res / f"figures/{sorted(resp['gemeente_code'].unique())[0]}/index.csv")
    assert (index["kind"] == "note").any() and index.loc[index["kind"] == "note", "file"].str.contains(
        "no wijk geometry").all()
    nb = json.loads(next((res / "notebooks/figures").glob("*.ipynb")).read_text())
    assert "no wijk geometry" in json.dumps(nb["cells"])
    assert (res / "audit.txt").read_text().startswith("audit passed")


def test_the_report_builds_for_the_own_study(own_run):
    work, _, _ = own_run
    res = snakemake(work, "--configfile", "config/mine.yaml", "--report", "results/oost/report.html")
    assert res.returncode == 0, res.stderr[-3000:]
    assert (work / "results/oost/report.html").stat().st_size > 10_000


def test_clean_logs_count_every_row_and_hold_no_machine_paths(own_run):
    work, resp, waves = own_run
    for wave in waves:
        log = json.loads((work / f"results/oost/clean/oost_{wave}.json").read_text())
        assert log["rows_in"] == int((resp["wave"] == wave).sum()) == log["rows_out"] + sum(
            log["exclusions"].values())
        assert log["file"] == f"data/raw/oost/gezondheid_{wave}.csv"
