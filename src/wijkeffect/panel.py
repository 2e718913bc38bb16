"""Stack cleaned waves, link them, attach treatment, and build wijk x wave cells (DESIGN §3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wijkeffect.geo import check_unlinked, link, read_crosswalk, read_lookup
from wijkeffect.schema import OUTCOMES
from wijkeffect.study import Study

ROLES = ("treated", "control")


def attach_treatment(df: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, dict[str, int]]:
    """Role (treated/control), group, start and post per respondent; rows outside the study are counted.

    post = interview date on or after the wijk's start; a missing date falls back to 1 July of the wave.
    """
    t = study.treated.set_index("wijk_code")
    out = df.copy()
    out["group"] = out["wijk_code"].map(t["group"]).astype("string")
    out["start"] = out["wijk_code"].map(t["start"])
    treated = out["start"].notna()
    cities = set(study.cities)
    in_city = out["gemeente_code"].isin(cities)
    ctl = study.controls
    if ctl == "same_city":
        control = ~treated & in_city
    elif ctl == "all":
        control = ~treated
    else:
        control = ~treated & out["wijk_code"].isin(list(ctl))
    role = np.where(treated, "treated", np.where(control, "control", ""))
    out["role"] = pd.Series(role, index=out.index).astype("string")
    date = out["interview_date"].fillna(pd.to_datetime(out["wave"].astype(str) + "-07-01"))
    out["post"] = (treated & (date >= out["start"])).astype("int8")
    keep = out["role"] != ""
    counts = {"not_in_study_wijken": int((~keep).sum())}
    return out[keep].reset_index(drop=True), {k: v for k, v in counts.items() if v}


def build_respondents(waves: list[pd.DataFrame], study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Linked, treatment-attached respondents and a per-wave accounting table."""
    key = study.spec.get("link_key", "pc6")
    lookup_path = study.path_of("lookup")
    lookup = read_lookup(lookup_path, key)
    crosswalks = {int(y): read_crosswalk(study.path_of_value(p)) for y, p in study.spec.get("crosswalks", {}).items()}
    frames, log = [], []
    for w in waves:
        linked, unlinked = link(w, lookup, key, crosswalks, study.spec.get("indeling"), study.spec.get("seed", 0))
        bad = w[key][w[key].notna() & ~w[key].isin(lookup.index)] if key in w else pd.Series([], dtype=str)
        check_unlinked(unlinked, len(w), study.spec.get("max_unlinked_share", 0.05),
                       f"{w['source'].iloc[0]} {w['wave'].iloc[0]}", key, lookup_path, bad.head(5).tolist())
        final, outside = attach_treatment(linked, study)
        frames.append(final)
        row = {"source": w["source"].iloc[0], "wave": int(w["wave"].iloc[0]), "rows_in": len(w), **unlinked, **outside, "rows_out": len(final)}
        log.append(row)
    acc = pd.DataFrame(log).fillna(0)
    for c in acc.columns[2:]:
        acc[c] = acc[c].astype(int)
    return pd.concat(frames, ignore_index=True), acc


def build_cells(resp: pd.DataFrame, outcomes: tuple[str, ...] | list[str] = OUTCOMES) -> pd.DataFrame:
    """Wijk x wave x outcome cells: n, weight sums, weighted mean, Kish effective n, share post."""
    keys = ["gemeente_code", "wijk_code", "wave"]
    parts = []
    for o in outcomes:
        sub = resp.loc[resp[o].notna(), keys + ["role", "group", "start", "post", "weight", o]].copy()
        sub["y"] = sub[o].astype(float)
        w = sub["weight"].astype(float)
        sub["w"], sub["w2"], sub["wy"], sub["wpost"] = w, w * w, w * sub["y"], w * sub["post"]
        g = sub.groupby(keys, observed=True, sort=True)
        cells = g.agg(n=("y", "size"), sum_w=("w", "sum"), sum_w2=("w2", "sum"), sum_wy=("wy", "sum"),
                      sum_wpost=("wpost", "sum"), role=("role", "first"), group=("group", "first"),
                      start=("start", "first")).reset_index()
        cells["outcome"] = o
        parts.append(cells)
    c = pd.concat(parts, ignore_index=True)
    c["mean"] = c["sum_wy"] / c["sum_w"]
    c["D"] = c["sum_wpost"] / c["sum_w"]
    c["n_eff"] = c["sum_w"] ** 2 / c["sum_w2"]
    c["se"] = np.sqrt(c["mean"] * (1 - c["mean"]) / c["n_eff"])
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
