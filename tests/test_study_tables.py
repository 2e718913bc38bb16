"""Study tables (lookup, intervention list, crosswalks) read like waves: `read:` options, own column
names, and errors that name the file, the columns found and the fix; validated before any wave."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from wijkeffect.errors import WijkeffectError
from wijkeffect.geo import read_crosswalk, read_lookup
from wijkeffect.study import load_study, validate_tables

OWN_NAMES = {"pc6": "POSTCODE", "buurt_code": "BUURT", "wijk_code": "WIJK", "gemeente_code": "GEMEENTE"}


@pytest.fixture(scope="module")
def demo(root):
    study = load_study(root / "config/studies/demo.yaml")
    return study, read_lookup(root / "data/raw/demo/pc6_lookup.csv")


def _study(tmp: Path, root: Path, **over) -> Path:
    spec = yaml.safe_load((root / "config/studies/demo.yaml").read_text())
    spec["lookup"] = str(root / spec["lookup"])
    spec["treated"] = {"file": str(root / spec["treated"]["file"])}
    spec.pop("geometry", None)
    spec.update(over)
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return path


def _dutch_lookup(root: Path, path: Path) -> None:
    """The demo lookup as a Dutch export: ';', latin-1, the municipality's own column names."""
    df = pd.read_csv(root / "data/raw/demo/pc6_lookup.csv", dtype=str).rename(columns=OWN_NAMES)
    df.insert(1, "STRAAT", "Één straat")  # latin-1 text in an unused column
    with open(path, "w", encoding="latin-1", newline="") as fh:
        df.to_csv(fh, sep=";", index=False)


def test_plain_demo_study_validates_fast(root, demo):
    study, lookup = demo
    t0 = time.perf_counter()
    validate_tables(study)
    assert time.perf_counter() - t0 < 5
    pd.testing.assert_frame_equal(study.lookup(), lookup)
    assert study.crosswalks() == {}
    assert [p.name for p in study.table_files()] == ["pc6_lookup.csv", "interventions.csv", "wijken.gpkg"]


def test_lookup_with_read_options_and_own_names(root, demo, tmp_path):
    f = tmp_path / "postcodes.csv"
    _dutch_lookup(root, f)
    study = load_study(_study(tmp_path, root, lookup={"file": str(f), "read": {"sep": ";", "encoding": "latin-1"},
                                                      "columns": OWN_NAMES}))
    pd.testing.assert_frame_equal(study.lookup(), demo[1])
    validate_tables(study)


def test_lookup_from_an_excel_sheet(root, demo, tmp_path):
    f = tmp_path / "postcodes.xlsx"
    df = pd.read_csv(root / "data/raw/demo/pc6_lookup.csv", dtype=str)
    with pd.ExcelWriter(f) as xw:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(xw, sheet_name="Toelichting", index=False)
        df.to_excel(xw, sheet_name="PC6", index=False)
    study = load_study(_study(tmp_path, root, lookup={"file": str(f), "read": {"sheet": "PC6"}}))
    pd.testing.assert_frame_equal(study.lookup(), demo[1])


def test_wrong_delimiter_names_file_columns_found_and_fix(root, tmp_path):
    f = tmp_path / "postcodes.csv"
    _dutch_lookup(root, f)
    study = load_study(_study(tmp_path, root, lookup={"file": str(f), "read": {"encoding": "latin-1"}}))
    with pytest.raises(WijkeffectError) as exc:
        validate_tables(study)
    msg = str(exc.value)
    assert "postcodes.csv" in msg and "['pc6', 'buurt_code', 'wijk_code', 'gemeente_code'] missing" in msg
    assert "found ['POSTCODE;STRAAT;pc4;BUURT;WIJK;GEMEENTE']" in msg and "read: {sep: ';'}" in msg


def test_missing_column_names_the_fix(root, tmp_path):
    f = tmp_path / "postcodes.csv"
    pd.read_csv(root / "data/raw/demo/pc6_lookup.csv", dtype=str).rename(columns={"wijk_code": "WK"}).to_csv(
        f, index=False)
    with pytest.raises(WijkeffectError) as exc:
        load_study(_study(tmp_path, root, lookup=str(f))).lookup()
    msg = str(exc.value)
    assert "postcodes.csv" in msg and "['wijk_code'] missing" in msg and "'WK'" in msg
    assert "lookup: {file: ..., columns: {wijk_code: <column in the file>}}" in msg


def test_mapped_column_absent_from_file(root, tmp_path):
    study = load_study(_study(tmp_path, root, lookup={"file": str(root / "data/raw/demo/pc6_lookup.csv"),
                                                      "columns": {"pc6": "POSTCODE"}}))
    with pytest.raises(WijkeffectError) as exc:
        study.lookup()
    assert "pc6_lookup.csv" in str(exc.value) and "'POSTCODE'" in str(exc.value) and "'pc4'" in str(exc.value)


def test_intervention_list_read_like_a_wave(root, demo, tmp_path):
    src = pd.read_csv(root / "data/raw/demo/interventions.csv", dtype=str)
    own = src.rename(columns={"wijk_code": "Wijkcode", "start": "Startdatum", "group": "Groep"})
    own["Startdatum"] = pd.to_datetime(own["Startdatum"]).dt.strftime("%d-%m-%Y")
    f = tmp_path / "aanpakwijken.csv"
    with open(f, "w", encoding="latin-1", newline="") as fh:
        own.to_csv(fh, sep=";", index=False)
    spec = {"file": str(f), "read": {"sep": ";", "encoding": "latin-1"}, "date_format": "%d-%m-%Y",
            "columns": {"wijk_code": "Wijkcode", "start": "Startdatum", "group": "Groep"}}
    study = load_study(_study(tmp_path, root, treated=spec))
    pd.testing.assert_frame_equal(study.treated, demo[0].treated)
    validate_tables(study)


def test_intervention_list_bad_dates_name_the_format(root, tmp_path):
    f = tmp_path / "aanpakwijken.csv"
    pd.DataFrame({"wijk_code": ["WK990103"], "start": ["01-07-2010"]}).to_csv(f, index=False)
    with pytest.raises(WijkeffectError) as exc:
        load_study(_study(tmp_path, root, treated={"file": str(f)}))
    assert "aanpakwijken.csv" in str(exc.value) and "'01-07-2010'" in str(exc.value) and "date_format" in str(exc.value)


def test_crosswalk_with_decimal_comma_shares(root, tmp_path):
    f = tmp_path / "omzetting_2014.csv"
    f.write_text("OUD;NIEUW;AANDEEL\nWK990101;WK990101;0,25\nWK990101;WK990102;0,75\nWK990103;WK990103;1\n")
    spec = {"file": str(f), "read": {"sep": ";", "decimal": ","},
            "columns": {"old_code": "OUD", "new_code": "NIEUW", "share": "AANDEEL"}}
    study = load_study(_study(tmp_path, root, crosswalks={2014: spec}))
    cw = study.crosswalks()[2014]
    assert cw["share"].tolist() == [0.25, 0.75, 1.0]
    assert cw["new_code"].tolist() == ["WK990101", "WK990102", "WK990103"]
    validate_tables(study)
    assert read_crosswalk(f, {"sep": ";", "decimal": ","}, spec["columns"]).equals(cw)


def test_crosswalk_to_codes_outside_the_lookup(root, tmp_path):
    f = tmp_path / "cw.csv"
    f.write_text("old_code,new_code\nWK990101,WK123456\n")
    with pytest.raises(WijkeffectError) as exc:
        validate_tables(load_study(_study(tmp_path, root, crosswalks={2014: str(f)})))
    assert "cw.csv" in str(exc.value) and "new_code" in str(exc.value) and "'WK123456'" in str(exc.value)


def test_city_not_in_lookup(root, tmp_path):
    with pytest.raises(WijkeffectError) as exc:
        validate_tables(load_study(_study(tmp_path, root, cities=["GM9901", "GM0363"])))
    assert "pc6_lookup.csv" in str(exc.value) and "'GM0363'" in str(exc.value) and "cities" in str(exc.value)


def test_treated_wijk_not_in_lookup(root, tmp_path):
    treated = [{"wijk_code": "WK990103", "start": "2010-07-01"}, {"wijk_code": "WK036301", "start": "2010-07-01"}]
    with pytest.raises(WijkeffectError) as exc:
        validate_tables(load_study(_study(tmp_path, root, treated=treated)))
    assert "study.yaml" in str(exc.value) and "'WK036301'" in str(exc.value) and "lookup" in str(exc.value)


def test_schema_refuses_an_unknown_read_option(root, tmp_path):
    with pytest.raises(WijkeffectError) as exc:
        load_study(_study(tmp_path, root, lookup={"file": "x.csv", "read": {"delimiter": ";"}}))
    assert "study.yaml" in str(exc.value) and "lookup" in str(exc.value)


def test_lookup_gets_the_wave_checks_short_line_and_duplicate_column(root, tmp_path):
    f = tmp_path / "postcodes.csv"
    f.write_text("pc6,buurt_code,wijk_code,gemeente_code\n1000AM,BU99010100,WK990101,GM9901\n1000DS,BU99010100\n")
    with pytest.raises(WijkeffectError, match=r"postcodes.csv: line 3: 2 fields where the header has 4"):
        load_study(_study(tmp_path, root, lookup=str(f))).lookup()
    f.write_text("pc6,wijk_code,wijk_code,gemeente_code\n1000AM,WK990101,WK990102,GM9901\n")
    with pytest.raises(WijkeffectError, match=r"postcodes.csv: header: column names appear more than once.*'wijk_code'"):
        load_study(_study(tmp_path, root, lookup=str(f))).lookup()
