"""`python -m wijkeffect init`: draft codebooks that, once their TODOs are filled from the project's own
codebooks, clean to exactly the rows the real codebooks give; drafts with a TODO are refused."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml

from wijkeffect.clean import clean_wave
from wijkeffect.codebook import load_codebook, todo_keys, validate
from wijkeffect.errors import WijkeffectError
from wijkeffect.init import init, sniff_csv
from wijkeffect.study import load_study

from .conftest import DEMO_WAVES
from .test_ggd_format import SAMPLE


def fill(draft: dict, real: dict) -> dict:
    """What a person does with a draft: each column or score still marked TODO takes the real codebook's
    decision, or is deleted when the real codebook has no such key. Guessed keys are left as init wrote them."""
    out = copy.deepcopy(draft)
    for section in ("columns", "scores"):
        for key, spec in draft.get(section, {}).items():
            if todo_keys(spec):
                if key in real.get(section, {}):
                    out[section][key] = real[section][key]
                else:
                    del out[section][key]
    return out


def _clean_pair(tmp: Path, draft_path: Path, real_spec: dict, data_file: Path | None = None):
    draft = yaml.safe_load(draft_path.read_text(encoding="utf-8"))
    filled = fill(draft, real_spec)
    # every column and score the real codebook maps, init found (as a guess or as a TODO)
    assert set(real_spec["columns"]) <= set(filled["columns"]), set(real_spec["columns"]) - set(filled["columns"])
    assert set(real_spec.get("scores", {})) <= set(filled.get("scores", {}))
    f = tmp / f"filled_{draft_path.stem}.yaml"
    f.write_text(yaml.safe_dump(filled, allow_unicode=True, sort_keys=False), encoding="utf-8")
    real = {k: v for k, v in real_spec.items()}
    if data_file is not None:
        real["file"] = str(data_file)
    r = tmp / f"real_{draft_path.stem}.yaml"
    r.write_text(yaml.safe_dump(real, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return draft, filled, clean_wave(load_codebook(f)), clean_wave(load_codebook(r))


@pytest.fixture(scope="module")
def demo_init(root, tmp_path_factory):
    target = tmp_path_factory.mktemp("study") / "mystudy"
    written = init(target, [root / f"data/raw/demo/monitor_{w}.sav" for w in DEMO_WAVES], "demo")
    return target, written


def test_init_writes_config_study_and_a_draft_per_wave(demo_init):
    target, written = demo_init
    assert {p.relative_to(target).as_posix() for p in written} == {
        "config.yaml", "study.yaml", *(f"codebooks/demo/{w}.yaml" for w in DEMO_WAVES)}
    cfg = yaml.safe_load((target / "config.yaml").read_text())
    validate(cfg, "config.schema.yaml", target / "config.yaml")
    schema = yaml.safe_load((Path(__file__).parents[1] / "workflow/schemas/config.schema.yaml").read_text())
    optional = {k for k, v in schema["properties"].items() if "default" not in v and k not in schema["required"]}
    # every key with a default is written out, and the waves found (required for a survey study)
    assert set(cfg) - {"sweep"} == (set(schema["properties"]) - optional) | {"waves"}
    assert "truth" not in cfg  # nothing of the demo: no TRUTH.yaml
    assert [w["wave"] for w in cfg["waves"]] == list(DEMO_WAVES)
    assert cfg["thresholds"] == {"k10_high": 30, "mhi5_low": 60, "walking_min_week": 30}
    text = (target / "codebooks/demo/2005.yaml").read_text()
    assert "GESL: number; geslacht" in text and "1=man, 2=vrouw, 9=onbekend" in text  # value labels listed
    assert "top 2 (1422), 1 (1372), 9 (6)" in text  # most common values with counts


@pytest.mark.parametrize("wave", DEMO_WAVES)
def test_demo_drafts_clean_like_the_real_codebooks(root, demo_init, tmp_path, wave):
    target, _ = demo_init
    real = load_codebook(root / f"config/codebooks/demo/{wave}.yaml").spec
    draft, filled, (got, got_log), (want, want_log) = _clean_pair(tmp_path, target / f"codebooks/demo/{wave}.yaml",
                                                                  real)
    pd.testing.assert_frame_equal(got, want)
    assert got_log.rows_out == want_log.rows_out and got_log.exclusions == want_log.exclusions
    # the identifying columns were guessed, not left to the person
    for col in ("respondent_id", "interview_date", "pc6", "weight", "sex", "smoker"):
        assert not todo_keys(draft["columns"][col]), col
        assert draft["columns"][col]["var"] == real["columns"][col]["var"]
    assert draft["scores"]["walk_min_week"] == {**real["scores"]["walk_min_week"]}


def test_ggd_trend_file_drafts_clean_like_the_real_codebooks(root, shared_data, tmp_path):
    sav = shared_data / SAMPLE
    written = init(tmp_path / "ggd", [sav], "ggd_sample")
    drafts = sorted(p.name for p in written if p.parent.name == "ggd_sample")
    assert drafts == ["2022.yaml", "2024.yaml"]  # one trend file, two waves: one draft each, rows selected
    for wave in (2022, 2024):
        real = load_codebook(root / f"config/codebooks/ggd_sample/{wave}.yaml").spec
        draft, _, (got, got_log), (want, want_log) = _clean_pair(
            tmp_path, tmp_path / f"ggd/codebooks/ggd_sample/{wave}.yaml", real, sav)
        assert draft["rows"] == real["rows"]
        pd.testing.assert_frame_equal(got, want)
        assert got_log.exclusions == want_log.exclusions == {"other_wave_in_file": got_log.rows_in - len(got)}
        for col in ("weight", "age_group", "sex", "education", "migration_background", "smoker", "psych_distress"):
            assert not todo_keys(draft["columns"][col]), col  # guessed from names and value labels


def _dutch_csv(root: Path, path: Path) -> pd.DataFrame:
    """The demo's 2013 wave as a Dutch export: ';', decimal comma, latin-1, codes without labels."""
    raw, _ = pyreadstat.read_sav(root / "data/raw/demo/monitor_2013.sav", user_missing=True)
    raw["OPMERKING"] = "geen"
    raw.loc[::7, "OPMERKING"] = "één keer gebeld"
    for c in raw.columns:
        if pd.api.types.is_float_dtype(raw[c]) and (raw[c].dropna() % 1 == 0).all():
            raw[c] = raw[c].astype("Int64")
    with open(path, "w", encoding="latin-1", newline="") as fh:
        raw.to_csv(fh, sep=";", decimal=",", index=False)
    return raw


def test_dutch_csv_export_is_sniffed_and_cleans_like_the_sav(root, tmp_path):
    csv_file = tmp_path / "gezondheid_2013.csv"
    _dutch_csv(root, csv_file)
    assert sniff_csv(csv_file) == {"sep": ";", "encoding": "latin-1", "decimal": ","}
    init(tmp_path / "nl", [csv_file, root / "data/raw/demo/monitor_2011.sav"], "demo")
    draft_path = tmp_path / "nl/codebooks/demo/2013.yaml"
    real = load_codebook(root / "config/codebooks/demo/2013.yaml").spec
    draft, filled, (got, _), (want, _) = _clean_pair(tmp_path, draft_path, real)
    assert draft["read"] == {"sep": ";", "encoding": "latin-1", "decimal": ","}
    assert draft["columns"]["interview_date"] == {"var": "AFNAMEDATUM", "date_format": "%d-%m-%Y"}
    assert draft["columns"]["age"]["missing"] == "TODO"  # 99 in the data: a missing code? a person decides
    pd.testing.assert_frame_equal(got, want)


def test_text_codes_in_a_csv_are_recoded(tmp_path):
    f = tmp_path / "wave_2020.csv"
    f.write_text("RESPID;PCODE;GEWICHT;ROKER;GESLACHT\n1;1234AB;1,5;ja;M\n2;1234AB;0,5;nee;V\n3;1234AB;1;?;V\n")
    init(tmp_path / "s", [f, f], "x", force=True)
    draft = yaml.safe_load((tmp_path / "s/codebooks/x/2020.yaml").read_text())
    assert draft["columns"]["smoker"] == {"var": "ROKER", "recode": {"ja": 1, "nee": 0}, "missing": ["?"]}
    assert draft["columns"]["sex"] == {"var": "GESLACHT", "recode": {"M": "male", "V": "female"}}
    draft["columns"].pop("survey_mode")
    f2 = tmp_path / "cb.yaml"
    f2.write_text(yaml.safe_dump(draft))
    out, log = clean_wave(load_codebook(f2))
    assert out["smoker"].tolist()[:2] == [1, 0] and pd.isna(out["smoker"].iloc[2])
    assert out["weight"].tolist() == [1.5, 0.5, 1.0]


def test_a_draft_with_todo_is_refused_naming_file_and_keys(demo_init):
    target, _ = demo_init
    with pytest.raises(WijkeffectError) as exc:
        load_codebook(target / "codebooks/demo/2005.yaml")
    msg = str(exc.value)
    assert "2005.yaml" in msg and "columns/education/recode" in msg and "columns/survey_mode" in msg
    assert "scores/psych/reverse" in msg and "scores/psych/max_missing" in msg


def test_a_todo_in_an_extended_base_names_the_base(tmp_path):
    (tmp_path / "_base.yaml").write_text("columns:\n  respondent_id: {var: TODO}\n")
    (tmp_path / "2020.yaml").write_text("extends: _base.yaml\nsource: x\nwave: 2020\nfile: x.csv\n")
    with pytest.raises(WijkeffectError) as exc:
        load_codebook(tmp_path / "2020.yaml")
    assert "_base.yaml" in str(exc.value) and "columns/respondent_id/var" in str(exc.value)


def test_the_study_skeleton_is_refused_until_filled(demo_init):
    target, _ = demo_init
    with pytest.raises(WijkeffectError) as exc:
        load_study(target / "study.yaml")
    msg = str(exc.value)
    assert "study.yaml" in msg and "lookup" in msg and "treated" in msg and "cities[0]" in msg and "indeling" in msg


def test_cli_writes_and_refuses_to_overwrite(root, tmp_path):
    env_cmd = [sys.executable, "-m", "wijkeffect", "init", str(tmp_path / "s"), "--waves",
               str(root / "data/raw/demo/monitor_2005.sav"), str(root / "data/raw/demo/monitor_2006.sav")]
    res = subprocess.run(env_cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "TODO(s) left" in res.stdout and (tmp_path / "s/codebooks/s/2006.yaml").exists()
    again = subprocess.run(env_cmd, capture_output=True, text=True)
    assert again.returncode == 1 and "exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
