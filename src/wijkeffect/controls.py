"""Control pools matched on pre-period outcomes and covariates, with a balance table.

Each treated wijk gets its k nearest control wijken (with replacement) within the candidate pool
(`within: same_city` or `all`): by Mahalanobis distance on wijk-level pre-period features, or by
the distance between logit propensity scores. Features are survey-weighted wijk means before the
earliest start: the outcomes' prevalences and covariate shares (age, low education, non-western
or migrant background, female).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError

FEATURES = {
    "age": lambda r: pd.to_numeric(r["age"], errors="coerce"),
    "low_education": lambda r: (r["education"] == "low").astype(float).where(r["education"].notna()),
    "migration": lambda r: r["migration_background"].isin(["non_western", "migrant"]).astype(float)
    .where(r["migration_background"].notna()),
    "female": lambda r: (r["sex"] == "female").astype(float).where(r["sex"].notna()),
}


def wijk_features(resp: pd.DataFrame, outcomes: list[str], before: pd.Timestamp) -> pd.DataFrame:
    """Survey-weighted pre-period means per wijk of the outcomes and covariate shares."""
    pre = resp[resp["interview_date"] < before]
    cols = {o: pre[o].astype(float) for o in outcomes}
    cols.update({k: f(pre) for k, f in FEATURES.items()})
    out = {}
    w = pre["weight"].astype(float)
    for name, v in cols.items():
        ok = v.notna()
        num = (v[ok] * w[ok]).groupby(pre.loc[ok, "wijk_code"]).sum()
        den = w[ok].groupby(pre.loc[ok, "wijk_code"]).sum()
        out[name] = num / den
    return pd.DataFrame(out).astype(float)  # plain floats for numpy (the schema uses nullable dtypes)


def smd(treated: pd.DataFrame, control: pd.DataFrame) -> pd.Series:
    """Standardised mean differences (pooled SD) per feature."""
    sd = np.sqrt((treated.var() + control.var()) / 2)
    return (treated.mean() - control.mean()) / sd.replace(0, np.nan)


def match_controls(features: pd.DataFrame, treated: list[str], candidates: dict[str, list[str]], k: int = 2,
                   method: str = "nearest") -> list[str]:
    """Matched control wijken: k nearest per treated wijk among its candidates (with replacement)."""
    f = features.dropna()
    missing = [w for w in treated if w not in f.index]
    if missing:
        raise WijkeffectError(f"matching: treated wijken without pre-period data: {missing[:5]}; expected "
                              "respondents before the start in every treated wijk")
    if method == "nearest":
        z = (f - f.mean()) / f.std(ddof=0).replace(0, 1)
        cov = np.cov(z.to_numpy().T) + 1e-9 * np.eye(z.shape[1])
        inv = np.linalg.inv(cov)
        points = z
    elif method == "propensity":
        from wijkeffect.models.design import logit_fit

        x = np.column_stack([np.ones(len(f)), ((f - f.mean()) / f.std(ddof=0).replace(0, 1)).to_numpy()])
        y = f.index.isin(treated).astype(float)
        beta, _ = logit_fit(y, x + 0.0)
        points = pd.DataFrame({"score": x @ beta}, index=f.index)
        inv = np.eye(1)
    else:
        raise WijkeffectError(f"matching: method {method!r}; expected 'nearest' or 'propensity'")
    chosen: list[str] = []
    for w in treated:
        pool = [c for c in candidates[w] if c in points.index]
        if not pool:
            raise WijkeffectError(f"matching: no candidate controls with pre-period data for {w}")
        diff = points.loc[pool].to_numpy() - points.loc[w].to_numpy()
        dist = np.einsum("ij,jk,ik->i", diff, inv, diff)
        chosen.extend(np.asarray(pool)[np.argsort(dist, kind="stable")[:k]])
    return sorted(set(chosen))


def balance_table(features: pd.DataFrame, treated: list[str], pool: list[str], matched: list[str]) -> pd.DataFrame:
    """Means and SMDs of every feature: treated, all candidate controls, matched controls."""
    f = features
    t, p, m = f.loc[f.index.intersection(treated)], f.loc[f.index.intersection(pool)], f.loc[
        f.index.intersection(matched)]
    return pd.DataFrame({"mean_treated": t.mean(), "mean_all_controls": p.mean(), "mean_matched": m.mean(),
                         "smd_before": smd(t, p), "smd_after": smd(t, m),
                         "n_treated": len(t), "n_all_controls": len(p), "n_matched": len(m)}).rename_axis("feature")
