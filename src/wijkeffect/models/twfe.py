"""`twfe`: wijk x wave cells, linearmodels PanelOLS with wijk and wave effects.

Weights: analytic (precision) weights = respondents per cell; each cell's outcome is the
survey-weighted prevalence, so survey weights act inside cells and n weights across cells.
Inference: cluster-robust by wijk (or gemeente), CR1 = G/(G-1) (linearmodels group_debias); wijk
and wave effects are not counted in a degrees-of-freedom correction (count_effects=False, as
Stata's xtreg/reghdfe do for effects nested in clusters), and CI and p-value use t(G-1). Every
model in wijkeffect uses this one convention.
"""

from __future__ import annotations

import pandas as pd
from linearmodels.panel import PanelOLS

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.tidy import Context, t_row
from wijkeffect.panel import ROLES


#: PanelOLS options giving CR1 = G/(G-1) without counting absorbed effects (see module docstring)
CR1 = dict(group_debias=True, auto_df=False, count_effects=False)


def twfe_cells(cells: pd.DataFrame, ctx: Context, cluster: str = "wijk", weights: str = "n") -> list[dict]:
    """Estimate the DiD coefficient on the share of the cell interviewed after the start.

    weights="n" (default): respondents per cell; "sum_w": the cell's sum of survey weights, which
    reproduces the respondent-level regression without covariates exactly.
    """
    d = cells[(cells["outcome"] == ctx.outcome) & cells["role"].isin(ROLES)]
    if d.empty or d["D"].max() == 0:
        raise WijkeffectError(f"study {ctx.study}, city {ctx.city}, outcome {ctx.outcome}: no treated post-period "
                              "cells; expected treated wijken observed after their start")
    d = d.set_index(["wijk_code", "wave"]).sort_index()
    mod = PanelOLS(d["mean"], d[["D"]], entity_effects=True, time_effects=True, weights=d[weights])
    if cluster == "wijk":
        res = mod.fit(cov_type="clustered", cluster_entity=True, **CR1)
        g = d.index.get_level_values(0).nunique()
    else:
        clusters = pd.DataFrame({"c": pd.Categorical(d["gemeente_code"]).codes}, index=d.index)
        res = mod.fit(cov_type="clustered", clusters=clusters, **CR1)
        g = d["gemeente_code"].nunique()
    return [t_row(ctx, "twfe", "D", res.params["D"], res.std_errors["D"], g - 1, n_obs=int(res.nobs),
                  n_wijken=d.index.get_level_values(0).nunique(), n_clusters=g,
                  inference=f"cluster_{cluster}_cr1",
                  weights=f"cell_{weights} (survey-weighted cell means)")]
