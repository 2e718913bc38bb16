"""Read a survey wave from SPSS .sav, CSV, Excel or parquet, reading only the columns needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.errors import WijkeffectError

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
    kw = dict(sep=sep, decimal=options.get("decimal", "."), encoding=options.get("encoding", "utf-8"),
              dtype=str, keep_default_na=False, na_values=[""])
    try:
        header = pd.read_csv(path, nrows=0, **kw).columns.tolist()
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise WijkeffectError(f"{path}: cannot parse CSV ({exc}); expected sep={sep!r}, "
                              f"encoding={kw['encoding']!r}") from exc
    hint = ""
    if columns and len(header) == 1 and len(columns) > 1:
        hint = f"; the file has one column only: is the delimiter {sep!r} right (Dutch exports often use ';')?"
    cols = _check_columns(path, header, columns, hint)
    # read as text: numbers are parsed per column later, with the decimal option, so codes keep their zeros
    df = pd.read_csv(path, usecols=cols, **kw)
    if kw["decimal"] != ".":
        df = df.apply(lambda s: _decimal_point(s, kw["decimal"]))
    return Wave(df)


def _decimal_point(s: pd.Series, decimal: str) -> pd.Series:
    """Decimal commas become points only in values that then read as numbers; other text is left alone."""
    swapped = s.str.replace(decimal, ".", regex=False)
    return swapped.where(pd.to_numeric(swapped, errors="coerce").notna(), s)


def _read_xlsx(path: Path, columns: list[str] | None, options: dict[str, Any]) -> Wave:
    try:
        df = pd.read_excel(path, sheet_name=options.get("sheet", 0), dtype=object)
    except Exception as exc:  # openpyxl raises many types for a bad workbook
        raise WijkeffectError(f"{path}: cannot read Excel workbook ({exc}); expected an .xlsx file") from exc
    cols = _check_columns(path, [str(c) for c in df.columns], columns)
    return Wave(df if cols is None else df[cols])


def _read_parquet(path: Path, columns: list[str] | None, options: dict[str, Any]) -> Wave:
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as exc:  # pyarrow.lib.ArrowInvalid and friends
        raise WijkeffectError(f"{path}: not a readable parquet file ({exc})") from exc
    cols = _check_columns(path, names, columns)
    return Wave(pd.read_parquet(path, columns=cols))
