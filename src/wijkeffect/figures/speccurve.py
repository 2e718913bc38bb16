"""The specification-curve figure: ranked estimates with 95% CI above, the choices behind each below.

As R `specr` and Simonsohn, Simmons and Nelson (2020, Fig. 2) draw it: one column per specification,
coloured by the sign of a significant effect; beneath, one row per value of each choice (the
sweep's axes and the estimator), a mark where the specification made that choice. Double-column
width; the height grows with the number of choice rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wijkeffect.figures.style import CONTROL, DOUBLE_COLUMN, FORMATS, MM, TREATED, save_figure, style
from wijkeffect.labels import label

NOT_SIG = "0.55"
COLOURS = {"positive": TREATED, "negative": CONTROL, "": NOT_SIG}
_MATCH = re.compile(r"^(nn|ps)(\d+)(_all)?$")


def value_text(axis: str, value: str, language: str = "en") -> str:
    """A readable label for an axis value (labels.py keys v_<axis>_<value> or v_<value>, else the value)."""
    m = _MATCH.match(value)
    if axis == "controls" and m:
        text = label(f"sv_{m.group(1)}", language, k=m.group(2))
        return text + (f" ({label('v_all', language)})" if m.group(3) else "")
    if axis == "model":
        text = label(f"f_{value}", language)
        return text if text != f"f_{value}" else label(value, language)
    if axis == "start" and re.fullmatch(r"m?\d+", value):
        if value == "0":
            return label("sv_start_0", language)
        return "\u2212" + value[1:] if value[0] == "m" else f"+{value}"
    for key in (f"sv_{axis}_{value}", f"sv_{value}"):
        text = label(key, language)
        if text != key:
            return text
    return value.replace("m", "\u2212", 1) if re.fullmatch(r"m\d+(p\d+)?", value) else value.replace("p", ".")


def choice_rows(curve: pd.DataFrame, axes: list[str]) -> list[tuple[str, str | None]]:
    """(axis, value) rows of the choice panel, a header row (axis, None) first per axis that varies."""
    rows: list[tuple[str, str | None]] = []
    for a in axes:
        col = curve[a]
        values = [str(v) for v in (col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype)
                                   else sorted(col.astype(str).unique())) if (col.astype(str) == str(v)).any()]
        if len(values) > 1:
            rows.append((a, None))
            rows += [(a, v) for v in values]
    return rows


def speccurve_plot(curve: pd.DataFrame, city: str, outcome: str, title: str, stem: str | Path,
                   language: str = "en", summary: pd.Series | None = None, axes: list[str] | None = None,
                   formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Draw one city x outcome curve (rows of `speccurve.curve_table`); returns the files written."""
    c = curve[(curve["city"] == city) & (curve["outcome"] == outcome)].sort_values("rank")
    if axes is None:
        base = ["city", "outcome", "spec", "model", "term", "inference", "estimate", "std_error", "ci_low", "ci_high",
                "p_value", "z", "significant", "rank"]
        axes = ["model", *[a for a in curve.columns if a not in base]]
    rows = choice_rows(c, axes)
    n = len(c)
    x = np.arange(1, n + 1)
    colours = [COLOURS.get(s, NOT_SIG) for s in c["significant"]]
    texts = [_axis_text(a, language) if v is None else value_text(a, v, language) for a, v in rows]
    head_mm, top_mm, gap_mm, row_mm, foot_mm = 15.0, 50.0, 5.0, 3.1, 14.0
    bottom_mm = max(len(rows), 1) * row_mm
    height = head_mm + top_mm + gap_mm + bottom_mm + foot_mm
    width_mm = DOUBLE_COLUMN / MM
    # the label column is as wide as its longest label (about 1.1 mm per character at 6 pt, 1.3 in bold 6.5 pt)
    need = max(((1.3 if v is None else 1.1) * len(t) for t, (_, v) in zip(texts, rows)), default=0.0)
    left_mm = min(max(18.0, need + 5.0), 0.4 * width_mm)
    left, right = left_mm / width_mm, 0.98
    with style():
        fig = plt.figure(figsize=(DOUBLE_COLUMN, height * MM))
        ax = fig.add_axes((left, 1 - (head_mm + top_mm) / height, right - left, top_mm / height))
        ax_c = fig.add_axes((left, foot_mm / height, right - left, bottom_mm / height), sharex=ax)
        ax.axhline(0, color="0.6", linewidth=0.6)
        if n:
            med = 100 * float(c["estimate"].median())
            ax.axhline(med, color="0.3", linestyle="--", linewidth=0.7)
            ax.vlines(x, 100 * c["ci_low"].to_numpy(float), 100 * c["ci_high"].to_numpy(float), colors=colours,
                      linewidth=0.8 if n <= 60 else 0.5)
            ax.scatter(x, 100 * c["estimate"].to_numpy(float), c=colours, s=10 if n <= 60 else 4, zorder=3,
                       linewidths=0)
        ax.set_ylabel(label("effect_pp", language))
        ax.tick_params(axis="x", labelbottom=False)
        ax.set_xlim(0.3, n + 0.7)
        varies = outcome == "walking" and any(a == "walk" for a, _ in rows)  # the label names one threshold
        name = label("walking_sweep" if varies else outcome, language)
        fig.text(3 / width_mm, 1 - 3.5 / height, f"{title}: {name}", ha="left", va="top",
                 fontsize=8)
        fig.text(3 / width_mm, 1 - 8 / height, _summary_text(c, summary, language), ha="left", va="top",
                 fontsize=6, linespacing=1.35)
        handles = [plt.Line2D([], [], marker="o", linestyle="", color=COLOURS[k], markersize=3,
                              label=label(f"sc_sig_{k or 'none'}", language)) for k in ("negative", "", "positive")]
        handles.append(plt.Line2D([], [], color="0.3", linestyle="--", linewidth=0.7,
                                  label=label("sc_median_line", language)))
        fig.legend(handles=handles, loc="lower right", bbox_to_anchor=(right, 0.8 / height), ncol=4, fontsize=6,
                   handletextpad=0.3, columnspacing=1.0, handlelength=1.4, borderaxespad=0)
        yt = [len(rows) - 1 - i for i in range(len(rows))]
        for i, (a, v) in enumerate(rows):
            if v is None:
                if i:
                    ax_c.axhline(yt[i] + 0.5, color="0.85", linewidth=0.5)
                continue
            on = (c[a].astype(str) == v).to_numpy()
            ax_c.scatter(x[on], np.full(on.sum(), yt[i]), c=np.asarray(colours, dtype=object)[on].tolist(),
                         marker="s", s=6 if n <= 60 else 2, linewidths=0)
        ax_c.set_yticks(yt, texts)
        for t, (_, v) in zip(ax_c.get_yticklabels(), rows):
            t.set_fontweight("bold" if v is None else "normal")
            t.set_fontsize(6.5 if v is None else 6)
        ax_c.tick_params(axis="y", length=0)
        ax_c.set_ylim(-0.6, len(rows) - 0.4)
        ax_c.spines["left"].set_visible(False)
        ax_c.set_xlabel(label("sc_rank", language), loc="left")
        return save_figure(fig, stem, formats)


def _axis_text(axis: str, language: str) -> str:
    text = label(f"ax_{axis}", language)
    return text if text != f"ax_{axis}" else axis.replace("_", " ").capitalize()


def _summary_text(c: pd.DataFrame, summary: pd.Series | None, language: str) -> str:
    n = len(c)
    if not n:
        return label("sc_none", language)
    pos, neg = (c["significant"] == "positive").mean(), (c["significant"] == "negative").mean()
    text = label("sc_summary", language, n=n, median=f"{100 * c['estimate'].median():.2f}", neg=f"{100 * neg:.0f}",
                 pos=f"{100 * pos:.0f}")
    if summary is not None and "p_median" in summary and pd.notna(summary["p_median"]):
        text += "\n" + label("sc_perm", language, reps=int(summary["reps"]), p_median=f"{summary['p_median']:.3f}",
                             p_share=f"{summary['p_share_sig']:.3f}", p_z=f"{summary['p_mean_z']:.3f}")
    return text


def speccurve_figures(curve: pd.DataFrame, names: dict[str, str], out_dir: str | Path, language: str = "en",
                      summary: pd.DataFrame | None = None, formats: tuple[str, ...] = FORMATS) -> pd.DataFrame:
    """One figure per city x outcome of the curve (`<out_dir>/<city>/speccurve_<outcome>.*`); the index."""
    out_dir = Path(out_dir)
    if summary is not None and "city" in summary.columns:
        summary = summary.set_index(["city", "outcome"])
    rows = []
    for (city, outcome), _ in curve.groupby(["city", "outcome"], sort=True):
        row = summary.loc[(city, outcome)] if summary is not None and (city, outcome) in summary.index else None
        name = label("all_cities", language) if city == "ALL" else names.get(city, city)
        for p in speccurve_plot(curve, city, outcome, name, out_dir / city / f"speccurve_{outcome}", language,
                                summary=row, formats=formats):
            rows.append(("speccurve", city, outcome, str(p)))
    return pd.DataFrame(rows, columns=["kind", "city", "outcome", "file"])
