"""Reruns follow the config (issue 8): each edit reruns exactly the jobs that depend on it, shown by
Snakemake's dry-run job summary; a dry run changes nothing; command-line values are typed as written."""

from __future__ import annotations

import re

import pytest
import yaml

from .test_workflow import copy_project, snakemake

pytestmark = pytest.mark.e2e

CLEAN = {"clean_wave", "panel", "estimate", "figures", "summary", "audit"}
ESTIMATE = {"estimate", "summary", "audit"}
PRESENTATION = {"figures", "summary", "audit"}
SHOWN = PRESENTATION | {"estimate"}  # the estimate notebook also shows cells and labels


def job_counts(out: str) -> dict[str, int]:
    """The dry run's 'Job stats' table: rule -> number of jobs."""
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", out, re.S)
    if not m:
        assert "Nothing to be done" in out, out[-2000:]
        return {}
    return {name: int(n) for name, n in re.findall(r"^(\S+)\s+(\d+)$", m.group(1), re.M)}


def science(counts: dict[str, int]) -> set[str]:
    """The rules that compute something (not the parameter files, HTML copies, index or `all`)."""
    return set(counts) - {"notebooks_html", "notebooks_index", "all"}


@pytest.fixture(scope="module")
def done(root, tmp_path_factory):
    work = copy_project(root, tmp_path_factory.mktemp("reruns"))
    cfg = yaml.safe_load((work / "config/config.yaml").read_text())
    cfg["waves"] = [w for w in cfg["waves"] if w["wave"] in (2006, 2007, 2009, 2011)]
    cfg["inference"] = {"bootstrap_reps": 199, "randomization_reps": 99}
    cfg.update(models=["twfe", "event_study", "staggered"], model_options={}, figure_formats=["png"])
    (work / "config/small.yaml").write_text(yaml.safe_dump(cfg))
    (work / "data/raw/demo/TRUTH_other.yaml").write_text(
        (work / "data/raw/demo/TRUTH.yaml").read_text().replace("description:", "description: (copy)"))
    res = snakemake(work, "--configfile", "config/small.yaml", "--config", "cities=[GM9901,GM9902]")
    assert res.returncode == 0, res.stderr[-3000:]
    return work


def dry(work, *config: str) -> dict[str, int]:
    args = ["--configfile", "config/small.yaml", "-n", "--config", "cities=[GM9901,GM9902]", *config]
    res = snakemake(work, *args)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return job_counts(res.stdout + res.stderr)


def test_nothing_changed_nothing_runs(done):
    assert dry(done) == {}


@pytest.mark.parametrize("edit, rules, count", [
    (["thresholds={walking_min_week: 60}"], CLEAN, {"clean_wave": 4, "estimate": 3, "figures": 2}),
    (["thresholds={k10_high: 25}"], CLEAN, {"clean_wave": 4}),
    (["inference={bootstrap_reps: 99, randomization_reps: 99}"], ESTIMATE, {"estimate": 3}),
    (["seed=7"], ESTIMATE, {"estimate": 3}),
    (["model_options={staggered: {control_group: not_yet}}"], ESTIMATE, {"estimate": 3}),
    (["min_cell_n=5"], SHOWN, {"figures": 2, "estimate": 3}),
    (["language=nl"], SHOWN, {"figures": 2}),
    (["map_breaks=[-0.2, 0, 0.2]"], {"figures", "audit"}, {"figures": 2}),
    (["truth=data/raw/demo/TRUTH_other.yaml"], {"summary", "audit"}, {"summary": 1}),
    # the estimate jobs draw the event-study, forest and sensitivity figures: formats rerun them too
    (["figure_formats=[png, pdf]"], SHOWN, {"figures": 2, "estimate": 3}),
])
def test_each_edit_reruns_exactly_its_dependents(done, edit, rules, count):
    counts = dry(done, *edit)
    assert science(counts) == rules, counts
    for rule, n in count.items():
        assert counts[rule] == n, counts


def test_a_dry_run_changes_nothing(done):
    dry(done, "min_cell_n=3")
    assert dry(done) == {}


def test_editing_a_shared_base_codebook_reruns_the_waves_that_extend_it(done):
    base = done / "config/codebooks/demo/_ggd_scheme.yaml"
    base.write_text(base.read_text() + "\n# edited\n")
    counts = dry(done)
    assert science(counts) == CLEAN and counts["clean_wave"] == 1  # of 2006-2011 only 2011 uses the GGD scheme


def test_cli_values_are_typed_as_users_write_them(done):
    res = snakemake(done, "--configfile", "config/small.yaml", "-n", "--config", "pooled=false",
                    "outcomes=[walking]", "min_cell_n=12")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "is not of type" not in res.stderr


def test_a_bad_cli_value_names_the_key(done):
    res = snakemake(done, "--configfile", "config/small.yaml", "-n", "--config", "pooled=perhaps")
    assert res.returncode != 0
    assert "pooled" in res.stderr + res.stdout
