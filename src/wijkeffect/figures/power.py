"""MDE figure: minimum detectable effect against the number of treated wijken, one line per cell size."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wijkeffect.figures.style import MM, SINGLE_COLUMN, save_figure, style
from wijkeffect.labels import label


def mde_plot(table: pd.DataFrame, outcome: str, stem: str | Path, language: str = "en") -> list[Path]:
    """Lines of MDE (percentage points) by treated wijken for each respondents-per-wijk-wave value."""
    t = table[table["outcome"] == outcome] if "outcome" in table else table
    with style():
        fig, ax = plt.subplots(figsize=(SINGLE_COLUMN, 62 * MM))
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.17, top=0.86)
        sizes = sorted(t["n_per_cell"].unique())
        colours = plt.cm.viridis(np.linspace(0.05, 0.85, len(sizes)))
        for n, col in zip(sizes, colours):
            d = t[t["n_per_cell"] == n].sort_values("n_treated")
            ax.plot(d["n_treated"], 100 * d["mde"], marker="o", markersize=2.5, color=col, linewidth=1.0,
                    label=label("n_per_cell", language, n=f"{n:.0f}"))
        own = t[t["study_design"]] if "study_design" in t else t.iloc[:0]
        if len(own):
            ax.scatter(own["n_treated"], 100 * own["mde"], marker="*", s=40, color="black", zorder=4,
                       label=label("study_design", language))
        ax.set_xscale("log")
        ax.set_xlabel(label("n_treated_wijken", language))
        ax.set_ylabel(label("mde_pp", language))
        ax.set_title(f"{label('mde_title', language)}: {label(outcome, language)}", loc="left", fontsize=7.5)
        ax.legend(fontsize=5.5, frameon=False)
        return save_figure(fig, stem)
