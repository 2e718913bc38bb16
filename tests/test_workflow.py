"""End to end: the Snakemake workflow on the demo and on a tiny subset config, plus nbval on the templates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wijkeffect.models.tidy import RESULT_COLUMNS

pytestmark = pytest.mark.e2e
PROJECT_PARTS = ["Snakefile", "workflow", "notebooks", "config", "data/raw/demo"]


def copy_project(root: Path, dst: Path) -> Path:
    """A throwaway copy of what the workflow reads, so tests never touch the checkout's results/."""
    for part in PROJECT_PARTS:
        src = root / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst / part)
    return dst


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WIJKEFFECT_ROOT": str(workdir)}
    return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=900)


def error_cells(nb_path: Path) -> list[str]:
    nb = json.loads(nb_path.read_text())
    return [o.get("ename", "") for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]


def test_estimates_follow_the_contract(demo_run):
    est = pd.read_csv(demo_run / "results/demo/estimates.csv")
    assert list(est.columns) == RESULT_COLUMNS
    combos = set(zip(est["city"], est["outcome"], est["model"]))
    for city in ("ALL", "GM9901", "GM9902", "GM9903"):
        for outcome in ("smoker", "psych_distress", "walking"):
            assert (city, outcome, "twfe") in combos and (city, outcome, "naive") in combos


def test_twfe_covers_truth_and_naive_does_not(demo_run):
    est = pd.read_csv(demo_run / "results/demo/estimates.csv")
    truth = yaml.safe_load((demo_run / "data/raw/demo/TRUTH.yaml").read_text())
    pooled = est[(est["city"] == "ALL") & est["inference"].str.startswith("cluster_wijk_cr1")
                 & est["term"].isin(["D", "treated"])].set_index(["outcome", "model"])
    for outcome in ("smoker", "psych_distress", "walking"):
        tw, nv = pooled.loc[(outcome, "twfe")], pooled.loc[(outcome, "naive")]
        assert tw["ci_low"] <= truth[outcome] <= tw["ci_high"]
        assert not nv["ci_low"] <= truth[outcome] <= nv["ci_high"]


def test_every_model_and_inference_per_city_and_outcome(demo_run):
    """Issue 4: per city and outcome, twfe, event study with its pre-trend p-value, segmented and staggered,
    with cluster-robust and bootstrap inference; Holm and BH adjusted p-values across outcomes."""
    est = pd.read_csv(demo_run / "results/demo/estimates.csv")
    for (city, outcome), g in est.groupby(["city", "outcome"]):
        have = {(m, i.split(";")[0].removesuffix("_within_city")) for m, i in zip(g["model"], g["inference"])}
        assert ("twfe", "cluster_wijk_cr1_fixest") in have
        assert ("twfe", "wild_cluster_restricted_bootstrap_rademacher_9999") in have
        assert ("twfe", "randomization_999") in have
        assert g.loc[g["term"] == "pretrend_wald", "p_value"].between(0, 1).all()
        assert (g["model"] == "segmented").any() and (g["term"] == "overall").any()
        assert (g["model"] == "twfe_individual").any()
    # adjusted p-values are columns, one row per estimate (DESIGN §6)
    assert not est["inference"].str.contains(r"\+").any()
    tw = est[(est["model"] == "twfe") & est["inference"].str.startswith("cluster_wijk_cr1")]
    assert tw["p_holm"].notna().all() and (tw["p_holm"] >= tw["p_value"] - 1e-12).all()
    assert tw["p_bh"].notna().all() and (tw["p_bh"] <= tw["p_holm"] + 1e-12).all()
    assert not est.duplicated(["spec", "city", "outcome", "model", "term", "inference"]).any()


def test_a_figure_for_every_treated_wijk_and_a_map_per_city(demo_run):
    treated = pd.read_csv(demo_run / "data/raw/demo/interventions.csv", dtype=str)
    for _, row in treated.iterrows():
        for ext in ("pdf", "svg", "png"):
            assert (demo_run / f"results/demo/figures/{row.gemeente_code}/{row.wijk_code}/trends.{ext}").exists()
    for city in treated["gemeente_code"].unique():
        assert (demo_run / f"results/demo/figures/{city}/map_{city}.pdf").exists()


def test_executed_notebooks_have_no_errors(demo_run):
    nbs = sorted((demo_run / "results/demo/notebooks").rglob("*.ipynb"))
    assert len(nbs) == 6 + 1 + 4 + 1 + 3  # clean, panel, estimate (one per city and ALL), summary, figures
    for nb in nbs:
        assert nb.with_suffix(".html").exists() and nb.with_suffix(".noinput.html").exists()
    for nb in nbs:
        assert error_cells(nb) == [], nb


def test_results_hold_no_respondent_rows(demo_run):
    for f in (demo_run / "results").rglob("*"):
        assert f.suffix != ".parquet", f
        if f.suffix == ".csv":
            assert "respondent_id" not in f.read_text().splitlines()[0], f


def test_audit_report_and_html_copies(demo_run):
    assert (demo_run / "results/demo/audit.txt").read_text().startswith("audit passed")
    assert (demo_run / "results/demo/notebooks/index.html").exists()
    res = snakemake(demo_run, "--report", "results/demo/report.html")
    assert res.returncode == 0, res.stderr[-2000:]
    text = (demo_run / "results/demo/report.html").read_text()
    for city in ("GM9901", "GM9902", "GM9903", "ALL"):
        assert city in text


def test_the_demo_report_opens_on_the_verdicts_in_a_browser(demo_run):
    """Issue 13: the report's first page answers the question, checked in headless Chromium: it renders,
    its links resolve, every figure it names exists; sensitivity and power are in it (issue 11)."""
    from .browser import check_report, require_chromium

    require_chromium()
    report = demo_run / "results/demo/report.html"
    if not report.exists():
        assert snakemake(demo_run, "--report", "results/demo/report.html").returncode == 0
    dom, problems = check_report(report, demo_run)
    assert problems == [], problems[:10]
    # the verdicts come before the workflow description's own text
    assert "Current smoking" in dom and "estimators" in dom.lower()
    assert dom.find("Current smoking") < dom.find("Raw survey waves were cleaned")
    for name in ("mde_smoker.png", "sensitivity_smoker.png", "forest_smoker.png"):
        assert name in dom


def test_rerun_with_nothing_changed_does_nothing(demo_run):
    res = snakemake(demo_run)
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr


def test_notebook_templates_pass_nbval(demo_run):
    """Templates run standalone with their default parameters (pytest --nbval-lax), in the demo copy."""
    env = {**os.environ, "WIJKEFFECT_ROOT": str(demo_run)}
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--nbval-current-env",
                          "-p", "no:cacheprovider", "notebooks",
                          # an open-data study's panel needs ../shared/data: tests/test_open_data.py runs it
                          "--deselect", "notebooks/statline_panel.ipynb", "--ignore", "notebooks/statline_panel.ipynb"],
                         cwd=demo_run, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "5 passed" in res.stdout or "passed" in res.stdout


def test_a_subset_of_cities_and_outcomes_runs_alone(root, tmp_path):
    work = copy_project(root, tmp_path)
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["waves"] = [w for w in cfg["waves"] if w["wave"] in (2006, 2007, 2009, 2011)]
    cfg.update(cities=["GM9902"], outcomes=["walking"], pooled=False)
    (work / "config/tiny.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(work, "--configfile", "config/tiny.yaml")
    assert res.returncode == 0, res.stderr[-4000:]
    est = pd.read_csv(work / "results/demo/estimates.csv")
    assert set(est["city"]) == {"GM9902"} and set(est["outcome"]) == {"walking"}
    assert not (work / "results/demo/figures/GM9901").exists()
    assert sorted(p.name for p in (work / "results/demo/notebooks/clean").glob("*.ipynb")) == [
        "demo_2006.ipynb", "demo_2007.ipynb", "demo_2009.ipynb", "demo_2011.ipynb"]


def test_bad_config_fails_with_the_key(root, tmp_path):
    work = copy_project(root, tmp_path)
    res = snakemake(work, "--config", "cities=[GM0000]", "-n")
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "key cities" in out and "GM0000" in out and "config/studies/demo.yaml" in out


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    keep = {".pdf", ".svg", ".png", ".csv", ".md", ".tex"}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "results").rglob("*")) if p.suffix in keep}


def test_a_rerun_from_scratch_reproduces_every_figure_and_table(demo_run):
    """Issue 5: figures (PDF, SVG, PNG) and tables are byte-identical when everything is rebuilt."""
    before = json.loads((demo_run / "first_run_digests.json").read_text())
    assert sum(k.endswith(".pdf") for k in before) > 30
    shutil.rmtree(demo_run / "results")
    shutil.rmtree(demo_run / "data/processed")
    res = snakemake(demo_run)
    assert res.returncode == 0, res.stderr[-3000:]
    after = _digests(demo_run)
    assert after.keys() == before.keys()
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [], changed[:10]


def test_the_estimate_notebook_shows_what_a_reviewer_needs(demo_run):
    """Issue 13: per city x outcome the data, raw trends, event study with the pre-trend test, balance, the
    full estimates, the regression table and each model's assumption; no absolute path in any notebook."""
    nb = json.loads((demo_run / "results/demo/notebooks/estimate/GM9901.ipynb").read_text())
    text = json.dumps(nb["cells"])
    for heading in ("Data: respondents and cells per wave and role", "Raw weighted trends",
                    "Event study and the pre-trend test", "Regression table", "Balance of the control pool",
                    "What each model assumes", "GM9901: walking"):
        assert heading in text, heading
    assert error_cells(demo_run / "results/demo/notebooks/estimate/GM9901.ipynb") == []
    # the raw-trend and event-study figures are images in the executed copy (a bare matplotlib Figure
    # under the Agg backend would show as "<Figure size ...>" text): two per city x outcome section
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2 * 3, len(images)
    assert not any("<Figure size" in "".join(o.get("data", {}).get("text/plain", "")) for o in outputs)
    for path in (demo_run / "results/demo/notebooks").rglob("*.ipynb"):
        assert str(demo_run) not in path.read_text() and "/tmp/" not in path.read_text(), path
