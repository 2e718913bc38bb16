"""Shared model helpers (covariate design, weighted logit): below panel, controls and every estimator.

Kept free of wijkeffect.panel so the import graph stays acyclic (panel -> controls -> models.design).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.fe import codes

#: respondent covariates that are always categorical (dummies, first level the reference)
CATEGORICAL = ("sex", "education", "migration_background")


def is_categorical(s: pd.Series, name: str) -> bool:
    """Categorical when listed in CATEGORICAL or not numeric (strings, categories, booleans stay numeric)."""
    return name in CATEGORICAL or not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def covariate_matrix(data: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Covariate columns (dummies for categorical ones, numbers as they are), names, and a complete-row mask."""
    cols, names = [], []
    ok = np.ones(len(data), dtype=bool)
    for c in covariates:
        if c not in data:
            raise WijkeffectError(f"covariate {c!r}: no such column; expected one of "
                                  f"{sorted(map(str, data.columns))[:20]}")
        if is_categorical(data[c], c):
            cat = data[c].astype("category")
            ok &= cat.notna().to_numpy()
            for level in list(cat.cat.categories)[1:]:
                cols.append((cat == level).to_numpy(float))
                names.append(f"{c}[{level}]")
        else:
            v = pd.to_numeric(data[c], errors="coerce").astype(float).to_numpy()
            ok &= np.isfinite(v)
            cols.append(np.nan_to_num(v))
            names.append(c)
    x = np.column_stack(cols) if cols else np.empty((len(data), 0))
    return x, names, ok


def design(resp: pd.DataFrame, covariates: list[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Regressors [D (= post), covariate dummies / numbers]; rows with a missing covariate are flagged."""
    x, names, ok = covariate_matrix(resp, covariates)
    return np.column_stack([resp["post"].to_numpy(float), x]), ["D", *names], ok


def _xtvx(x: np.ndarray, v: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """X' diag(v) X in row blocks, so no n x k temporary is made for large n (one block up to `chunk` rows)."""
    out = np.zeros((x.shape[1], x.shape[1]))
    for i in range(0, len(v), chunk):
        xs = x[i:i + chunk]
        out += (xs * v[i:i + chunk, None]).T @ xs
    return out


def logit_fit(y: np.ndarray, x: np.ndarray, w: np.ndarray | None = None, clusters: np.ndarray | None = None,
              tol: float = 1e-10, maxiter: int = 100, ssc: str = "g_only") -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic regression by Newton-Raphson; covariance: inverse Hessian, or a cluster sandwich.

    Clustered: ssc "fixest" scales by G/(G-1) * (n-1)/(n-K) (R fixest's feglm default; statsmodels'
    cluster correction); "reghdfe" and "g_only" by G/(G-1), as Stata's logit, vce(cluster) does
    (Stata applies (n-1)/(n-K) to regress only).
    """
    w = np.ones(len(y)) if w is None else w
    beta = np.zeros(x.shape[1])
    for _ in range(maxiter):
        p = 1 / (1 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (y - p))
        hess = _xtvx(x, w * p * (1 - p))
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < tol:
            break
    else:
        raise WijkeffectError(f"logistic model did not converge in {maxiter} iterations (separation?)")
    p = 1 / (1 + np.exp(-(x @ beta)))
    bread = np.linalg.inv(_xtvx(x, w * p * (1 - p)))
    if clusters is None:
        return beta, bread
    cl = codes(clusters)
    g = int(cl.max()) + 1
    r = w * (y - p)
    s = np.column_stack([np.bincount(cl, weights=x[:, j] * r, minlength=g) for j in range(x.shape[1])])
    n, k = len(y), x.shape[1]
    factor = g / (g - 1) * ((n - 1) / (n - k) if ssc == "fixest" else 1.0)
    return beta, factor * bread @ (s.T @ s) @ bread
