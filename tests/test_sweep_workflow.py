"""Sweeps through the workflow (issue 10): 12 specifications of the demo write tidy rows with spec ids, a
specification curve per outcome (byte-identical on rerun) and its table with the joint permutation test,
shown in the report; adding a specification or a city runs only the new jobs (Snakemake's dry-run summary)."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from .test_reruns import job_counts
from .test_workflow import copy_project, snakemake

pytestmark = pytest.mark.e2e
OUTCOMES = ("smoker", "psych_distress", "walking")
TARGET = "results/demo/sweep/estimates.csv"


@pytest.fixture(scope="module")
def swept(root, tmp_path_factory):
    work = copy_project(root, tmp_path_factory.mktemp("sweep"))
    cfg = yaml.safe_load((work / "config/sweep.yaml").read_text())
    # on 4 waves, with a light main run beside the sweep (the main run is tested elsewhere); the sweep's
    # specs set their own models (sweep.base)
    cfg["waves"] = [w for w in cfg["waves"] if w["wave"] in (2006, 2007, 2009, 2011)]
    cfg.update(figure_formats=["png"], models=["twfe"], inference={"bootstrap_reps": 99, "randomization_reps": 0})
    (work / "config/sw.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(work, "--configfile", "config/sw.yaml")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return work, cfg


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_twelve_specs_write_rows_with_their_ids_and_values(swept):
    work, _ = swept
    specs = pd.read_csv(work / "results/demo/sweep/specs.csv")
    assert len(specs) == 12 and specs["spec"].is_unique and "default" in set(specs["spec"])
    est = pd.read_csv(work / "results/demo/sweep/estimates.csv")
    assert set(est["spec"]) == set(specs["spec"])
    # the values that define each spec ride along (an axis named like a tidy column gets a spec_ prefix)
    for axis in ("walk", "controls", "spec_covariates"):
        assert axis in est.columns and est[axis].notna().all()
    assert est["covariates"].fillna("").isin(["", "age+sex+education+migration_background"]).all()
    # a walking threshold changes only walking; raising it lowers the share who meet it, so the estimate
    # differs from the default specification's
    w = est[(est["model"] == "twfe") & (est["term"] == "D") & est["inference"].str.startswith("cluster")]
    assert set(w.loc[w["spec"] == "walk-150", "outcome"]) == {"walking"}
    d, t = (w[(w["spec"] == s) & (w["outcome"] == "walking")]["estimate"].iloc[0] for s in ("default", "walk-150"))
    assert d != t


def test_a_curve_per_outcome_with_its_table_byte_identical_on_rerun(swept):
    work, _ = swept
    figs = {o: work / f"results/demo/sweep/figures/ALL/speccurve_{o}.png" for o in OUTCOMES}
    assert all(f.exists() for f in figs.values())
    summary = pd.read_csv(work / "results/demo/sweep/tables/speccurve_summary.csv")
    assert set(summary["outcome"]) == set(OUTCOMES)
    before = {o: _digest(f) for o, f in figs.items()}
    res = snakemake(work, TARGET, "--configfile", "config/sw.yaml", "-R", "sweep_summary", "--until", "sweep_summary")
    assert res.returncode == 0, res.stderr[-2000:]
    assert snakemake(work, "--configfile", "config/sw.yaml").returncode == 0  # the audit and index after it
    assert {o: _digest(f) for o, f in figs.items()} == before


def test_joint_test_table_has_permutation_pvalues_byte_identical_on_rerun(swept):
    work, cfg = swept
    reps = cfg["sweep"]["permutations"]["reps"]
    tables = work / "results/demo/sweep/tables"
    summary = pd.read_csv(tables / "speccurve_summary.csv")
    assert set(summary["outcome"]) == set(OUTCOMES)
    for col in ("p_median", "p_share_sig", "p_mean_z"):
        p = summary[col]
        assert ((p > 0) & (p <= 1)).all(), (col, p.tolist())
        # p = (1 + k) / (1 + draws): a multiple of the smallest attainable p
        k = p * (1 + summary["draws_used"])
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)
    assert (summary["reps"] == reps).all() and (summary["draws_used"] == reps).all()
    assert (summary["seed"] == cfg["seed"]).all()
    assert {"p (median)", "p (mean Z)"} <= set((tables / "speccurve_summary.md").read_text().splitlines()[0]
                                              .strip("| ").split(" | "))
    null = pd.read_csv(tables / "speccurve_null.csv")
    assert len(null) == reps * len(summary) and null["draw"].nunique() == reps
    specs = pd.read_csv(work / "results/demo/sweep/specs.csv")["spec"]
    files = {s: work / f"results/demo/sweep/{s}/null/ALL.csv" for s in specs}
    assert all(f.exists() for f in files.values())
    # a matched pool's null draws and the joint test come out byte-identical when its job runs again
    watched = [files["controls-nn2"], tables / "speccurve_summary.csv", tables / "speccurve_summary.md",
               tables / "speccurve_null.csv"]
    before = [_digest(f) for f in watched]
    res = snakemake(work, TARGET, "--configfile", "config/sw.yaml", "-R",
                    "results/demo/sweep/controls-nn2/estimates/ALL.csv")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "sweep_estimate" in job_counts(res.stdout + res.stderr)
    assert snakemake(work, "--configfile", "config/sw.yaml").returncode == 0
    assert [_digest(f) for f in watched] == before


def test_the_report_shows_the_curves(swept):
    work, _ = swept
    res = snakemake(work, TARGET, "--configfile", "config/sw.yaml", "--report", "results/demo/report.html")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "speccurve_walking.png" in (work / "results/demo/report.html").read_text()


def test_adding_a_spec_or_a_city_runs_only_new_jobs(swept):
    work, cfg = swept
    assert job_counts(snakemake(work, "--configfile", "config/sw.yaml", "-n").stdout) == {}
    more = dict(cfg, sweep=dict(cfg["sweep"], axes=dict(cfg["sweep"]["axes"], walk=[30, 60, 150, 300])))
    (work / "config/more.yaml").write_text(yaml.safe_dump(more))
    res = snakemake(work, "--configfile", "config/more.yaml", "-n")
    counts = job_counts(res.stdout + res.stderr)
    # walk-300 x 2 control pools x covariates on/off = 4 new specs on 2 new panels; nothing of the main run
    assert counts["sweep_estimate"] == 4 and counts["sweep_panel"] == 2, counts
    assert not {"clean_wave", "panel", "estimate", "figures", "summary"} & set(counts), counts
    assert set(counts) - {"sweep_panel", "sweep_estimate", "sweep_summary", "audit",
                          "notebooks_html", "notebooks_index", "all"} == set(), counts
    # a new city, from the default target: its 12 estimates and the sweep's summary (and what follows it)
    city = dict(cfg, sweep=dict(cfg["sweep"], cities=["ALL", "GM9901"]))
    (work / "config/city.yaml").write_text(yaml.safe_dump(city))
    res = snakemake(work, "--configfile", "config/city.yaml", "-n")
    counts = job_counts(res.stdout + res.stderr)
    assert counts["sweep_estimate"] == 12 and counts["sweep_summary"] == 1 and "sweep_panel" not in counts, counts
    assert not {"clean_wave", "panel", "estimate", "figures", "summary"} & set(counts), counts
    assert set(counts) - {"sweep_estimate", "sweep_summary", "audit", "notebooks_html", "notebooks_index",
                          "all"} == set(), counts
    planned = set(re.findall(r"results/demo/sweep/[^/\s]+/estimates/(\w+)\.csv", res.stdout + res.stderr))
    assert "GM9901" in planned, planned
