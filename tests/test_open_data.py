"""Open data through the workflow (issue 9): the krachtwijken study on the real RIVM/CBS wijk estimates in
../shared/data runs end to end (estimates, national and per-city maps, trend figures, tables, report,
passing audit), and its notebooks say what the numbers can and cannot mean."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
import yaml

from .test_workflow import snakemake

pytestmark = pytest.mark.e2e
STUDY = "krachtwijken_2012_2020"


@pytest.fixture(scope="module")
def open_run(root, shared_data, tmp_path_factory):
    base = tmp_path_factory.mktemp("open")
    work = base / "work"
    work.mkdir()
    for part in ["Snakefile", "workflow", "notebooks", "config"]:
        src = root / part
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / part)
    (base / "shared").symlink_to(shared_data.parent)  # the study reads ../shared/data, as from the project
    cfg = yaml.safe_load((work / "config/open_data.yaml").read_text())
    cfg.update(batch_cities=6, figure_formats=["png"], inference={"bootstrap_reps": 999, "randomization_reps": 199})
    (work / "config/od.yaml").write_text(yaml.safe_dump(cfg))
    res = snakemake(work, "--configfile", "config/od.yaml")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return work


def test_estimates_maps_tables_and_audit(open_run):
    res = open_run / f"results/{STUDY}"
    est = pd.read_csv(res / "estimates.csv")
    assert {"smoker", "psych_distress"} <= set(est["outcome"])
    assert not est["model"].isin(["twfe_individual", "segmented"]).any()  # respondent models refused
    tw = est[(est["model"] == "twfe") & (est["city"] == "ALL") & (est["term"] == "D")]
    assert len(tw) and tw["estimate"].notna().all()
    assert "population" in " ".join(tw["weights"]) or "equal" in " ".join(tw["weights"])
    assert (res / "figures/national_map.png").exists()
    assert (res / "figures/GM0363/map_GM0363.png").exists()  # Amsterdam, from the real boundaries
    assert list(res.glob("figures/GM0599/*/trends.png"))  # Rotterdam's krachtwijken
    assert list(res.glob("tables/regression_*.tex"))
    assert (res / "audit.txt").read_text().startswith("audit passed")


def test_notebooks_say_the_numbers_are_model_based(open_run):
    nb = json.loads((open_run / f"results/{STUDY}/notebooks/panel/statline_panel.ipynb").read_text())
    text = json.dumps(nb["cells"]).lower()
    assert "model-based" in text or "small-area estimates" in text


def test_report_first_page_warns_the_data_are_model_based(open_run):
    page = (open_run / f"results/{STUDY}/report/first_page.html").read_text().lower()
    assert "model-based" in page or "modelgebaseerd" in page
    res = snakemake(open_run, "--configfile", "config/od.yaml", "--report", f"results/{STUDY}/report.html")
    assert res.returncode == 0, res.stderr[-2000:]


def test_the_statline_template_runs_standalone(open_run):
    env = {**os.environ, "WIJKEFFECT_ROOT": str(open_run)}
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--nbval-current-env", "-p",
                          "no:cacheprovider", "notebooks/statline_panel.ipynb"], cwd=open_run, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:]
