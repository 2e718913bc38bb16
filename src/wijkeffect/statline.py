"""StatLine small-area health estimates (RIVM tables 50090NED, 50120NED) as a wijk x year source.

The published values are model-based small-area estimates (survey answers smoothed with register
covariates), one per region, period, age group and margin. This module reads the files a user
exported from StatLine (xlsx or CSV: space-padded codes, "." for missing, numbers as padded text,
periods like 2016JJ00), or fetches a table through `cbsodata` into a cache under data/raw/, and
turns the wijk rows into the pipeline's cells frame (one row per outcome x wijk x wave).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error

#: StatLine Leeftijd codes of the RIVM tables and the age groups they stand for.
AGE_CODES = {"20300": "18+", "53115": "18-65", "80200": "65+"}
AGE_GROUPS = {v: k for k, v in AGE_CODES.items()}

#: Marges codes: the estimate and its 95% bounds (50120NED; 50090NED has only the estimate).
MARGES = {"MW00000": "value", "MOG0095": "lower", "MBG0095": "upper"}

#: Default indicator per outcome (StatLine column keys); a study's `statline.indicators` overrides.
INDICATORS = {
    "smoker": "Roker_11",
    "psych_distress": "HoogRisicoOpAngstOfDepressie_25",
    "exercise": "VoldoetAanBeweegrichtlijn_5",
    "good_health": "ErvarenGezondheidGoedZeerGoed_4",
    "obesity": "ErnstigOvergewicht_10",
    "heavy_drinking": "ZwareDrinker_14",
    "loneliness": "Eenzaam_28",
    "money_worries": "MoeiteMetRondkomen_38",
}

#: Columns identifying a row; everything else in a StatLine export is an indicator.
DIMENSIONS = ("ID", "Leeftijd", "Marges", "WijkenEnBuurten", "Perioden", "Gemeentenaam_1", "SoortRegio_2",
              "Codering_3")
REGION_TYPES = ("Land", "Gemeente", "Wijk", "Buurt")
CELL_COLUMNS = ["outcome", "gemeente_code", "wijk_code", "wave", "role", "group", "start", "n", "sum_w", "sum_w2",
                "n_eff", "mean", "se", "D"]
#: Respondent-level models need microdata a StatLine panel does not have.
RESPONDENT_MODELS = ("twfe_individual", "segmented")
MODEL_BASED_NOTE = ("These are model-based small-area estimates (RIVM/CBS/GGD: survey answers smoothed with "
                    "register covariates), not direct survey means: wijk differences partly reflect the "
                    "covariates of the prediction model, and their uncertainty is not that of a sample mean.")


def _strip(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip()


def to_number(s: pd.Series) -> pd.Series:
    """Padded text to float: "." (StatLine's missing marker), "NA" and empty to NaN, a decimal comma accepted."""
    t = _strip(s).replace({".": pd.NA, "": pd.NA, "NA": pd.NA})  # "NA": exports written by R
    t = t.str.replace(",", ".", regex=False)
    out = pd.to_numeric(t, errors="coerce")
    bad = t.notna() & out.isna()
    if bad.any():
        raise WijkeffectError(f"column {s.name}: values that are neither numbers nor '.': "
                              f"{t[bad].unique()[:5].tolist()}")
    return out.astype(float)


def _read_xlsx(path: Path) -> pd.DataFrame:
    """First sheet as text, via calamine directly (pandas' per-cell conversion costs most of the time)."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header, body = [str(h) for h in rows[0]], rows[1:]
    cols = list(zip(*body)) if body else [()] * len(header)
    out = {}
    for name, values in zip(header, cols):
        s = pd.Series(values, dtype=object)
        s = s.where(s != "", None)  # calamine gives "" for empty cells
        out[name] = s.map(lambda v: v if v is None or isinstance(v, str) else
                          (str(int(v)) if isinstance(v, float) and v.is_integer() and name in DIMENSIONS else str(v)))
    return pd.DataFrame(out).astype("string")


def _read_raw(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise WijkeffectError(f"{path}: StatLine export not found")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return _read_xlsx(path)
    if suffix == ".csv":
        with open(path, encoding="utf-8-sig") as fh:
            head = fh.readline()
        sep = ";" if head.count(";") > head.count(",") else ","
        return pd.read_csv(path, dtype=str, sep=sep, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    if suffix == ".parquet":
        return pd.read_parquet(path).astype("string")
    raise input_error(path, "file type", [suffix], "a StatLine export as .xlsx, .csv or .parquet")


def normalise(raw: pd.DataFrame, source: str | Path) -> pd.DataFrame:
    """Codes stripped, region level, gemeente code, age group, margin and year; indicators as floats (0-100)."""
    need = ["Leeftijd", "WijkenEnBuurten", "Perioden", "SoortRegio_2"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise input_error(source, f"columns {missing} missing", None,
                          f"a StatLine RIVM export with columns {need}; found {list(raw.columns)[:10]}")
    out = pd.DataFrame({"region_code": _strip(raw["WijkenEnBuurten"]),
                        "region_type": _strip(raw["SoortRegio_2"]),
                        "age_code": _strip(raw["Leeftijd"]),
                        "marges": _strip(raw["Marges"]) if "Marges" in raw else pd.Series("MW00000", index=raw.index,
                                                                                          dtype="string"),
                        "period": _strip(raw["Perioden"])})
    bad = ~out["region_type"].isin(REGION_TYPES)
    if bad.any():
        raise input_error(source, "column SoortRegio_2", out.loc[bad, "region_type"], f"one of {REGION_TYPES}")
    bad = ~out["period"].str.fullmatch(r"\d{4}JJ00").fillna(False)
    if bad.any():
        raise input_error(source, "column Perioden", out.loc[bad, "period"], "yearly StatLine periods like 2016JJ00")
    bad = ~out["age_code"].isin(AGE_CODES)
    if bad.any():
        raise input_error(source, "column Leeftijd", out.loc[bad, "age_code"], f"RIVM age codes {list(AGE_CODES)}")
    bad = ~out["marges"].isin(MARGES)
    if bad.any():
        raise input_error(source, "column Marges", out.loc[bad, "marges"], f"margin codes {list(MARGES)}")
    out["year"] = out["period"].str[:4].astype(int)
    out["age_group"] = out["age_code"].map(AGE_CODES)
    out["margin"] = out["marges"].map(MARGES)
    wijk = out["region_type"] == "Wijk"
    bad = wijk & ~out["region_code"].str.fullmatch(r"WK\d{6}").fillna(False)
    if bad.any():
        raise input_error(source, "column WijkenEnBuurten (Wijk rows)", out.loc[bad, "region_code"],
                          "CBS wijk codes WK######")
    code = out["region_code"]
    out["gemeente_code"] = ("GM" + code.str[2:6]).where(code.str[:2].isin(["WK", "BU", "GM"]))
    if "Gemeentenaam_1" in raw:
        out["gemeente_name"] = _strip(raw["Gemeentenaam_1"])
    for col in raw.columns:
        if col not in DIMENSIONS:
            out[col] = to_number(raw[col].rename(col))
    out["file"] = str(source)
    return out


def _stamp(path: Path) -> tuple[int, int]:
    if not path.exists():
        raise WijkeffectError(f"{path}: StatLine export not found")
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@lru_cache(maxsize=16)
def _read_normalised(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """One export, normalised; cached per path and modification stamp (studies and tests reread files)."""
    return normalise(_read_raw(Path(path)), path)


def read_statline(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Every export stacked (any mix of years, age groups and margins); indicators absent in a file stay NaN."""
    frames = [_read_normalised(str(p), *_stamp(Path(p))) for p in paths]
    if not frames:
        raise WijkeffectError("statline: no files given; expected one or more StatLine exports")
    out = pd.concat(frames, ignore_index=True)  # a new frame: the cached ones are never modified
    dup = out.duplicated(["region_code", "age_code", "marges", "year"], keep=False)
    if dup.any():
        ex = out.loc[dup, ["region_code", "age_group", "year", "file"]].astype(str).agg(" ".join, axis=1)
        raise input_error("statline files", "the same region, age group, margin and year in more than one row",
                          ex, "each region x age group x margin x period once across the files")
    return out


# -- online: cbsodata with a cache ------------------------------------------------------------------

def fetch_table(table_id: str, cache_dir: str | Path, catalog_url: str = "dataderden.cbs.nl",
                filters: str | None = None, refresh: bool = False) -> tuple[Path, dict[str, Any]]:
    """Download a StatLine table (untyped: codes kept) once into cache_dir; returns the parquet and provenance.

    RIVM tables live in the RIVM catalog of the third-party server (dataderden.cbs.nl). The cache holds
    <table>.parquet and <table>.provenance.json (table id, catalog, filters, periods, download time).
    """
    cache = Path(cache_dir)
    data_file, prov_file = cache / f"{table_id}.parquet", cache / f"{table_id}.provenance.json"
    if data_file.exists() and prov_file.exists() and not refresh:
        return data_file, json.loads(prov_file.read_text(encoding="utf-8"))
    import cbsodata
    from importlib.metadata import version

    cache.mkdir(parents=True, exist_ok=True)
    meta = cbsodata.download_data(table_id, dir=None, typed=False, filters=filters, catalog_url=catalog_url)
    rows = meta.get("UntypedDataSet") or meta.get("TypedDataSet")
    if not rows:
        raise WijkeffectError(f"StatLine table {table_id} ({catalog_url}, filters {filters!r}): no data rows "
                              "returned; expected a table id of the RIVM catalog such as 50090NED")
    df = pd.DataFrame(rows).astype("string")
    df.to_parquet(data_file, index=False)
    info = (meta.get("TableInfos") or [{}])[0]
    prov = {"table_id": table_id, "catalog_url": catalog_url, "filters": filters,
            "title": info.get("Title"), "modified": info.get("Modified"),
            "periods": sorted(_strip(df["Perioden"]).unique().tolist()) if "Perioden" in df else [],
            "rows": len(df), "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "client": f"cbsodata {version('cbsodata')}"}
    prov_file.write_text(json.dumps(prov, indent=2), encoding="utf-8")
    return data_file, prov


# -- panel, accounting and cells ---------------------------------------------------------------------

def wijk_panel(df: pd.DataFrame, indicators: dict[str, str], age_group: str = "18+") -> tuple[pd.DataFrame,
                                                                                              pd.DataFrame]:
    """Long wijk x year panel (outcome, value, lower, upper as proportions) and a missing-indicator table.

    The table has one row per outcome x year: wijken, missing values, and `status` (complete, partial,
    absent) - an indicator absent in a year is reported there and left out of that wave, never silently.
    """
    if age_group not in AGE_GROUPS:
        raise WijkeffectError(f"statline: age_group {age_group!r}; expected one of {list(AGE_GROUPS)}")
    sub = df[(df["region_type"] == "Wijk") & (df["age_group"] == age_group)]
    if sub.empty:
        raise WijkeffectError(f"statline: no wijk rows for age group {age_group} in "
                              f"{sorted(df['file'].unique())[:3]}; age groups present: "
                              f"{sorted(df['age_group'].unique())}")
    unknown = [c for c in indicators.values() if c not in df.columns]
    if unknown:
        raise input_error(sorted(df["file"].unique())[0], "statline.indicators", unknown,
                          f"StatLine indicator columns such as {[c for c in df.columns if c[-2:-1].isdigit()][:5]}")
    parts, report = [], []
    for outcome, col in indicators.items():
        wide = sub.set_index(["gemeente_code", "region_code", "year", "margin"])[col].unstack("margin")
        wide = wide.reindex(columns=["value", "lower", "upper"])
        wide.columns.name = None
        wide = wide.reset_index().rename(columns={"region_code": "wijk_code"})
        for year, g in wide.groupby("year"):
            n_missing = int(g["value"].isna().sum())
            status = "absent" if n_missing == len(g) else ("partial" if n_missing else "complete")
            report.append({"outcome": outcome, "indicator": col, "age_group": age_group, "year": int(year),
                           "wijken": len(g), "missing": n_missing, "with_bounds": int(g["lower"].notna().sum()),
                           "status": status})
        wide = wide[wide["value"].notna()].copy()
        wide["outcome"], wide["indicator"] = outcome, col
        parts.append(wide)
    panel = pd.concat(parts, ignore_index=True)
    for c in ("value", "lower", "upper"):
        panel[c] = panel[c] / 100
    panel = panel.rename(columns={"year": "wave"})
    cols = ["outcome", "indicator", "gemeente_code", "wijk_code", "wave", "value", "lower", "upper"]
    return panel[cols].sort_values(["outcome", "wijk_code", "wave"]).reset_index(drop=True), pd.DataFrame(report)


_POP_COLUMNS = ("AantalInwoners_5", "Bevolking.Aantal.inwoners..aantal.", "Bevolking/Aantal inwoners (aantal)",
                "AantalInwoners")
_CODE_COLUMNS = ("WijkenEnBuurten", "Codering_3", "Regioaanduiding.Codering..code.", "Regioaanduiding/Codering (code)")


def read_population(path: str | Path, column: str | None = None) -> pd.Series:
    """Inhabitants per wijk from a Kerncijfers wijken en buurten export (StatLine or R-style headers)."""
    path = Path(path)
    raw = _read_raw(path)
    pop_col = column or next((c for c in _POP_COLUMNS if c in raw.columns), None)
    code_col = next((c for c in _CODE_COLUMNS if c in raw.columns and
                     _strip(raw[c]).str.fullmatch(r"WK\d{6}").fillna(False).any()), None)
    if pop_col is None or pop_col not in raw.columns or code_col is None:
        raise input_error(path, "population columns", None, f"a code column of {_CODE_COLUMNS} and a population "
                          f"column of {_POP_COLUMNS}; found {list(raw.columns)[:8]}")
    codes = _strip(raw[code_col])
    wijk = codes.str.fullmatch(r"WK\d{6}").fillna(False)
    pop = to_number(raw.loc[wijk, pop_col].rename(pop_col))
    return pd.Series(pop.to_numpy(), index=codes[wijk].to_numpy(), name="population")


def _wave_date(wave: pd.Series, month_day: str) -> pd.Series:
    return pd.to_datetime(wave.astype(str) + "-" + month_day)


def statline_cells(panel: pd.DataFrame, treated: pd.DataFrame, controls: set[str] | str,
                   cities: list[str] | None = None, population: pd.Series | None = None,
                   weights: str = "auto", wave_date: str = "10-01") -> pd.DataFrame:
    """The pipeline's cells frame from a StatLine panel; the analytic weight is in n and sum_w.

    Roles: listed wijken (`treated`: wijk_code, start, group) are treated; `controls` is "same_city", "all"
    or a set of wijk codes. D = 1 when the wave's reference date (fieldwork, default 1 October) is on or
    after the start. Weights ("auto": population if given, else equal; or "population", "equal",
    "inverse_variance" from the 95% bounds) are normalised to mean 1 per outcome, so n_obs counts cells;
    n_eff is 1 (one published estimate per cell), se comes from the bounds (NaN without them).
    """
    t = treated.set_index("wijk_code")
    p = panel.copy()
    p["group"] = p["wijk_code"].map(t["group"]).astype("string")
    p["start"] = p["wijk_code"].map(t["start"])
    listed = p["start"].notna()
    in_city = p["gemeente_code"].isin(cities) if cities else pd.Series(True, index=p.index)
    if controls == "same_city":
        control = ~listed & in_city
    elif controls == "all":
        control = ~listed
    else:
        control = ~listed & p["wijk_code"].isin(set(controls))
    p["role"] = pd.Series(np.where(listed, "treated", np.where(control, "control", "")), index=p.index,
                          dtype="string")
    p = p[p["role"] != ""].copy()
    p["D"] = (p["start"].notna() & (_wave_date(p["wave"], wave_date) >= p["start"])).astype(float)
    p["se"] = (p["upper"] - p["lower"]) / (2 * 1.959963984540054)
    mode = weights if weights != "auto" else ("population" if population is not None else "equal")
    if mode == "population":
        if population is None:
            raise WijkeffectError("statline: weights 'population' needs statline.population (a Kerncijfers export)")
        p["population"] = p["wijk_code"].map(population)
        lost = p.loc[p["population"].isna() | (p["population"] < 0), "wijk_code"].unique()
        if len(lost):
            raise input_error("statline.population", "wijken without a population", lost,
                              "inhabitants for every study wijk (or weights: equal)")
        empty = p["population"] == 0  # no inhabitants in the population year: no weight; reported by the caller
        p = p[~empty].copy()
        raw_w, desc = p["population"], "population (Kerncijfers inhabitants)"
    elif mode == "inverse_variance":
        lost = p.loc[~(p["se"] > 0), "wijk_code"].unique()
        if len(lost):
            raise input_error("statline files", "wijken without 95% bounds (Marges)", lost,
                              "MOG0095/MBG0095 rows for every cell (table 50120NED), or weights: equal")
        raw_w, desc = 1 / p["se"] ** 2, "inverse_variance (published 95% bounds)"
    elif mode == "equal":
        raw_w, desc = pd.Series(1.0, index=p.index), "equal"
    else:
        raise WijkeffectError(f"statline: weights {weights!r}; expected auto, population, equal or inverse_variance")
    p["n"] = raw_w / raw_w.groupby(p["outcome"]).transform("mean")
    p["sum_w"], p["sum_w2"], p["n_eff"] = p["n"], p["n"] ** 2, 1.0
    p["mean"], p["weights"] = p["value"], desc
    extra = ["weights", "indicator", "lower", "upper"] + (["population"] if "population" in p else [])
    return p[CELL_COLUMNS + extra].sort_values(["outcome", "wijk_code", "wave"]).reset_index(drop=True)


def refuse_respondent_models(models: Iterable[str], study: str) -> None:
    """A StatLine study has no respondents: respondent-level models fail with the reason."""
    bad = [m for m in models if m in RESPONDENT_MODELS]
    if bad:
        raise WijkeffectError(f"study {study}: models {bad} need respondent microdata, but the study's source is "
                              "statline (published small-area estimates per wijk); expected cell models only: "
                              "twfe, naive, event_study, staggered (without covariates)")


# -- a study whose source is statline ---------------------------------------------------------------

def study_files(study: Any, root: Path | None = None) -> list[Path]:
    """The study's StatLine exports (globs expanded), or the cached online table."""
    from wijkeffect.paths import resolve

    spec = study.spec["statline"]
    if spec.get("table_id") and not spec.get("files"):
        path, _ = fetch_table(spec["table_id"], resolve(spec.get("cache_dir", "data/raw/statline"), root),
                              spec.get("catalog_url", "dataderden.cbs.nl"))
        return [path]
    files: list[Path] = []
    for pattern in spec.get("files", []):
        p = resolve(pattern, root)
        hits = sorted(p.parent.glob(p.name)) if any(ch in p.name for ch in "*?[") else [p]
        if not hits or not hits[0].exists():
            raise input_error(study.path, "statline.files", [pattern], "existing StatLine exports (xlsx/csv)")
        files.extend(hits)
    if not files:
        raise input_error(study.path, "statline", None, "files (StatLine exports) or table_id")
    return files


def matched_controls(panel: pd.DataFrame, treated: list[str], spec: dict[str, Any], base_wave: int,
                     deprived: dict[str, Any] | None, features: pd.DataFrame
                     ) -> tuple[set[str], pd.DataFrame, dict[str, set[str]]]:
    """k nearest control wijken per treated wijk on base-wave levels, from a (deprived) pool.

    Returns the control set, the balance table, and per control the gemeenten of the treated wijken it
    was matched to (a city's estimate compares its treated wijken with their own matches).
    """
    from wijkeffect.controls import balance_table, match_controls

    feats = features.dropna()
    pool = feats.index.difference(pd.Index(treated))
    if deprived:
        col = deprived["indicator"]
        cut = feats[col].quantile(deprived.get("quantile", 0.75))
        pool = pool[feats.loc[pool, col] >= cut]
    gm = panel.drop_duplicates("wijk_code").set_index("wijk_code")["gemeente_code"]
    within = spec.get("within", "same_city")
    cands = {w: sorted(pool if within == "all" else pool[gm.reindex(pool).to_numpy() == gm.get(w)])
             for w in treated}
    k, method = int(spec.get("k", 2)), spec.get("match", "nearest")
    matched_for: dict[str, set[str]] = {}
    if method == "nearest":  # per treated wijk: the same distances as one joint call, with the link kept
        for w in treated:
            for c in match_controls(feats, [w], {w: cands[w]}, k, method):
                matched_for.setdefault(c, set()).add(str(gm.get(w)))
        matched = sorted(matched_for)
    else:  # the propensity score is fitted on all treated wijken together
        matched = match_controls(feats, treated, cands, k, method)
        matched_for = {c: {str(gm.get(c))} for c in matched}
    return set(matched), balance_table(feats, treated, sorted(set(pool)), matched), matched_for


def base_features(df: pd.DataFrame, columns: list[str], age_group: str, year: int) -> pd.DataFrame:
    """Wijk-level indicator values (proportions) in one year: the matching features of a statline study."""
    sub = df[(df["region_type"] == "Wijk") & (df["age_group"] == age_group) & (df["margin"] == "value")
             & (df["year"] == year)]
    if sub.empty:
        raise WijkeffectError(f"statline: no wijk rows in base wave {year} for age group {age_group}")
    return (sub.set_index("region_code")[columns] / 100).rename_axis("wijk_code")


def build_study(study: Any, root: Path | None = None, models: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
    """Cells, the missing-indicator table, the wave accounting and the balance table of a statline study."""
    from wijkeffect.paths import resolve

    refuse_respondent_models(models, study.name)
    spec = study.spec["statline"]
    age = spec.get("age_group", "18+")
    indicators = {o: spec.get("indicators", {}).get(o, INDICATORS.get(o)) for o in study.outcomes}
    unmapped = [o for o, c in indicators.items() if c is None]
    if unmapped:
        raise input_error(study.path, "statline.indicators", unmapped, "a StatLine column for every outcome")
    files = study_files(study, root)
    df = read_statline(files)
    panel, missing = wijk_panel(df, indicators, age)
    population = read_population(resolve(spec["population"], root)) if spec.get("population") else None
    treated = study.treated
    controls = study.controls
    balance = pd.DataFrame()
    if isinstance(controls, dict):
        base = int(spec.get("base_wave", panel["wave"].min()))
        deprived = spec.get("deprived")
        cols = sorted({c for o, c in indicators.items()
                       if df.loc[(df["year"] == base) & (df["age_group"] == age), c].notna().any()}
                      | ({deprived["indicator"]} if deprived else set()))
        feats = base_features(df, cols, age, base)
        t_in = [w for w in treated["wijk_code"] if w in feats.index]
        controls, balance, matched_for = matched_controls(panel, t_in, controls, base, deprived, feats)
    elif isinstance(controls, list):
        controls, matched_for = set(controls), {}
    else:
        matched_for = {}
    cells = statline_cells(panel, treated, controls, study.cities if study.spec.get("controls") == "same_city"
                           else None, population, spec.get("weights", "auto"), spec.get("wave_date", "10-01"))
    own = cells["gemeente_code"].astype(str)
    cells["matched_for"] = [";".join(sorted(matched_for.get(w, {g}))) for w, g in zip(cells["wijk_code"], own)]
    zero = sorted(set(population[population == 0].index) & set(panel["wijk_code"])) if population is not None else []
    absent = sorted(set(treated["wijk_code"]) - set(panel["wijk_code"]))
    acc = (cells.groupby(["outcome", "wave", "role"]).size().unstack("role", fill_value=0).reset_index())
    acc.columns.name = None
    acc["treated_wijken_not_in_files"] = len(absent)
    acc["wijken_without_inhabitants"] = len(zero)  # population weight 0: no cell (listed in "zero_population")
    out = {"cells": cells, "panel": panel, "missing": missing, "accounting": acc, "balance": balance,
           "files": pd.DataFrame({"file": [str(f) for f in files]}),
           "absent_treated": pd.DataFrame({"wijk_code": absent}),
           "zero_population": pd.DataFrame({"wijk_code": zero}),
           "verdict": verdicts(cells)}
    if spec.get("mapping_report"):
        from wijkeffect.policy_wijken import mapping_report, read_mapping

        out["mapping"] = mapping_report(read_mapping(resolve(spec["mapping_report"], root)))
    return out


def post_period_verdict(cells: pd.DataFrame, outcome: str = "all") -> dict[str, Any]:
    """Whether the panel can say anything about an effect: treated waves before and after the starts."""
    t = cells[(cells["role"] == "treated") & ((cells["outcome"] == outcome) if outcome != "all" else True)]
    pre = sorted(int(w) for w in t.loc[t["D"] == 0, "wave"].unique())
    post = sorted(int(w) for w in t.loc[t["D"] > 0, "wave"].unique())
    start = t["start"].min()
    if t.empty:
        text, ok = "no treated wijk in the panel: nothing to estimate", False
    elif not post:
        text, ok = (f"no post-period wave yet: every wave ({', '.join(map(str, pre))}) is before the start "
                    f"({start:%Y-%m}); no effect is estimated until a later wave is supplied (e.g. StatLine "
                    "50120NED, 2022)"), False
    elif not pre:
        text, ok = (f"no pre-period wave: every wave with this outcome ({', '.join(map(str, post))}) is after the "
                    f"start ({start:%Y-%m}); nothing to compare with"), False
    else:
        text, ok = (f"estimable: waves before the start {pre}, after {post}; the effect is the change in the "
                    "treated-control gap from the former to the latter"), True
    return {"outcome": outcome, "estimable": ok, "verdict": text, "pre_waves": " ".join(map(str, pre)),
            "post_waves": " ".join(map(str, post))}


def verdicts(cells: pd.DataFrame) -> pd.DataFrame:
    """The verdict for all outcomes together (first row) and per outcome: what the estimate stage may fit."""
    rows = [post_period_verdict(cells)] + [post_period_verdict(cells, o) for o in sorted(cells["outcome"].unique())]
    return pd.DataFrame(rows)


def change_between(panel: pd.DataFrame, first: int | None = None, last: int | None = None) -> pd.DataFrame:
    """Per outcome and wijk: value in the last wave minus the first (each outcome's own waves by default)."""
    rows = []
    for outcome, g in panel.groupby("outcome"):
        a = first if first is not None else int(g["wave"].min())
        b = last if last is not None else int(g["wave"].max())
        w = g.pivot(index="wijk_code", columns="wave", values="value")
        if a not in w or b not in w:
            continue
        d = (w[b] - w[a]).rename("value").reset_index()
        d["outcome"], d["first"], d["last"] = outcome, a, b
        rows.append(d)
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["wijk_code", "value", "outcome", "first", "last"])


def city_cells(cells: pd.DataFrame, city: str) -> pd.DataFrame:
    """A city's cells: its own wijken plus the controls matched to its treated wijken (ALL: every cell)."""
    if city == "ALL":
        return cells
    if "matched_for" not in cells:
        return cells[cells["gemeente_code"] == city]
    mine = cells["matched_for"].str.split(";").map(lambda gs: city in gs)
    return cells[(cells["gemeente_code"] == city) | (mine & (cells["role"] == "control"))]
