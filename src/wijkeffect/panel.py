"""Stack cleaned waves, link them, attach treatment, and build wijk x wave cells (DESIGN §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wijkeffect.geo import check_unlinked, link
from wijkeffect.roles import ROLES  # noqa: F401  (re-exported for callers of panel.ROLES)
from wijkeffect.schema import OUTCOMES
from wijkeffect.study import Study


def attach_treatment(df: pd.DataFrame, study: Study, matched: set[str] | None = None
                     ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Role (treated/control), group, start and post per respondent; rows outside the study are counted.

    post = interview date on or after the wijk's start; a missing date falls back to 1 July of the wave.
    `matched` (from a matched control pool) overrides the study's control rule.
    """
    t = study.treated.set_index("wijk_code")
    out = df.copy()
    out["group"] = out["wijk_code"].map(t["group"]).astype("string")
    out["start"] = out["wijk_code"].map(t["start"])
    listed = out["start"].notna()
    in_city = out["gemeente_code"].isin(set(study.cities))
    treated = listed & in_city  # a listed wijk outside the study's cities is neither treated nor control
    ctl = study.controls
    if matched is not None:
        control = ~listed & out["wijk_code"].isin(matched)
    elif ctl == "same_city":
        control = ~listed & in_city
    elif ctl == "all":
        control = ~listed
    else:
        control = ~listed & out["wijk_code"].isin(list(ctl))
    role = np.where(treated, "treated", np.where(control, "control", ""))
    out["role"] = pd.Series(role, index=out.index).astype("string")
    date = out["interview_date"].fillna(pd.to_datetime(out["wave"].astype(str) + "-07-01"))
    out["post"] = (treated & (date >= out["start"])).astype("int8")
    keep = out["role"] != ""
    counts = {"not_in_study_wijken": int((~keep).sum())}
    return out[keep].reset_index(drop=True), {k: v for k, v in counts.items() if v}


def candidate_controls(resp: pd.DataFrame, study: Study) -> dict[str, list[str]]:
    """Per treated wijk, the control wijken it may be matched to (same city, or all)."""
    within = study.controls.get("within", "same_city") if isinstance(study.controls, dict) else "same_city"
    t = set(study.treated["wijk_code"])
    wijken = resp[["wijk_code", "gemeente_code"]].drop_duplicates()
    wijken = wijken[wijken["gemeente_code"].isin(study.cities)]
    pool = wijken[~wijken["wijk_code"].isin(t)]
    gm = dict(zip(wijken["wijk_code"], wijken["gemeente_code"]))
    return {w: sorted(pool["wijk_code"] if within == "all" else pool.loc[pool["gemeente_code"] == gm[w], "wijk_code"])
            for w in sorted(t) if w in gm}


def resolve_controls(resp: pd.DataFrame, study: Study) -> tuple[set[str] | None, pd.DataFrame]:
    """The matched control set (None when the study's rule needs no matching) and the balance table."""
    from wijkeffect.controls import balance_table, match_controls, wijk_features

    feats = wijk_features(resp, study.outcomes, study.treated["start"].min())
    cands = candidate_controls(resp, study)
    treated = sorted(cands)
    pool = sorted({c for v in cands.values() for c in v})
    if isinstance(study.controls, dict):
        spec = study.controls
        matched = match_controls(feats, treated, cands, int(spec.get("k", 2)), spec.get("match", "nearest"))
        return set(matched), balance_table(feats, treated, pool, matched)
    return None, balance_table(feats, treated, pool, pool)


def build_respondents(waves: list[pd.DataFrame], study: Study
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Linked, treatment-attached respondents, a per-wave accounting table, and the balance table."""
    key = study.spec.get("link_key", "pc6")
    lookup_path = study.path_of("lookup")
    lookup = study.lookup()
    crosswalks = study.crosswalks()
    linked_waves = []
    for w in waves:
        linked, unlinked = link(w, lookup, key, crosswalks, study.spec.get("indeling"), study.spec.get("seed", 0))
        bad = w[key][w[key].notna() & ~w[key].isin(lookup.index)] if key in w else pd.Series([], dtype=str)
        check_unlinked(unlinked, len(w), study.spec.get("max_unlinked_share", 0.05),
                       f"{w['source'].iloc[0]} {w['wave'].iloc[0]}", key, lookup_path, bad.head(5).tolist())
        linked_waves.append((w, linked, unlinked))
    matched, balance = resolve_controls(pd.concat([lk for _, lk, _ in linked_waves], ignore_index=True), study)
    frames, log = [], []
    for w, linked, unlinked in linked_waves:
        final, outside = attach_treatment(linked, study, matched)
        frames.append(final)
        row = {"source": w["source"].iloc[0], "wave": int(w["wave"].iloc[0]), "rows_in": len(w), **unlinked,
               **outside, "rows_out": len(final)}
        log.append(row)
    acc = pd.DataFrame(log).fillna(0)
    for c in acc.columns[2:]:
        acc[c] = acc[c].astype(int)
    return pd.concat(frames, ignore_index=True), acc, balance


def build_cells(resp: pd.DataFrame, outcomes: tuple[str, ...] | list[str] = OUTCOMES) -> pd.DataFrame:
    """Wijk x wave x outcome cells: n, weight sums, weighted mean and its standard error, Kish effective n, share post.

    se = weighted SD / sqrt(n_eff), the weighted SD from sum w (y - mean)^2 / sum w: for a 0/1 outcome
    exactly sqrt(p (1 - p) / n_eff), and the same formula serves continuous outcomes.
    """
    keys = ["gemeente_code", "wijk_code", "wave"]
    parts = []
    for o in outcomes:
        sub = resp.loc[resp[o].notna(), keys + ["role", "group", "start", "post", "weight", o]].copy()
        sub["y"] = sub[o].astype(float)
        w = sub["weight"].astype(float)
        sub["w"], sub["w2"], sub["wy"], sub["wpost"] = w, w * w, w * sub["y"], w * sub["post"]
        g = sub.groupby(keys, observed=True, sort=True)
        cell_mean = g["wy"].transform("sum") / g["w"].transform("sum")
        sub["wdev2"] = w * (sub["y"] - cell_mean) ** 2  # centred on the cell mean: no cancellation
        g = sub.groupby(keys, observed=True, sort=True)
        cells = g.agg(n=("y", "size"), sum_w=("w", "sum"), sum_w2=("w2", "sum"), sum_wy=("wy", "sum"),
                      sum_wdev2=("wdev2", "sum"), sum_wpost=("wpost", "sum"), role=("role", "first"),
                      group=("group", "first"), start=("start", "first")).reset_index()
        cells["outcome"] = o
        parts.append(cells)
    c = pd.concat(parts, ignore_index=True)
    c["mean"] = c["sum_wy"] / c["sum_w"]
    c["D"] = c["sum_wpost"] / c["sum_w"]
    c["n_eff"] = c["sum_w"] ** 2 / c["sum_w2"]
    c["se"] = np.sqrt(c["sum_wdev2"] / c["sum_w"] / c["n_eff"])
    cols = ["outcome", "gemeente_code", "wijk_code", "wave", "role", "group", "start", "n", "sum_w", "sum_w2",
            "n_eff", "mean", "se", "D"]
    return c[cols].sort_values(["outcome", "wijk_code", "wave"]).reset_index(drop=True)


def pool_cells(cells: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Combine cells into larger groups (e.g. a city's controls per wave) with exact weighted means."""
    c = cells.assign(sum_wy=cells["mean"] * cells["sum_w"])
    g = c.groupby(by, observed=True, sort=True).agg(n=("n", "sum"), sum_w=("sum_w", "sum"),
                                                      sum_w2=("sum_w2", "sum"), sum_wy=("sum_wy", "sum"))
    g["mean"] = g["sum_wy"] / g["sum_w"]
    g["n_eff"] = g["sum_w"] ** 2 / g["sum_w2"]
    g["se"] = np.sqrt(g["mean"] * (1 - g["mean"]) / g["n_eff"])
    return g.drop(columns="sum_wy").reset_index()
