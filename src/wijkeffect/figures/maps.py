"""Per-city choropleth of the change post - pre per wijk, with class breaks shared by every city."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from wijkeffect.figures.style import DOUBLE_COLUMN, MM, SINGLE_COLUMN, save_figure, style
from wijkeffect.labels import label
from wijkeffect.panel import pool_cells


def wijk_change(cells: pd.DataFrame, city: str, outcome: str, min_cell_n: int) -> pd.DataFrame:
    """Per wijk: weighted prevalence after minus before the city's first start; small cells suppressed."""
    c = cells[(cells["outcome"] == outcome) & (cells["gemeente_code"] == city)].copy()
    first = c["start"].min()
    c["period"] = np.where(pd.to_datetime(c["wave"].astype(str) + "-02-01") >= first, "post", "pre")
    p = pool_cells(c, ["wijk_code", "period"]).pivot(index="wijk_code", columns="period", values=["mean", "n"])
    out = pd.DataFrame({"change": p[("mean", "post")] - p[("mean", "pre")],
                        "n_pre": p[("n", "pre")], "n_post": p[("n", "post")]})
    out["suppressed"] = (out[["n_pre", "n_post"]].min(axis=1) < min_cell_n) | out["change"].isna()
    out.loc[out["suppressed"], "change"] = np.nan
    return out.reset_index()


def city_map(geo: gpd.GeoDataFrame, cells: pd.DataFrame, city: str, outcomes: list[str], breaks: list[float],
             min_cell_n: int, title: str, stem: str | Path, language: str = "en", width: str = "double") -> list[Path]:
    """One panel per outcome; treated wijken outlined, suppressed or missing wijken hatched.

    width="double": panels side by side, 183 mm; "single": panels stacked, 89 mm wide.
    """
    g = geo[geo["gemeente_code"] == city]
    treated = set(cells.loc[(cells["gemeente_code"] == city) & (cells["role"] == "treated"), "wijk_code"])
    bounds = [-1.0, *breaks, 1.0]
    colours = plt.get_cmap("PuOr_r")(np.linspace(0.05, 0.95, len(bounds) - 1))
    cmap, norm = ListedColormap(colours), BoundaryNorm(bounds, len(bounds) - 1)
    with style():
        if width == "single":
            height = 40 + 62 * len(outcomes)  # mm
            fig, grid = plt.subplots(len(outcomes), 1, figsize=(SINGLE_COLUMN, height * MM), squeeze=False)
            fig.subplots_adjust(left=0.02, right=0.98, bottom=30 / height, top=1 - 14 / height, hspace=0.12)
            axes, cbar_box = grid[:, 0], (0.1, 18 / height, 0.8, 4 / height)
        else:
            fig, grid = plt.subplots(1, len(outcomes), figsize=(DOUBLE_COLUMN, 76 * MM), squeeze=False)
            fig.subplots_adjust(left=0.01, right=0.99, bottom=0.25, top=0.84, wspace=0.04)
            axes, cbar_box = grid[0], (0.2, 0.16, 0.6, 0.035)
        for ax, outcome in zip(axes, outcomes):
            ch = g.merge(wijk_change(cells, city, outcome, min_cell_n), on="wijk_code", how="left")
            ok = ch["change"].notna()
            if ok.any():
                ch[ok].plot(ax=ax, color=cmap(norm(ch.loc[ok, "change"].to_numpy())), edgecolor="white",
                            linewidth=0.3)
            if (~ok).any():
                ch[~ok].plot(ax=ax, facecolor="0.9", edgecolor="0.5", hatch="////", linewidth=0.3)
            ch[ch["wijk_code"].isin(treated)].boundary.plot(ax=ax, color="black", linewidth=0.9)
            ax.set_title(label(outcome, language), fontsize=7)
            ax.set_axis_off()
            ax.set_aspect("equal")
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        cax = fig.add_axes(cbar_box)
        cbar = fig.colorbar(sm, cax=cax, orientation="horizontal", ticks=breaks)
        cbar.ax.set_xticklabels([f"{100 * b:+g}" for b in breaks])
        cbar.set_label(label("change", language), fontsize=6.5)
        handles = [Patch(facecolor="white", edgecolor="black", linewidth=0.9, label=label("treated_outline", language)),
                   Patch(facecolor="0.9", edgecolor="0.5", hatch="////", label=label("suppressed", language, n=min_cell_n))]
        if width == "single":
            fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 2 / height), ncol=2, fontsize=6,
                       borderaxespad=0)
        else:
            fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 0.995), ncol=2, fontsize=6,
                       borderaxespad=0)
        fig.suptitle(title, x=0.01, y=0.995, ha="left", va="top", fontsize=8)
        return save_figure(fig, stem)


MISSING = "0.45"  # darker than the palette's near-white middle class


def national_map(geo: gpd.GeoDataFrame, values: pd.DataFrame, outcomes: list[str], breaks: list[float], title: str,
                 stem: str | Path, language: str = "en", highlight: set[str] | None = None,
                 legend: str | None = None, note: str | None = None,
                 panel_titles: dict[str, str] | None = None) -> list[Path]:
    """All wijken of the country, one panel per outcome (values: wijk_code, outcome, value), 183 mm wide.

    Wijken without a value (missing estimate) or without geometry are drawn dark grey / counted in the
    panel title, never dropped; highlighted (e.g. treated) wijken are outlined.
    """
    bounds = [-1.0, *breaks, 1.0]
    colours = plt.get_cmap("PuOr_r")(np.linspace(0.05, 0.95, len(bounds) - 1))
    cmap, norm = ListedColormap(colours), BoundaryNorm(bounds, len(bounds) - 1)
    has_geom = ~(geo.geometry.isna() | geo.geometry.is_empty)
    g = geo[has_geom]
    n_no_geom = int((~has_geom).sum())
    x0, y0, x1, y1 = g.total_bounds
    panel_w = 183 / len(outcomes)  # mm
    map_h = min(0.93 * panel_w * (y1 - y0) / (x1 - x0), 120)
    top, bottom = 24 if note else 18, 27  # mm: titles above, colour bar and legend below
    height = top + map_h + bottom
    with style():
        fig, grid = plt.subplots(1, len(outcomes), figsize=(DOUBLE_COLUMN, height * MM), squeeze=False)
        fig.subplots_adjust(left=0.005, right=0.995, bottom=bottom / height, top=1 - top / height, wspace=0.02)
        for ax, outcome in zip(grid[0], outcomes):
            v = values.loc[values["outcome"] == outcome, ["wijk_code", "value"]]
            ch = g.merge(v, on="wijk_code", how="left")
            ok = ch["value"].notna()
            if ok.any():
                ch[ok].plot(ax=ax, color=cmap(norm(ch.loc[ok, "value"].to_numpy())), edgecolor="none")
            if (~ok).any():
                ch[~ok].plot(ax=ax, facecolor=MISSING, edgecolor="none")
            if highlight:
                ch[ch["wijk_code"].isin(highlight)].boundary.plot(ax=ax, color="black", linewidth=0.4)
            extra = f"\n{int((~ok).sum())} no estimate" + (f", {n_no_geom} no geometry" if n_no_geom else "")
            name = (panel_titles or {}).get(outcome, label(outcome, language))
            ax.set_title(name + extra, fontsize=5.5)
            ax.set_axis_off()
            ax.set_aspect("equal")
        cax = fig.add_axes((0.25, 19 / height, 0.5, 3 / height))
        cbar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal",
                            ticks=breaks)
        cbar.ax.set_xticklabels([f"{100 * b:+g}" for b in breaks])
        cbar.set_label(legend or label("change", language), fontsize=6.5)
        handles = [Patch(facecolor=MISSING, edgecolor="none", label=label("no_estimate", language))]
        if highlight:
            handles.insert(0, Patch(facecolor="white", edgecolor="black", linewidth=0.6,
                                    label=label("treated_outline", language)))
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1 / height), ncol=2, fontsize=6,
                   borderaxespad=0)
        fig.suptitle(title, x=0.01, y=1 - 1.5 / height, ha="left", va="top", fontsize=8)
        if note:
            fig.text(0.01, 1 - 8 / height, note, ha="left", va="top", fontsize=6, color="0.3")
        return save_figure(fig, stem)
