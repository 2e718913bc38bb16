"""`event_study`: leads and lags around each wijk's start on wijk x wave cells, reference period -1.

Event time k counts waves (not years): k = 0 is a wijk's first wave after its start, k = -1 the
last wave before it (the reference). A joint Wald test of all leads (k <= -2) = 0, with the
cluster-robust covariance, gives the pre-trend p-value (F with q and G-1 degrees of freedom).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import fdtrc

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.fe import wls_absorb
from wijkeffect.models.tidy import Context, t_row
from wijkeffect.panel import ROLES


def event_time(cells: pd.DataFrame) -> pd.Series:
    """Waves since the first post-start wave, per treated cell; NaN for controls."""
    waves = np.sort(cells["wave"].unique())
    idx = pd.Series(np.arange(len(waves)), index=waves)
    first = cells[cells["D"] > 0].groupby("wijk_code")["wave"].min().map(idx)
    # plain floats: a nullable Int64 would turn comparisons for controls into NA, not False
    return (cells["wave"].map(idx) - cells["wijk_code"].map(first)).astype(float)


def event_study(cells: pd.DataFrame, ctx: Context, cluster: str = "wijk", pooled_post: bool = False) -> list[dict]:
    """Event-time coefficients and the joint pre-trend test; pooled_post=True pools all lags (= twfe)."""
    d = cells[(cells["outcome"] == ctx.outcome) & cells["role"].isin(ROLES)].reset_index(drop=True)
    k = event_time(d)
    if k.notna().sum() == 0:
        raise WijkeffectError(f"study {ctx.study}, city {ctx.city}, outcome {ctx.outcome}: no treated wijk is "
                              "observed after its start; expected at least one post-start wave")
    if pooled_post:
        names, cols = ["post"], [(k >= 0).to_numpy(float)]
    else:
        ks = sorted(int(v) for v in k.dropna().unique() if v != -1)
        names = [f"k={v}" for v in ks]
        cols = [(k == v).to_numpy(float) for v in ks]
    x = np.column_stack(cols)
    cl = d["wijk_code"] if cluster == "wijk" else d["gemeente_code"]
    fit = wls_absorb(d["mean"].to_numpy(float), x, d["n"].to_numpy(float),
                     [d["wijk_code"].to_numpy(), d["wave"].to_numpy()], cl.to_numpy())
    g, se = fit.n_clusters, fit.se()
    common = dict(n_obs=fit.n_obs, n_wijken=d["wijk_code"].nunique(), n_clusters=g,
                  inference=f"cluster_{cluster}_cr1", weights="cell_n (survey-weighted cell means)")
    rows = [t_row(ctx, "event_study", n, b, s, g - 1, **common) for n, b, s in zip(names, fit.params, se)]
    leads = [i for i, n in enumerate(names) if n.startswith("k=-")]
    if leads:
        b, v = fit.params[leads], fit.vcov[np.ix_(leads, leads)]
        f_stat = float(b @ np.linalg.pinv(v) @ b) / len(leads)
        p = float(fdtrc(len(leads), g - 1, f_stat))
        row = t_row(ctx, "event_study", "pretrend_wald", f_stat, np.nan, g - 1, **common)
        row.update(std_error=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=p,
                   inference=f"cluster_{cluster}_cr1 joint F({len(leads)},{g - 1}) of leads")
        rows.append(row)
    return rows
