"""The bad-input corpus: malformed waves in every format the readers take (CSV, SPSS, Excel, parquet).

Each case writes one small malformed file to tmp at test time, deterministically, from a good base
wave. Generated rather than committed: .sav, .xlsx and parquet files are opaque in review and in
diffs, and each case then reads as the one defect it plants next to the outcome it expects. The
outcome is either an error whose message names the file, the column or key and the bad value, or a
counted exclusion/missing value with rows_in == rows_out + exclusions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyreadstat
import pytest
import yaml

from wijkeffect.clean import clean_wave
from wijkeffect.codebook import load_codebook
from wijkeffect.errors import WijkeffectError

N = 6
ITEMS = [f"k{j}" for j in range(1, 11)]


def base_frame() -> pd.DataFrame:
    """A good wave: every column clean, so each case's one defect is the only one."""
    return pd.DataFrame({
        "id": [f"r{i}" for i in range(N)],
        "pc": ["1234AB", "1234 ab", "5678CD", "5678CD", "1234AB", "9999ZZ"],
        "w": [1.5, 0.5, 1.25, 1.0, 0.75, 1.0],
        "age": [30, 40, 999, 55, 61, 70],
        "smk": [1, 2, 9, 1, 2, 2],
        "dt": [f"{d:02d}-03-2020" for d in range(1, N + 1)],
        **{k: [1, 2, 3, 4, 5, 9] for k in ITEMS},
        "d": [0, 2, 7, 99, 1, 3],
        "m": [0, 20, 30, 30, 999, 10],
    })


def base_codebook() -> dict[str, Any]:
    return {
        "source": "t", "wave": 2020,
        "columns": {
            "respondent_id": {"var": "id"},
            "pc6": {"var": "pc"},
            "weight": {"var": "w"},
            "age": {"var": "age", "missing": [999], "range": [18, 110]},
            "smoker": {"var": "smk", "recode": {1: 1, 2: 0}, "missing": [9]},
            "interview_date": {"var": "dt", "date_format": "%d-%m-%Y"},
        },
        "scores": {
            "psych": {"instrument": "K10", "items": ITEMS, "missing": [9], "max_missing": 1},
            "walk_min_week": {"expr": "d * m", "vars": ["d", "m"], "missing": {"d": [99], "m": [999]}},
        },
    }


# ----------------------------------------------------------------------------- writers
def write_csv(path: Path, df: pd.DataFrame, sep: str = ",", encoding: str = "utf-8", decimal: str = ".") -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        df.to_csv(fh, sep=sep, index=False, decimal=decimal)


def write_csv_lines(path: Path, df: pd.DataFrame, edit: Callable[[list[str]], list[str]]) -> None:
    """A CSV whose text lines are edited after writing (cut lines, extra fields, repeated header names)."""
    lines = df.to_csv(index=False, lineterminator="\n").splitlines()
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")


def write_sav(path: Path, df: pd.DataFrame) -> None:
    num = df.copy()
    for c in ("w", "age", "smk", *ITEMS, "d", "m"):
        if c in num:
            num[c] = pd.to_numeric(num[c], errors="coerce").astype(float)
    labels = {"smk": {1.0: "ja", 2.0: "nee", 9.0: "onbekend"}} if "smk" in num else {}
    pyreadstat.write_sav(num, str(path), variable_value_labels=labels)


def write_xlsx(path: Path, df: pd.DataFrame) -> None:
    df.to_excel(path, index=False, sheet_name="data")


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    df.to_parquet(path, index=False)


WRITERS = {"csv": write_csv, "sav": write_sav, "xlsx": write_xlsx, "parquet": write_parquet}


@dataclass
class Case:
    """One malformed file and what must happen to it."""

    id: str
    fmt: str
    frame: Callable[[pd.DataFrame], pd.DataFrame] = lambda df: df
    write: Callable[[Path, pd.DataFrame], None] | None = None  # default: WRITERS[fmt]
    codebook: Callable[[dict], None] = lambda cb: None
    error: list[str] = field(default_factory=list)  # substrings the message must hold (besides the file)
    counted: dict[str, dict[str, int]] = field(default_factory=dict)  # log attribute -> expected entries


def _set(col: str, row: int, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def f(df: pd.DataFrame) -> pd.DataFrame:
        df = df.astype({col: object})
        df.loc[row, col] = value
        return df
    return f


def _col(name: str, **spec: Any) -> Callable[[dict], None]:
    def f(cb: dict) -> None:
        cb["columns"][name].update(spec)
    return f


def _truncate(writer: Callable[[Path, pd.DataFrame], None]) -> Callable[[Path, pd.DataFrame], None]:
    def f(path: Path, df: pd.DataFrame) -> None:
        writer(path, df)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return f


def _dup_header(lines: list[str]) -> list[str]:
    head = lines[0].split(",")
    head[head.index("smk")] = "age"  # a second 'age' column: pandas would read it as 'age.1'
    return [",".join(head), *lines[1:]]


def _drop_last_field(line_no: int) -> Callable[[list[str]], list[str]]:
    def f(lines: list[str]) -> list[str]:
        lines = list(lines)
        lines[line_no - 1] = lines[line_no - 1].rsplit(",", 1)[0]  # cut after an item: the last field lost
        return lines
    return f


def _add_field(line_no: int) -> Callable[[list[str]], list[str]]:
    def f(lines: list[str]) -> list[str]:
        lines = list(lines)
        lines[line_no - 1] += ",5"
        return lines
    return f


def _rename(old: str, new: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda df: df.rename(columns={old: new})


def _sav_case_duplicate(path: Path, df: pd.DataFrame) -> None:
    write_sav(path, df.assign(AGE=df["age"].astype(float)))  # SPSS names are case-insensitive: age == AGE


def _parquet_duplicate(path: Path, df: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table.append_column("age", pa.array(df["age"].astype("int64"))), path)


def _xlsx_duplicate(path: Path, df: pd.DataFrame) -> None:
    df = df.copy()
    df.columns = ["age" if c == "smk" else c for c in df.columns]
    df.to_excel(path, index=False)


CASES = [
    # --- CSV
    Case("csv_text_in_numeric", "csv", _set("age", 1, "veel"), error=["variable age", "schema column age", "'veel'",
                                                                       "a number"]),
    Case("csv_text_in_numeric_missing", "csv", _set("age", 1, "veel"), codebook=_col("age", invalid="missing"),
         counted={"set_missing": {"age": 1}}),
    Case("csv_text_in_numeric_exclude", "csv", _set("age", 1, "veel"), codebook=_col("age", invalid="exclude"),
         counted={"exclusions": {"invalid_age": 1}}),
    Case("csv_text_missing_code_listed", "csv", _set("age", 1, "?"), codebook=_col("age", missing=[999, "?"]),
         counted={"exclusions": {}}),
    Case("csv_text_in_k10_item", "csv", _set("k4", 0, "veel"), error=["variable k4", "psych_score", "'veel'"]),
    Case("csv_text_in_expression_var", "csv", _set("d", 2, "vaak"), error=["variable d", "walk_min_week", "'vaak'"]),
    Case("csv_text_in_weight", "csv", _set("w", 3, "onbekend"), error=["variable w", "weight", "'onbekend'"]),
    Case("csv_text_in_recoded", "csv", _set("smk", 4, "soms"), error=["variable smk", "smoker", "'soms'"]),
    Case("csv_duplicate_column", "csv", write=lambda p, df: write_csv_lines(p, df, _dup_header),
         error=["header", "more than once", "'age'"]),
    Case("csv_short_line", "csv", write=lambda p, df: write_csv_lines(p, df, _drop_last_field(4)),
         error=["line 4", f"{len(base_frame().columns) - 1} fields", "short"]),
    Case("csv_long_line", "csv", write=lambda p, df: write_csv_lines(p, df, _add_field(3)),
         error=["line 3", f"{len(base_frame().columns) + 1} fields", "long"]),
    Case("csv_wrong_delimiter", "csv", write=lambda p, df: write_csv(p, df, sep=";"),
         error=["not in the file", "delimiter", "';'", "sep"]),
    Case("csv_wrong_encoding", "csv", _set("id", 2, "ré"), write=lambda p, df: write_csv(p, df, encoding="latin-1"),
         error=["decode", "'utf-8'", "line 4", "b'\\xe9'", "encoding", "latin-1"]),
    Case("csv_wrong_decimal", "csv", write=lambda p, df: write_csv(p, df, sep=";", decimal=","),
         codebook=lambda cb: cb.update(read={"sep": ";"}), error=["variable w", "'1,5'", "decimal: ','"]),
    Case("csv_unknown_code", "csv", _set("smk", 2, 7), error=["variable smk", "smoker", "'7'", "recode"]),
    Case("csv_out_of_range", "csv", _set("age", 0, 250), error=["variable age", "250", "[18, 110]"]),
    Case("csv_out_of_range_exclude", "csv", _set("age", 0, 250), codebook=_col("age", invalid="exclude"),
         counted={"exclusions": {"invalid_age": 1}}),
    Case("csv_missing_id", "csv", _set("id", 3, ""), error=["variable id", "respondent_id", "without an id"]),
    Case("csv_duplicate_id", "csv", _set("id", 3, "r1"), error=["variable id", "respondent_id", "'r1'"]),
    Case("csv_bad_date", "csv", _set("dt", 1, "31-02-2020"), error=["variable dt", "'31-02-2020'", "%d-%m-%Y"]),
    Case("csv_empty_file", "csv", write=lambda p, df: p.write_text(""), error=["empty"]),
    Case("csv_header_only", "csv", write=lambda p, df: p.write_text(",".join(df.columns) + "\n"),
         error=["no rows"]),
    Case("csv_bad_postcode_counted", "csv", _set("pc", 2, "12AB34"), counted={"set_missing": {"pc6": 1}}),
    Case("csv_bad_postcode_error", "csv", _set("pc", 2, "12AB34"), codebook=_col("pc6", invalid="error"),
         error=["variable pc", "pc6", "'12AB34'"]),
    Case("csv_negative_weight", "csv", _set("w", 5, -1.0), error=["variable w", "weight", "-1.0", ">= 0"]),
    Case("csv_missing_variable", "csv", codebook=lambda cb: cb["columns"].update(sex={"var": "GESLACHT",
                                                                                        "recode": {1: "male"}}),
         error=["GESLACHT", "not in the file"]),
    Case("csv_k10_item_out_of_range", "csv", _set("k3", 1, 7), error=["variable k3", "psych_score", "7.0", "1-5"]),
    Case("csv_k10_item_out_of_range_missing", "csv", _set("k3", 1, 7),
         codebook=lambda cb: cb["scores"]["psych"].update(invalid="missing"),
         counted={"set_missing": {"psych_score": 1}}),
    # --- SPSS
    Case("sav_truncated", "sav", write=_truncate(write_sav), error=["SPSS", "truncated"]),
    Case("sav_duplicate_name", "sav", write=_sav_case_duplicate, error=["more than once", "'age'", "'AGE'"]),
    Case("sav_unknown_code", "sav", _set("smk", 2, 7), error=["variable smk", "smoker", "7", "ja"]),
    Case("sav_label_not_in_file", "sav",
         codebook=_col("smoker", recode={}, recode_labels={"ja": 1, "jawel": 0}),
         error=["variable smk", "value labels", "'jawel'"]),
    Case("sav_missing_variable", "sav", _rename("age", "LFT"), error=["age", "not in the file"]),
    Case("sav_k10_item_out_of_range_exclude", "sav", _set("k1", 0, 6),
         codebook=lambda cb: cb["scores"]["psych"].update(invalid="exclude"),
         counted={"exclusions": {"invalid_psych_score": 1}}),
    # --- Excel
    Case("xlsx_text_in_numeric", "xlsx", _set("age", 1, "veel"), error=["variable age", "'veel'"]),
    Case("xlsx_duplicate_column", "xlsx", write=_xlsx_duplicate, error=["header", "more than once", "'age'"]),
    Case("xlsx_wrong_sheet", "xlsx", codebook=lambda cb: cb.update(read={"sheet": "Blad1"}),
         error=["sheet 'Blad1'", "not found", "['data']"]),
    Case("xlsx_unknown_code_exclude", "xlsx", _set("smk", 0, 5), codebook=_col("smoker", invalid="exclude"),
         counted={"exclusions": {"invalid_smoker": 1}}),
    # --- parquet
    Case("parquet_duplicate_column", "parquet", write=_parquet_duplicate, error=["schema", "more than once", "'age'"]),
    Case("parquet_text_in_numeric", "parquet", lambda df: _set("age", 4, "veel")(df).astype({"age": str}),
         error=["variable age", "'veel'"]),
    Case("parquet_truncated", "parquet", write=_truncate(write_parquet), error=["parquet"]),
    Case("parquet_negative_weight_exclude", "parquet", _set("w", 0, -2.0), codebook=_col("weight", invalid="exclude"),
         counted={"exclusions": {"invalid_weight": 1}}),
]


def test_corpus_is_large_and_covers_every_format():
    assert len(CASES) >= 25
    assert {c.fmt for c in CASES} == {"csv", "sav", "xlsx", "parquet"}
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(tmp_path, case: Case):
    data = tmp_path / f"{case.id}.{case.fmt}"
    (case.write or WRITERS[case.fmt])(data, case.frame(base_frame()))
    cb = copy.deepcopy(base_codebook())
    cb["file"] = str(data)
    case.codebook(cb)
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(cb, sort_keys=False, allow_unicode=True))
    if case.error:
        with pytest.raises(WijkeffectError) as exc:
            clean_wave(load_codebook(path))
        msg = str(exc.value)
        for part in [data.name, *case.error]:
            assert part in msg, f"{part!r} not in: {msg}"
        return
    out, log = clean_wave(load_codebook(path))
    assert log.rows_in == N == log.rows_out + sum(log.exclusions.values()) == len(out) + sum(log.exclusions.values())
    for attr, expected in case.counted.items():
        got = getattr(log, attr)
        assert {k: got.get(k, 0) for k in expected} == expected, got
        if attr == "exclusions":
            assert got == expected  # nothing else excluded


def test_base_wave_is_clean_in_every_format(tmp_path):
    """The corpus's base file cleans without loss, so each case's failure is its own defect."""
    for fmt, writer in WRITERS.items():
        data = tmp_path / f"good.{fmt}"
        writer(data, base_frame())
        cb = {**base_codebook(), "file": str(data)}
        path = tmp_path / f"{fmt}.yaml"
        path.write_text(yaml.safe_dump(cb, sort_keys=False))
        out, log = clean_wave(load_codebook(path))
        assert log.rows_out == N and not log.exclusions and not log.set_missing, (fmt, log)
        assert out["pc6"].tolist()[:3] == ["1234AB", "1234AB", "5678CD"]
        assert out["weight"].tolist() == [1.5, 0.5, 1.25, 1.0, 0.75, 1.0]
