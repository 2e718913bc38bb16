"""The GGD standard format (../shared/data/ggd_format_sample) read through a codebook alone.

The sample's columns were permuted independently: these tests check reading and cleaning
mechanics, never estimates.
"""

from __future__ import annotations

import pyreadstat
import pytest

from wijkeffect.clean import clean_wave
from wijkeffect.codebook import load_codebook

SAMPLE = "ggd_format_sample/nep testdata GMJV - Regionaal trendbestand 2022-2024.sav"


@pytest.fixture(scope="module")
def raw(shared_data):
    return pyreadstat.read_sav(shared_data / SAMPLE, user_missing=True)


@pytest.mark.parametrize("wave", [2022, 2024])
def test_ggd_trend_file_cleans_per_wave(root, raw, wave):
    df_raw, _ = raw
    cb = load_codebook(root / f"config/codebooks/ggd_sample/{wave}.yaml")
    out, log = clean_wave(cb)
    in_wave = int((df_raw["AGOJB401"] == wave).sum())
    assert log.rows_in == len(df_raw) == 3580
    assert log.exclusions == {"other_wave_in_file": len(df_raw) - in_wave}
    assert log.rows_out == len(out) == in_wave
    assert out["respondent_id"].is_unique and out["respondent_id"].str.startswith(f"ggd_sample-{wave}-").all()
    sub = df_raw[df_raw["AGOJB401"] == wave].reset_index(drop=True)
    # recodes through the file's value labels: Ja -> 1, Nee -> 0, Onbekend (9) -> missing
    raw_missing = sub["LFRKA403"].isna() | (sub["LFRKA403"] == 9)
    assert raw_missing.any() and (out["smoker"].isna().to_numpy() == raw_missing.to_numpy()).all()
    assert (out["smoker"].astype(float).fillna(-1).to_numpy() == sub["LFRKA403"].where(~raw_missing, -1)).all()
    assert set(out["sex"].dropna().unique()) <= {"male", "female", "other"}
    assert out["age_group"].dropna().isin(["16-17", "18-20", "21-25"]).all()
    assert set(out["migration_background"].dropna().unique()) <= {"dutch", "migrant", "child_of_migrant"}
    assert out["weight"].tolist() == pytest.approx(sub["Standaardisatiefactor"].tolist())
    assert out["psych_instrument"].eq("MHI-5").all()


def test_a_label_the_file_lacks_is_an_error(root, tmp_path, shared_data):
    import yaml

    from wijkeffect.errors import WijkeffectError

    spec = yaml.safe_load((root / "config/codebooks/ggd_sample/_gmjv_trend.yaml").read_text())
    spec.update(source="ggd_sample", wave=2022, file=str(shared_data / SAMPLE))
    spec["columns"]["smoker"]["recode_labels"] = {"Nee": 0, "Jawel": 1}
    path = tmp_path / "cb.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    with pytest.raises(WijkeffectError) as exc:
        clean_wave(load_codebook(path))
    msg = str(exc.value)
    assert "Regionaal trendbestand" in msg and "LFRKA403" in msg and "'Jawel'" in msg
