"""Per-wijk figure: weighted prevalence per wave with 95% CI against the city's controls, start marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wijkeffect.disclosure import suppress
from wijkeffect.figures.style import CONTROL, SINGLE_COLUMN, TREATED, MM, save_figure, style
from wijkeffect.labels import label
from wijkeffect.panel import pool_cells


def control_series(cells: pd.DataFrame, city: str, outcome: str) -> pd.DataFrame:
    """The city's control wijken pooled per wave (exact weighted means, Kish effective n)."""
    c = cells[(cells["outcome"] == outcome) & (cells["gemeente_code"] == city) & (cells["role"] == "control")]
    return pool_cells(c, ["wave"])


def _decimal_year(ts: pd.Timestamp) -> float:
    return ts.year + (ts.dayofyear - 1) / (366 if ts.is_leap_year else 365)


def wijk_trend(cells: pd.DataFrame, wijk: str, outcome: str, min_cell_n: int, title: str,
               stem: str | Path, language: str = "en") -> list[Path]:
    """Draw and save one wijk's trend for one outcome; small cells are suppressed and marked."""
    w = cells[(cells["outcome"] == outcome) & (cells["wijk_code"] == wijk)].sort_values("wave")
    city, start = w["gemeente_code"].iloc[0], w["start"].iloc[0]
    w = suppress(w, min_cell_n)
    ctl = suppress(control_series(cells, city, outcome), min_cell_n)
    with style():
        fig, ax = plt.subplots(figsize=(SINGLE_COLUMN, 62 * MM))
        lo, hi = (ctl["mean"] - 1.96 * ctl["se"]).clip(0, 1), (ctl["mean"] + 1.96 * ctl["se"]).clip(0, 1)
        ax.fill_between(ctl["wave"], 100 * lo, 100 * hi, color=CONTROL, alpha=0.15, linewidth=0)
        ax.plot(ctl["wave"], 100 * ctl["mean"], "s-", color=CONTROL, label=label("control", language), ms=3)
        shown = w[~w["suppressed"]]
        err = 100 * 1.96 * shown["se"]
        ax.errorbar(shown["wave"], 100 * shown["mean"], yerr=[np.minimum(err, 100 * shown["mean"]), err],
                    fmt="o-", color=TREATED, capsize=1.5, elinewidth=0.7, label=label("treated_wijk", language))
        if w["suppressed"].any():
            ax.plot(w.loc[w["suppressed"], "wave"], np.zeros(int(w["suppressed"].sum())), "x", color="0.4",
                    label=label("suppressed", language, n=min_cell_n))
        if pd.notna(start):
            ax.axvline(_decimal_year(start), color="0.3", linestyle="--", linewidth=0.8)
            ax.annotate(f"{label('start', language)} {start:%Y-%m}", (_decimal_year(start), 1.0),
                        xycoords=("data", "axes fraction"), xytext=(2, -2), textcoords="offset points",
                        ha="left", va="top", fontsize=6, color="0.3")
        top = np.nanmax(np.r_[100 * hi.to_numpy(), 100 * (shown["mean"] + 1.96 * shown["se"]).to_numpy(), 5])
        top = min(100, top * 1.15 + 2)
        ax.set_ylim(-0.09 * top, top)  # room below zero for the row of n
        ax.axhline(0, color="0.8", linewidth=0.5)
        for _, r in w.iterrows():  # n per point, along the bottom
            ax.annotate(f"{int(r['n'])}", (r["wave"], 0), xycoords=("data", "axes fraction"), xytext=(0, 2),
                        textcoords="offset points", ha="center", va="bottom", fontsize=5.5, color="0.35")
        ax.annotate("n", (0, 0), xycoords="axes fraction", xytext=(-10, 2), textcoords="offset points",
                    ha="center", va="bottom", fontsize=5.5, color="0.35")
        ax.set_xticks(sorted(w["wave"].unique()))
        ax.tick_params(axis="x", labelrotation=0)
        ax.set_xlabel(label("wave", language))
        ax.set_ylabel(f"{label(outcome, language)}\n{label('prevalence', language)}")
        ax.set_title(title, loc="left", pad=14)
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, handlelength=1.5, borderaxespad=0,
                  columnspacing=1.0)
        return save_figure(fig, stem)
