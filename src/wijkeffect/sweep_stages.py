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
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.paths import resolve

if TYPE_CHECKING:
    from wijkeffect.study import Study


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


def estimate(params: str, spec: str, city: str, cells: str, respondents: str, out_csv: str,
             waves: list[str] | None = None, out_null: str | None = None) -> pd.DataFrame:
    """One spec x city: every configured model and outcome of the spec, tidy rows with the spec id; with
    `out_null` (the sweep's permutation test on), also the spec's headline rows in every null draw."""
    from wijkeffect import stages

    p = json.loads(resolve(params).read_text(encoding="utf-8"))
    est = stages.estimate(p["study"], [city], p["outcomes"], cells, p["models"], p["seed"], out_csv, respondents,
                          p["model_options"], p["inference"], spec)
    if out_null:
        if not waves or "permutations" not in p:
            raise WijkeffectError(f"{params}: sweep estimate with --null-out needs the cleaned waves and the "
                                  "`permutations` and `null` entries of its parameter file")
        write_null(null_estimates(p, spec, city, waves), out_null)
    return pd.concat(est.values(), ignore_index=True)


NULL_COLUMNS = ["draw", "city", "outcome", "spec", "model", "term", "inference", "estimate", "std_error", "p_value"]
#: resampling rows are never a curve's headline row: null draws skip them (the one costly part of twfe)
NULL_INFERENCE = {"bootstrap_reps": 0, "randomization_reps": 0}


def linked_respondents(frames: list[pd.DataFrame], study: Study) -> pd.DataFrame:
    """The cleaned waves linked to wijken, before treatment is attached (the first half of
    `panel.build_respondents`, which the null draws redo with permuted treatment)."""
    from wijkeffect.geo import link

    key = study.spec.get("link_key", "pc6")
    lookup, crosswalks = study.lookup(), study.crosswalks()
    return pd.concat([link(w, lookup, key, crosswalks, study.spec.get("indeling"), study.spec.get("seed", 0))[0]
                      for w in frames], ignore_index=True)


def study_of(spec_study: dict, study_file: str) -> Study:
    """A spec's study (the configured study with the spec's overlay, as the parameter file holds it)."""
    from wijkeffect.study import Study, _treated_table

    path = resolve(study_file)
    return Study(spec_study["name"], path, spec_study, _treated_table(spec_study, path, None))


def null_estimates(p: dict, spec: str, city: str, waves: list[str]) -> pd.DataFrame:
    """The spec's headline rows in its permutation draws, from its parameter file's values (`null_rows`):
    the cleaned waves with the spec's thresholds re-derived, linked once, and the spec's study."""
    perm, null = p["permutations"], p["null"]
    study = study_of(null["study"], null["study_file"])
    frames = [pd.read_parquet(resolve(w)) for w in waves]
    if null["thresholds"] != null["base_thresholds"]:
        frames = [rederive_outcomes(f, null["thresholds"]) for f in frames]
    return null_rows(linked_respondents(frames, study), study, city, p["outcomes"], p["models"], p["model_options"],
                     p["seed"], int(perm["reps"]), int(perm["seed"]), spec, p["study"])


def null_rows(linked: pd.DataFrame, study: Study, city: str, outcomes: list[str], models: list[str],
              model_options: dict, seed: int, reps: int, perm_seed: int, spec: str = "default",
              study_name: str | None = None) -> pd.DataFrame:
    """A spec's headline rows (city x each outcome x each curve model) in null draws 0..reps-1.

    Draw r relabels treatment among the wijken of each city with numpy Generator([perm_seed, r]), the same
    relabelling in every spec's job (the joint null of the inferential specification curve); the spec's
    panel is rebuilt from the linked respondents for the permuted treated table (matched controls matched
    again; `speccurve.PermutedPanel`) and its curve models refitted without resampling inference. A draw
    whose panel or fit fails leaves its rows out (the summary then drops that draw for the curve).
    """
    from wijkeffect import speccurve, stages
    from wijkeffect.models import needs_respondents
    from wijkeffect.models.tidy import tidy_frame

    universe = speccurve.permutation_universe(linked, study.cities)
    resp_too = needs_respondents(models, model_options)  # as the observed fit: all its models decide
    models = [m for m in models if m in speccurve.HEADLINE]
    rebuild = speccurve.PermutedPanel(linked, study, outcomes, resp_too)
    rows, failed = [], 0
    for r in range(reps):
        mapping = speccurve.wijk_permutation(universe, np.random.default_rng([perm_seed, r]))
        try:
            resp, cells = rebuild(mapping)
            cells = stages.city_cells(cells, city)
            if resp is not None:  # in the order read_respondents gives the observed fit (per-gemeente files)
                resp = stages.city_cells(resp, city).sort_values("gemeente_code", kind="stable").reset_index(drop=True)
            for o in outcomes:
                est = stages.estimate_outcome(study_name or study.name, city, o, cells, resp, models, seed,
                                              model_options, NULL_INFERENCE, spec)
                rows.append(est.assign(draw=r))
        except (WijkeffectError, np.linalg.LinAlgError) as exc:  # the draw is left out of this spec's curves
            failed += 1
            print(f"null draw {r} of {spec} x {city} left out: {exc}", file=sys.stderr)
    print(f"null draws of {spec} x {city}: {reps - failed} of {reps} fitted", file=sys.stderr)
    out = speccurve.headline_rows(pd.concat(rows, ignore_index=True) if rows else tidy_frame([]).assign(draw=0))
    return out.astype({"draw": int})[NULL_COLUMNS].sort_values(["draw", "outcome", "model"], kind="stable"
                                                                ).reset_index(drop=True)


def write_null(rows: pd.DataFrame, out_csv: str | Path) -> Path:
    out = resolve(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out, index=False, lineterminator="\n", float_format="%.10g")
    return out


def summary(inputs: list[str], specs_csv: str, out_estimates: str, tables_dir: str, figures_dir: str,
            names: dict[str, str] | None = None, language: str = "en",
            formats: list[str] | None = None, null_inputs: list[str] | None = None,
            permutations: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every spec's rows in one table (with the values that define each spec), the specification curve per
    outcome and city (table and figure), and the share of specifications significant in each direction;
    with `null_inputs` (every spec's null draws), the inferential curve's permutation p-values too."""
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
    test = None
    if null_inputs:
        reps, seed = int(permutations["reps"]), int(permutations["seed"])
        rows = pd.concat([pd.read_csv(resolve(f), dtype={"spec": str}, keep_default_na=False, na_values=[""])
                          for f in null_inputs], ignore_index=True)
        draws = speccurve.draws_from_rows(curve, rows, range(reps))
        test = speccurve.pvalues_from_draws(curve, draws, seed)
        resolve(tables_dir).mkdir(parents=True, exist_ok=True)
        draws.to_csv(resolve(tables_dir) / "speccurve_null.csv", index=False, lineterminator="\n",
                     float_format="%.10g")
    summ = speccurve.summary_table(curve, test)
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
    e.add_argument("--null-out", help="also write the spec's headline rows in every permutation draw here")
    e.add_argument("waves", nargs="*", help="the cleaned waves (with --null-out: the panel is rebuilt per draw)")
    args = ap.parse_args(argv)
    if args.stage == "panel":
        panel(args.params, args.waves, args.out)
    else:
        estimate(args.params, args.spec, args.city, args.cells, args.respondents, args.out, args.waves,
                 args.null_out)


if __name__ == "__main__":
    main()
