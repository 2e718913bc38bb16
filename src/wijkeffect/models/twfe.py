"""`twfe`: wijk x wave cells, wijk and wave effects (models.api.twfe with the pipeline's column names).

Weights: analytic (precision) weights = respondents per cell; each cell's outcome is the
survey-weighted cell mean, so survey weights act inside cells and n weights across cells.
Inference: cluster-robust by wijk (or gemeente) under the small-sample convention `ssc`
(models.fe): "fixest" (default; R fixest's and pyfixest's default CR1), "reghdfe" (Stata reghdfe's)
or "g_only" (G/(G-1) alone); CI and p-value from t(G-1).
"""

from __future__ import annotations

import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models import api
from wijkeffect.models.tidy import Context
from wijkeffect.roles import ROLES


def where(ctx: Context) -> str:
    """How errors name the fit."""
    return f"study {ctx.study}, city {ctx.city}, outcome {ctx.outcome}"


def cluster_column(cluster: str) -> str:
    """The cells'/respondents' column for a `cluster` option."""
    if cluster not in ("wijk", "gemeente"):
        raise WijkeffectError(f"cluster {cluster!r}: expected 'wijk' or 'gemeente'")
    return "wijk_code" if cluster == "wijk" else "gemeente_code"


def study_cells(cells: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """The outcome's treated and control cells."""
    return cells[(cells["outcome"] == ctx.outcome) & cells["role"].isin(ROLES)].reset_index(drop=True)


def twfe_cells(cells: pd.DataFrame, ctx: Context, cluster: str = "wijk", weights: str = "n", ssc: str = "fixest",
               few_clusters: int = 10) -> list[dict]:
    """Estimate the DiD coefficient on the share of the cell interviewed after the start.

    weights="n" (default): respondents per cell; "sum_w": the cell's sum of survey weights, which
    reproduces the respondent-level regression without covariates exactly.
    """
    d = study_cells(cells, ctx)
    if d.empty or d["D"].max() == 0:
        raise WijkeffectError(f"{where(ctx)}: no treated post-period cells; expected treated wijken observed after "
                              "their start")
    fit = api.twfe(d, "mean", "wave", "wijk_code", dname="D", clustervar=cluster_column(cluster), weightsname=weights,
                   ssc=ssc, few=few_clusters, where=where(ctx), cluster_label=cluster,
                   weights_label=f"cell_{weights} (survey-weighted cell means)")
    return fit.rows(ctx, "twfe")
