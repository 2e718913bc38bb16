"""`twfe_individual`: respondent-level linear probability model, wijk and wave absorbed, covariates.

Weights: survey weights as sampling weights (pweights): they enter the point estimate and the
sandwich, never the degrees of freedom. Inference: CR1 by wijk (G/(G-1)), t(G-1).
Without covariates this equals `twfe` on cells weighted by the sum of survey weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.fe import codes, wls_absorb
from wijkeffect.models.tidy import Context, t_row
from wijkeffect.panel import ROLES

CATEGORICAL = ("sex", "education", "migration_background")


def design(resp: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Regressors [D, covariate dummies / numbers]; rows with a missing covariate are flagged."""
    cols, names = [resp["post"].to_numpy(float)], ["D"]
    ok = np.ones(len(resp), dtype=bool)
    for c in covariates:
        if c in CATEGORICAL:
            cat = resp[c].astype("category")
            ok &= cat.notna().to_numpy()
            for level in list(cat.cat.categories)[1:]:
                cols.append((cat == level).to_numpy(float))
                names.append(f"{c}[{level}]")
        else:
            v = pd.to_numeric(resp[c], errors="coerce").astype(float).to_numpy()
            ok &= np.isfinite(v)
            cols.append(np.nan_to_num(v))
            names.append(c)
    return np.column_stack(cols), names, ok


def twfe_individual(resp: pd.DataFrame, ctx: Context, covariates: list[str] | None = None,
                    cluster: str = "wijk") -> list[dict]:
    """LPM of the outcome on post x treated (D), wijk and wave absorbed, survey-weighted."""
    covariates = list(covariates or [])
    keep = ["role", "post", "wijk_code", "gemeente_code", "wave", "weight", ctx.outcome, *covariates]
    d = resp.loc[resp["role"].isin(ROLES).to_numpy() & resp[ctx.outcome].notna().to_numpy(), keep]
    if d.empty or d["post"].max() == 0:
        raise WijkeffectError(f"study {ctx.study}, city {ctx.city}, outcome {ctx.outcome}: no treated respondents "
                              "after the start; expected treated wijken observed after their start")
    x, names, ok = design(d, covariates)
    if not ok.all():
        d, x = d[ok], x[ok]
    wijk = codes(d["wijk_code"])
    cl = wijk if cluster == "wijk" else codes(d["gemeente_code"])
    fit = wls_absorb(d[ctx.outcome].to_numpy(float), x, d["weight"].to_numpy(float), [wijk, d["wave"].to_numpy()],
                     cl)
    return [t_row(ctx, "twfe_individual", "D", fit.params[0], fit.se()[0], fit.n_clusters - 1, n_obs=fit.n_obs,
                  n_wijken=d["wijk_code"].nunique(), n_clusters=fit.n_clusters, inference=f"cluster_{cluster}_cr1",
                  weights="survey (sampling weights)", covariates="+".join(covariates))]
