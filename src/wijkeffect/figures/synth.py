"""Synthetic-control figures: treated vs synthetic trajectory, and the in-space placebo distribution."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from wijkeffect.figures.style import CONTROL, DOUBLE_COLUMN, MM, TREATED, save_figure, style
from wijkeffect.labels import label


def synth_plot(fit, outcome: str, title: str, stem: str | Path, language: str = "en") -> list[Path]:
    """Left: the treated wijk and its synthetic control (%); right: gaps of every placebo donor and of the treated wijk."""
    waves = np.asarray(fit.waves)
    start = (waves[fit.n_pre - 1] + waves[fit.n_pre]) / 2
    with style():
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN, 62 * MM))
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.86, wspace=0.25)
        ax.plot(waves, 100 * fit.treated, color=TREATED, marker="o", markersize=2.5, linewidth=1.0,
                label=label("treated_wijk", language))
        ax.plot(waves, 100 * fit.synthetic, color=CONTROL, linestyle="--", marker="s", markersize=2.5,
                linewidth=1.0, label=label("synthetic", language))
        ax.set_ylabel(label("prevalence", language))
        for a in (ax, bx):
            a.axvline(start, color="0.3", linestyle=":", linewidth=0.8)
            a.set_xlabel(label("wave", language))
        ax.legend(fontsize=5.5, frameon=False)
        for g in fit.placebo_gaps:
            bx.plot(waves, 100 * g, color="0.75", linewidth=0.6)
        bx.plot(waves, 100 * fit.gap, color=TREATED, linewidth=1.4, label=label("treated_wijk", language))
        bx.axhline(0, color="0.4", linewidth=0.6)
        bx.set_ylabel(label("gap_pp", language))
        bx.set_title(label("placebo_p", language, p=f"{fit.p_value:.2f}", n=len(fit.placebo_ratios)),
                     loc="left", fontsize=6.5)
        fig.suptitle(f"{title}: {label(outcome, language)} ({fit.unit})", x=0.08, ha="left", fontsize=7.5)
        return save_figure(fig, stem)


def placebo_ratio_plot(fit, stem: str | Path, language: str = "en") -> list[Path]:
    """Histogram of placebo post/pre RMSPE ratios with the treated wijk's marked."""
    with style():
        fig, ax = plt.subplots(figsize=(89 * MM, 55 * MM))
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.2, top=0.9)
        ax.hist(fit.placebo_ratios, bins=max(5, len(fit.placebo_ratios) // 2), color="0.7")
        ax.axvline(fit.ratio, color=TREATED, linewidth=1.4, label=label("treated_wijk", language))
        ax.set_xlabel(label("rmspe_ratio", language))
        ax.set_ylabel(label("donors", language))
        ax.legend(fontsize=5.5, frameon=False)
        return save_figure(fig, stem)
