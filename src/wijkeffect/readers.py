"""Read a survey wave from SPSS .sav, CSV, Excel or parquet, reading only the columns needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error

FORMATS = {".sav": "sav", ".zsav": "sav", ".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}


@dataclass
class Wave:
    """Raw data plus what the file says about it: value labels and declared missing codes per variable."""

    data: pd.DataFrame
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    missing_codes: dict[str, set[Any]] = field(default_factory=dict)


def detect_format(path: Path, declared: str | None = None) -> str:
    """The reader to use: declared in the codebook, else from the file suffix."""
    if declared:
        return declared
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise WijkeffectError(f"{path}: unknown file type {path.suffix!r}; expected one of "
                              f"{sorted(FORMATS)} or a `format:` key in the codebook") from None


def read_wave(path: Path, fmt: str | None = None, columns: list[str] | None = None,
              options: dict[str, Any] | None = None) -> Wave:
    """Read the variables in `columns` (all when None) of one wave file."""
    options = options or {}
    if not path.exists():
        raise WijkeffectError(f"{path}: file not found; expected the wave file named in the codebook")
    if path.stat().st_size == 0:
        raise WijkeffectError(f"{path}: file is empty (0 bytes); expected a survey wave")
    fmt = detect_format(path, fmt)
    wave = {"sav": _read_sav, "csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}[fmt](
        path, columns, options)
    if len(wave.data) == 0:
        raise WijkeffectError(f"{path}: file has a header but no rows; expected at least one respondent")
    return wave


def _check_columns(path: Path, available: list[str], columns: list[str] | None, hint: str = "") -> list[str] | None:
    if columns is None:
        return None
    missing = [c for c in columns if c not in available]
    if missing:
        raise WijkeffectError(f"{path}: codebook variables not in the file: [{', '.join(missing[:5])}]; "
                              f"expected them among the file's {len(available)} columns "
                              f"(first: {', '.join(available[:8])}){hint}")
    return columns


def _read_sav(path: Path, columns: list[str] | None, options: dict[str, Any]) -> Wave:
    import pyreadstat

    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
        folded = [str(n).casefold() for n in meta.column_names]  # SPSS names are case-insensitive
        _duplicates(path, [n for n in meta.column_names if folded.count(str(n).casefold()) > 1] * 2,
                    "variable list")
        cols = _check_columns(path, list(meta.column_names), columns)
        if cols is not None and set(cols) == set(meta.column_names):
            cols = None  # pyreadstat's usecols costs time even when it names every column
        # values the file declares missing arrive as NaN (pyreadstat default, and its fast path)
        df, meta = pyreadstat.read_sav(str(path), usecols=cols,
                                       dates_as_pandas_datetime=True, encoding=options.get("encoding"))
    except pyreadstat.ReadstatError as exc:
        raise WijkeffectError(f"{path}: not a readable SPSS file ({exc}); expected an intact .sav "
                              "(truncated or corrupt?)") from exc
    missing: dict[str, set[Any]] = {}
    for var, ranges in (meta.missing_ranges or {}).items():
        for r in ranges:
            if r["lo"] == r["hi"]:
                missing.setdefault(var, set()).add(r["lo"])
    for var, vals in (getattr(meta, "missing_user_values", None) or {}).items():
        missing.setdefault(var, set()).update(vals)
    labels = {v: dict(lab) for v, lab in (meta.variable_value_labels or {}).items()}
    return Wave(df, labels, missing)


def _read_csv(path: Path, columns: list[str] | None, options: dict[str, Any]) -> Wave:
    sep = options.get("sep", ",")
    encoding = options.get("encoding", "utf-8")
    header = _strict_csv_header(path, sep, encoding)
    hint = ""
    if columns and len(header) == 1 and len(columns) > 1:
        hint = (f"; the file has one column only: is the delimiter {sep!r} right? "
                f"{_delimiter_hint(header[0], sep)}")
    cols = _check_columns(path, header, columns, hint)
    kw = dict(sep=sep, decimal=options.get("decimal", "."), encoding=encoding,
              dtype=str, keep_default_na=False, na_values=[""])
    # read as text: numbers are parsed per column later, with the decimal option, so codes keep their zeros
    try:
        df = pd.read_csv(path, usecols=cols, **kw)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise WijkeffectError(f"{path}: cannot parse CSV ({exc}); expected sep={sep!r}, "
                              f"encoding={encoding!r}") from exc
    if kw["decimal"] != ".":
        df = df.apply(lambda s: _decimal_point(s, kw["decimal"]))
    return Wave(df)


def _delimiter_hint(header: str, sep: str) -> str:
    """A fix to suggest when a CSV header reads as one column: the separator it seems to use."""
    for cand in (";", "\t", ",", "|"):
        if cand != sep and cand in header:
            return f"The header contains {cand!r}: add `read: {{sep: {cand!r}}}`."
    return "Dutch exports often use ';': add `read: {sep: ';'}`."


def _strict_csv_header(path: Path, sep: str, encoding: str) -> list[str]:
    """The header of a CSV, after checking every line has as many fields as it (pandas pads short
    lines silently) and that no column name appears twice (pandas renames the second copy X.1)."""
    import csv

    try:
        with open(path, newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=sep)
            header = next(reader, None)
            if header is None:
                raise WijkeffectError(f"{path}: file is empty; expected a header line and respondents")
            header = [h.strip() for h in header]
            if header and header[0].startswith("\ufeff"):
                header[0] = header[0][1:]
            dup = sorted({h for h in header if header.count(h) > 1})
            if dup:
                raise input_error(path, "header: column names appear more than once", dup,
                                  "each column name once (rename or drop the copies)")
            for row in reader:
                if not row:  # blank line (pandas skips these too)
                    continue
                if len(row) != len(header):
                    kind = "short" if len(row) < len(header) else "long"
                    raise WijkeffectError(
                        f"{path}: line {reader.line_num}: {len(row)} fields where the header has "
                        f"{len(header)} (a {kind} line: cut off, or an unquoted {sep!r} inside a value?); "
                        f"expected every line to have {len(header)} fields separated by {sep!r}")
    except UnicodeDecodeError as exc:
        data = path.read_bytes()
        at = exc.start
        try:
            data.decode(encoding)
        except UnicodeDecodeError as whole:
            at = whole.start  # the position in the file, not in the reader's buffer
        line, bad = data[:at].count(b"\n") + 1, data[at:at + 1]
        raise WijkeffectError(f"{path}: cannot decode the file as {encoding!r} (line {line}: byte {bad!r}); "
                              "expected `read: {encoding: ...}` naming the file's encoding (Dutch exports are "
                              "often 'latin-1' or 'cp1252')") from exc
    except csv.Error as exc:
        raise WijkeffectError(f"{path}: cannot parse CSV ({exc}); expected sep={sep!r}") from exc
    return header


def _decimal_point(s: pd.Series, decimal: str) -> pd.Series:
    """Decimal commas become points only in values that then read as numbers; other text is left alone."""
    swapped = s.str.replace(decimal, ".", regex=False)
    return swapped.where(pd.to_numeric(swapped, errors="coerce").notna(), s)


def _duplicates(path: Path, names: list[str], where: str = "header") -> None:
    """Refuse a file whose column names repeat: a reader would silently keep only one copy."""
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise input_error(path, f"{where}: column names appear more than once", dup,
                          "each column name once (rename or drop the copies)")


def _read_xlsx(path: Path, columns: list[str] | None, options: dict[str, Any]) -> Wave:
    sheet = options.get("sheet", 0)
    try:
        # the raw first row: pandas renames a repeated name to X.1, which would hide the duplicate
        first = pd.read_excel(path, sheet_name=sheet, header=None, nrows=1, dtype=object, engine="openpyxl")
        df = pd.read_excel(path, sheet_name=sheet, dtype=object, engine="openpyxl")
    except ValueError as exc:
        if "not found" in str(exc) or "out of bounds" in str(exc).lower():
            raise WijkeffectError(f"{path}: sheet {sheet!r} not found ({exc}); expected `read: {{sheet: ...}}` "
                                  f"naming one of the workbook's sheets {_sheets(path)}") from exc
        raise WijkeffectError(f"{path}: cannot read Excel workbook ({exc}); expected an .xlsx file") from exc
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise WijkeffectError(f"{path}: cannot read Excel workbook ({exc}); expected an .xlsx file") from exc
    names = ["" if pd.isna(v) else str(v).strip() for v in (first.iloc[0].tolist() if len(first) else [])]
    _duplicates(path, [n for n in names if n], f"sheet {sheet!r} header")
    df.columns = [str(c) for c in df.columns]
    cols = _check_columns(path, list(df.columns), columns)
    return Wave(df if cols is None else df[cols])


def _sheets(path: Path) -> list[str]:
    try:
        return list(pd.ExcelFile(path, engine="openpyxl").sheet_names)
    except Exception:  # the workbook itself is unreadable: the caller's message says so
        return []


def _read_parquet(path: Path, columns: list[str] | None, options: dict[str, Any]) -> Wave:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # pyarrow.lib.ArrowInvalid and friends
        raise WijkeffectError(f"{path}: not a readable parquet file ({exc}); expected an intact .parquet") from exc
    _duplicates(path, list(names), "schema")
    cols = _check_columns(path, names, columns)
    return Wave(pd.read_parquet(path, columns=cols))


def read_table(path: Path, options: dict[str, Any] | None = None, what: str = "table",
               columns: dict[str, str] | None = None, study_key: str = "") -> pd.DataFrame:
    """A study table (lookup, intervention list, crosswalk) as text columns, read with the same
    `read:` options and checks as a wave (CSV, Excel or parquet); `columns` renames the file's
    names (expected name -> name in the file)."""
    options = dict(options or {})
    if not path.exists():
        raise WijkeffectError(f"{path}: {what} not found; expected the file named in the study")
    if path.stat().st_size == 0:
        raise WijkeffectError(f"{path}: {what} is empty (0 bytes); expected a header line and rows")
    fmt = options.pop("format", None) or detect_format(path)
    if fmt == "sav":
        raise WijkeffectError(f"{path}: {what} is an SPSS file; expected CSV, Excel (.xlsx) or parquet")
    df = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}[fmt](path, None, options).data
    if len(df) == 0:
        raise WijkeffectError(f"{path}: {what} has a header but no rows; expected at least one row")
    for c in df.columns:  # text, as a CSV read gives, so codes keep their leading zeros
        s = df[c]
        if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
            s = s.astype("Int64")
        df[c] = s.astype("string").str.strip().astype(object).where(s.notna(), None)
    found = [str(c) for c in df.columns]
    absent = [f for f in (columns or {}).values() if f not in found]
    if absent:
        raise input_error(path, f"{what}: columns named under `{study_key or what}: columns:` not in the file",
                          absent, f"names of the file's columns; found {found}{sep_hint(found, options)}")
    return df.rename(columns={f: k for k, f in (columns or {}).items()})


def require_columns(df: pd.DataFrame, path: Path, what: str, need: tuple[str, ...] | list[str],
                    options: dict[str, Any] | None = None, study_key: str = "") -> pd.DataFrame:
    """Fail, naming the file, the columns found and the fix, when a study table lacks a needed column."""
    missing = [c for c in need if c not in df.columns]
    if missing:
        found = [str(c) for c in df.columns]
        example = ", ".join(f"{c}: <column in the file>" for c in missing)
        raise input_error(path, f"{what}: columns {missing} missing", None,
                          f"columns {list(need)}; found {found}{sep_hint(found, options)}. Fix: rename them in "
                          f"the file, or map them in the study file: "
                          f"`{study_key or what}: {{file: ..., columns: {{{example}}}}}`")
    return df


def sep_hint(found: list[str], options: dict[str, Any] | None) -> str:
    """When a table reads as one column, the separator its header seems to use."""
    sep = (options or {}).get("sep", ",")
    if len(found) == 1:
        for cand in (";", "\t", ",", "|"):
            if cand != sep and cand in found[0]:
                return f" (one column only: the file seems {cand!r}-separated: add `read: {{sep: {cand!r}}}`)"
    return ""
