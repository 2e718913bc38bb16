"""Shared fixtures: the repository root, the shared real-data folder, and cleaned demo waves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("WIJKEFFECT_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEMO_WAVES = (2005, 2006, 2007, 2009, 2011, 2013)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real public data not found at {SHARED_DATA} (set WIJKEFFECT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_cleaned():
    """Every demo wave cleaned with its codebook: list of (frame, log)."""
    from wijkeffect.clean import clean_wave
    from wijkeffect.codebook import load_codebook

    return [clean_wave(load_codebook(ROOT / f"config/codebooks/demo/{w}.yaml")) for w in DEMO_WAVES]


@pytest.fixture(scope="session")
def demo_panel(demo_cleaned):
    """(respondents, accounting, cells) of the demo study."""
    from wijkeffect.panel import build_cells, build_respondents
    from wijkeffect.study import load_study

    study = load_study(ROOT / "config/studies/demo.yaml")
    resp, acc, _ = build_respondents([df for df, _ in demo_cleaned], study)
    return resp, acc, build_cells(resp, study.outcomes)


@pytest.fixture(scope="session")
def demo_run(root, tmp_path_factory):
    """The whole workflow on the demo, once per session, in a throwaway copy (tests/test_workflow.py)."""
    import json

    from .test_workflow import _digests, copy_project, snakemake

    work = copy_project(root, tmp_path_factory.mktemp("demo_run"))
    res = snakemake(work)
    assert res.returncode == 0, res.stderr[-4000:]
    # digests now, before other tests (nbval re-running templates with defaults) touch the copy
    (work / "first_run_digests.json").write_text(json.dumps(_digests(work)))
    return work
