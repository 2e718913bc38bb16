"""Per-wijk figure: weighted prevalence per wave with 95% CI against the city's controls, start marked.

One panel per outcome, so an author gets the wijk's whole story in one double-column figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def _control_arrays(ctl: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A city's suppressed control series as drawn: waves, 95% CI low and high (clipped to 0-1) and mean, in %."""
    mean, se = ctl["mean"].to_numpy(float), ctl["se"].to_numpy(float)
    lo, hi = np.clip(mean - 1.96 * se, 0, 1), np.clip(mean + 1.96 * se, 0, 1)
    return ctl["wave"].to_numpy(), 100 * lo, 100 * hi, 100 * mean


def _panel(ax: plt.Axes, w: pd.DataFrame, ctl: tuple, min_cell_n: int, language: str) -> None:
    """One outcome's data on a cleared panel: w the wijk's suppressed cells by wave, ctl its city's _control_arrays."""
    start = w["start"].iloc[0]
    cwave, clo, chi, cmean = ctl
    ax.fill_between(cwave, clo, chi, color=CONTROL, alpha=0.15, linewidth=0)
    ax.plot(cwave, cmean, "s-", color=CONTROL, label=label("control", language), ms=3)
    small = w["suppressed"].to_numpy(bool)
    wave, n = w["wave"].to_numpy(), w["n"].to_numpy()
    mean, se = w["mean"].to_numpy(float)[~small], w["se"].to_numpy(float)[~small]
    err = 100 * 1.96 * se
    ax.errorbar(wave[~small], 100 * mean, yerr=[np.minimum(err, 100 * mean), err],
                fmt="o-", color=TREATED, capsize=1.5, elinewidth=0.7, ms=3.5, label=label("treated_wijk", language))
    if small.any():
        ax.plot(wave[small], np.zeros(int(small.sum())), "x", color="0.3",
                label=label("suppressed", language, n=min_cell_n))
    top = np.nanmax(np.r_[chi, 100 * (mean + 1.96 * se), 5])
    top = min(100.0, top * 1.12 + 2)
    ax.set_ylim(-0.1 * top, top)  # room below zero for the row of n
    ax.axhline(0, color="0.85", linewidth=0.5, zorder=0)
    if pd.notna(start):
        ax.axvline(decimal_year(start), color="0.3", linestyle="--", linewidth=0.8)
        ax.annotate(f"{label('start', language)}\n{start:%Y-%m}", (decimal_year(start), 1.0),
                    xycoords=("data", "axes fraction"), xytext=(2, -1), textcoords="offset points",
                    ha="left", va="top", fontsize=5.5, color="0.3")
    for x, count in zip(wave, n):  # n per point, along the bottom
        ax.annotate(f"{int(count)}", (x, 0), xycoords=("data", "axes fraction"), xytext=(0, 1.5),
                    textcoords="offset points", ha="center", va="bottom", fontsize=5, color="0.35")
    waves = sorted(np.unique(wave))
    ax.set_xticks(waves, [f"'{v % 100:02d}" for v in waves])
    ax.set_xlim(waves[0] - 0.6, waves[-1] + 0.6)


def _clear(ax: plt.Axes) -> None:
    """Remove a panel's data artists, keeping the axes, its ticks (and their measured labels) and its titles."""
    for container in list(ax.containers):
        container.remove()
    for artists in (ax.collections, ax.lines, ax.texts, ax.patches):
        for artist in list(artists):
            artist.remove()


def _frame(outcomes: list[str], language: str, width: str) -> tuple[Figure, list[plt.Axes], float]:
    """The figure all of a batch's wijken are drawn on: panels, axis labels, titles, the n note."""
    if width == "single":
        height = 18 + 50 * len(outcomes)  # mm (4 mm under the last x label for the n note)
        fig = Figure(figsize=(SINGLE_COLUMN, height * MM))
        axes = list(fig.subplots(len(outcomes), 1, squeeze=False)[:, 0])
        fig.subplots_adjust(left=0.17, right=0.97, bottom=16 / height, top=1 - 16 / height, hspace=0.55)
    else:
        # 70 mm high: the n note sits under the x labels, not on the last panel's label
        height = 70
        fig = Figure(figsize=(DOUBLE_COLUMN, height * MM))
        axes = list(fig.subplots(1, len(outcomes), squeeze=False)[0])
        fig.subplots_adjust(left=0.085, right=0.99, bottom=0.205, top=0.81, wspace=0.25)
    FigureCanvasAgg(fig)  # one canvas, so PNGs reuse its renderer
    for ax, outcome in zip(axes, outcomes):
        ax.set_title(label(outcome, language), fontsize=7)
        ax.set_xlabel(label("wave", language))
    for ax in axes if width == "single" else axes[:1]:
        ax.set_ylabel(label("prevalence", language))
    if width == "single":
        for ax in axes[:-1]:
            ax.set_xlabel("")
    _suptitle(fig, "", width)
    fig.text(0.99, 0.003, label("n_note", language), ha="right", va="bottom", fontsize=5.5, color="0.35")
    return fig, axes, height


def _suptitle(fig: Figure, title: str, width: str) -> None:
    fig.suptitle(title, x=0.01, y=0.995, ha="left", va="top", fontsize=7.5 if width == "single" else 8)


def wijk_trends(cells: pd.DataFrame, wijken: Iterable[tuple[str, str, str | Path]], outcomes: list[str],
                min_cell_n: int, language: str = "en", width: str = "double") -> list[list[Path]]:
    """Draw and save each (wijk, title, stem)'s trends, a panel per outcome; small cells are suppressed and marked.

    width="double": panels side by side, 183 mm; "single": panels stacked, 89 mm wide. All wijken are drawn
    on one figure (its data cleared between them; the city's control series computed once per outcome): a
    file's bytes are those of the wijk drawn on a new figure, at less than half the cost.
    """
    cells = cells[cells["outcome"].isin(outcomes)]
    shown = suppress(cells, min_cell_n)
    by_wijk = {key: g.sort_values("wave") for key, g in shown.groupby(["outcome", "wijk_code"], sort=False)}
    controls: dict[tuple[str, str], tuple] = {}
    paths = []
    with style():
        fig, axes, height = _frame(outcomes, language, width)
        for wijk, title, stem in wijken:
            for leg in list(fig.legends):
                leg.remove()
            for ax, outcome in zip(axes, outcomes):
                w = by_wijk[(outcome, wijk)]
                city = w["gemeente_code"].iloc[0]
                if (city, outcome) not in controls:
                    controls[(city, outcome)] = _control_arrays(suppress(control_series(cells, city, outcome),
                                                                         min_cell_n))
                _clear(ax)
                _panel(ax, w, controls[(city, outcome)], min_cell_n, language)
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
            _suptitle(fig, title, width)
            paths.append(save_figure(fig, stem))
    return paths


def wijk_trend(cells: pd.DataFrame, wijk: str, outcomes: list[str], min_cell_n: int, title: str,
               stem: str | Path, language: str = "en", width: str = "double") -> list[Path]:
    """Draw and save one wijk's trends (see wijk_trends, which draws a city's wijken faster)."""
    return wijk_trends(cells, [(wijk, title, stem)], outcomes, min_cell_n, language, width)[0]
