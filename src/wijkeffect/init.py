"""`python -m wijkeffect init DIR --waves FILES...`: a starting point for a new study.

Writes DIR/config.yaml (a complete standalone config: every key the config schema knows, with its
default and description), DIR/study.yaml (TODO where the study must be described) and per wave a
draft codebook DIR/codebooks/<source>/<wave>.yaml: every variable of the file with its type, value
labels and most common values (as comments), mappings guessed from known variable names (GGD
standard names, the demo's) and value labels, and `TODO` where a person must decide. The pipeline
refuses a codebook or study that still holds a TODO (codebook.refuse_todo).
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from wijkeffect.errors import WijkeffectError
from wijkeffect.paths import ROOT
from wijkeffect.readers import detect_format, read_wave
from wijkeffect.schema import COLUMNS

TODO = "TODO"

#: Known variable names per schema column, in order of preference (GGD Gezondheidsmonitor standard
#: names, the demo's older POLS-like names, common Dutch export names).
KNOWN: dict[str, list[str]] = {
    "respondent_id": ["VOLGNR", "RESPNR", "RESPID", "RESPONDENTNR", "RESPONDENT", "ID", "respondent_id"],
    "interview_date": ["AFNAMEDATUM", "INTDATUM", "DATUM", "interview_date"],
    "pc6": ["POSTCODE", "PC6", "PCODE", "POSTCODE6", "pc6"],
    "pc4": ["PC4", "POSTCODE4", "pc4"],
    "source_wijk_code": ["WIJKCODE", "WK_CODE", "source_wijk_code"],
    "weight": ["ewGGD", "WEEGFACTOR", "GEWICHT", "Standaardisatiefactor", "weight"],
    "age": ["AGLFA401", "LFT", "LEEFTIJD", "age"],
    "sex": ["AGGSA401", "GESL", "GESLACHT", "sex"],
    "education": ["AGOWA401", "OPLEID", "OPL", "AGOWS403", "education"],
    "migration_background": ["AGHKA401", "HERKOMST", "AGETS414", "migration_background"],
    "household": ["AGHHA403", "HUISHOUDEN", "household"],
    "survey_mode": ["AFNAMEWIJZE", "MODE", "survey_mode"],
    "smoker": ["LFRKA403", "ROOKT", "ROKER", "smoker"],
    "psych_distress": ["LVPKS403", "psych_distress"],
    "walking": ["walking"],
}
#: Variables that say which wave a row belongs to, in files holding several (trend files).
YEAR_VARS = ["AGOJB401", "JAAR", "WAVE", "GOLF"]
#: Psychological distress items: K10 (GGD names) and MHI-5 (the demo's older scheme).
PSYCH = [("K10", [f"GGADA2{j:02d}" for j in range(1, 11)]), ("K10", [f"K{j:02d}" for j in range(1, 11)]),
         ("MHI-5", [f"MHI{j}" for j in range(1, 6)])]
#: Leisure walking: days a week times minutes a day.
WALK = [("LFWAD401", "LFWAM401"), ("WANDDAG", "WANDMIN")]
#: Variables worth naming in the comments although the pipeline does not read them.
NOTES = {"Gemeentecode": "municipality in the GGD's own numbering, not CBS GM codes: cities come from the lookup",
         "Stratum": "sampling stratum", "GGDregio": "GGD region"}

_MISSING_TEXT = {"onbekend", "weet niet", "geen antwoord", "weet niet/geen antwoord", "missing", "n.v.t.", "nvt",
                 "niet van toepassing", "wil niet zeggen", "?", "-", "na", "n/a", "unknown", "sysmis"}
_LEVELS: dict[str, list[tuple[str, Any]]] = {  # (label pattern, schema value); patterns match the whole label
    "sex": [(r"man|mannen|jongen|male|m", "male"), (r"vrouw|vrouwen|meisje|female|v|f", "female"),
            (r"anders|other|x", "other")],
    "education": [(r"laag\b.*|low", "low"), (r"midden\b.*|middel\b.*|middle", "middle"), (r"hoog\b.*|high", "high")],
    "migration_background": [(r"nederlands|nederlandse herkomst|autochtoon|dutch|nl", "dutch"),
                             (r"niet[- ]westers( allochtoon)?|niet[- ]westerse migratieachtergrond|nw", "non_western"),
                             (r"westers( allochtoon)?|westerse migratieachtergrond|w", "western"),
                             (r"migrant", "migrant"), (r"kind van migrant(\(en\)|en)?", "child_of_migrant")],
    "survey_mode": [(r"internet|web|online|cawi", "cawi"), (r"papier|schriftelijk|paper", "paper"),
                    (r"telefo(on|nisch)|cati", "cati"), (r"face[- ]to[- ]face|mondeling|capi", "capi")],
    "binary": [(r"ja|yes|j|y", 1), (r"nee|no|n", 0)],
}
_DATE_FORMATS = ["%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d", "%d-%m-%y"]


@dataclass
class Variable:
    """What a wave file says about one variable."""

    name: str
    kind: str  # number | text | date
    label: str = ""
    value_labels: dict[Any, str] = field(default_factory=dict)
    missing: list[Any] = field(default_factory=list)
    top: list[tuple[Any, int]] = field(default_factory=list)
    n_missing: int = 0
    values: pd.Series | None = None


@dataclass
class WaveFile:
    """A wave file as init sees it: format, read options (sniffed for CSV) and its variables."""

    path: Path
    fmt: str
    read: dict[str, Any]
    rows: int
    variables: dict[str, Variable]


# ----------------------------------------------------------------------------- inspection
def sniff_csv(path: Path) -> dict[str, Any]:
    """Separator, encoding and decimal mark of a CSV export (Dutch ones: ';', decimal comma, latin-1)."""
    raw = path.read_bytes()
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        try:
            raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "latin-1"
    text = raw.decode(encoding, errors="replace")
    head = "\n".join(text.splitlines()[:50])
    try:
        sep = csv.Sniffer().sniff(head, delimiters=";,\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        sep = max(";,\t|", key=first.count)
    opts: dict[str, Any] = {"sep": sep}
    if encoding != "utf-8":
        opts["encoding"] = encoding
    if sep != ",":
        rows = list(csv.reader(text.splitlines()[1:200], delimiter=sep))
        cells = [c.strip() for r in rows for c in r]
        if any(re.fullmatch(r"-?\d+,\d+", c) for c in cells) and not any(re.fullmatch(r"-?\d+\.\d+", c) for c in cells):
            opts["decimal"] = ","
    return opts


def inspect_wave(path: Path) -> WaveFile:
    """Read a wave file whole (SPSS with its labels and declared missing codes; CSV sniffed)."""
    path = Path(path)
    fmt = detect_format(path)
    read = sniff_csv(path) if fmt == "csv" else {}
    variables: dict[str, Variable] = {}
    if fmt == "sav":
        import pyreadstat

        try:
            df, meta = pyreadstat.read_sav(str(path), user_missing=True, dates_as_pandas_datetime=True)
        except pyreadstat.ReadstatError as exc:
            raise WijkeffectError(f"{path}: not a readable SPSS file ({exc})") from exc
        declared: dict[str, list[Any]] = {}
        for var, ranges in (meta.missing_ranges or {}).items():
            declared[var] = [r["lo"] for r in ranges if r["lo"] == r["hi"]]
        for name in df.columns:
            s = df[name]
            kind = "date" if pd.api.types.is_datetime64_any_dtype(s) else \
                "number" if pd.api.types.is_numeric_dtype(s) else "text"
            variables[name] = _variable(name, s, kind, (meta.column_names_to_labels or {}).get(name) or "",
                                        dict((meta.variable_value_labels or {}).get(name, {})), declared.get(name, []))
            variables[name].label += f" [{meta.original_variable_types.get(name, '')}]"
    else:
        df = read_wave(path, fmt, None, read).data
        for name in df.columns:
            s = df[name]
            if not pd.api.types.is_numeric_dtype(s):
                text = s.astype("string").str.strip()
                num = pd.to_numeric(text, errors="coerce")
                kind = "number" if num.notna().sum() == text.notna().sum() else "text"
                if kind == "text" and _date_format(text) is not None:
                    kind = "date"
            else:
                kind = "number"
            variables[str(name)] = _variable(str(name), s, kind, "", {}, [])
    return WaveFile(path, fmt, read, len(df), variables)


def _variable(name: str, s: pd.Series, kind: str, label: str, labels: dict[Any, str], missing: list[Any]) -> Variable:
    vc = s.value_counts(dropna=True).head(5)
    return Variable(name, kind, label, labels, missing, [(_plain(k), int(v)) for k, v in vc.items()],
                    int(s.isna().sum()), s)


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return v.item() if hasattr(v, "item") else v


def _date_format(text: pd.Series) -> str | None:
    vals = text.dropna()
    vals = vals[vals != ""].head(500)
    if vals.empty:
        return None
    for fmt in _DATE_FORMATS:
        if pd.to_datetime(vals, format=fmt, errors="coerce").notna().all():
            return fmt
    return None


# ----------------------------------------------------------------------------- guessing
def _is_missing_text(label: str) -> bool:
    return label.strip().casefold() in _MISSING_TEXT


def _level(col: str, label: str) -> Any:
    kind = "binary" if COLUMNS[col].kind == "binary" else col
    for pattern, value in _LEVELS.get(kind, []):
        if re.fullmatch(pattern, label.strip().casefold()):
            return value
    if col == "age_group":
        m = re.fullmatch(r"\s*(\d+)\s*(-|t/m|tot)\s*(\d+)( jaar)?\s*", label.casefold())
        if m:
            return f"{m.group(1)}-{m.group(3)}"
    return None


def _label_recode(col: str, labels: dict[Any, str]) -> dict[str, Any] | None:
    """recode_labels/missing_labels when every value label maps to a schema value or means missing."""
    recode, missing = {}, []
    for _, lab in sorted(labels.items(), key=lambda kv: float(kv[0]) if _isnum(kv[0]) else 0):
        if _is_missing_text(lab):
            missing.append(lab)
            continue
        value = _level(col, lab)
        if value is None:
            return None
        recode[lab] = value
    if not recode:
        return None
    return {"recode_labels": recode, **({"missing_labels": missing} if missing else {})}


def _text_recode(col: str, var: Variable) -> dict[str, Any] | None:
    """recode/missing for a text column of a CSV: its distinct values are the codes."""
    s = var.values
    if s is None:
        return None
    distinct = [str(v).strip() for v in s.dropna().astype(str).str.strip().unique()]
    if not distinct or len(distinct) > 20:
        return None
    recode, missing = {}, []
    for v in sorted(distinct):
        if _is_missing_text(v):
            missing.append(v)
            continue
        value = _level(col, v)
        if value is None:
            return None
        recode[v] = value
    return {"recode": recode, **({"missing": missing} if missing else {})} if recode else None


def _isnum(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _pick(col: str, wave: WaveFile, taken: set[str]) -> str | None:
    """The variable for a schema column: the first known name present whose labels fit, else the first present."""
    by_fold = {n.casefold(): n for n in wave.variables}
    present = [by_fold[k.casefold()] for k in KNOWN.get(col, []) if k.casefold() in by_fold]
    present = [p for p in present if p not in taken]
    if not present:
        return None
    if COLUMNS[col].kind in ("category", "binary"):
        for p in present:
            v = wave.variables[p]
            if v.value_labels and _label_recode(col, v.value_labels):
                return p
    return present[0]


@dataclass
class Draft:
    """A draft codebook: columns and scores, each with a comment saying what was guessed."""

    columns: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # key -> comment


def _missing_of(var: Variable) -> list[Any]:
    return [_plain(m) for m in var.missing]


def _suspect_codes(var: Variable) -> list[Any]:
    """Values in a CSV number column that look like missing codes (9, 99, 999, -1 ...)."""
    if var.values is None:
        return []
    num = pd.to_numeric(var.values.astype("string").str.strip(), errors="coerce").dropna()
    return sorted({_plain(float(v)) for v in num.unique() if v in (-1, -9, -99, 9, 99, 999, 9999)
                   and (v < 0 or v >= num.quantile(0.99))})


def guess(wave: WaveFile) -> Draft:
    """Mappings from known names and value labels; TODO where a person must decide."""
    d = Draft()
    taken: set[str] = set()
    for col in KNOWN:
        name = _pick(col, wave, taken)
        if name is None:
            continue
        var = wave.variables[name]
        spec: dict[str, Any] = {"var": name}
        schema = COLUMNS[col]
        if col == "age" and var.value_labels and _label_recode("age_group", var.value_labels):
            col, schema = "age_group", COLUMNS["age_group"]  # the file only has age bands
        if col == "interview_date" and var.kind != "date" and wave.fmt == "sav" and var.values is not None:
            fmt = _date_format(var.values.astype("string").str.strip())
            spec["date_format"] = fmt or TODO
        elif col == "interview_date" and wave.fmt != "sav":
            fmt = _date_format(var.values.astype("string").str.strip()) if var.values is not None else None
            spec["date_format"] = fmt or TODO
        elif schema.kind in ("category", "binary") or col == "age_group":
            guessed = _label_recode(col, var.value_labels) if var.value_labels else _text_recode(col, var)
            if guessed:
                spec.update(guessed)
                d.notes[col] = "recode guessed from the " + ("value labels" if var.value_labels else "values")
            else:
                spec["recode"] = TODO
                d.notes[col] = "map each code to one of " + str(list(schema.levels) or [0, 1])
            if var.value_labels and "recode_labels" not in spec and _missing_of(var):
                spec["missing"] = _missing_of(var)
        elif schema.kind in ("int", "float") and col != "weight":
            if _missing_of(var):
                spec["missing"] = _missing_of(var)
            elif wave.fmt != "sav" and _suspect_codes(var):
                spec["missing"] = TODO
                d.notes[col] = f"the file holds {_suspect_codes(var)}: missing codes? list them, or delete `missing`"
        d.columns[col] = spec
        taken.add(name)
    if "respondent_id" not in d.columns:
        d.columns["respondent_id"] = {"row_number": True}
        d.notes["respondent_id"] = "no id variable recognised: ids from row numbers (<source>-<wave>-<row>)"
    if not {"pc6", "pc4", "source_wijk_code"} & set(d.columns):
        d.columns["pc6"] = TODO
        d.notes["pc6"] = ("no postcode or wijk variable recognised: name it ({var: ...}), or delete this key "
                          "(then no respondent can be linked to a wijk)")
    if "survey_mode" not in d.columns:
        d.columns["survey_mode"] = TODO
        d.notes["survey_mode"] = "one mode for the whole wave ({value: cawi|paper|cati|capi}), a variable, or delete"
    for instrument, items in PSYCH:
        if all(i in wave.variables for i in items):
            spec = {"instrument": instrument, "items": items}
            codes = sorted({m for i in items for m in _missing_of(wave.variables[i])})
            suspect = sorted({m for i in items for m in _suspect_codes(wave.variables[i])})
            if codes:
                spec["missing"] = codes
            elif wave.fmt != "sav" and suspect:
                spec["missing"] = TODO
                d.notes["psych"] = f"the items hold {suspect}: missing codes? list them, or delete `missing`"
            if instrument == "MHI-5":
                spec["reverse"] = TODO
                d.notes["psych"] = "reverse: the positively worded items (calm, happy), e.g. [MHI3, MHI5]"
            spec["max_missing"] = TODO
            d.notes["psych"] = "; ".join(filter(None, [d.notes.get("psych"),
                                                       "max_missing: how many unanswered items are prorated"]))
            d.scores["psych"] = spec
            break
    else:
        if "psych_distress" in d.columns:
            d.columns["psych_instrument"] = TODO
            d.notes["psych_instrument"] = "the instrument behind psych_distress: {value: K10} or {value: MHI-5}"
    for days, minutes in WALK:
        if days in wave.variables and minutes in wave.variables:
            spec = {"expr": f"{days} * {minutes}", "vars": [days, minutes]}
            miss = {v: _missing_of(wave.variables[v]) for v in (days, minutes) if _missing_of(wave.variables[v])}
            suspect = {v: _suspect_codes(wave.variables[v]) for v in (days, minutes)
                       if wave.fmt != "sav" and _suspect_codes(wave.variables[v])}
            if miss:
                spec["missing"] = miss
            elif suspect:
                spec["missing"] = TODO
                d.notes["walk_min_week"] = f"the file holds {suspect}: missing codes? list them per variable"
            d.scores["walk_min_week"] = spec
            break
    return d


# ----------------------------------------------------------------------------- writing
def _flow(value: Any) -> str:
    """One value as one line of YAML (flow style), without the document-end marker of a bare scalar."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _describe(var: Variable) -> str:
    parts = [var.kind]
    if var.label.strip(" []"):
        parts.append(var.label.strip())
    if var.value_labels:
        labs = ", ".join(f"{_plain(k)}={v}" for k, v in list(var.value_labels.items())[:12])
        parts.append(f"labels {{{labs}{', ...' if len(var.value_labels) > 12 else ''}}}")
    if var.missing:
        parts.append(f"declared missing {_missing_of(var)}")
    parts.append("top " + ", ".join(f"{v!r} ({n})" for v, n in var.top) if var.top else "no values")
    if var.n_missing:
        parts.append(f"{var.n_missing} empty")
    if var.name in NOTES:
        parts.append(NOTES[var.name])
    return "; ".join(parts)


def codebook_text(wave: WaveFile, source: str, year: int | str, file_ref: str, rows: dict | None,
                  draft: Draft) -> str:
    """The draft codebook as commented YAML."""
    out = [f"# Draft codebook written by `python -m wijkeffect init` from {Path(file_ref).name}",
           f"# ({wave.rows} rows, {len(wave.variables)} variables). Check every mapping, replace each TODO with a",
           "# decision (the pipeline refuses a codebook that still holds one), delete keys the file lacks.",
           "# Keys: workflow/schemas/codebook.schema.yaml; examples: config/codebooks/demo/.",
           f"source: {source}", f"wave: {year}", f"file: {_flow(file_ref)}"]
    if wave.fmt == "csv" or wave.read:
        out.append(f"read: {_flow(wave.read)}  # sniffed from the file")
    if rows:
        out.append(f"rows: {_flow(rows)}  # the file holds several waves: this codebook keeps this one's rows")
    out.append("columns:")
    for col, spec in draft.columns.items():
        line = f"  {col}: {_flow(spec)}"
        var = wave.variables.get(spec.get("var")) if isinstance(spec, dict) else None
        comments = [c for c in (draft.notes.get(col), _describe(var) if var else None) if c]
        out.append(line + (f"  # {' | '.join(comments)}" if comments else ""))
    unmapped = [c for c in COLUMNS if c not in draft.columns and c not in ("source", "wave", "psych_score")
                and not (c in ("psych_instrument", "psych_distress") and "psych" in draft.scores)
                and not (c in ("walk_min_week", "walking") and "walk_min_week" in draft.scores)]
    out.append("  # not recognised (add when the file has them): " + ", ".join(unmapped))
    if draft.scores:
        out.append("scores:")
        for name, spec in draft.scores.items():
            note = draft.notes.get(name)
            out.append(f"  {name}: {_flow(spec)}" + (f"  # {note.strip()}" if note else ""))
    out.append("")
    out.append(f"# Every variable in {Path(file_ref).name}:")
    for var in wave.variables.values():
        out.append(f"#   {var.name}: {_describe(var)}")
    return "\n".join(out) + "\n"


def _waves_in(wave: WaveFile) -> tuple[str | None, list[int]]:
    """A year variable and its years when the file holds several waves (a trend file)."""
    for name in YEAR_VARS:
        var = next((v for n, v in wave.variables.items() if n.casefold() == name.casefold()), None)
        if var is not None and var.values is not None:
            years = sorted({int(float(y)) for y in var.values.dropna().unique() if _isnum(y)})
            if years and all(1900 <= y <= 2100 for y in years):
                return var.name, years
    return None, []


def _year_from_name(path: Path) -> int | None:
    years = re.findall(r"(?<!\d)(19\d\d|20\d\d)(?!\d)", path.stem)
    return int(years[0]) if len(years) == 1 else None


def _ref(path: Path) -> str:
    """A path as config files write it: relative to the project root (where the workflow runs)."""
    path = Path(path).resolve()
    if path.is_relative_to(ROOT.resolve()):
        return str(path.relative_to(ROOT.resolve()))
    try:  # a sibling of the project (e.g. ../shared/data): relative; anything further: absolute
        rel = os.path.relpath(path, ROOT.resolve())
    except ValueError:  # another drive (Windows)
        return str(path)
    return rel if not rel.startswith(os.path.join("..", "..")) else str(path)


def config_text(study_ref: str, waves: list[tuple[str, int, str]]) -> str:
    """A complete standalone config: every key of the config schema, with its default and description."""
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    out = ["# Workflow configuration written by `python -m wijkeffect init`: complete and standalone (every key",
           "# the schema knows, at its default). Run with `snakemake --cores all --configfile <this file>`.",
           "# Keys: workflow/schemas/config.schema.yaml."]
    for key, prop in schema.get("properties", {}).items():
        desc = " ".join(str(prop.get("description", "")).split())
        if desc:
            out.append(f"# {desc}")
        if key == "study":
            out.append(f"study: {_flow(study_ref)}")
        elif key == "waves":
            out.append("waves:")
            out += [f"  - {_flow({'source': s, 'wave': w, 'codebook': cb})}" for s, w, cb in waves]
        elif key == "model_options":
            out.append(f"{key}:")
            for model, opts in prop.get("properties", {}).items():
                choices = {k: v.get("enum", v.get("type")) for k, v in opts.get("properties", {}).items()}
                out.append(f"  {model}: {{}}  # options: {_flow(choices)}")
        elif prop.get("type") == "object" and prop.get("properties"):
            out.append(f"{key}:")
            for sub, sp in prop["properties"].items():
                note = " ".join(str(sp.get("description", "")).split())
                if "default" in sp:
                    out.append(f"  {sub}: {_flow(sp['default'])}" + (f"  # {note}" if note else ""))
                else:
                    out.append(f"  # {sub}: (optional, left out)" + (f" {note}" if note else ""))
        elif "default" in prop:
            out.append(f"{key}: {_flow(prop['default'])}")
        else:
            example = {"cities": "[GM0000]  # default: every city of the study",
                       "outcomes": "[smoker]  # default: every outcome of the study",
                       "truth": "path/to/TRUTH.yaml  # synthetic data only"}.get(key, "")
            out.append(f"# {key}: {example}  (optional, left out)")
    return "\n".join(out) + "\n"


def study_text(name: str, outcomes: list[str]) -> str:
    return f"""# Study file written by `python -m wijkeffect init`: replace each TODO (the pipeline refuses a study
# that still holds one). Keys: workflow/schemas/study.schema.yaml; example: config/studies/demo.yaml.
name: {name}
description: {TODO} one line on the intervention and the evaluation
indeling: {TODO}  # year of the CBS wijk indeling the lookup and the treated wijk codes use, e.g. 2020
# postcode -> buurt/wijk/gemeente; a path, or a table read like a wave with its own column names:
#   lookup: {{file: data/raw/<study>/postcodes.csv, read: {{sep: ";", encoding: latin-1}},
#            columns: {{pc6: POSTCODE, buurt_code: BU_CODE, wijk_code: WK_CODE, gemeente_code: GM_CODE}}}}
lookup: {TODO}
link_key: pc6  # or pc4 when the waves only hold 4-digit postcodes
# the intervention wijken: wijk_code, start (date the intervention began), optional group; a table
# (same options as lookup, plus date_format, e.g. "%d-%m-%Y") or an inline list:
#   treated: [{{wijk_code: WK036301, start: "2010-07-01", group: first}}]
treated: {TODO}
controls: same_city  # same_city, all, a list of wijk codes, or {{match: nearest, k: 2}}
cities: [{TODO}]  # CBS gemeente codes, e.g. [GM0363]
outcomes: {_flow(outcomes)}
# optional: geometry (wijk polygons, for maps), geometry_layer, crosswalks {{<year>: <table>}} for waves
# on another indeling, max_unlinked_share (default 0.05), seed
"""


def init(target: Path, waves: list[Path], source: str | None = None, force: bool = False) -> list[Path]:
    """Write the study skeleton; returns the files written."""
    target = Path(target)
    if len(waves) < 1:
        raise WijkeffectError("init: --waves names no files; expected the study's wave files")
    source = source or re.sub(r"[^A-Za-z0-9_-]", "_", target.resolve().name) or "study"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", source):
        raise WijkeffectError(f"init: --source {source!r}; expected letters, digits, '_' or '-'")
    planned: list[tuple[Path, str]] = []
    entries: list[tuple[str, int, str]] = []
    outcomes: set[str] = set()
    for path in waves:
        path = Path(path)
        if not path.exists():
            raise WijkeffectError(f"{path}: wave file not found; expected an existing file after --waves")
        wave = inspect_wave(path)
        draft = guess(wave)
        year_var, years = _waves_in(wave)
        if len(years) > 1:
            per_file = [(y, {"var": year_var, "values": [y]}) for y in years]
        else:
            year = years[0] if years else _year_from_name(path)
            per_file = [(year, None)]
        for year, rows in per_file:
            label = str(year) if year is not None else path.stem
            cb_path = target / "codebooks" / source / f"{label}.yaml"
            text = codebook_text(wave, source, year if year is not None else TODO, _ref(path), rows, draft)
            planned.append((cb_path, text))
            entries.append((source, year if year is not None else TODO, _ref(cb_path)))
        outcomes |= {o for o in ("smoker", "psych_distress", "walking")
                     if o in draft.columns or (o == "psych_distress" and "psych" in draft.scores)
                     or (o == "walking" and "walk_min_week" in draft.scores)}
    name = re.sub(r"[^A-Za-z0-9_-]", "_", target.resolve().name)
    planned.append((target / "study.yaml", study_text(name, sorted(outcomes) or ["smoker"])))
    planned.append((target / "config.yaml", config_text(_ref(target / "study.yaml"), entries)))
    existing = [p for p, _ in planned if p.exists()]
    if existing and not force:
        raise WijkeffectError(f"{existing[0]}: exists; expected a new directory (or --force to overwrite "
                              f"{len(existing)} file(s))")
    for p, text in planned:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return [p for p, _ in planned]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m wijkeffect init", description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="directory for config.yaml, study.yaml and codebooks/")
    ap.add_argument("--waves", nargs="+", type=Path, required=True, help="wave files (.sav, .csv, .xlsx, .parquet)")
    ap.add_argument("--source", help="source name of the waves (default: the directory's name)")
    ap.add_argument("--force", action="store_true", help="overwrite files that exist")
    args = ap.parse_args(argv)
    written = init(args.dir, args.waves, args.source, args.force)
    todo = sum(p.read_text(encoding="utf-8").count(f": {TODO}") + p.read_text(encoding="utf-8").count(f"[{TODO}]")
               for p in written)
    for p in written:
        print(f"wrote {p}")
    print(f"{todo} TODO(s) left: fill them in, then run `snakemake --cores all --configfile {args.dir / 'config.yaml'}`")
    return 0
