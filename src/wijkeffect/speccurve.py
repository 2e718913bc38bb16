"""The specification curve (Simonsohn, Simmons and Nelson 2020, Nature Human Behaviour 4:1208-1214).

Per city and outcome: every specification's headline estimate with its CI, ranked by size, the
choices that produced it (the sweep's axes and the estimator), the share of specifications with a
significant effect of each sign, and the inferential specification curve: a joint test across all
specifications against the distribution of the same summaries when treatment is permuted among
wijken (the sharp null of no effect anywhere). Statistics, as in the paper: the median estimate,
the number of significant specifications of the dominant sign, and Stouffer's mean Z; two-sided,
p = (1 + #null draws at least as extreme) / (1 + reps).

The re-estimation is a callable, `reestimate(rng) -> tidy rows of every spec`, so callers plug in their
own models; `permute_cells` / `permute_respondents` make the permuted data it needs. The sweep workflow
instead refits each spec in its own job (`sweep_stages.null_rows`: the panel rebuilt for the permuted
treated table by `PermutedPanel`, exactly what the panel stage would build) and combines the specs' null
rows with `draws_from_rows` and `pvalues_from_draws`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd
from scipy.special import ndtri

from wijkeffect.errors import WijkeffectError

if TYPE_CHECKING:
    from wijkeffect.study import Study

#: model -> (headline term, inference prefix): the one row per spec and model the curve shows
HEADLINE: dict[str, tuple[str, str]] = {
    "twfe": ("D", "cluster_"),
    "twfe_individual": ("D", "cluster_"),
    "staggered": ("overall", "wijk_"),
    "naive": ("treated", "cluster_"),
    "event_study": ("post", "cluster_"),  # only with pooled_post; segmented is on the log-odds scale: left out
}
KEYS = ["city", "outcome"]
ROW_COLUMNS = ["city", "outcome", "spec", "model", "term", "inference", "estimate", "std_error", "ci_low", "ci_high",
               "p_value", "z", "significant", "rank"]


def headline_rows(est: pd.DataFrame, pick: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """One row per city, outcome, spec and model: the model's headline term under its main inference."""
    pick = HEADLINE if pick is None else pick
    est = est.assign(spec=est["spec"].fillna("default") if "spec" in est else "default")
    parts = []
    by = ["city", "outcome", "spec", "model", *(["draw"] if "draw" in est else [])]  # null re-estimates: per draw
    for model, (term, prefix) in pick.items():
        r = est[(est["model"] == model) & (est["term"] == term) & est["inference"].astype(str).str.startswith(prefix)
                & ~est["inference"].astype(str).str.contains("+", regex=False)]
        parts.append(r.drop_duplicates(by))
    out = pd.concat(parts, ignore_index=True) if parts else est.iloc[:0]
    return out[out["estimate"].notna()].reset_index(drop=True)


def curve_table(est: pd.DataFrame, specs: pd.DataFrame | None = None, alpha: float = 0.05,
                pick: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """The curve: headline rows ranked by estimate within city x outcome, with each spec's choices.

    `specs` is the sweep's specs table (spec, one column per axis, ...); axis columns become ordered
    categoricals in the order the sweep lists the values, and a spec is shown only for the outcomes it
    changes (a walking threshold spec is a duplicate of its baseline for smoking). `significant` is
    positive/negative/'' at alpha.
    """
    from wijkeffect.sweep import axis_columns, spec_outcomes

    h = headline_rows(est, pick)
    p = h["p_value"].to_numpy(float)
    h["z"] = np.sign(h["estimate"].to_numpy(float)) * ndtri(1 - np.clip(p, 1e-300, 1.0) / 2)
    sig = p < alpha
    h["significant"] = np.where(sig & (h["estimate"] > 0), "positive", np.where(sig & (h["estimate"] < 0),
                                                                               "negative", ""))
    h = h.sort_values([*KEYS, "estimate", "spec", "model"], kind="stable").reset_index(drop=True)
    h["rank"] = h.groupby(KEYS, sort=False).cumcount() + 1
    out = h[ROW_COLUMNS]
    if specs is not None:
        cols = axis_columns(specs)
        unknown = sorted(set(out["spec"]) - set(specs["spec"]))
        if unknown:
            raise WijkeffectError(f"specs table: spec ids {unknown[:5]} of the estimates are missing; expected "
                                  "every spec of the estimates in specs.csv")
        allowed = spec_outcomes(specs)
        keep = [allowed[sp] is None or o in allowed[sp] for sp, o in zip(out["spec"], out["outcome"])]
        out = out[keep]
        out = out.assign(rank=out.groupby(KEYS, sort=False).cumcount() + 1)
        s = specs[["spec", *cols]].copy()
        for c in cols:
            s[c] = pd.Categorical(s[c].astype(str), categories=list(dict.fromkeys(s[c].astype(str))), ordered=True)
        out = out.merge(s, on="spec", how="left")
    return out


def curve_stats(curve: pd.DataFrame) -> pd.DataFrame:
    """Per city x outcome: specs, median estimate, significant of each sign, dominant count, mean Z."""
    c = curve.assign(_pos=(curve["significant"] == "positive").astype(int),
                     _neg=(curve["significant"] == "negative").astype(int))
    g = c.groupby(KEYS, sort=True)
    st = pd.DataFrame({"n_specs": g.size(), "median": g["estimate"].median(), "min": g["estimate"].min(),
                       "max": g["estimate"].max(), "n_sig_positive": g["_pos"].sum(),
                       "n_sig_negative": g["_neg"].sum(), "mean_z": g["z"].mean()})
    st["n_sig_dominant"] = st[["n_sig_positive", "n_sig_negative"]].max(axis=1)
    st["share_sig_positive"] = st["n_sig_positive"] / st["n_specs"]
    st["share_sig_negative"] = st["n_sig_negative"] / st["n_specs"]
    st["share_sig_dominant"] = st["n_sig_dominant"] / st["n_specs"]
    return st


STATISTICS = ("median", "n_sig_dominant", "mean_z")


def statistics(estimate: np.ndarray, p_value: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """One curve's joint statistics: median estimate, significant specs of the dominant sign, mean Z."""
    est, p = np.asarray(estimate, float), np.asarray(p_value, float)
    sig = p < alpha
    z = np.sign(est) * ndtri(1 - np.clip(p, 1e-300, 1.0) / 2)
    return np.array([np.median(est), max((sig & (est > 0)).sum(), (sig & (est < 0)).sum()), z.mean()])


def permutation_pvalues(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """(1 + #draws at least as extreme) / (1 + draws): |median| and |mean Z| two-sided, the count one-sided.

    Draws with a missing statistic (a curve whose fits failed in that draw) are left out of both counts.
    """
    null = np.asarray(null, float).reshape(-1, 3)
    null = null[~np.isnan(null).any(axis=1)]  # draws whose fits failed are left out
    tol = 1e-12 * np.maximum(1.0, np.abs(observed))
    exceed = np.abs(null) >= np.abs(observed) - tol
    exceed[:, 1] = null[:, 1] >= observed[1]
    return (1 + exceed.sum(0)) / (1 + len(null)) if len(null) else np.full(3, np.nan)


def null_draws(curve: pd.DataFrame, reestimate: Callable[[np.random.Generator], pd.DataFrame],
               draws: range | list[int], seed: int, alpha: float = 0.05,
               pick: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """The joint statistics of each curve in null draws `draws` (city, outcome, draw, statistics).

    Draw r uses numpy Generator([seed, r]), so a range of draws can run as its own job and the parts be
    concatenated. Only the specs and models the observed curve shows count (the same set in every draw);
    a curve missing any of them in a draw (its fits failed) has NaN statistics there.
    """
    rows = [headline_rows(reestimate(np.random.default_rng([seed, r])), pick).assign(draw=r) for r in draws]
    return draws_from_rows(curve, pd.concat(rows, ignore_index=True) if rows else None, draws, alpha, pick)


def draws_from_rows(curve: pd.DataFrame, rows: pd.DataFrame | None, draws: range | list[int],
                    alpha: float = 0.05, pick: dict[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """`null_draws` from re-estimates already made (tidy or headline rows with a `draw` column, e.g. one file
    per spec written by the workflow's estimate jobs): the curve's statistics in each of `draws`.

    A curve gets NaN statistics in a draw that lacks any of its specs and models (a fit failed there), so
    every statistic is over the same set of specifications as the observed one.
    """
    keys = list(curve_stats(curve).index)
    shown = curve[[*KEYS, "spec", "model"]].drop_duplicates()
    need = shown.groupby(KEYS).size().to_dict()
    got: dict[tuple, np.ndarray] = {}
    if rows is not None and len(rows):
        h = headline_rows(rows, pick).merge(shown, on=list(shown.columns))
        for (city, outcome, r), g in h.groupby([*KEYS, "draw"], sort=False):
            if len(g) == need[(city, outcome)]:
                got[(city, outcome, r)] = statistics(g["estimate"], g["p_value"], alpha)
    out = [(k[0], k[1], r, *got.get((k[0], k[1], r), np.full(3, np.nan))) for r in draws for k in keys]
    return pd.DataFrame(out, columns=[*KEYS, "draw", *STATISTICS]).astype({"draw": int})


def pvalues_from_draws(curve: pd.DataFrame, draws: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The curve's statistics with permutation p-values against null draws (from one or more `null_draws`)."""
    out = curve_stats(curve)
    pv = []
    for key in out.index:
        d = draws[(draws["city"] == key[0]) & (draws["outcome"] == key[1])]
        pv.append(permutation_pvalues(out.loc[key, list(STATISTICS)].to_numpy(float),
                                      d[list(STATISTICS)].to_numpy(float)))
    pv = np.array(pv).reshape(-1, 3)
    out["p_median"], out["p_share_sig"], out["p_mean_z"] = pv[:, 0], pv[:, 1], pv[:, 2]
    out["reps"], out["seed"] = draws["draw"].nunique(), seed
    valid = draws.dropna(subset=list(STATISTICS)).groupby(KEYS)["draw"].nunique()
    out["draws_used"] = valid.reindex(out.index).fillna(0).astype(int)
    return out


def inferential_test(curve: pd.DataFrame, reestimate: Callable[[np.random.Generator], pd.DataFrame], reps: int,
                     seed: int, alpha: float = 0.05, pick: dict[str, tuple[str, str]] | None = None
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, null draws): the curve's statistics against `reps` re-estimations under the null.

    reestimate(rng) returns the tidy rows of every spec (all cities and outcomes) on data with treatment
    permuted among wijken (see `permuted_reestimate`); draws whose fits failed are left out of p-values.
    """
    draws = null_draws(curve, reestimate, range(reps), seed, alpha, pick)
    return pvalues_from_draws(curve, draws, seed), draws


def summary_table(curve: pd.DataFrame, test: pd.DataFrame | None = None) -> pd.DataFrame:
    """The curve's statistics per city x outcome, with the permutation p-values when a test was run."""
    st = curve_stats(curve) if test is None else test
    return st.reset_index()


def wijk_permutation(frame: pd.DataFrame, rng: np.random.Generator, within: str | None = "gemeente_code"
                     ) -> dict[str, str]:
    """target wijk -> the wijk whose treatment it takes: a random permutation within each block (city).

    Draw one per null replication and pass it as `mapping` to every spec's data, so all specs of a
    draw see the same permuted assignment (the joint null of the inferential curve).
    """
    cols = ["wijk_code"] + ([within] if within else [])
    w = frame[cols].drop_duplicates("wijk_code").sort_values(cols)
    mapping: dict[str, str] = {}
    for _, block in (w.groupby(within, sort=True) if within else [(None, w)]):
        codes = block["wijk_code"].to_numpy()
        mapping.update(zip(codes, codes[rng.permutation(len(codes))]))
    return mapping


def _sources(wijken: pd.Series, mapping: dict[str, str], present: pd.Index) -> pd.Series:
    """The wijk each row takes its treatment from (itself when the mapping does not name it)."""
    src = wijken.map(lambda w: mapping.get(w, w))
    missing = sorted(set(src) - set(present))
    if missing:
        raise WijkeffectError(f"permutation: source wijken {missing[:5]} are not in the data; expected a permutation "
                              "of these wijken (or permute the study's treated table and rebuild the panel)")
    return src


def permute_treated(treated: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """A study's treated table (wijk_code, start, group) under a wijk permutation: each wijk takes the start
    and group of the wijk it maps to, so matching and the panel can be redone for the permuted study."""
    t = treated.set_index("wijk_code")
    m = pd.Series(mapping, dtype=object).sort_index()
    m = m[m.isin(t.index)]
    return pd.DataFrame({"wijk_code": m.index.to_numpy(), "start": t.loc[m.to_numpy(), "start"].to_numpy(),
                         "group": t.loc[m.to_numpy(), "group"].to_numpy()})


def permuted_study(study: "Study", mapping: dict[str, str]) -> "Study":
    """The study with its treated table permuted (`permute_treated`); treated wijken the mapping does not
    name (outside the permuted cities, or without respondents) keep their rows, so they stay out of any
    control pool as in the real study."""
    import dataclasses

    t = study.treated
    moved = permute_treated(t, mapping)
    kept = t[~t["wijk_code"].isin(list(mapping))][["wijk_code", "start", "group"]]
    treated = pd.concat([moved, kept], ignore_index=True).sort_values("wijk_code", kind="stable")
    treated = treated.assign(start=pd.to_datetime(treated["start"])).reset_index(drop=True)
    return dataclasses.replace(study, treated=treated)


def permuted_panel(linked: pd.DataFrame, study: "Study", mapping: dict[str, str], outcomes: list[str]
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(respondents, cells) of the study rebuilt with treatment permuted: what `panel.build_respondents` and
    `build_cells` give for the permuted treated table, from the linked (not yet treatment-attached)
    respondents; a matched control pool is matched again to the permuted treated wijken."""
    from wijkeffect.panel import attach_treatment, build_cells, resolve_controls

    s = permuted_study(study, mapping)
    matched = resolve_controls(linked, s)[0] if isinstance(s.controls, dict) else None
    resp, _ = attach_treatment(linked, s, matched)
    return resp, build_cells(resp, outcomes)


class PermutedPanel:
    """`permuted_panel` for many draws of one study, fast: the cells' counts, means and SEs do not depend on
    the assignment, so they are built once, with the share post D once per start date in the treated
    table (every permuted start is one of those); a draw then only picks the panel's wijken (matching on
    wijk features computed once: the earliest start, which sets their pre-period, is permutation invariant),
    sets role, group and start, and takes D for the wijk's new start. Gives `permuted_panel`'s frames."""

    def __init__(self, linked: pd.DataFrame, study: "Study", outcomes: list[str], respondents: bool = True):
        from wijkeffect.controls import wijk_features
        from wijkeffect.panel import build_cells

        self.linked, self.study, self.outcomes, self.respondents = linked, study, list(outcomes), respondents
        date = linked["interview_date"].fillna(pd.to_datetime(linked["wave"].astype(str) + "-07-01"))
        starts = sorted(pd.to_datetime(study.treated["start"]).unique())
        blank = linked.assign(role=pd.Series("control", index=linked.index, dtype="string"),
                              group=pd.Series(pd.NA, index=linked.index, dtype="string"))
        self.d_of: dict[pd.Timestamp, np.ndarray] = {}
        for st in starts:
            c = build_cells(blank.assign(start=st, post=(date >= st).astype("int8")), self.outcomes)
            self.d_of[pd.Timestamp(st)] = c["D"].to_numpy(float)
        self.base = c if starts else build_cells(blank.assign(start=pd.NaT, post=0), self.outcomes)
        self.wijken = linked.drop_duplicates("wijk_code").reset_index(drop=True)
        self.matched = isinstance(study.controls, dict)
        if self.matched:
            self.features = wijk_features(linked, study.outcomes, study.treated["start"].min())

    def _controls(self, s: "Study") -> set[str] | None:
        """`panel.resolve_controls`' matched set for the permuted study, from the features computed once."""
        from wijkeffect.controls import match_controls
        from wijkeffect.panel import candidate_controls

        if not self.matched:
            return None
        cands = candidate_controls(self.wijken, s)
        spec = s.controls
        return set(match_controls(self.features, sorted(cands), cands, int(spec.get("k", 2)),
                                  spec.get("match", "nearest")))

    def __call__(self, mapping: dict[str, str]) -> tuple[pd.DataFrame | None, pd.DataFrame]:
        """(respondents or None, cells) of the study with treatment permuted by `mapping`."""
        from wijkeffect.panel import attach_treatment

        s = permuted_study(self.study, mapping)
        matched = self._controls(s)
        per, _ = attach_treatment(self.wijken, s, matched)
        per = per.set_index("wijk_code")
        c = self.base
        keep = c["wijk_code"].isin(per.index).to_numpy()
        c = c[keep].copy()
        w = c["wijk_code"]
        for col in ("role", "group", "start"):
            c[col] = w.map(per[col]).astype(per[col].dtype).array
        d = np.zeros(len(c))
        for st, dv in self.d_of.items():
            on = ((c["role"] == "treated") & (c["start"] == st)).to_numpy()
            d[on] = dv[keep][on]
        c["D"] = d
        resp = attach_treatment(self.linked, s, matched)[0] if self.respondents else None
        return resp, c.reset_index(drop=True)


def permutation_universe(linked: pd.DataFrame, cities: list[str]) -> pd.DataFrame:
    """The wijken treatment is permuted among (wijk_code, gemeente_code): every linked wijk of the study's
    cities. The same table in every spec's job (thresholds and control pools do not change it), so
    `wijk_permutation(universe, default_rng([seed, r]))` is one relabelling shared by all specs of draw r."""
    w = linked.loc[linked["gemeente_code"].isin(cities), ["wijk_code", "gemeente_code"]]
    return w.drop_duplicates("wijk_code").sort_values(["gemeente_code", "wijk_code"]).reset_index(drop=True)


def permute_respondents(resp: pd.DataFrame, rng: np.random.Generator | None = None,
                        within: str | None = "gemeente_code", mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """Respondents with role, group and start moved between wijken (within each city); post recomputed."""
    mapping = mapping if mapping is not None else wijk_permutation(resp, rng, within)
    per = resp.drop_duplicates("wijk_code").set_index("wijk_code")
    src = _sources(resp["wijk_code"], mapping, per.index)
    out = resp.copy()
    for c in ("role", "group", "start"):
        out[c] = src.map(per[c]).to_numpy()
    date = out["interview_date"].fillna(pd.to_datetime(out["wave"].astype(str) + "-07-01"))
    out["post"] = ((out["role"] == "treated") & (date >= out["start"])).astype("int8")
    return out


def permute_cells(cells: pd.DataFrame, rng: np.random.Generator | None = None, within: str | None = "gemeente_code",
                  mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """Cells with each wijk's treatment path (role, group, start, D per wave) taken from another wijk.

    Where the source wijk has no cell in a wave, D is the mean D of the cells with the same start in
    that wave (1 after the start's year, 0 before, when there are none).
    """
    mapping = mapping if mapping is not None else wijk_permutation(cells, rng, within)
    per = cells.drop_duplicates("wijk_code").set_index("wijk_code")
    out = cells.copy()
    src = _sources(out["wijk_code"], mapping, per.index)
    for c in ("role", "group", "start"):
        out[c] = src.map(per[c]).to_numpy()
    d_of = cells.set_index(["wijk_code", "wave", "outcome"])["D"]
    d = pd.Series(d_of.reindex(pd.MultiIndex.from_arrays([src, out["wave"], out["outcome"]])).to_numpy(),
                  index=out.index)
    if d.isna().any():
        by_start = cells[cells["start"].notna()].groupby(["start", "wave", "outcome"])["D"].mean()
        fill = by_start.reindex(pd.MultiIndex.from_arrays([out["start"], out["wave"], out["outcome"]])).to_numpy()
        year = pd.to_datetime(out["start"]).dt.year
        fill = np.where(np.isnan(fill.astype(float)), (out["wave"] > year).astype(float), fill)
        d = d.fillna(pd.Series(fill, index=out.index))
    out["D"] = np.where(out["role"] == "treated", d.to_numpy(float), 0.0)
    return out


def permuted_reestimate(frames: dict[str, pd.DataFrame], fit: Callable[[str, pd.DataFrame], pd.DataFrame],
                        kind: str = "cells", within: str | None = "gemeente_code"
                        ) -> Callable[[np.random.Generator], pd.DataFrame]:
    """The `reestimate` of `inferential_test` for data already built: per draw one wijk permutation over
    every frame's wijken, applied to each frame (panel key -> cells or respondents), then
    `fit(key, permuted frame)` -> the tidy rows of every spec using that frame, concatenated.

    Frames holding a subset of another's wijken (matched control pools) cannot share one permutation:
    for those, permute the study's treated table (`permute_treated`) and rebuild the panel instead.
    """
    permute = {"cells": permute_cells, "respondents": permute_respondents}[kind]
    cols = ["wijk_code"] + ([within] if within else [])
    wijken = pd.concat([f[cols] for f in frames.values()]).drop_duplicates("wijk_code")

    def reestimate(rng: np.random.Generator) -> pd.DataFrame:
        mapping = wijk_permutation(wijken, rng, within)
        return pd.concat([fit(key, permute(frame, mapping=mapping)) for key, frame in frames.items()],
                         ignore_index=True)

    return reestimate


def remove_effect(cells: pd.DataFrame, effect: float | dict[str, float]) -> pd.DataFrame:
    """Cells with the estimated effect taken out of treated post cells (the paper's forced null)."""
    e = cells["outcome"].map(effect) if isinstance(effect, dict) else effect
    return cells.assign(mean=cells["mean"] - np.asarray(e, float) * cells["D"])


def write_tables(curve: pd.DataFrame, summary: pd.DataFrame, out_dir: str | Path, language: str = "en"
                 ) -> list[Path]:
    """speccurve.csv (every spec's row), speccurve_summary.csv and a labelled speccurve_summary.md."""
    from wijkeffect.labels import label
    from wijkeffect.tables import _markdown

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "speccurve.csv", out_dir / "speccurve_summary.csv", out_dir / "speccurve_summary.md"]
    curve.to_csv(paths[0], index=False, lineterminator="\n", float_format="%.10g")
    summary.to_csv(paths[1], index=False, lineterminator="\n", float_format="%.10g")
    fmt = lambda v, d=3: "" if pd.isna(v) else f"{v:.{d}f}"  # noqa: E731
    md = pd.DataFrame({
        label("sc_city", language): summary["city"],
        label("sc_outcome", language): [label(o, language) for o in summary["outcome"]],
        label("sc_n_specs", language): summary["n_specs"].astype(int),
        label("sc_median", language): summary["median"].map(fmt),
        label("sc_range", language): [f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(summary["min"], summary["max"])],
        label("sc_share_neg", language): (100 * summary["share_sig_negative"]).map(lambda v: f"{v:.0f}%"),
        label("sc_share_pos", language): (100 * summary["share_sig_positive"]).map(lambda v: f"{v:.0f}%"),
    })
    if "p_median" in summary:
        md[label("sc_p_median", language)] = summary["p_median"].map(fmt)
        md[label("sc_p_share", language)] = summary["p_share_sig"].map(fmt)
        md[label("sc_p_z", language)] = summary["p_mean_z"].map(fmt)
    paths[2].write_text(_markdown(md), encoding="utf-8")
    return paths
