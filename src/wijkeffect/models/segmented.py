"""`segmented`: URBAN40's respondent-level logistic model with linear trends before and after the start.

    logit P(y) = a + g T + b1 t + b2 (t - t0)+ + c1 T t + c2 T (t - t0)+   [+ covariates]

t counts half-years since the first half-year observed, t0 is the group's start (half-years),
T marks the group's treated wijken. Per start group, against the control wijken:
slope before = b1 (control), b1 + c1 (treated); slope after = slope before + slope change;
slope change = b2 (control), b2 + c2 (treated); difference in slope change = c2. The trend is
continuous at the start (no level jump), as in URBAN40. Reported on the log-odds scale and as
odds ratios. Survey weights are sampling weights in a pseudo-likelihood. Inference: cluster sandwich
by wijk, `ssc` "fixest" (default; G/(G-1) * (n-1)/(n-K), R fixest's feglm) or "reghdfe"/"g_only"
(G/(G-1), as Stata's logit, vce(cluster)), t(G-1); or `method="gee"`: statsmodels GEE with an exchangeable working
correlation within wijk (robust covariance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.fe import check_ssc, codes
from wijkeffect.models.design import covariate_matrix, logit_fit  # noqa: F401  (logit_fit re-exported)
from wijkeffect.models.api import check_clusters, cluster_counts
from wijkeffect.models.inference import few_clusters as few
from wijkeffect.models.tidy import Context, t_row
from wijkeffect.models.twfe import cluster_column, where

TERMS = {  # name -> contrast over [a, g, b1, b2, c1, c2]
    "slope_before_control": [0, 0, 1, 0, 0, 0],
    "slope_before_treated": [0, 0, 1, 0, 1, 0],
    "slope_change_control": [0, 0, 0, 1, 0, 0],
    "slope_change_treated": [0, 0, 0, 1, 0, 1],
    "slope_after_control": [0, 0, 1, 1, 0, 0],
    "slope_after_treated": [0, 0, 1, 1, 1, 1],
    "diff_slope_change": [0, 0, 0, 0, 0, 1],
}


def half_year(dates: pd.Series) -> np.ndarray:
    """Half-year index (year * 2 + second half) of each date."""
    d = pd.to_datetime(dates)
    return (d.dt.year * 2 + (d.dt.month > 6)).to_numpy(float)


def _rows(ctx: Context, beta: np.ndarray, vcov: np.ndarray, group: str, g: int, common: dict) -> list[dict]:
    rows = []
    for name, c in TERMS.items():
        c = np.r_[c, np.zeros(len(beta) - 6)]
        est, se = float(c @ beta), float(np.sqrt(c @ vcov @ c))
        row = t_row(ctx, "segmented", f"{name}[{group}]", est, se, g - 1, **common)
        rows.append(row)
        orow = dict(row, term=f"{name}_or[{group}]", estimate=float(np.exp(est)), std_error=float(np.exp(est) * se),
                    ci_low=float(np.exp(row["ci_low"])), ci_high=float(np.exp(row["ci_high"])))
        rows.append(orow)
    return rows


def segmented(resp: pd.DataFrame, ctx: Context, covariates: list[str] | None = None, method: str = "logit",
              cluster: str = "wijk", ssc: str = "fixest", few_clusters: int = 10) -> list[dict]:
    """Per start group: slopes before/after, slope changes and their difference (log-odds and OR)."""
    covariates = list(covariates or [])
    # only the rows and columns the fits use: a national ALL job's respondent frame has ~30 columns
    cols = list(dict.fromkeys([ctx.outcome, "interview_date", "role", "group", "start", "weight", "wijk_code",
                               "gemeente_code", *covariates]))
    keep = resp[ctx.outcome].notna().to_numpy() & resp["interview_date"].notna().to_numpy() \
        & resp["role"].isin(["treated", "control"]).to_numpy()
    base = resp.loc[keep, cols]
    controls = base[base["role"] == "control"]
    rows: list[dict] = []
    starts = base.loc[base["role"] == "treated"].groupby("group", observed=True)["start"].min()
    if starts.empty:
        raise WijkeffectError(f"study {ctx.study}, city {ctx.city}: no treated wijken for the segmented model")
    for group, start in starts.items():
        d = pd.concat([base[(base["role"] == "treated") & (base["group"] == group)], controls])
        t = half_year(d["interview_date"])
        t0 = half_year(pd.Series([start]))[0] - t.min()
        t = t - t.min()
        after = np.maximum(t - t0, 0)
        treated = (d["role"] == "treated").to_numpy(float)
        cov_x, _, ok = covariate_matrix(d, covariates)
        x = np.column_stack([np.ones(len(d)), treated, t, after, treated * t, treated * after, cov_x])
        del cov_x
        if not ok.all():
            d, x = d[ok], x[ok]
        y = d[ctx.outcome].to_numpy(float)
        w = d["weight"].to_numpy(float)
        w = w / w.mean()
        cl = codes(d["wijk_code"] if cluster == "wijk" else d["gemeente_code"])  # no Python str per row
        nt, nc = cluster_counts(treated[ok] > 0, cl)
        check_clusters(nt, nc, cluster_column(cluster), f"{where(ctx)}, group {group}")
        if method == "gee":
            import statsmodels.api as sm

            order = np.argsort(codes(cl), kind="stable")
            mod = sm.GEE(y[order], x[order], groups=codes(cl)[order], family=sm.families.Binomial(),
                         cov_struct=sm.cov_struct.Exchangeable(), weights=w[order])
            res = mod.fit()
            beta, vcov = np.asarray(res.params), np.asarray(res.cov_robust)
            inference = f"gee_exchangeable_{cluster}_robust"
        elif method == "logit":
            beta, vcov = logit_fit(y, x, w, cl, ssc=check_ssc(ssc))
            inference = f"cluster_{cluster}_cr1_{ssc}"
        else:
            raise WijkeffectError(f"segmented: method {method!r}; expected 'logit' or 'gee'")
        inference += few(nt, few_clusters)
        g = int(cl.max()) + 1
        common = dict(n_obs=len(d), n_wijken=d["wijk_code"].nunique(), n_clusters=g, inference=inference,
                      weights="survey (sampling weights, pseudo-likelihood)", covariates="+".join(covariates))
        rows += _rows(ctx, beta, vcov, str(group), g, common)
    return rows
