"""The disclosure audit catches each way respondent data or small cells can leak into results/."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from wijkeffect.audit import audit, main


@pytest.fixture
def clean_results(tmp_path):
    r = tmp_path / "results"
    (r / "tables").mkdir(parents=True)
    pd.DataFrame({"outcome": ["smoker"] * 2, "wijk_code": ["WK990101", "WK990102"], "wave": [2009, 2009],
                  "n": [34, 6], "prevalence_pct": [21.0, None], "suppressed": [False, True]}).to_csv(
        r / "tables/prevalence.csv", index=False)
    pd.DataFrame({"city": ["ALL"], "model": ["twfe"], "estimate": [-0.03], "n_obs": [432]}).to_csv(
        r / "estimates.csv", index=False)
    return r


def test_audit_passes_clean_results(clean_results, capsys):
    assert audit(clean_results) == []
    assert main([str(clean_results)]) == 0
    assert "audit passed" in capsys.readouterr().out


def test_audit_fails_on_a_planted_respondent_file(clean_results, capsys):
    pd.DataFrame({"respondent_id": ["a", "b"], "smoker": [1, 0]}).to_parquet(clean_results / "leak.parquet")
    assert main([str(clean_results)]) == 1
    err = capsys.readouterr().err
    assert "leak.parquet" in err and "respondent-level" in err


def test_audit_fails_on_respondent_rows_in_a_csv(clean_results):
    pd.DataFrame({"respondent_id": ["2011-000001"], "age": [40], "smoker": [1]}).to_csv(
        clean_results / "tables" / "rows.csv", index=False)
    found = audit(clean_results)
    assert len(found) == 1 and found[0].file.name == "rows.csv" and "respondent_id" in found[0].problem


def test_audit_fails_on_a_planted_small_cell(clean_results):
    pd.DataFrame({"outcome": ["walking"], "wijk_code": ["WK990107"], "wave": [2011], "n": [4],
                  "prevalence_pct": [50.0]}).to_csv(clean_results / "tables" / "small.csv", index=False)
    found = audit(clean_results, min_cell_n=10)
    assert len(found) == 1
    msg = str(found[0])
    assert "small.csv" in msg and "n=4" in msg and "WK990107" in msg and "min_cell_n=10" in msg


def test_audit_fails_on_a_notebook_showing_respondent_rows(clean_results):
    html = "<table><thead><tr><th></th><th>respondent_id</th><th>smoker</th></tr></thead></table>"
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "execute_result",
                                                       "data": {"text/html": [html]}}]}]}
    (clean_results / "peek.ipynb").write_text(json.dumps(nb))
    found = audit(clean_results)
    assert len(found) == 1 and found[0].file.name == "peek.ipynb"


def test_audit_of_a_missing_folder_is_an_error(tmp_path, capsys):
    assert main([str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["input sha256,/home/anna/project/data/raw/w1.sav,abc\n",
                                  "file,/tmp/pytest-123/results/x.csv\n", "C:\\Users\\anna\\monitor.sav\n"])
def test_audit_fails_on_an_absolute_path(clean_results, text):
    """Issue 8: results read the same on every machine; an absolute machine path anywhere fails, naming it."""
    (clean_results / "provenance.csv").write_text(text)
    found = audit(clean_results)
    assert any("absolute path" in f.problem and "provenance.csv" in str(f.file) for f in found), found


def test_find_absolute_equals_the_look_behind_pattern():
    """The fast scan finds exactly what the one-pattern look-behind regex (its former form) finds."""
    import base64
    import random
    import re

    from wijkeffect.audit import find_absolute

    reference = re.compile(r"""(?<![\w.:/~-])(/(?:home|Users|root|tmp|work|mnt|private|scratch|data|srv|opt|"""
                           r"""var/folders)/[^\s"'<>),;]+|[A-Za-z]:\\(?:Users|Documents and Settings)\\[^\s"'<>]+)""")
    rng = random.Random(7)
    pieces = ["/home/ann/x.csv", "results/tmp/a.png", "x/home/a+/tmp/b", " /tmp/y", "(/work/z)", "C:\\Users\\bob\\f",
              "D:\\Documents and Settings\\e", "a:/tmp/q", "~/tmp/r", "\"/data/s\"", "/var/folders/t/u", "/opt",
              "=/srv/v", "-/mnt/w", "\n/Users/me/p;", "/root/", "//home/x/y"]
    texts = ["".join(rng.choice(pieces + [" ", "+", "a"]) for _ in range(40)) for _ in range(300)]
    texts.append(base64.b64encode(rng.randbytes(200_000)).decode() + " /tmp/after-base64")
    for text in texts:
        assert find_absolute(text) == reference.findall(text), text
    assert find_absolute(texts[-1]) == ["/tmp/after-base64"]
