"""Sections of the estimate notebook a reviewer reads through, one function each, for one city x outcome:
the data, raw weighted trends, the event study with its pre-trend test, the balance of the control pool,
every estimate, the regression table, and what each model assumes. Each returns something a notebook
displays (a DataFrame, a figure, or a table object)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.labels import label

ROLES = ("treated", "control")


def _city(frame: pd.DataFrame, city: str) -> pd.DataFrame:
    return frame if city == "ALL" else frame[frame["gemeente_code"] == city]


def _city_name(city: str, language: str) -> str:
    return label("all_cities", language) if city == "ALL" else city


def data_summary(respondents: pd.DataFrame, cells: pd.DataFrame, city: str, outcome: str, min_cell_n: int = 10,
                 language: str = "en") -> pd.DataFrame:
    """Respondents (all, and with the outcome observed), wijken and cells per wave and role; cells under
    min_cell_n counted (they are suppressed in figures and tables, not in the models)."""
    r = _city(respondents, city)
    r = r[r["role"].isin(ROLES)]
    c = _city(cells, city)
    c = c[(c["outcome"] == outcome) & c["role"].isin(ROLES)]
    resp = r.groupby(["wave", "role"]).agg(respondents=("respondent_id", "size"),
                                           with_outcome=(outcome, lambda s: int(s.notna().sum())))
    cel = c.groupby(["wave", "role"]).agg(wijken=("wijk_code", "nunique"), cells=("wijk_code", "size"),
                                          small=("n", lambda s: int((s < min_cell_n).sum())))
    out = resp.join(cel, how="outer").fillna(0).astype(int).reset_index()
    out["role"] = [label("treated" if x == "treated" else "control_pooled", language) for x in out["role"]]
    return out.rename(columns={"wave": label("review_wave", language), "role": label("review_role", language),
                               "respondents": label("review_respondents", language),
                               "with_outcome": label("review_with_outcome", language),
                               "wijken": label("review_wijken", language), "cells": label("review_cells", language),
                               "small": label("review_small_cells", language, n=min_cell_n)})


def raw_trend_frame(cells: pd.DataFrame, city: str, outcome: str, min_cell_n: int = 10) -> pd.DataFrame:
    """Weighted prevalence per wave of the treated and of the control wijken pooled (exact weighted means,
    Kish effective n), with a normal 95% CI; pooled groups under min_cell_n respondents are dropped."""
    from wijkeffect.panel import pool_cells

    c = _city(cells, city)
    c = c[(c["outcome"] == outcome) & c["role"].isin(ROLES)]
    g = pool_cells(c, ["role", "wave"])
    g = g[g["n"] >= min_cell_n].copy()
    g["ci_low"] = (g["mean"] - 1.96 * g["se"]).clip(0, 1)
    g["ci_high"] = (g["mean"] + 1.96 * g["se"]).clip(0, 1)
    return g[["role", "wave", "n", "n_eff", "mean", "se", "ci_low", "ci_high"]].reset_index(drop=True)


def raw_trends(cells: pd.DataFrame, city: str, outcome: str, min_cell_n: int = 10, language: str = "en"):
    """The raw trends figure as the PNG image the notebook shows."""
    from wijkeffect.figures.style import style

    with style():  # drawn and encoded with the style's shared text measurement and PNG writer
        return _png(raw_trends_figure(cells, city, outcome, min_cell_n, language))


def raw_trends_figure(cells: pd.DataFrame, city: str, outcome: str, min_cell_n: int = 10, language: str = "en"):
    """Figure: raw weighted prevalence of treated against control wijken per wave, with the starts marked
    (before any model: what the estimators have to explain)."""
    import matplotlib.pyplot as plt

    from wijkeffect.figures.style import CONTROL, MM, SINGLE_COLUMN, TREATED, style
    from wijkeffect.figures.trends import decimal_year

    t = raw_trend_frame(cells, city, outcome, min_cell_n)
    c = _city(cells, city)
    starts = sorted(c.loc[(c["role"] == "treated") & (c["outcome"] == outcome), "start"].dropna().unique())
    with style():
        fig, ax = plt.subplots(figsize=(SINGLE_COLUMN * 1.4, 62 * MM))
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.17, top=0.86)
        for role, colour, marker in (("control", CONTROL, "s"), ("treated", TREATED, "o")):
            s = t[t["role"] == role]
            ax.fill_between(s["wave"], 100 * s["ci_low"], 100 * s["ci_high"], color=colour, alpha=0.15, linewidth=0)
            ax.plot(s["wave"], 100 * s["mean"], marker + "-", color=colour, ms=3,
                    label=label("treated" if role == "treated" else "control_pooled", language))
        for st in starts:
            ax.axvline(decimal_year(pd.Timestamp(st)), color="0.3", linestyle="--", linewidth=0.7)
        ax.set_xlabel(label("wave", language))
        ax.set_ylabel(label("prevalence", language))
        ax.set_title(label("raw_trends_title", language, outcome=label(outcome, language),
                           city=_city_name(city, language)), loc="left", fontsize=7.5)
        ax.legend(loc="best", frameon=False)
    return fig


def _png(fig, dpi: int = 150):
    """A figure as a PNG image the notebook shows (figures are drawn with Agg: a bare Figure shows as text)."""
    import matplotlib.pyplot as plt
    from IPython.display import Image

    from wijkeffect.figures.style import png_bytes

    data = png_bytes(fig, dpi)
    plt.close(fig)
    return Image(data=data, format="png", width=420)


def pretrend_test(est: pd.DataFrame, city: str, outcome: str) -> pd.DataFrame:
    """The event study's joint test that all leads are zero (F statistic, degrees of freedom, p)."""
    e = est[(est["city"] == city) & (est["outcome"] == outcome) & (est["model"] == "event_study")
            & (est["term"] == "pretrend_wald")]
    return e[["term", "estimate", "p_value", "inference", "n_clusters"]].rename(
        columns={"estimate": "F"}).reset_index(drop=True)


def event_study(est: pd.DataFrame, city: str, outcome: str, language: str = "en", title: str | None = None,
                out_stem: str | Path | None = None):
    """The event-study plot with the pre-trend p-value in its corner, as an image for the notebook (drawn
    to out_stem.{pdf,svg,png} when given, else to a temporary folder)."""
    from IPython.display import Image

    from wijkeffect.figures.effects import event_plot
    from wijkeffect.figures.style import use_formats

    with contextlib.ExitStack() as stack:
        if out_stem is None:  # only shown here: the PNG alone
            out_stem = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "event"
            stack.enter_context(use_formats(["png"]))
        paths = event_plot(est, city, outcome, title or _city_name(city, language), out_stem, language)
        png = next(p for p in paths if p.suffix == ".png")
        return Image(data=png.read_bytes(), format="png", width=420)


def balance_table(balance: pd.DataFrame | str | Path, threshold: float = 0.1, language: str = "en") -> pd.DataFrame:
    """The control pool's balance (results/<study>/balance.csv): pre-period means, standardised mean
    differences before and after matching, and whether |SMD| after matching is under threshold (0.1,
    Austin 2009, Stat. Med. 28:3083)."""
    from wijkeffect.errors import input_error
    from wijkeffect.paths import resolve

    b = pd.read_csv(resolve(balance)) if isinstance(balance, (str, Path)) else balance.reset_index()
    if "smd_after" not in b:
        raise input_error(str(balance), "columns", [c for c in b.columns][:8], "a balance table with smd_after")
    b = b.round(3)
    b[label("balanced", language, t=threshold)] = b["smd_after"].abs() < threshold
    return b


def full_display() -> contextlib.AbstractContextManager:
    """A pandas option context that shows every row and column (no truncation to 10 of 74 rows)."""
    return pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", None,
                             "display.max_colwidth", None)


def estimates_table(est: pd.DataFrame, city: str, outcome: str) -> pd.DataFrame:
    """Every tidy row of the city x outcome (all models, terms and inference), in the contract's columns;
    display it inside full_display()."""
    e = est[(est["city"] == city) & (est["outcome"] == outcome)]
    return e.sort_values(["model", "term", "inference"], kind="stable").reset_index(drop=True)


def regression_table(est: pd.DataFrame, city: str, outcome: str, language: str = "en", **options: Any):
    """The regression table of the city x outcome as a Great Tables object (displays as HTML)."""
    from wijkeffect.regtable import regression_table as table
    from wijkeffect.regtable import to_gt

    return to_gt(table(est, outcome, [city], language=language, **options), table_id=f"regtable_{city}_{outcome}")


def assumptions(models: list[str], language: str = "en") -> pd.DataFrame:
    """One sentence per configured model saying what it assumes (from labels.py)."""
    from wijkeffect.labels import LABELS

    known = LABELS.get(language, LABELS["en"])
    rows = [(label(m, language), known.get(f"assume_{m}", label("assume_unknown", language))) for m in models]
    return pd.DataFrame(rows, columns=[label("review_model", language), label("review_assumes", language)])

