"""One function per workflow stage: what each notebook calls between its parameters and its outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wijkeffect.paths import relative, resolve
from wijkeffect.yamlio import safe_load

# Each stage imports what it needs inside the function: every stage runs in its own kernel, and
# import time (linearmodels, geopandas, matplotlib, scipy) is most of a small notebook's run time.


def _out(path: str | Path) -> Path:
    """An output path resolved against the project root, its folder created."""
    p = resolve(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def clean(codebook: str, thresholds: dict[str, float], out_parquet: str, out_log: str):
    """Clean one wave to the respondent schema; write parquet and the JSON clean log (returned)."""
    from wijkeffect.clean import Thresholds, clean_wave
    from wijkeffect.codebook import load_codebook

    cb = load_codebook(codebook)
    df, log = clean_wave(cb, Thresholds.from_config(thresholds))
    out_parquet, out_log = _out(out_parquet), _out(out_log)
    df.to_parquet(out_parquet, index=False)
    log.file = relative(log.file)  # results/ hold no machine paths
    out_log.write_text(json.dumps(log.to_dict(), indent=1, sort_keys=True) + "\n")
    return log


def panel(study_file: str, waves: list[str], out_respondents: str, out_cells: str, out_accounting: str,
          out_balance: str = "") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Link and stack waves, attach treatment, build cells; returns (accounting, cells, balance)."""
    from wijkeffect.panel import build_cells, build_respondents
    from wijkeffect.study import load_study

    study = load_study(study_file)
    frames = [pd.read_parquet(resolve(w)) for w in waves]
    resp, acc, balance = build_respondents(frames, study)
    cells = build_cells(resp, study.outcomes)
    write_respondents(resp, out_respondents)
    cells.to_parquet(_out(out_cells), index=False)
    acc.to_csv(_out(out_accounting), index=False, lineterminator="\n")
    if out_balance:
        balance.to_csv(_out(out_balance), lineterminator="\n", float_format="%.6g")
    return acc, cells, balance


def write_respondents(resp: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Respondents as one parquet file per gemeente, so a city's job reads only its own rows."""
    import shutil

    out = resolve(out_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = []
    for gm, part in resp.groupby("gemeente_code", observed=True, sort=True):
        paths.append(out / f"{gm}.parquet")
        part.reset_index(drop=True).to_parquet(paths[-1], index=False)
    return paths


#: linkage identifiers no model reads (never covariates): the estimate stage does not load them
LINKAGE_ONLY = ("source", "respondent_id", "pc4", "pc6", "source_wijk_code", "source_indeling", "buurt_code")


def read_respondents(resp_dir: str | Path, city: str = "ALL", drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """A city's respondents (every city's for ALL) from the per-gemeente files (or one parquet file),
    without the columns in drop (a national ALL job: 2.2 M rows, ~200 MB of identifiers)."""
    import pyarrow.parquet as pq

    path = resolve(resp_dir)

    def read(f: Path) -> pd.DataFrame:
        cols = [c for c in pq.read_schema(f).names if c not in drop] if drop else None
        return pd.read_parquet(f, columns=cols)

    if path.is_file():
        return city_cells(read(path), city)
    files = sorted(path.glob("*.parquet")) if city == "ALL" else [path / f"{city}.parquet"]
    files = [f for f in files if f.exists()]
    if not files:
        from wijkeffect.errors import WijkeffectError

        raise WijkeffectError(f"{path}: no respondents for {city}; expected {city}.parquet from the panel stage")
    return pd.concat([read(f) for f in files], ignore_index=True)


def city_cells(cells: pd.DataFrame, city: str) -> pd.DataFrame:
    """Cells of one city, or of every city for the pooled id ALL (with a matched open-data design, also the
    controls matched to the city's treated wijken in other cities)."""
    from wijkeffect.statline import city_cells as cells_of

    return cells_of(cells, city)


def no_post_period(cells: pd.DataFrame, outcome: str) -> bool:
    """True when no treated wijk is observed after its start for this outcome (e.g. an open-data study
    before the first post-start wave is published): there is nothing to estimate yet."""
    d = cells[(cells["outcome"] == outcome) & (cells["role"] == "treated")]
    return d.empty or not (d["D"] > 0).any()


def estimate(study: str, cities: list[str] | str, outcomes: list[str] | str, cells_file: str, models: list[str],
             seed: int, out_csv: str, respondents_dir: str = "", model_options: dict | None = None,
             inference: dict | None = None, spec: str = "default") -> dict[tuple[str, str], pd.DataFrame]:
    """Fit the configured models for each city (or ALL) and outcome; write one CSV; rows per (city, outcome).

    Each city's cells and respondents are read once for all its outcomes (respondents from its own
    gemeente file only). twfe's main coefficient also gets the wild cluster restricted bootstrap and
    randomisation inference rows configured under `inference` (reps 0 switches one off).
    """
    from wijkeffect.models import needs_respondents

    cities = [cities] if isinstance(cities, str) else list(cities)
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    options, inference = model_options or {}, inference or {}
    all_cells = pd.read_parquet(resolve(cells_file))
    out = {}
    for city in cities:
        cells = city_cells(all_cells, city)
        resp = read_respondents(respondents_dir, city, LINKAGE_ONLY) if needs_respondents(models, options) else None
        for o in outcomes:
            out[(city, o)] = estimate_outcome(study, city, o, cells, resp, models, seed, options, inference, spec)
    pd.concat(out.values(), ignore_index=True).to_csv(_out(out_csv), index=False, lineterminator="\n",
                                                      float_format="%.10g")
    return out


def estimate_outcome(study: str, city: str, outcome: str, cells: pd.DataFrame, resp: pd.DataFrame | None,
                     models: list[str], seed: int, options: dict, inference: dict,
                     spec: str = "default") -> pd.DataFrame:
    """Tidy rows of every configured model for one city x outcome (none while no post-start wave exists)."""
    from wijkeffect.errors import TooFewClusters
    from wijkeffect.models import MODELS, get_model
    from wijkeffect.models.tidy import Context, tidy_frame

    ctx = Context(study, city, outcome, seed, spec=spec)
    rows: list[dict[str, Any]] = []
    if no_post_period(cells, outcome):
        return tidy_frame(rows)
    for m in models:
        kind, opts = MODELS[m][1], dict(options.get(m, {}))
        try:
            if kind == "cells":
                fitted = get_model(m)(cells, ctx, **opts)
            elif kind == "respondents":
                fitted = get_model(m)(resp, ctx, **opts)
            else:
                fitted = get_model(m)(cells, ctx, resp=resp, **opts)
        except TooFewClusters as exc:  # the model refuses; the refusal is a row, so nothing goes missing
            rows.append(refusal_row(ctx, m, str(exc)))
            continue
        if kind != "respondents" and "weights" in cells and cells["weights"].nunique() == 1:
            # published small-area estimates: the cells say how they are weighted (population or equal)
            label = f"{cells['weights'].iloc[0]} (published small-area estimates, model-based)"
            fitted = [dict(r, weights=label) for r in fitted]
        rows += fitted
        if m == "twfe":
            rows += _resampling_rows(cells, ctx, rows[-1], inference)
    return tidy_frame(rows)


def refusal_row(ctx: Any, model: str, reason: str) -> dict[str, Any]:
    """A tidy row saying a model refused (term `refused`, no numbers, the reason as its inference)."""
    return dict(study=ctx.study, city=ctx.city, outcome=ctx.outcome, model=model, term="refused",
                estimate=np.nan, std_error=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan, n_obs=0,
                n_wijken=0, n_clusters=0, inference=f"refused: {reason}", weights="", covariates="",
                seed=int(ctx.seed), spec=ctx.spec, p_holm=np.nan, p_bh=np.nan)


def _resampling_rows(cells: pd.DataFrame, ctx: Any, twfe_row: dict, inference: dict) -> list[dict]:
    """Wild cluster restricted bootstrap and randomisation inference for twfe's coefficient."""
    from wijkeffect.models.inference import partial_out_cells, randomization_ci, wild_cluster_bootstrap
    from wijkeffect.panel import ROLES

    from wijkeffect.models.inference import few_clusters

    d = cells[(cells["outcome"] == ctx.outcome) & cells["role"].isin(ROLES)].reset_index(drop=True)
    few = few_clusters(d.loc[d["role"] == "treated", "wijk_code"].nunique())
    rows = []
    reps = int(inference.get("bootstrap_reps", 9999))
    if reps:
        kind = inference.get("bootstrap_weights", "rademacher")
        pval, lo, hi = wild_cluster_bootstrap(partial_out_cells(d), reps, kind, ctx.seed)
        rows.append(dict(twfe_row, ci_low=lo, ci_high=hi, p_value=pval, std_error=float("nan"),
                         inference=f"wild_cluster_restricted_bootstrap_{kind}_{reps}{few}"))
    reps = int(inference.get("randomization_reps", 999))
    if reps:
        strata = "gemeente_code" if ctx.city == "ALL" and d["gemeente_code"].nunique() > 1 else None
        _, pval, lo, hi = randomization_ci(d, "mean", "n", reps, ctx.seed, strata=strata)
        rows.append(dict(twfe_row, ci_low=lo, ci_high=hi, p_value=pval, std_error=float("nan"),
                         inference=f"randomization_{reps}" + ("_within_city" if strata else "")))
    return rows


def _city_names(study, geo=None) -> dict[str, str]:
    """gemeente code -> name from the study's geometry (codes themselves when there is none)."""
    geo = _geometry(study) if geo is None else geo
    if geo is None or "gemeente_name" not in geo:
        return {c: c for c in study.cities}
    named = geo.dropna(subset=["gemeente_code", "gemeente_name"])
    return dict(zip(named["gemeente_code"], named["gemeente_name"]))


NO_GEOMETRY = ("no map: the study names no wijk geometry (study key `geometry`); trend figures, tables, "
               "estimates and the report do not need it")


def figures(study_file: str, cities: list[str] | str, cells_file: str, outcomes: list[str], min_cell_n: int,
            breaks: list[float], language: str, out_dir: str, out_index: str, width: str = "double",
            formats: list[str] | None = None) -> pd.DataFrame:
    """Per treated wijk a trend figure and per city the change map (when the study has wijk geometry), for
    each city of the job; returns the index of files written (a `note` row says why a map is absent).

    Files go to results/<study>/figures/<city>/...: out_dir is the folder holding the city folders
    (or, for a single city, that city's own folder, as the workflow passes it).
    """
    from wijkeffect.figures.style import use_formats
    from wijkeffect.study import load_study

    study = load_study(study_file)
    cities = [cities] if isinstance(cities, str) else list(cities)
    out_dir = resolve(out_dir)
    base = out_dir.parent if len(cities) == 1 and out_dir.name == cities[0] else out_dir
    geo = _geometry(study)
    names = _city_names(study, geo)
    all_cells = pd.read_parquet(resolve(cells_file))
    rows: list[tuple[str, str, str, str]] = []
    with use_formats(formats):
        for city in cities:
            rows += _city_figures(city_cells(all_cells, city), city, names.get(city, city), geo, outcomes,
                                  min_cell_n, breaks, language, base / city, width)
    return _index(rows, out_index)


def _city_figures(cells: pd.DataFrame, city: str, city_name: str, geo, outcomes: list[str], min_cell_n: int,
                  breaks: list[float], language: str, out_dir: Path, width: str) -> list[tuple[str, str, str, str]]:
    from wijkeffect.figures.trends import wijk_trends

    names = geo.set_index("wijk_code") if geo is not None else pd.DataFrame()
    rows = []
    jobs = []
    for wijk in sorted(cells.loc[cells["role"] == "treated", "wijk_code"].unique()):
        wname = names.loc[wijk, "wijk_name"] if wijk in names.index and "wijk_name" in names else wijk
        jobs.append((wijk, f"{wname} ({wijk}), {city_name}", out_dir / wijk / "trends"))
    # one reused figure for all of the city's wijken (bytes as if each were drawn alone)
    for (wijk, _, _), paths in zip(jobs, wijk_trends(cells, jobs, outcomes, min_cell_n, language, width)):
        rows += [("wijk_trend", wijk, ",".join(outcomes), str(p)) for p in paths]
    if geo is None:
        rows.append(("note", "", ",".join(outcomes), NO_GEOMETRY))
    else:
        from wijkeffect.figures.maps import city_map

        for p in city_map(geo, cells, city, outcomes, breaks, min_cell_n, f"{city_name} ({city})",
                          out_dir / f"map_{city}", language, width):
            rows.append(("city_map", "", ",".join(outcomes), str(p)))
    return rows


def _geometry(study):
    """The study's wijk polygons, or None when it names none (maps are optional)."""
    if "geometry" not in study.spec:
        return None
    from wijkeffect.geometry import read_boundaries

    gm = study.spec.get("gemeente_geometry")
    return read_boundaries(study.path_of("geometry"), study.spec.get("geometry_layer"),
                           gemeenten=resolve(gm) if gm else None).frame


def _index(rows: list[tuple[str, str, str, str]], out_index: str) -> pd.DataFrame:
    index = pd.DataFrame(rows, columns=["kind", "wijk_code", "outcome", "file"])
    index["file"] = [f if k == "note" else relative(f) for k, f in zip(index["kind"], index["file"])]
    index.to_csv(_out(out_index), index=False, lineterminator="\n")
    return index


def _draw_effect(job: tuple) -> list[tuple[str, str, str, str]]:
    """One event-study or forest figure (a picklable unit of work for the process pool)."""
    from wijkeffect.figures.effects import event_plot, forest_plot

    est, city, outcome, name, stem, kind, language = job
    if kind == "sensitivity":
        from wijkeffect.figures.sensitivity import sensitivity_plot

        return [(kind, city, outcome, relative(p)) for p in sensitivity_plot(est, city, outcome, name, stem, "first",
                                                                             language)]
    fn = event_plot if kind == "event_study" else forest_plot
    return [(kind, city, outcome, relative(p)) for p in fn(est, city, outcome, name, stem, language)]


def effect_figures(est: pd.DataFrame, names: dict[str, str], out_dir: Path, language: str,
                   workers: int = 2) -> pd.DataFrame:
    """Per city (and ALL) and outcome: the event-study and forest plots, from the tidy estimates only.

    Figures are independent, so they are drawn by `workers` processes; bytes do not depend on which.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from wijkeffect.labels import label

    jobs = []
    for city in sorted(est["city"].unique(), key=lambda c: (c != "ALL", c)):
        name = label("all_cities", language) if city == "ALL" else names.get(city, city)
        sub = est[est["city"] == city]
        for outcome in sorted(sub["outcome"].unique()):
            kinds = [("event_study", "event"), ("forest", "forest")]
            if (sub.loc[sub["outcome"] == outcome, "model"] == "sensitivity").any():
                kinds.append(("sensitivity", "sensitivity"))
            for kind, stem in kinds:
                jobs.append((sub[sub["outcome"] == outcome], city, outcome, name,
                             out_dir / city / f"{stem}_{outcome}", kind, language))
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            results = list(pool.map(_draw_effect, jobs))
    else:
        results = [_draw_effect(j) for j in jobs]
    return pd.DataFrame([r for rs in results for r in rs], columns=["kind", "city", "outcome", "file"])


def estimate_figures(est: dict[tuple[str, str], pd.DataFrame], study_file: str, figures_dir: str,
                     language: str = "en", formats: list[str] | None = None, out_index: str = "") -> pd.DataFrame:
    """The estimate job's figures: per city and outcome the event-study, forest and (when configured)
    sensitivity plots under figures_dir/<city>/, drawn where the rows are made (in parallel jobs, not at
    the end of the run), with their index written to out_index."""
    from wijkeffect.figures.style import use_formats
    from wijkeffect.study import load_study

    frames = [f for f in est.values() if not f.empty]
    cols = ["kind", "city", "outcome", "file"]
    if frames:
        names = _city_names(load_study(study_file)) if study_file else {}
        with use_formats(formats):
            index = effect_figures(pd.concat(frames, ignore_index=True), names, resolve(figures_dir), language,
                                   workers=1)
    else:
        index = pd.DataFrame(columns=cols)
    if out_index:
        index.to_csv(_out(out_index), index=False, lineterminator="\n")
    return index


def adjust_across_outcomes(est: pd.DataFrame) -> pd.DataFrame:
    """Fill p_holm and p_bh: Holm and Benjamini-Hochberg adjusted p-values across a study's outcomes.

    Adjusted within each city, model, term, inference and spec that has a p-value for two or more
    outcomes; elsewhere the columns stay empty. One row per estimate: no rows are added. Vectorised over
    the groups (a national study has ~10^5 of them): the same steps as `inference.holm` and
    `inference.benjamini_hochberg` per group.
    """
    keys = ["city", "model", "term", "inference", "spec"]
    out = est.copy()
    out["p_holm"], out["p_bh"] = np.nan, np.nan
    base = out.loc[out["p_value"].notna(), [*keys, "outcome", "p_value"]]
    if base.empty:
        return out
    g = base.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    n_out = pd.Series(base["outcome"].to_numpy()).groupby(g).transform("nunique").to_numpy()
    base = base[n_out >= 2]
    g = g[n_out >= 2]
    if base.empty:
        return out
    p = base["p_value"].to_numpy(float)
    m = np.bincount(g)[g].astype(float)
    up = np.lexsort((p, g))  # by group, then p ascending
    rank = np.empty(len(p))
    rank[up] = pd.Series(np.ones(len(p))).groupby(g[up]).cumsum().to_numpy() - 1  # 0-based within group
    holm = pd.Series((m[up] - rank[up]) * p[up]).groupby(g[up]).cummax().clip(upper=1).to_numpy()
    down = np.lexsort((-p, g))  # by group, then p descending
    rank_d = pd.Series(np.ones(len(p))).groupby(g[down]).cumsum().to_numpy() - 1
    bh = pd.Series(p[down] * m[down] / (m[down] - rank_d)).groupby(g[down]).cummin().clip(upper=1).to_numpy()
    idx = base.index.to_numpy()
    out.loc[idx[up], "p_holm"] = holm
    out.loc[idx[down], "p_bh"] = bh
    return out


def summary(inputs: list[str], out_estimates: str, tables_dir: str, language: str = "en",
            truth_file: str = "", cells_file: str = "", study_file: str = "", min_cell_n: int = 10,
            figures_dir: str = "", workers: int = 1, formats: list[str] | None = None,
            first_page: str = "", power_dir: str = "", figure_indexes: list[str] | None = None) -> pd.DataFrame:
    """Collect every model's rows into estimates.csv; write the tables (estimates, and prevalence per wijk
    and wave with small cells suppressed); draw the overview across cities, and the event-study and forest
    plots per city and outcome unless the estimate jobs drew them (figure_indexes: their index files,
    combined into figures/effects_index.csv); compare with the truth when given (synthetic data)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from wijkeffect.models.tidy import RESULT_COLUMNS
    from wijkeffect.study import load_study
    from wijkeffect.tables import write_prevalence, write_tables

    cells = pd.read_parquet(resolve(cells_file)) if cells_file else None
    # the power stage needs only the cells: it runs in a second process beside the tables and figures
    # (this job is the run's serial tail); its files are the same whichever process writes them
    pool = ProcessPoolExecutor(1, mp_context=get_context("fork")) if cells is not None and power_dir else None
    power = pool.submit(power_outputs, cells, power_dir, language, formats) if pool else None
    try:
        est = pd.concat([pd.read_csv(resolve(f), dtype={"covariates": str, "spec": str}, keep_default_na=False,
                                     na_values=[""]) for f in inputs], ignore_index=True)[RESULT_COLUMNS]
        est = adjust_across_outcomes(est)
        est = est.sort_values(["spec", "city", "outcome", "model", "term", "inference"], kind="stable").reset_index(drop=True)
        est.to_csv(_out(out_estimates), index=False, lineterminator="\n", float_format="%.10g")
        names = _city_names(load_study(study_file)) if study_file else {}
        write_tables(est, resolve(tables_dir), language, names=names)
        if cells is not None:
            write_prevalence(cells, resolve(tables_dir), min_cell_n, language)
        if figures_dir and study_file:
            from wijkeffect.figures.style import use_formats

            with use_formats(formats):
                _summary_figures(est, study_file, resolve(figures_dir), language, workers, figure_indexes)
        mde = power.result() if power else None
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    if first_page:
        from wijkeffect.verdict import write_first_page

        study = load_study(study_file)
        outcomes = [o for o in study.outcomes if o in set(est["outcome"])]
        write_first_page(est, _out(first_page), resolve(figures_dir), language, names=names, outcomes=outcomes,
                         model_based=study.spec.get("source") == "statline",
                         mde=None if mde is None else mde[mde["study_design"]].assign(city="ALL"))
    if truth_file and resolve(truth_file).exists():
        truth = safe_load(resolve(truth_file).read_text())
        est = est.copy()
        est["truth"] = [truth.get(o) if c == "ALL" else truth.get("by_city", {}).get(c, {}).get(o)
                        for c, o in zip(est["city"], est["outcome"])]
        est["ci_covers_truth"] = (est["ci_low"] <= est["truth"]) & (est["truth"] <= est["ci_high"])
    return est


def power_outputs(cells: pd.DataFrame, out_dir: str, language: str = "en",
                  formats: list[str] | None = None) -> pd.DataFrame:
    """The power stage: minimum detectable effects for the study's own design (inputs estimated from its
    pre-period cells) and for other numbers of treated wijken and respondents, a table and figure per outcome."""
    from wijkeffect.figures.style import use_formats
    from wijkeffect.power import mde_table, write_outputs

    with use_formats(formats):
        write_outputs(cells, resolve(out_dir), language)
    return mde_table(cells)


def _summary_figures(est: pd.DataFrame, study_file: str, out_dir: Path, language: str, workers: int,
                     figure_indexes: list[str] | None = None) -> None:
    """The overview across cities; the event-study and forest plots per city and outcome unless the
    estimate jobs drew them (then their indexes are combined)."""
    from wijkeffect.figures.effects import overview
    from wijkeffect.study import load_study

    study = load_study(study_file)
    names = _city_names(study)
    cities = [c for c in study.cities if c in set(est["city"])]
    outcomes = [o for o in study.outcomes if o in set(est["outcome"])]
    if figure_indexes is None:
        index = effect_figures(est, names, out_dir, language, workers)
    else:
        index = pd.concat([pd.read_csv(resolve(f), dtype=str) for f in figure_indexes], ignore_index=True)
    overview(est, cities, names, outcomes, out_dir / "overview", language)
    index.to_csv(_out(out_dir / "effects_index.csv"), index=False, lineterminator="\n")
