"""The README is tested (issue 8): every command it shows is run here, on the demo or a tiny config, or is
named with the test that covers it. A command added to the README without a way to run it fails."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .test_workflow import copy_project, snakemake

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]

#: commands run elsewhere in the suite, or that are the suite itself, with where
COVERED = {
    "make test": "the suite itself (.ci/run)",
    "make demo": "test_workflow.py demo_run (the workflow) + test_audit_report_and_html_copies (the report)",
    "make review": "test_workflow.py::test_notebook_templates_pass_nbval runs the same nbval call",
    "make report": "test_workflow.py::test_audit_report_and_html_copies builds the report",
    "make open-data": "test_open_data.py runs config/open_data.yaml through the workflow",
    "make bench": "bench scripts print figures; never timed in tests",
    "make bench-national": "bench/bench_national.py (a benchmark: about 2 million respondents)",
    ".venv/bin/snakemake --cores all --configfile config/sweep.yaml": "test_sweep_workflow.py runs it",
    ".venv/bin/snakemake --cores all --configfile config/<study>/config.yaml":
        "test_own_study.py runs a study of one's own with --configfile",
    "python -m wijkeffect.init config/<study> --waves data/raw/<study>/*.sav --source <name>":
        "run below on the demo waves",
    "python -m wijkeffect.demo": "test_demo.py regenerates the demo byte for byte",
    "python -m wijkeffect.notebook": "every workflow rule runs it",
    "python -m wijkeffect.notebook --engine kernel ...": "test_inprocess.py runs both engines and compares them",
}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            cmd = re.sub(r"\s+", " ", line.split("  #")[0]).strip()
            if cmd:
                out.append(cmd)
    out += [re.sub(r"\s+", " ", m) for m in re.findall(r"`((?:python -m|\.venv/bin/|make )[^`]+)`", text)]
    return list(dict.fromkeys(c.replace("python -m wijkeffect init", "python -m wijkeffect.init") for c in out))


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "WIJKEFFECT_ROOT": str(cwd)}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_every_readme_command_has_a_runner():
    runnable = {c for c in readme_commands() if c.startswith(".venv/bin/snakemake --cores all")
                or c.startswith(".venv/bin/snakemake --workflow-profile") or c.startswith(".venv/bin/papermill")
                or c.startswith("python -m wijkeffect.audit") or c.startswith("python -m wijkeffect.geo")
                or c.startswith("python -m wijkeffect.demo --scale national")}
    missing = [c for c in readme_commands() if c not in runnable and c not in COVERED]
    assert not missing, f"README commands no test runs: {missing}; add them to tests/test_readme.py"


def test_snakemake_commands_plan_cleanly_on_the_finished_demo(demo_run):
    cmds = [c for c in readme_commands() if c.startswith(".venv/bin/snakemake") and c not in COVERED]
    assert len(cmds) >= 5
    for cmd in cmds:
        args = shlex.split(cmd)[1:]
        if "--workflow-profile" in args:
            pytest.importorskip("snakemake_executor_plugin_slurm")
        res = snakemake(demo_run, *[a for a in args if a != "--cores" and a != "all"], "-n")
        assert res.returncode == 0, f"{cmd}\n{res.stderr[-2000:]}"
        assert "is not of type" not in res.stderr


def test_the_papermill_command_reexecutes_a_notebook(demo_run, tmp_path):
    cmd = next(c for c in readme_commands() if c.startswith(".venv/bin/papermill"))
    args = [a.replace("/tmp/", f"{tmp_path}/") for a in shlex.split(cmd)[1:]]
    before = {p: p.stat().st_mtime_ns for p in (demo_run / "results").rglob("*") if p.is_file()}
    res = _run([sys.executable, "-m", "papermill", *args], demo_run)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "GM9901.csv").exists() and (tmp_path / "estimate.ipynb").exists()
    # a re-execution by hand writes only where it is told: the workflow's results stay as they are
    after = {p: p.stat().st_mtime_ns for p in (demo_run / "results").rglob("*") if p.is_file()}
    assert after == before, sorted(str(p) for p in after if after[p] != before.get(p))[:5]


def test_the_audit_command(demo_run):
    res = _run([sys.executable, "-m", "wijkeffect.audit", "results/demo"], demo_run)
    assert res.returncode == 0 and res.stdout.startswith("audit passed"), res.stderr[-2000:]


def test_the_init_command_on_the_demo_waves(tmp_path):
    work = copy_project(ROOT, tmp_path)
    waves = sorted(str(p.relative_to(work)) for p in (work / "data/raw/demo").glob("*.sav"))
    res = _run([sys.executable, "-m", "wijkeffect", "init", "config/mine", "--waves", *waves, "--source", "demo"],
               work)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (work / "config/mine/config.yaml").exists() and (work / "config/mine/study.yaml").exists()


def test_the_crosswalk_and_national_generator_commands_answer(tmp_path, shared_data):
    res = _run([sys.executable, "-m", "wijkeffect.geo", "crosswalk",
                str(shared_data / "cbs_wijk_2014/Wijk_2014_layer_q1e3.json"),
                str(shared_data / "cbs_wijk_2020/wijk_2020.topojson"), "--out", str(tmp_path / "cw.csv")], ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "cw.csv").read_text().startswith("old_code,new_code,share")
    res = _run([sys.executable, "-m", "wijkeffect.demo", "--scale", "national", "--help"], ROOT)
    assert res.returncode == 0 and "--out" in res.stdout
