"""`twfe`: wijk x wave cells, linearmodels PanelOLS with wijk and wave effects.

Weights: analytic (precision) weights = respondents per cell; each cell's outcome is the
survey-weighted prevalence, so survey weights act inside cells and n weights across cells.
Inference: cluster-robust by wijk (or gemeente), CR1 = G/(G-1) correction (linearmodels
group_debias), t(G-1) reference distribution for CI and p-value.
"""

from __future__ import annotations

import pandas as pd
from linearmodels.panel import PanelOLS

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.tidy import Context, t_row
from wijkeffect.panel import ROLES


def twfe_cells(cells: pd.DataFrame, ctx: Context, cluster: str = "wijk") -> list[dict]:
    """Estimate the DiD coefficient on the share of the cell interviewed after the start."""
    d = cells[(cells["outcome"] == ctx.outcome) & cells["role"].isin(ROLES)]
    if d.empty or d["D"].max() == 0:
        raise WijkeffectError(f"study {ctx.study}, city {ctx.city}, outcome {ctx.outcome}: no treated post-period "
                              "cells; expected treated wijken observed after their start")
    d = d.set_index(["wijk_code", "wave"]).sort_index()
    mod = PanelOLS(d["mean"], d[["D"]], entity_effects=True, time_effects=True, weights=d["n"])
    if cluster == "wijk":
        res = mod.fit(cov_type="clustered", cluster_entity=True, group_debias=True)
        g = d.index.get_level_values(0).nunique()
    else:
        clusters = pd.DataFrame({"c": pd.Categorical(d["gemeente_code"]).codes}, index=d.index)
        res = mod.fit(cov_type="clustered", clusters=clusters, group_debias=True)
        g = d["gemeente_code"].nunique()
    return [t_row(ctx, "twfe", "D", res.params["D"], res.std_errors["D"], g - 1, n_obs=int(res.nobs),
                  n_wijken=d.index.get_level_values(0).nunique(), n_clusters=g,
                  inference=f"cluster_{cluster}_cr1", weights="cell_n (survey-weighted cell means)")]
