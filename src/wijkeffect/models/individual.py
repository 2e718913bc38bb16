"""`twfe_individual`: respondent-level linear probability model, wijk and wave absorbed, covariates.

models.api.twfe on respondents. Weights: survey weights as sampling weights (pweights): they enter
the point estimate and the sandwich, never the degrees of freedom. Inference: cluster-robust by
wijk under `ssc` (models.fe; default "fixest" = R fixest's default CR1, "reghdfe" = Stata reghdfe's,
"g_only" = G/(G-1) alone), t(G-1). Without covariates this equals `twfe` on cells weighted by the
sum of survey weights.
"""

from __future__ import annotations

import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models import api
# re-exported: models.staggered and older callers import design from here
from wijkeffect.models.design import CATEGORICAL, design  # noqa: F401
from wijkeffect.models.tidy import Context
from wijkeffect.models.twfe import cluster_column, where
from wijkeffect.roles import ROLES


def twfe_individual(resp: pd.DataFrame, ctx: Context, covariates: list[str] | None = None,
                    cluster: str = "wijk", ssc: str = "fixest", few_clusters: int = 10) -> list[dict]:
    """LPM of the outcome on post x treated (D), wijk and wave absorbed, survey-weighted."""
    covariates = list(covariates or [])
    keep = ["role", "post", "wijk_code", "gemeente_code", "wave", "weight", ctx.outcome, *covariates]
    d = resp.loc[resp["role"].isin(ROLES).to_numpy() & resp[ctx.outcome].notna().to_numpy(), keep]
    if d.empty or d["post"].max() == 0:
        raise WijkeffectError(f"{where(ctx)}: no treated respondents after the start; expected treated wijken "
                              "observed after their start")
    d = d.assign(**{ctx.outcome: d[ctx.outcome].astype(float)})
    fit = api.twfe_individual(d, ctx.outcome, "wave", "wijk_code", dname="post", clustervar=cluster_column(cluster),
                              weightsname="weight", covariates=covariates, ssc=ssc, few=few_clusters,
                              where=where(ctx), cluster_label=cluster, weights_label="survey (sampling weights)")
    fit.terms, fit.estimate, fit.vcov = fit.terms[:1], fit.estimate[:1], fit.vcov[:1, :1]
    return fit.rows(ctx, "twfe_individual")
