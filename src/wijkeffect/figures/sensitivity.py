"""Sensitivity figure: robust CIs against the size of the allowed parallel-trend violation (tidy rows only).

Two panels per city x outcome and target: relative magnitudes (Mbar) and smoothness (M), each
with the original CI drawn at the left in grey and the breakdown value marked.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wijkeffect.figures.style import CONTROL, DOUBLE_COLUMN, MM, TREATED, save_figure, style
from wijkeffect.labels import label

_TERM = re.compile(r"^(rm|sm)\((?:Mbar|M)=([-0-9.e+]+)\):(\w+)$")


def sensitivity_plot(est: pd.DataFrame, city: str, outcome: str, title: str, stem: str | Path,
                     target: str = "first", language: str = "en") -> list[Path]:
    """CI against Mbar (left) and M (right) for one target ('first' or 'avg'), in percentage points."""
    e = est[(est["city"] == city) & (est["outcome"] == outcome) & (est["model"] == "sensitivity")]
    parsed = e["term"].str.extract(_TERM)
    e = e.assign(kind=parsed[0], size=parsed[1].astype(float), target=parsed[2])
    e = e[e["target"] == target]
    orig = est[(est["city"] == city) & (est["outcome"] == outcome) & (est["model"] == "sensitivity")
               & (est["term"] == f"original:{target}")]
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(DOUBLE_COLUMN, 62 * MM), sharey=True)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.18, top=0.86, wspace=0.08)
        for ax, kind, xkey in ((axes[0], "rm", "mbar"), (axes[1], "sm", "m_smooth")):
            d = e[e["kind"] == kind].sort_values("size")
            if d.empty:
                ax.set_visible(False)
                continue
            x = d["size"].to_numpy()
            step = (x.max() - x.min()) / max(len(x) - 1, 1) or 1.0
            ax.axhline(0, color="0.6", linewidth=0.6)
            ax.vlines(x, 100 * d["ci_low"], 100 * d["ci_high"], colors=TREATED, linewidth=1.4,
                      label=label("robust_ci", language))
            if len(orig):
                o = orig.iloc[0]
                ax.vlines([x.min() - 0.6 * step], [100 * o["ci_low"]], [100 * o["ci_high"]], colors=CONTROL,
                          linewidth=1.4, label=label("original_ci", language))
            bd = est[(est["city"] == city) & (est["outcome"] == outcome) & (est["model"] == "sensitivity")
                     & (est["term"] == f"breakdown_{kind}:{target}")]
            if len(bd) and np.isfinite(bd["estimate"].iloc[0]) and bd["estimate"].iloc[0] > 0:
                ax.axvline(bd["estimate"].iloc[0], color="0.3", linestyle="--", linewidth=0.8,
                           label=label("breakdown", language))
            ax.set_xlabel(label(xkey, language))
            ax.legend(loc="upper left", fontsize=5.5, frameon=False)
        axes[0].set_ylabel(label("effect_pp", language))
        fig.suptitle(f"{title}: {label(outcome, language)} ({label('target_' + target, language)})",
                     x=0.08, ha="left", fontsize=7.5)
        return save_figure(fig, stem)
