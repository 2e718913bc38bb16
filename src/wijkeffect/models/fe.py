"""Weighted least squares with absorbed fixed effects and cluster-robust covariance, in numpy.

Absorption is by alternating projections (weighted group means via np.bincount), exact in one
pass for a single factor and iterated to `tol` for two or more. The small-sample correction is
CR1 = G/(G-1), the same as linearmodels' `group_debias=True` with `debiased=False`; inference
uses t(G-1) (see models.tidy.t_row). Absorbed effects nested within clusters cost no degrees
of freedom, as in reghdfe.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dense integer codes 0..k-1 for any labels (a Series is factorised in place: Arrow strings stay fast)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        uniq, inv = np.unique(values, return_inverse=True)
        return inv.astype(np.int64)
    return pd.factorize(values if isinstance(values, pd.Series) else np.asarray(values), sort=True)[0]


def demean(m: np.ndarray, factors: list[np.ndarray], w: np.ndarray, tol: float = 1e-10,
           maxiter: int = 1000) -> np.ndarray:
    """Residualise the columns of m on the factors' dummies (weighted), by alternating projections."""
    out = np.array(m, dtype=float, order="F", copy=True)
    if out.ndim == 1:
        out = out[:, None]
    sums_w = [np.bincount(f, weights=w) for f in factors]
    for _ in range(maxiter if len(factors) > 1 else 1):
        delta = 0.0
        for f, sw in zip(factors, sums_w):
            for j in range(out.shape[1]):
                means = np.bincount(f, weights=w * out[:, j], minlength=sw.size) / np.where(sw > 0, sw, 1)
                step = means[f]
                out[:, j] -= step
                delta = max(delta, float(np.abs(step).max(initial=0.0)))
        if delta < tol:
            break
    return out


@dataclass
class WLSFit:
    """Coefficients, CR1 covariance, and what inference needs."""

    params: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_clusters: int
    resid: np.ndarray

    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))  # a covariate absorbed by the effects has 0


def cluster_vcov(xw: np.ndarray, resid: np.ndarray, w: np.ndarray, clusters: np.ndarray,
                 bread: np.ndarray) -> tuple[np.ndarray, int]:
    """CR1 sandwich: G/(G-1) * B (sum_g s_g s_g') B with scores s_g = sum_{i in g} w_i x_i e_i."""
    scores = xw * (w * resid)[:, None]
    g = int(clusters.max()) + 1
    s = np.column_stack([np.bincount(clusters, weights=scores[:, j], minlength=g) for j in range(xw.shape[1])])
    n_g = int(np.unique(clusters).size)
    meat = s.T @ s
    return n_g / (n_g - 1) * bread @ meat @ bread, n_g


def wls_absorb(y: np.ndarray, x: np.ndarray, w: np.ndarray, factors: list, clusters,
               max_dummies: int = 200) -> WLSFit:
    """WLS of y on x with the factors absorbed; CR1 cluster-robust covariance.

    The factor with most levels is absorbed by exact one-pass demeaning; factors with few levels
    (waves: at most max_dummies together) enter as dummy columns partialled out with it, which is
    exact and needs no iteration; further large factors fall back to alternating projections.
    Factors and clusters may be arrays or Series (integer codes are reused as they are).
    """
    fac = [codes(f) for f in factors]
    cl = codes(clusters)
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1) & np.isfinite(w) & (w > 0)
    if not ok.all():
        y, x, w, cl = y[ok], x[ok], w[ok], codes(cl[ok])
        fac = [codes(f[ok]) for f in fac]
    order = sorted(range(len(fac)), key=lambda i: -(int(fac[i].max()) + 1))
    big, small = [fac[order[0]]], []
    for i in order[1:]:
        levels = int(fac[i].max()) + 1
        if sum(int(f.max()) for f in small) + levels - 1 <= max_dummies:
            small.append(fac[i])
        else:
            big.append(fac[i])
    dummies = [(f == level).astype(float) for f in small for level in range(1, int(f.max()) + 1)]
    k = x.shape[1]
    yx = demean(np.column_stack([y, x, *dummies]) if dummies else np.column_stack([y, x]), big, w)
    yt, xt = yx[:, 0], yx[:, 1:]
    xtw = xt * w[:, None]
    bread = np.linalg.pinv(xtw.T @ xt)
    beta = bread @ (xtw.T @ yt)
    resid = yt - xt @ beta
    vcov, g = cluster_vcov(xt, resid, w, cl, bread)
    return WLSFit(beta[:k], vcov[:k, :k], int(ok.sum()), g, resid)
