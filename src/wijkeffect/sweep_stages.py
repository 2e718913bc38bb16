"""The stages of a specification sweep (config `sweep:`), run by workflow/rules/sweep.smk.

`python -m wijkeffect.sweep_stages panel|estimate|summary ...`: plain processes, no notebook per spec
(a sweep's specs are many and alike; the sweep's summary notebook is what a reviewer reads). Each job
reads its spec's values from a parameter file written by the workflow (see common.smk: a changed value
names a new file, so exactly the affected jobs rerun, and adding a spec or a city runs only new jobs).

Threshold axes (walking minutes, K10 and MHI-5 cut-offs) re-derive the binary outcomes from the cleaned
scores (walk_min_week, psych_score), exactly as cleaning does, instead of re-reading the raw waves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from wijkeffect.paths import resolve


def rederive_outcomes(wave: pd.DataFrame, thresholds: dict[str, float]) -> pd.DataFrame:
    """walking and psych_distress from the cleaned scores under other thresholds (clean.py's rules)."""
    from wijkeffect.clean import Thresholds

    th = Thresholds.from_config(thresholds)
    out = wave.copy()
    if "walk_min_week" in out and out["walk_min_week"].notna().any():
        w = out["walk_min_week"].astype("Float64")
        derived = (w >= th.walking_min_week).astype("Int64").where(w.notna())
        out["walking"] = derived.where(w.notna(), out["walking"])
    if "psych_score" in out and out["psych_score"].notna().any():
        s = out["psych_score"].astype("Float64")
        k10 = out["psych_instrument"].astype("string") == "K10"
        mhi = out["psych_instrument"].astype("string") == "MHI-5"
        distress = pd.Series(pd.NA, index=out.index, dtype="Int64")
        distress[k10.fillna(False)] = (s[k10.fillna(False)] >= th.k10_high).astype("Int64")
        distress[mhi.fillna(False)] = (s[mhi.fillna(False)] < th.mhi5_low).astype("Int64")
        out["psych_distress"] = distress.where(s.notna(), out["psych_distress"])
    return out


def panel(params: str, waves: list[str], out_dir: str) -> dict[str, Path]:
    """A spec's panel: its study (controls, starts) over the cleaned waves, thresholds re-derived."""
    from wijkeffect import stages
    from wijkeffect.panel import build_cells, build_respondents
    from wijkeffect.study import load_study
    from wijkeffect.sweep import write_study

    p = json.loads(resolve(params).read_text(encoding="utf-8"))
    out = resolve(out_dir)
    study_file = write_study(p["study"], out / "study.yaml")
    study = load_study(study_file)
    frames = [pd.read_parquet(resolve(w)) for w in waves]
    if p["thresholds"] != p["base_thresholds"]:
        frames = [rederive_outcomes(f, p["thresholds"]) for f in frames]
    resp, acc, balance = build_respondents(frames, study)
    cells = build_cells(resp, study.outcomes)
    stages.write_respondents(resp, out / "respondents")
    cells.to_parquet(out / "wijk_period.parquet", index=False)
    acc.to_csv(out / "panel_accounting.csv", index=False, lineterminator="\n")
    balance.to_csv(out / "balance.csv", lineterminator="\n", float_format="%.6g")
    return {"cells": out / "wijk_period.parquet", "respondents": out / "respondents"}


def estimate(params: str, spec: str, city: str, cells: str, respondents: str, out_csv: str) -> pd.DataFrame:
    """One spec x city: every configured model and outcome of the spec, tidy rows with the spec id."""
    from wijkeffect import stages

    p = json.loads(resolve(params).read_text(encoding="utf-8"))
    est = stages.estimate(p["study"], [city], p["outcomes"], cells, p["models"], p["seed"], out_csv, respondents,
                          p["model_options"], p["inference"], spec)
    return pd.concat(est.values(), ignore_index=True)


def summary(inputs: list[str], specs_csv: str, out_estimates: str, tables_dir: str, figures_dir: str,
            names: dict[str, str] | None = None, language: str = "en",
            formats: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every spec's rows in one table (with the values that define each spec), the specification curve per
    outcome and city (table and figure), and the share of specifications significant in each direction."""
    from wijkeffect import speccurve
    from wijkeffect.figures.speccurve import speccurve_figures
    from wijkeffect.models.tidy import RESULT_COLUMNS
    from wijkeffect.stages import adjust_across_outcomes
    from wijkeffect.sweep import with_choices

    specs = pd.read_csv(resolve(specs_csv), dtype=str, keep_default_na=False)
    frames = [pd.read_csv(resolve(f), dtype={"covariates": str, "spec": str}, keep_default_na=False,
                          na_values=[""]) for f in inputs]
    est = pd.concat([f for f in frames if len(f)], ignore_index=True)[RESULT_COLUMNS]
    est = adjust_across_outcomes(est)
    est = est.sort_values(["spec", "city", "outcome", "model", "term", "inference"], kind="stable")
    out = resolve(out_estimates)
    out.parent.mkdir(parents=True, exist_ok=True)
    with_choices(est, specs).to_csv(out, index=False, lineterminator="\n", float_format="%.10g")
    curve = speccurve.curve_table(est, specs)
    summ = speccurve.summary_table(curve)
    speccurve.write_tables(curve, summ, resolve(tables_dir), language)
    speccurve_figures(curve, names or {}, resolve(figures_dir), language, summary=summ,
                      formats=tuple(formats or ("pdf", "svg", "png")))
    return curve, summ


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m wijkeffect.sweep_stages", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="stage", required=True)
    p = sub.add_parser("panel")
    p.add_argument("--params", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("waves", nargs="+")
    e = sub.add_parser("estimate")
    for k in ("params", "spec", "city", "cells", "respondents", "out"):
        e.add_argument(f"--{k}", required=True)
    args = ap.parse_args(argv)
    if args.stage == "panel":
        panel(args.params, args.waves, args.out)
    else:
        estimate(args.params, args.spec, args.city, args.cells, args.respondents, args.out)


if __name__ == "__main__":
    main()
