"""Per-wijk figure: weighted prevalence per wave with 95% CI against the city's controls, start marked.

One panel per outcome, so an author gets the wijk's whole story in one double-column figure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wijkeffect.disclosure import suppress
from wijkeffect.figures.style import CONTROL, DOUBLE_COLUMN, MM, SINGLE_COLUMN, TREATED, save_figure, style
from wijkeffect.labels import label
from wijkeffect.panel import pool_cells


def control_series(cells: pd.DataFrame, city: str, outcome: str) -> pd.DataFrame:
    """The city's control wijken pooled per wave (exact weighted means, Kish effective n)."""
    c = cells[(cells["outcome"] == outcome) & (cells["gemeente_code"] == city) & (cells["role"] == "control")]
    return pool_cells(c, ["wave"])


def decimal_year(ts: pd.Timestamp) -> float:
    """A date as a fractional year, to place the start between waves."""
    return ts.year + (ts.day_of_year - 1) / (366 if ts.is_leap_year else 365)


def _panel(ax: plt.Axes, cells: pd.DataFrame, wijk: str, outcome: str, min_cell_n: int, language: str) -> None:
    w = cells[(cells["outcome"] == outcome) & (cells["wijk_code"] == wijk)].sort_values("wave")
    city, start = w["gemeente_code"].iloc[0], w["start"].iloc[0]
    w = suppress(w, min_cell_n)
    ctl = suppress(control_series(cells, city, outcome), min_cell_n)
    lo, hi = (ctl["mean"] - 1.96 * ctl["se"]).clip(0, 1), (ctl["mean"] + 1.96 * ctl["se"]).clip(0, 1)
    ax.fill_between(ctl["wave"], 100 * lo, 100 * hi, color=CONTROL, alpha=0.15, linewidth=0)
    ax.plot(ctl["wave"], 100 * ctl["mean"], "s-", color=CONTROL, label=label("control", language), ms=3)
    shown = w[~w["suppressed"]]
    err = 100 * 1.96 * shown["se"]
    ax.errorbar(shown["wave"], 100 * shown["mean"], yerr=[np.minimum(err, 100 * shown["mean"]), err],
                fmt="o-", color=TREATED, capsize=1.5, elinewidth=0.7, ms=3.5, label=label("treated_wijk", language))
    if w["suppressed"].any():
        ax.plot(w.loc[w["suppressed"], "wave"], np.zeros(int(w["suppressed"].sum())), "x", color="0.3",
                label=label("suppressed", language, n=min_cell_n))
    top = np.nanmax(np.r_[100 * hi.to_numpy(), 100 * (shown["mean"] + 1.96 * shown["se"]).to_numpy(), 5])
    top = min(100.0, top * 1.12 + 2)
    ax.set_ylim(-0.1 * top, top)  # room below zero for the row of n
    ax.axhline(0, color="0.85", linewidth=0.5, zorder=0)
    if pd.notna(start):
        ax.axvline(decimal_year(start), color="0.3", linestyle="--", linewidth=0.8)
        ax.annotate(f"{label('start', language)}\n{start:%Y-%m}", (decimal_year(start), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(2, -1), textcoords="offset points",
                    ha="left", va="top", fontsize=5.5, color="0.3")
    for wave, n in zip(w["wave"], w["n"]):  # n per point, along the bottom
        ax.annotate(f"{int(n)}", (wave, 0), xycoords=("data", "axes fraction"), xytext=(0, 1.5),
                    textcoords="offset points", ha="center", va="bottom", fontsize=5, color="0.35")
    waves = sorted(w["wave"].unique())
    ax.set_xticks(waves, [f"'{v % 100:02d}" for v in waves])
    ax.set_xlim(waves[0] - 0.6, waves[-1] + 0.6)
    ax.set_title(label(outcome, language), fontsize=7)
    ax.set_xlabel(label("wave", language))


def wijk_trend(cells: pd.DataFrame, wijk: str, outcomes: list[str], min_cell_n: int, title: str,
               stem: str | Path, language: str = "en", width: str = "double") -> list[Path]:
    """Draw and save one wijk's trends, a panel per outcome; small cells are suppressed and marked.

    width="double": panels side by side, 183 mm; "single": panels stacked, 89 mm wide.
    """
    with style():
        if width == "single":
            height = 18 + 50 * len(outcomes)  # mm (4 mm under the last x label for the n note)
            fig, grid = plt.subplots(len(outcomes), 1, figsize=(SINGLE_COLUMN, height * MM), squeeze=False)
            fig.subplots_adjust(left=0.17, right=0.97, bottom=16 / height, top=1 - 16 / height, hspace=0.55)
            axes = grid[:, 0]
        else:
            # 70 mm high: the n note sits under the x labels, not on the last panel's label
            fig, grid = plt.subplots(1, len(outcomes), figsize=(DOUBLE_COLUMN, 70 * MM), squeeze=False)
            fig.subplots_adjust(left=0.085, right=0.99, bottom=0.205, top=0.81, wspace=0.25)
            axes = grid[0]
        for ax, outcome in zip(axes, outcomes):
            _panel(ax, cells, wijk, outcome, min_cell_n, language)
        for ax in axes if width == "single" else axes[:1]:
            ax.set_ylabel(label("prevalence", language))
        if width == "single":
            for ax in axes[:-1]:
                ax.set_xlabel("")
        handles = {}
        for ax in axes:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(lab, h)
        if width == "single":
            fig.legend(list(handles.values()), list(handles.keys()), loc="upper left",
                       bbox_to_anchor=(0.01, 1 - 6 / height), ncol=2, borderaxespad=0, fontsize=6)
        else:
            fig.legend(list(handles.values()), list(handles.keys()), loc="upper right",
                       bbox_to_anchor=(0.99, 0.995), ncol=3, borderaxespad=0)
        fig.suptitle(title, x=0.01, y=0.995, ha="left", va="top", fontsize=7.5 if width == "single" else 8)
        fig.text(0.99, 0.003, label("n_note", language), ha="right", va="bottom", fontsize=5.5, color="0.35")
        return save_figure(fig, stem)
