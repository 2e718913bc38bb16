"""`naive`: post-period treated-vs-control difference, the comparison a DiD exists to avoid.

Reported beside `twfe` so readers see how much the level difference between deprived treated
wijken and their controls would bias a cross-sectional comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS

from wijkeffect.models.tidy import Context, t_row
from wijkeffect.panel import ROLES


def naive_post_difference(cells: pd.DataFrame, ctx: Context, cluster: str = "wijk") -> list[dict]:
    """Weighted mean of treated post-start cells minus control cells of the same waves, clustered by wijk."""
    d = cells[(cells["outcome"] == ctx.outcome) & cells["role"].isin(ROLES)]
    post_waves = d.loc[(d["role"] == "treated") & (d["D"] > 0), "wave"].unique()
    d = d[d["wave"].isin(post_waves) & ((d["role"] == "control") | (d["D"] > 0))].reset_index(drop=True)
    x = pd.DataFrame({"const": 1.0, "treated": (d["role"] == "treated").astype(float)})
    res = IV2SLS(d["mean"], x, None, None, weights=d["n"]).fit(
        cov_type="clustered", clusters=pd.Series(pd.Categorical(d["wijk_code"]).codes, name="c"), debiased=False)
    g = d["wijk_code"].nunique()
    se = float(res.std_errors["treated"]) * np.sqrt(g / (g - 1))
    return [t_row(ctx, "naive", "treated", res.params["treated"], se, g - 1, n_obs=len(d), n_wijken=g,
                  n_clusters=g, inference=f"cluster_{cluster}_cr1", weights="cell_n (survey-weighted cell means)")]
