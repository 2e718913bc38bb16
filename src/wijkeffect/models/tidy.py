"""The results contract: one tidy row per model term (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import stdtr, stdtrit  # t distribution without importing scipy.stats (0.5 s)

RESULT_COLUMNS = ["study", "city", "outcome", "model", "term", "estimate", "std_error", "ci_low", "ci_high",
                  "p_value", "n_obs", "n_wijken", "n_clusters", "inference", "weights", "covariates", "seed", "spec",
                  "p_holm", "p_bh"]
#: p_holm / p_bh: Holm and Benjamini-Hochberg adjusted p-values across a study's outcomes (same city, model,
#: term, inference and spec), filled by the summary stage; spec: the specification id ("default" without a sweep).


@dataclass(frozen=True)
class Context:
    """What identifies a fit in the results table, besides the numbers."""

    study: str
    city: str
    outcome: str
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    spec: str = "default"


def t_row(ctx: Context, model: str, term: str, estimate: float, se: float, df: int, *, n_obs: int,
          n_wijken: int, n_clusters: int, inference: str, weights: str, covariates: str = "") -> dict[str, Any]:
    """A row with a t(df) confidence interval and two-sided p-value."""
    crit = stdtrit(df, 0.975) if df > 0 else np.nan
    p = 2 * stdtr(df, -abs(estimate / se)) if se > 0 and df > 0 else np.nan
    return dict(study=ctx.study, city=ctx.city, outcome=ctx.outcome, model=model, term=term,
                estimate=float(estimate), std_error=float(se), ci_low=float(estimate - crit * se),
                ci_high=float(estimate + crit * se), p_value=float(p), n_obs=int(n_obs), n_wijken=int(n_wijken),
                n_clusters=int(n_clusters), inference=inference, weights=weights, covariates=covariates,
                seed=int(ctx.seed), spec=ctx.spec, p_holm=np.nan, p_bh=np.nan)


def tidy_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows in contract order; rounding to 10 significant digits keeps CSV bytes stable across platforms."""
    df = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    if "spec" in df:
        df["spec"] = df["spec"].fillna("default")
    for c in ["estimate", "std_error", "ci_low", "ci_high", "p_value", "p_holm", "p_bh"]:
        df[c] = df[c].astype(float).map(lambda v: float(f"{v:.10g}") if np.isfinite(v) else v)
    return df
