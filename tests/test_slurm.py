"""Scale-out: the demo through Snakemake's SLURM executor on a real one-node SLURM started by the test.

The cluster (munged, slurmctld, slurmd on 127.0.0.1; tests/slurm_cluster.py) runs jobs submitted with
sbatch by snakemake-executor-plugin-slurm, using the project's profile workflow/profiles/slurm. The
estimates must be byte-identical to a local run of the same copy of the project on the same machine.
Skips (saying why) where slurm-wlm/munge are absent and cannot be installed (not root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from . import slurm_cluster
from .test_workflow import copy_project

pytestmark = [pytest.mark.e2e, pytest.mark.slurm]
PROFILE = "workflow/profiles/slurm"
ESTIMATES = "results/demo/estimates.csv"
SMALL_BATCH = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A running single-node SLURM cluster, stopped (daemons terminated) at teardown."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install -e '.[cluster]' (make test does)")
    if os.geteuid() != 0:
        pytest.skip("slurmctld/slurmd of the test cluster must run as root (they launch the jobs)")
    missing = slurm_cluster.missing_binaries()
    if missing:
        reason = slurm_cluster.try_install()
        if reason:
            pytest.skip(f"SLURM not available ({', '.join(missing)} missing) and could not be installed: {reason}")
    c = slurm_cluster.SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def test_profile_names_the_plugin_and_resources(root):
    """The profile asks for the SLURM executor, memory/runtime/CPUs per job, and groups small jobs."""
    prof = yaml.safe_load((root / PROFILE / "config.yaml").read_text())
    assert prof["executor"] == "slurm"
    assert {"mem_mb", "runtime", "cpus_per_task"} <= set(prof["default-resources"])
    for rule in ("panel", "estimate", "summary"):
        assert {"mem_mb", "runtime"} <= set(prof["set-resources"][rule]), rule
    assert set(prof["groups"].values()) == set(prof["group-components"])


def _fit_to_node(profile: dict, cpus: int, mem_mb: int) -> tuple[dict, list[str]]:
    """The profile with requests no larger than the test node (sbatch rejects what no node can hold)."""
    clamped = []
    for where in [profile["default-resources"], profile.get("resources", {}),
                  *profile.get("set-resources", {}).values()]:
        for key, cap in (("mem_mb", mem_mb), ("cpus_per_task", cpus)):
            if key in where and where[key] > cap:
                clamped.append(f"{key} {where[key]} -> {cap}")
                where[key] = cap
    return profile, clamped


def _snakemake(work: Path, env: dict, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=work, capture_output=True, text=True,
                         env={**env, "WIJKEFFECT_ROOT": str(work)}, timeout=1800)
    return res, time.monotonic() - t0


def _slurm_jobs(cluster) -> list[tuple[str, str]]:
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%k"], env=cluster.env,
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|")[1:3]) for line in out.splitlines() if line.strip()]


SMALL = "config/slurm_small.yaml"


def _small_demo(work: Path) -> Path:
    """The demo with 4 waves, 2 cities and 3 models: every rule of the workflow, in a few minutes on SLURM
    (the plugin polls job states at growing intervals, so the run's length is mostly waiting)."""
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["waves"] = [w for w in cfg["waves"] if w["wave"] in (2007, 2009, 2011)]
    cfg.update(cities=["GM9901"], pooled=False, models=["twfe", "event_study", "staggered"], model_options={},
               inference={"bootstrap_reps": 999, "randomization_reps": 99}, figure_formats=["png"])
    (work / SMALL).write_text(yaml.safe_dump(cfg))
    return work


def test_demo_on_slurm_matches_local_run(root, cluster, tmp_path):
    (tmp_path / "local").mkdir()
    (tmp_path / "slurm").mkdir()
    local = _small_demo(copy_project(root, tmp_path / "local"))
    res, t_local = _snakemake(local, os.environ.copy(), "--cores", str(cluster.cpus), "--configfile", SMALL)
    assert res.returncode == 0, res.stderr[-3000:]

    on_slurm = _small_demo(copy_project(root, tmp_path / "slurm"))
    prof_file = on_slurm / PROFILE / "config.yaml"
    profile, clamped = _fit_to_node(yaml.safe_load(prof_file.read_text()), cluster.cpus, cluster.mem_mb)
    # no accounting database here: poll with squeue (slurmctld keeps ended jobs for MinJobAge = 3600 s)
    profile.update({"slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 2, "retries": 0})
    # a group's members run one after another: smaller batches let the node run `cpus` group jobs at once
    profile["group-components"] = {g: min(n, SMALL_BATCH) for g, n in profile["group-components"].items()}
    prof_file.write_text(yaml.safe_dump(profile, sort_keys=False))
    res, t_slurm = _snakemake(on_slurm, cluster.env, "--workflow-profile", PROFILE, "--configfile", SMALL)
    (tmp_path / "timings.txt").write_text(f"local {t_local:.1f} s\nslurm {t_slurm:.1f} s\n")
    (tmp_path / "slurm_run.log").write_text(res.stderr)
    assert res.returncode == 0, f"{res.stderr[-4000:]}\n{cluster.logs()}"

    jobs = _slurm_jobs(cluster)
    assert jobs and all(state == "COMPLETED" for state, _ in jobs), jobs
    # group jobs: fewer SLURM submissions than rule jobs (the `--groups` of the profile took effect)
    assert len(jobs) < _rule_jobs(res.stderr), (f"{len(jobs)} SLURM jobs for {_rule_jobs(res.stderr)} rule jobs: "
                                                "do the profile's `groups` still name the workflow's rules?")
    assert (on_slurm / ESTIMATES).read_bytes() == (local / ESTIMATES).read_bytes()
    print(f"\nSLURM {slurm_cluster.version(cluster.env)} on {cluster.cpus} CPUs / {cluster.mem_mb} MB: local run "
          f"{t_local:.0f} s, SLURM run {t_slurm:.0f} s ({len(jobs)} SLURM jobs for {_rule_jobs(res.stderr)} "
          f"rule jobs); requests fitted to the node: {clamped or 'none'}")


def _rule_jobs(log: str) -> int:
    """Jobs Snakemake ran (its final 'N of N steps' line), group members counted one by one."""
    done = [line for line in log.splitlines() if "steps (100%) done" in line]
    return int(done[-1].split(" of ")[1].split()[0]) if done else 0

