"""`event_study`: leads and lags around each wijk's start, reference period -1 (models.api.event_study).

Event time k counts waves (not years): k = 0 is a wijk's first wave after its start, k = -1 the
last wave before it (the reference). A joint Wald test of all leads (k <= -2) = 0, with the
cluster-robust covariance, gives the pre-trend p-value (F with q and G-1 degrees of freedom).
Without covariates it runs on wijk x wave cells (cell-n weights); with covariates on respondents
(survey weights as sampling weights), each respondent carrying the wijk's event time.
`method: sunab`: Sun and Abraham's (2021) interaction-weighted estimator for staggered starts
(cohort = first post-start wave, never-treated controls), plus the overall `att`.
"""

from __future__ import annotations

import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models import api
from wijkeffect.models.tidy import Context
from wijkeffect.models.twfe import cluster_column, study_cells, where
from wijkeffect.roles import ROLES


def cohorts(cells: pd.DataFrame) -> pd.Series:
    """First post-start wave per treated wijk (its cohort)."""
    return cells[cells["D"] > 0].groupby("wijk_code")["wave"].min()


def event_time(cells: pd.DataFrame) -> pd.Series:
    """Waves since the first post-start wave, per treated cell; NaN for controls."""
    return api.event_time(cells.assign(g=cells["wijk_code"].map(cohorts(cells))), "wave", "g")


def event_study(cells: pd.DataFrame, ctx: Context, resp: pd.DataFrame | None = None, cluster: str = "wijk",
                pooled_post: bool = False, covariates: list[str] | None = None, method: str = "dummies",
                ssc: str = "fixest", few_clusters: int = 10) -> list[dict]:
    """Event-time coefficients and the joint pre-trend test; pooled_post=True pools all lags (= twfe)."""
    covariates = list(covariates or [])
    d = study_cells(cells, ctx)
    g = d["wijk_code"].map(cohorts(d))
    if g.isna().all():
        raise WijkeffectError(f"{where(ctx)}: no treated wijk is observed after its start; expected at least one "
                              "post-start wave")
    common = dict(clustervar=cluster_column(cluster), ssc=ssc, method=method, pooled_post=pooled_post,
                  few=few_clusters, where=where(ctx), cluster_label=cluster)
    if covariates:
        if resp is None:
            raise WijkeffectError(f"{where(ctx)}: event_study with covariates needs respondents; expected resp=")
        r = resp.loc[resp["role"].isin(ROLES).to_numpy() & resp[ctx.outcome].notna().to_numpy()]
        r = r.assign(g=r["wijk_code"].map(cohorts(d)), **{ctx.outcome: r[ctx.outcome].astype(float)})
        fit = api.event_study(r, ctx.outcome, "wave", "wijk_code", "g", weightsname="weight", covariates=covariates,
                              weights_label="survey (sampling weights)", **common)
    else:
        fit = api.event_study(d.assign(g=g), "mean", "wave", "wijk_code", "g", weightsname="n",
                              weights_label="cell_n (survey-weighted cell means)", **common)
    if method == "sunab":
        fit.weights += "; Sun-Abraham interaction-weighted, never-treated controls"
    return fit.rows(ctx, "event_study")
