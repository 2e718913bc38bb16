"""Weighted least squares with absorbed fixed effects and cluster-robust covariance, in numpy.

Absorption is by alternating projections (weighted group means via np.bincount), exact in one
pass for a single factor and iterated to `tol` for two or more. Small-sample conventions (`ssc`):

- "fixest" (default): G/(G-1) * (n-1)/(n-K), K = regressors + fixed effects not nested in the
  cluster, counted as R fixest's default `ssc(adj=TRUE, fixef.K="nested")` (and pyfixest's
  `ssc(k_fixef="nonnested")`): all levels of every effect, minus one per effect after the first,
  minus the levels of effects nested in the cluster plus one per such effect.
- "reghdfe": Stata reghdfe's: singletons dropped first (iteratively), then
  G/(G-1) * (n-1)/(n-K) with K = regressors + absorbed levels of the effects not nested in the
  cluster minus their redundant ones (one each, the first too when any effect is nested; the first
  pair's mobility groups exactly) + 1 when any effect is nested (reghdfe's `nested_adj`).
- "g_only": G/(G-1) alone (linearmodels' `group_debias=True`, `debiased=False`).

With effects nested in the clusters and a connected design (wijk effects clustered by wijk or
gemeente, plus wave effects) fixest and reghdfe count the same K = regressors + waves; they differ
where singletons exist. Every convention uses t(G-1) (see models.tidy.t_row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def codes(values: pd.Series | np.ndarray) -> np.ndarray:
    """Dense integer codes 0..k-1 for any labels (a Series is factorised in place: Arrow strings stay fast)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        if values.size and values.min() == 0 and (np.bincount(values) > 0).all():
            return values.astype(np.int64, copy=False)  # already dense codes
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


SSC = ("fixest", "reghdfe", "g_only")


@dataclass
class WLSFit:
    """Coefficients, cluster-robust covariance under a small-sample convention, and what inference needs."""

    params: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_clusters: int
    resid: np.ndarray
    ssc: str = "fixest"
    k: int = 0  # parameters counted in (n-1)/(n-K)
    keep: np.ndarray | None = None  # rows used (after missing values and, for reghdfe, singletons)

    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))  # a covariate absorbed by the effects has 0

    @property
    def df(self) -> int:
        """t degrees of freedom: G - 1."""
        return self.n_clusters - 1


def check_ssc(ssc: str) -> str:
    """The convention's name, or an error listing the valid ones."""
    from wijkeffect.errors import WijkeffectError

    if ssc not in SSC:
        raise WijkeffectError(f"ssc {ssc!r}: expected one of {list(SSC)}")
    return ssc


def cluster_vcov(xw: np.ndarray, resid: np.ndarray, w: np.ndarray, clusters: np.ndarray,
                 bread: np.ndarray) -> tuple[np.ndarray, int]:
    """Sandwich with G/(G-1): B (sum_g s_g s_g') B with scores s_g = sum_{i in g} w_i x_i e_i."""
    scores = xw * (w * resid)[:, None]
    g = int(clusters.max()) + 1
    s = np.column_stack([np.bincount(clusters, weights=scores[:, j], minlength=g) for j in range(xw.shape[1])])
    n_g = int((np.bincount(clusters, minlength=g) > 0).sum())
    meat = s.T @ s
    return n_g / (n_g - 1) * bread @ meat @ bread, n_g


def nested_in(f: np.ndarray, clusters: np.ndarray) -> bool:
    """Whether every level of factor f (dense codes) lies within a single cluster."""
    first = np.empty(int(f.max()) + 1, dtype=np.int64)
    first[f] = clusters  # any one cluster per level; nested iff every row agrees with it
    return bool((first[f] == clusters).all())


def drop_singletons(fac: list[np.ndarray]) -> np.ndarray:
    """Rows kept after removing, until none is left, rows alone in a level of any factor (reghdfe)."""
    keep = np.ones(fac[0].size if fac else 0, dtype=bool)
    while True:
        bad = np.zeros_like(keep)
        for f in fac:
            counts = np.bincount(f[keep], minlength=int(f.max()) + 1)
            bad |= keep & (counts[f] == 1)
        if not bad.any():
            return keep
        keep &= ~bad


def mobility_groups(a: np.ndarray, b: np.ndarray) -> int:
    """Connected components of the bipartite graph of two factors' levels (redundant effects of the pair)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    na, nb = int(a.max()) + 1, int(b.max()) + 1
    m = coo_matrix((np.ones(a.size), (a, b + na)), shape=(na + nb, na + nb))
    return int(connected_components(m, directed=False)[0])


def dof_k(k: int, fac: list[np.ndarray], clusters: np.ndarray, ssc: str) -> int:
    """K in (n-1)/(n-K): k regressors plus the fixed effects the convention counts (module docstring)."""
    if not fac or ssc == "g_only":
        return k
    sizes = [int(f.max()) + 1 for f in fac]  # dense codes
    nested = [nested_in(f, clusters) for f in fac]
    if ssc == "fixest":
        k_fe = sum(sizes) - (len(fac) - 1)
        return k + k_fe - sum(s for s, n in zip(sizes, nested) if n) + sum(nested)
    rest = [(f, s) for f, s, n in zip(fac, sizes, nested) if not n]
    redundant = [1] * len(rest)
    if rest and not any(nested):
        redundant[0] = 0
    if len(rest) >= 2:
        redundant[1] = mobility_groups(rest[0][0], rest[1][0])
    return k + sum(s for _, s in rest) - sum(redundant) + int(any(nested))


def gram_rank(gram: np.ndarray, tol: float = 1e-10) -> int:
    """Rank of X'WX scaled to unit diagonal (a column absorbed by the effects has ~0 and does not count)."""
    d = np.sqrt(np.clip(np.diag(gram), 0, None))
    live = d > tol * float(d.max(initial=0.0))
    if not live.any():
        return 0
    g = gram[np.ix_(live, live)] / np.outer(d[live], d[live])
    return int(np.linalg.matrix_rank(g, tol=tol, hermitian=True))


def wls_absorb(y: np.ndarray, x: np.ndarray, w: np.ndarray, factors: list, clusters,
               max_dummies: int = 200, ssc: str = "fixest") -> WLSFit:
    """WLS of y on x with the factors absorbed; cluster-robust covariance under the `ssc` convention.

    The factor with most levels is absorbed by exact one-pass demeaning; factors with few levels
    (waves: at most max_dummies together) enter as dummy columns partialled out with it, which is
    exact and needs no iteration; further large factors fall back to alternating projections.
    Without factors an intercept is added (not reported). Factors and clusters may be arrays or
    Series (integer codes are reused as they are).
    """
    check_ssc(ssc)
    fac = [codes(f) for f in factors]
    cl = codes(clusters)
    keep = np.isfinite(y) & np.isfinite(x).all(axis=1) & np.isfinite(w) & (w > 0)
    if ssc == "reghdfe" and fac:
        sub = drop_singletons([codes(f[keep]) for f in fac])
        keep[np.flatnonzero(keep)[~sub]] = False
    if not keep.all():
        y, x, w, cl = y[keep], x[keep], w[keep], codes(cl[keep])
        fac = [codes(f[keep]) for f in fac]
    k = x.shape[1]
    if not fac:
        x = np.column_stack([x, np.ones(len(y))])
        yx = np.column_stack([y, x])
        n_dummies = 0
    else:
        order = sorted(range(len(fac)), key=lambda i: -(int(fac[i].max()) + 1))
        big, small = [fac[order[0]]], []
        for i in order[1:]:
            levels = int(fac[i].max()) + 1
            if sum(int(f.max()) for f in small) + levels - 1 <= max_dummies:
                small.append(fac[i])
            else:
                big.append(fac[i])
        dummies = [(f == level).astype(float) for f in small for level in range(1, int(f.max()) + 1)]
        n_dummies = len(dummies)
        yx = demean(np.column_stack([y, x, *dummies]) if dummies else np.column_stack([y, x]), big, w)
    yt, xt = yx[:, 0], yx[:, 1:]
    xtw = xt * w[:, None]
    gram = xtw.T @ xt
    bread = np.linalg.pinv(gram)
    beta = bread @ (xtw.T @ yt)
    resid = yt - xt @ beta
    vcov, g = cluster_vcov(xt, resid, w, cl, bread)
    rank_x = gram_rank(gram) - (gram_rank(gram[k:, k:]) if n_dummies else 0)
    kk = dof_k(rank_x, fac, cl, ssc)
    n = len(y)
    if ssc != "g_only":
        vcov = vcov * (n - 1) / (n - kk)
    return WLSFit(beta[:k], vcov[:k, :k], n, g, resid, ssc, kk, keep)
