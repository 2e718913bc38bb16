"""Clean one wave: apply its codebook to the raw file and return respondent-schema rows plus a clean log.

Policy per column (`invalid:` in the codebook): `error` (default) fails with a message naming the
file, variable, schema column, up to five bad values and what was expected; `exclude` drops the
respondent and counts it; `missing` sets the value missing and counts it. Nothing is dropped
silently: rows_in == rows_out + sum(exclusions) always holds in the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from wijkeffect.codebook import Codebook
from wijkeffect.errors import input_error
from wijkeffect.readers import Wave, read_wave
from wijkeffect.schema import COLUMNS, STRING, dtype_of


@dataclass(frozen=True)
class Thresholds:
    """Outcome definitions from config (DESIGN §5)."""

    k10_high: float = 30.0  # K10 >= this: high risk of anxiety/depression
    mhi5_low: float = 60.0  # MHI-5 < this: poor mental health
    walking_min_week: float = 30.0  # >= this many minutes a week of leisure walking

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None) -> "Thresholds":
        return cls(**(cfg or {}))


@dataclass
class CleanLog:
    """What happened to every row and column of one wave."""

    source: str
    wave: int
    file: str
    rows_in: int = 0
    rows_out: int = 0
    exclusions: dict[str, int] = field(default_factory=dict)
    set_missing: dict[str, int] = field(default_factory=dict)
    recodes: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)

    def exclude(self, reason: str, n: int) -> None:
        if n:
            self.exclusions[reason] = self.exclusions.get(reason, 0) + int(n)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _counts(s: pd.Series) -> dict[str, int]:
    vc = s.value_counts(sort=False, dropna=False)
    return {("<NA>" if pd.isna(k) else str(k)): int(v) for k, v in sorted(vc.items(), key=lambda kv: str(kv[0]))}


def _as_number(s: pd.Series) -> pd.Series:
    """Numbers from a raw column; text that is not a number becomes NaN (reported by the caller)."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    return pd.to_numeric(s.astype(STRING).str.strip(), errors="coerce").astype(float)


class _Cleaner:
    def __init__(self, cb: Codebook, wave: Wave, thresholds: Thresholds):
        self.cb, self.raw, self.th = cb, wave.data, thresholds
        self.labels, self.file_missing = wave.value_labels, wave.missing_codes
        self.log = CleanLog(cb.source, cb.wave, str(cb.file), rows_in=len(self.raw))
        self.row_number = pd.Series(range(1, len(self.raw) + 1), index=self.raw.index)
        if "rows" in cb.spec:  # a trend file holding several waves: keep this wave's rows, count the rest
            sel = cb.spec["rows"]
            keep = _as_number(self.raw[sel["var"]]).isin([float(v) for v in sel["values"]]) | \
                self.raw[sel["var"]].astype("string").isin([str(v) for v in sel["values"]]).fillna(False)
            self.log.exclude("other_wave_in_file", int((~keep).sum()))
            self.raw, self.row_number = self.raw[keep], self.row_number[keep]
        self.drop = pd.Series(False, index=self.raw.index)
        self.out: dict[str, pd.Series] = {}

    # --------------------------------------------------------------------------- bad values
    def bad(self, col: str, var: str, mask: pd.Series, values: pd.Series, expected: str, policy: str) -> None:
        """Apply the column's policy to rows whose value is bad."""
        n = int(mask.sum())
        if not n:
            return
        if policy == "error":
            raise input_error(self.cb.file, f"variable {var} (schema column {col}): {n} rows",
                              values[mask].tolist(), expected)
        if policy == "exclude":
            self.log.exclude(f"invalid_{col}", int((mask & ~self.drop).sum()))
            self.drop |= mask
        else:
            self.log.set_missing[col] = self.log.set_missing.get(col, 0) + n

    def missing_codes(self, var: str, spec: dict[str, Any]) -> set[Any]:
        return set(spec.get("missing", [])) | set(self.file_missing.get(var, set()))

    def _number_expected(self, miss: set[Any], bad: pd.Series) -> str:
        """What a numeric column should hold, with the decimal-comma fix when that is the likely cause."""
        text = "a number" + (f" or a listed missing code {sorted(map(str, miss))}" if miss else "")
        comma = bad.astype(STRING).str.fullmatch(r"\s*-?\d*,\d+\s*").fillna(False).any()
        if comma and (self.cb.spec.get("read") or {}).get("decimal", ".") == ".":
            text += " (decimal commas: add `read: {decimal: ','}` to the codebook)"
        return text

    def number(self, col: str, var: str, miss: set[Any], policy: str) -> pd.Series:
        """A file variable as numbers (listed missing codes become NaN); text that is neither a number nor
        a listed missing code follows the policy instead of becoming missing silently."""
        s = self.raw[var]
        num = _as_number(s)
        bad = _not_number(s, num, miss)
        self.bad(col, var, bad, s, self._number_expected(miss, s[bad]), policy)
        codes = [float(m) for m in miss if _is_num(str(m))]
        return num.where(~num.isin(codes))

    # --------------------------------------------------------------------------- columns
    def column(self, col: str, spec: dict[str, Any]) -> pd.Series:
        schema = COLUMNS[col]
        if "value" in spec:
            return _constant(col, spec["value"], self.raw.index)
        if spec.get("row_number"):
            return f"{self.cb.source}-{self.cb.wave}-" + self.row_number.astype(STRING)
        var = spec["var"]
        s = self.raw[var]
        policy = spec.get("invalid", "error")
        if schema.kind == "date":
            return self._date(col, var, s, spec, policy)
        recoded = "recode" in spec or "recode_labels" in spec
        if schema.kind == "str" and not recoded:
            return self._text(s)
        miss = self.missing_codes(var, spec)
        num = _as_number(s)
        not_number = _not_number(s, num, miss)
        if recoded or schema.kind in ("category", "binary"):
            return self._recode(col, var, s, num, not_number, spec, miss, policy)
        self.bad(col, var, not_number, s, self._number_expected(miss, s[not_number]), policy)
        num = num.where(~num.isin(list(miss)))
        lo, hi = spec.get("range", [schema.low, schema.high])
        lo = schema.low if lo is None else lo
        hi = schema.high if hi is None else hi
        out = (num < lo) if lo is not None else pd.Series(False, index=num.index)
        if hi is not None:
            out |= num > hi
        allowed = f"values in [{lo}, {hi}]" if hi is not None else f"values >= {lo}"
        self.bad(col, var, out, num, allowed + (f" or a listed missing code {sorted(map(str, miss))}" if miss else ""),
                 policy)
        return num.where(~out)

    def _text(self, s: pd.Series) -> pd.Series:
        if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
            s = s.astype("Int64")
        t = s.astype(STRING).str.strip()
        return t.where(t != "")

    def _date(self, col: str, var: str, s: pd.Series, spec: dict[str, Any], policy: str) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(s):
            return s
        text = s.astype(STRING).str.strip()
        text = text.where(text != "")
        d = pd.to_datetime(text, format=spec.get("date_format"), errors="coerce")
        self.bad(col, var, d.isna() & text.notna(), text,
                 f"dates in format {spec.get('date_format', 'ISO 8601')!r}", policy)
        return d

    def _recode(self, col: str, var: str, s: pd.Series, num: pd.Series, not_number: pd.Series,
                spec: dict[str, Any], miss: set[Any], policy: str) -> pd.Series:
        recode = spec.get("recode", {})
        # keys may be codes (numbers) or, for text columns, the text itself
        mapping = {(float(k) if not isinstance(k, str) or _is_num(k) else k): v for k, v in recode.items()}
        labels = self.labels.get(var, {})
        if "recode_labels" in spec or "missing_labels" in spec:
            mapping.update(self._codes_from_labels(col, var, labels, spec))
            miss = miss | {float(c) for c, lab in labels.items() if lab in spec.get("missing_labels", [])}
        expected = (f"a code listed under recode {sorted(map(str, mapping))} or missing {sorted(map(str, miss))}"
                    + (f" (file labels: {labels})" if labels else ""))
        if not not_number.any() and all(isinstance(k, float) for k in mapping):
            # numeric codes (the common case, and the fast path for big waves)
            vals = num.to_numpy(float)
            keys = np.fromiter(mapping, float, len(mapping))
            pos = pd.Index(keys).get_indexer(vals)
            is_missing = np.isnan(vals) | np.isin(vals, np.array([float(m) for m in miss if _is_num(str(m))]))
            known = pos >= 0
            self.bad(col, var, pd.Series(~known & ~is_missing, index=s.index), s, expected, policy)
            out = self._typed(col, list(mapping.values()), np.where(known, pos, -1), s.index)
        else:
            key = num.where(~not_number, s.astype(STRING).str.strip()) if not_number.any() else num
            key = key.astype(object)
            is_missing = key.isna() | key.isin(list(miss))
            known = key.isin(list(mapping))
            self.bad(col, var, ~known & ~is_missing, s, expected, policy)
            out = key.map(mapping).where(known)
        self.log.recodes[col] = {"before": _counts(s), "after": _counts(out)}
        return out

    def _typed(self, col: str, targets: list[Any], pos: np.ndarray, index: pd.Index) -> pd.Series:
        """Schema-typed values from positions into targets (-1 = missing), without object arrays."""
        schema = COLUMNS[col]
        if schema.kind == "category":
            bad = [t for t in targets if t not in schema.levels]
            if bad:
                raise input_error(self.cb.file, f"codebook recode for schema column {col}", bad,
                                  f"one of {list(schema.levels)}")
            lut = np.array([schema.levels.index(t) for t in targets] + [-1])
            return pd.Series(pd.Categorical.from_codes(lut[pos], dtype=dtype_of(schema)), index=index)
        if schema.kind in ("binary", "int", "float") and all(isinstance(t, (int, float)) for t in targets):
            lut = np.array([float(t) for t in targets] + [np.nan])
            return pd.Series(lut[pos], index=index)
        lut = np.array([*targets, None], dtype=object)
        return pd.Series(lut[pos], index=index).where(pos >= 0)

    def _codes_from_labels(self, col: str, var: str, labels: dict[Any, str], spec: dict[str, Any]) -> dict:
        """code -> schema value through the file's value labels; a label the file lacks is an error."""
        wanted = spec.get("recode_labels", {})
        absent = [lab for lab in [*wanted, *spec.get("missing_labels", [])] if lab not in labels.values()]
        if absent:
            raise input_error(self.cb.file, f"variable {var} (schema column {col}): value labels", absent,
                              f"labels the file defines for {var}: {sorted(set(labels.values()))}")
        return {float(code): wanted[lab] for code, lab in labels.items() if lab in wanted}

    # --------------------------------------------------------------------------- scores
    def score_psych(self, spec: dict[str, Any]) -> None:
        """K10 (sum of 10 items 1-5) or MHI-5 (5 items 1-6, scaled 0-100); prorated up to max_missing."""
        instrument, items = spec["instrument"], spec["items"]
        lo, hi = spec.get("item_range", [1, 5] if instrument == "K10" else [1, 6])
        reverse = set(spec.get("reverse", [])) if instrument == "MHI-5" else set()
        m = np.empty((len(self.raw), len(items)))
        policy = spec.get("invalid", "error")
        for j, v in enumerate(items):
            num = self.number("psych_score", v, self.missing_codes(v, spec), policy).to_numpy(float, copy=True)
            out = ~np.isnan(num) & ((num < lo) | (num > hi))
            self.bad("psych_score", v, pd.Series(out, index=self.raw.index), pd.Series(num, index=self.raw.index),
                     f"item answers {lo}-{hi} or a missing code", policy)
            num[out] = np.nan
            m[:, j] = (lo + hi) - num if v in reverse else num
        answered = (~np.isnan(m)).sum(axis=1)
        enough = answered >= len(items) - int(spec.get("max_missing", 0))
        # prorate: the mean of the answered items stands in for the unanswered ones
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.nansum(m, axis=1) / np.maximum(answered, 1) * len(items)
        if instrument == "K10":
            score = total
            distress = score >= self.th.k10_high
        else:
            score = (total - len(items) * lo) / (len(items) * (hi - lo)) * 100
            distress = score < self.th.mhi5_low
        idx = self.raw.index
        self.out["psych_score"] = pd.Series(np.where(enough, np.round(score, 4), np.nan), index=idx)
        self.out["psych_instrument"] = _constant("psych_instrument", instrument, idx).where(enough)
        self.out["psych_distress"] = pd.Series(np.where(enough, distress.astype(float), np.nan), index=idx)

    def score_expr(self, col: str, spec: dict[str, Any]) -> None:
        frame = pd.DataFrame(index=self.raw.index)
        for v in spec["vars"]:
            codes = set(spec.get("missing", {}).get(v, [])) | self.file_missing.get(v, set())
            frame[v] = self.number(col, v, codes, spec.get("invalid", "error"))
        val = frame.eval(spec["expr"], engine="python").astype(float)
        schema = COLUMNS[col]
        lo, hi = spec.get("range", [schema.low, schema.high])
        out = val.notna() & ((val < lo) | (val > hi))
        self.bad(col, "+".join(spec["vars"]), out, val, f"values in [{lo}, {hi}]", spec.get("invalid", "error"))
        self.out[col] = val.where(~out)

    # --------------------------------------------------------------------------- run
    def run(self) -> pd.DataFrame:
        for col, spec in self.cb.columns.items():
            self.out[col] = self.column(col, spec)
        for name, spec in self.cb.scores.items():
            if name == "psych":
                self.score_psych(spec)
            else:
                self.score_expr(name, spec)
        if "walk_min_week" in self.out and "walking" not in self.cb.columns:
            w = self.out["walk_min_week"]
            self.out["walking"] = (w >= self.th.walking_min_week).astype(float).where(w.notna())
        self._postcodes()
        self._weights()
        df = self._frame()
        self._unique_ids(df)
        kept = df[~self.drop.to_numpy()].reset_index(drop=True)
        self.log.rows_out = len(kept)
        self.log.missing = {c: int(kept[c].isna().sum()) for c in kept.columns}
        assert self.log.rows_in == self.log.rows_out + sum(self.log.exclusions.values())
        return kept

    def _postcodes(self) -> None:
        """Postcodes normalised (no spaces, upper case); a malformed one is counted as missing by default
        (it cannot be linked, and the linking step counts it again), or follows an explicit `invalid:`."""
        for col, pattern, fix in (("pc6", r"\d{4}[A-Z]{2}", lambda pc: pc.str.replace(" ", "", regex=False).str.upper()),
                                  ("pc4", r"\d{4}", lambda pc: pc.str.strip().str[:4])):
            if col not in self.out:
                continue
            spec = self.cb.columns.get(col, {})
            pc = fix(self.out[col].astype(STRING))
            ok = pc.str.fullmatch(pattern).fillna(False).astype(bool)
            if "var" in spec:
                self.bad(col, spec["var"], pc.notna() & ~ok, self.out[col],
                         f"postcodes like {'1234AB' if col == 'pc6' else '1234'}", spec.get("invalid", "missing"))
            self.out[col] = pc.where(ok)
            if col == "pc6" and "pc4" not in self.out:
                self.out["pc4"] = self.out["pc6"].str[:4]

    def _weights(self) -> None:
        if "weight" not in self.out:
            self.out["weight"] = pd.Series(1.0, index=self.raw.index)
            return
        w = self.out["weight"]
        var = self.cb.columns["weight"].get("var", "weight")
        self.bad("weight", var, w.isna() | (w <= 0), w, "a survey weight > 0",
                 self.cb.columns["weight"].get("invalid", "error"))

    def _frame(self) -> pd.DataFrame:
        n = len(self.raw)
        data = {}
        for name, col in COLUMNS.items():
            if name == "source":
                s = pd.Series([self.cb.source] * n, index=self.raw.index)
            elif name == "wave":
                s = pd.Series([self.cb.wave] * n, index=self.raw.index)
            elif name in self.out:
                s = self.out[name]
            else:
                data[name] = pd.Series(None, index=range(n), dtype=dtype_of(col))
                continue
            if col.kind == "date":
                s = pd.to_datetime(s).astype("datetime64[s]")
            elif col.kind in ("int", "binary"):
                s = pd.to_numeric(s).round().astype("Int64")
            elif col.kind == "float":
                s = pd.to_numeric(s).astype("Float64")
            elif col.kind == "str":
                s = s.astype(STRING)
            elif col.kind == "category" and isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype(dtype_of(col))
            elif col.kind == "category":
                bad = s.notna() & ~s.isin(col.levels)
                if bad.any():
                    raise input_error(self.cb.file, f"schema column {name}", s[bad].tolist(),
                                      f"one of {list(col.levels)} (fix the codebook's recode)")
                s = s.astype(dtype_of(col))
            else:
                s = s.astype(STRING)
            data[name] = s.reset_index(drop=True)
        return pd.DataFrame(data)

    def _unique_ids(self, df: pd.DataFrame) -> None:
        ids = df["respondent_id"]
        if ids.isna().any():
            raise input_error(self.cb.file, f"variable {self.cb.columns['respondent_id'].get('var')} "
                              f"(respondent_id): {int(ids.isna().sum())} rows without an id", None,
                              "an id on every row")
        dup = ids.duplicated(keep=False)
        if dup.any():
            raise input_error(self.cb.file, f"variable {self.cb.columns['respondent_id'].get('var')} "
                              f"(respondent_id): {int(dup.sum())} rows share an id", ids[dup].tolist(),
                              "ids unique within the wave")


def _constant(col: str, value: Any, index: pd.Index) -> pd.Series:
    """A column holding one value, built in its schema dtype."""
    schema = COLUMNS[col]
    if schema.kind == "category" and value in schema.levels:
        codes = np.full(len(index), schema.levels.index(value), dtype=np.int8)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype_of(schema)), index=index)
    return pd.Series([value] * len(index), index=index)


def _not_number(s: pd.Series, num: pd.Series, miss: set[Any]) -> pd.Series:
    """Rows holding text that is neither a number nor a listed missing code (e.g. 'veel')."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return pd.Series(False, index=s.index)
    text = s.astype(STRING).str.strip()
    listed = text.isin([str(m) for m in miss]) if miss else pd.Series(False, index=s.index)
    return (num.isna() & s.notna() & (text != "") & ~listed).fillna(False).astype(bool)


def _is_num(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def clean_wave(cb: Codebook, thresholds: Thresholds | None = None) -> tuple[pd.DataFrame, CleanLog]:
    """Read and clean one wave; returns schema rows and the clean log."""
    wave = read_wave(cb.file, cb.spec.get("format"), cb.source_vars(), cb.spec.get("read"))
    cleaner = _Cleaner(cb, wave, thresholds or Thresholds())
    return cleaner.run(), cleaner.log


def summarise_log(log: CleanLog) -> pd.DataFrame:
    """The log's row accounting as a small table for notebooks."""
    rows = [("rows in", log.rows_in)] + [(f"excluded: {k}", -v) for k, v in log.exclusions.items()]
    rows.append(("rows out", log.rows_out))
    return pd.DataFrame(rows, columns=["step", "rows"])


