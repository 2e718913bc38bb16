"""Figures of estimated effects, read only from the tidy estimates table (DESIGN §6).

Per city and outcome: an event-study plot (coefficients by waves since the start, reference -1,
pre-trend p-value in the corner) and a forest plot (each model's main estimate, the staggered
cohort effects, and the segmented difference in slope change on its own scale) at single-column
width. Across the study: one overview (twfe per city and pooled, one panel per outcome).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wijkeffect.figures.style import CONTROL, DOUBLE_COLUMN, MM, SINGLE_COLUMN, TREATED, save_figure, style
from wijkeffect.labels import label

CR1 = "cluster_wijk_cr1"


def p_text(p: float) -> str:
    """'= 0.23', '= 0.004' or '< 0.001': two decimals hide small p-values as 0.00."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def _main_spec(est: pd.DataFrame) -> pd.DataFrame:
    """Rows of the default specification (sweeps add others), without old-contract +holm/+bh copies."""
    if "spec" in est:
        est = est[est["spec"].fillna("default") == "default"]
    return est[~est["inference"].astype(str).str.contains(r"\+(?:holm|bh)$", regex=True)]


def _cr1(inference: pd.Series) -> pd.Series:
    """Whether each inference label is CR1 by wijk, whatever follows it (a joint test, an ssc label)."""
    return inference.astype(str).str.startswith(CR1)


def _pp(v: pd.Series | np.ndarray) -> np.ndarray:
    return 100 * np.asarray(v, float)


def event_plot(est: pd.DataFrame, city: str, outcome: str, title: str, stem: str | Path,
               language: str = "en") -> list[Path]:
    """Event-study coefficients with 95% CI; k=-1 drawn at zero as the reference."""
    est = _main_spec(est)
    e = est[(est["city"] == city) & (est["outcome"] == outcome) & (est["model"] == "event_study")
            & _cr1(est["inference"])]
    k = e[e["term"].str.match(r"k=-?\d+$")].drop_duplicates("term").copy()
    k["k"] = k["term"].str[2:].astype(int)
    k = pd.concat([k, pd.DataFrame({"k": [-1], "estimate": [0.0], "ci_low": [0.0], "ci_high": [0.0]})])
    k = k.sort_values("k")
    pre = e.loc[e["term"] == "pretrend_wald", "p_value"]
    with style():
        fig, ax = plt.subplots(figsize=(SINGLE_COLUMN, 62 * MM))
        fig.subplots_adjust(left=0.17, right=0.97, bottom=0.17, top=0.86)
        colours = np.where(k["k"] < 0, CONTROL, TREATED)
        ax.axhline(0, color="0.6", linewidth=0.6)
        ax.axvline(-0.5, color="0.3", linestyle="--", linewidth=0.8)
        ax.vlines(k["k"], _pp(k["ci_low"]), _pp(k["ci_high"]), colors=colours, linewidth=1.0)
        ref = (k["k"] == -1).to_numpy()
        ax.scatter(k["k"][~ref], _pp(k["estimate"][~ref]), c=colours[~ref], s=14, zorder=3)
        ax.scatter([-1], [0], facecolors="white", edgecolors=CONTROL, s=14, zorder=3,
                   label=label("reference", language))
        ax.set_xticks(k["k"])
        ax.set_xlabel(label("event_time", language))
        ax.set_ylabel(label("effect_pp", language))
        # the pre-trend p is a line between the title and the axes: inside them it sat on tall lead CIs
        ax.set_title(f"{title}: {label(outcome, language)}", loc="left", fontsize=7.5, pad=9 if len(pre) else 6)
        if len(pre):
            ax.annotate(f"{label('pretrend_p', language)} {p_text(pre.iloc[0])}", (0.0, 1.0), xytext=(0, 2),
                        xycoords="axes fraction", textcoords="offset points", ha="left", va="bottom", fontsize=6)
        return save_figure(fig, stem)


def _forest_rows(est: pd.DataFrame, city: str, outcome: str, language: str) -> pd.DataFrame:
    est = _main_spec(est)
    e = est[(est["city"] == city) & (est["outcome"] == outcome)]
    rows = []
    pick = [("f_twfe", "twfe", "D", CR1), ("f_twfe_wcr", "twfe", "D", "wild_cluster_restricted_bootstrap"),
            ("f_twfe_individual", "twfe_individual", "D", CR1),
            ("f_staggered", "staggered", "overall", "wijk_"), ("f_naive", "naive", "treated", CR1)]
    for key, model, term, inf in pick:
        r = e[(e["model"] == model) & (e["term"] == term) & e["inference"].str.startswith(inf)
              & ~e["inference"].str.contains(r"\+")]
        if len(r):
            rows.append(dict(r.iloc[0], label=label(key, language)))
    for _, r in e[e["term"].str.match(r"group\(g=\d+\)") & ~e["inference"].str.contains(r"\+")].iterrows():
        rows.append(dict(r, label=label("f_cohort", language, g=re.search(r"\d+", r["term"]).group(0))))
    return pd.DataFrame(rows)


def forest_plot(est: pd.DataFrame, city: str, outcome: str, title: str, stem: str | Path,
                language: str = "en") -> list[Path]:
    """Each model's main estimate (and the staggered cohorts) with 95% CI, percentage points."""
    f = _forest_rows(est, city, outcome, language)
    with style():
        height = 24 + 6 * max(len(f), 1)  # mm: fixed margins of 14 mm below and 8 mm above the rows
        fig, ax = plt.subplots(figsize=(SINGLE_COLUMN, height * MM))
        fig.subplots_adjust(left=0.5, right=0.97, bottom=14 / height, top=1 - 8 / height)
        y = np.arange(len(f))[::-1]
        naive = f["model"].eq("naive").to_numpy() if len(f) else np.array([], bool)
        colours = np.where(naive, "0.55", TREATED)
        ax.hlines(y, _pp(f["ci_low"]), _pp(f["ci_high"]), colors=colours, linewidth=1.0)
        ax.scatter(_pp(f["estimate"]), y, c=colours, s=14, zorder=3)
        ax.axvline(0, color="0.6", linewidth=0.6)
        ax.set_yticks(y, f["label"].tolist() if len(f) else [])
        ax.tick_params(axis="y", length=0, labelsize=6.5)
        ax.spines["left"].set_visible(False)
        ax.set_xlabel(label("effect_pp", language))
        ax.set_title(f"{title}: {label(outcome, language)}", loc="left", fontsize=7.5)
        return save_figure(fig, stem)


def overview(est: pd.DataFrame, cities: list[str], names: dict[str, str], outcomes: list[str], stem: str | Path,
             language: str = "en") -> list[Path]:
    """twfe (CR1) per city and pooled, one panel per outcome, shared axis."""
    est = _main_spec(est)
    e = est[(est["model"] == "twfe") & (est["term"] == "D") & _cr1(est["inference"])]
    e = e.drop_duplicates(["city", "outcome"])
    order = ["ALL", *cities]
    with style():
        height = 26 + 7 * len(order)  # mm: 14 mm below, 12 mm above the rows
        fig, axes = plt.subplots(1, len(outcomes), figsize=(DOUBLE_COLUMN, height * MM), sharey=True, squeeze=False)
        fig.subplots_adjust(left=0.12, right=0.98, bottom=14 / height, top=1 - 12 / height, wspace=0.12)
        lo = min(_pp(e["ci_low"]).min(initial=0), -1)
        hi = max(_pp(e["ci_high"]).max(initial=0), 1)
        for ax, outcome in zip(axes[0], outcomes):
            sub = e[e["outcome"] == outcome].set_index("city").reindex(order)
            y = np.arange(len(order))[::-1]
            colours = [CONTROL if c == "ALL" else TREATED for c in order]
            ax.hlines(y, _pp(sub["ci_low"]), _pp(sub["ci_high"]), colors=colours, linewidth=1.0)
            ax.scatter(_pp(sub["estimate"]), y, c=colours, s=14, zorder=3)
            ax.axvline(0, color="0.6", linewidth=0.6)
            ax.set_xlim(lo - 0.5, hi + 0.5)
            ax.set_title(label(outcome, language), fontsize=7)
            ax.set_xlabel(label("effect_pp", language))
        axes[0][0].set_yticks(np.arange(len(order))[::-1],
                              [label("all_cities", language) if c == "ALL" else names.get(c, c) for c in order])
        fig.suptitle(label("overview_title", language), x=0.01, y=0.985, ha="left", va="top", fontsize=8)
        return save_figure(fig, stem)
