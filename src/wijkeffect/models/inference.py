"""Inference beyond CR1: wild cluster restricted bootstrap, randomisation inference, multiple testing.

Both resampling methods work on the main coefficient after the wijk and wave effects are
partialled out (Frisch-Waugh-Lovell, weighted). The bootstrap treats the partialled-out
residuals as fixed: exact for effects nested within the clusters (wijk), an approximation for
the few wave effects. Every draw comes from numpy's Generator seeded from config.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.fe import codes, demean

WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


@dataclass
class Partialled:
    """y and x with the effects partialled out, per-cluster sums, and the original t statistic."""

    y: np.ndarray
    x: np.ndarray
    w: np.ndarray
    clusters: np.ndarray
    n_clusters: int

    def sums(self, beta0: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-cluster a_g = sum w x (y - beta0 x) and c_g = sum w x^2."""
        a = np.bincount(self.clusters, weights=self.w * self.x * (self.y - beta0 * self.x), minlength=self.n_clusters)
        c = np.bincount(self.clusters, weights=self.w * self.x * self.x, minlength=self.n_clusters)
        return a, c

    def beta(self) -> float:
        return float((self.w * self.x * self.y).sum() / (self.w * self.x * self.x).sum())

    def t_stat(self, beta0: float) -> float:
        b = self.beta()
        a, c = self.sums(b)
        g = self.n_clusters
        se = np.sqrt(g / (g - 1) * (a**2).sum()) / c.sum()
        return (b - beta0) / se


def partial_out(y: np.ndarray, x: np.ndarray, w: np.ndarray, factors: list[np.ndarray],
                clusters: np.ndarray) -> Partialled:
    """Weighted FWL: residualise y and x on the factors."""
    m = demean(np.column_stack([y, x]), [codes(f) for f in factors], w)
    cl = codes(clusters)
    return Partialled(m[:, 0], m[:, 1], w, cl, int(cl.max()) + 1)


def partial_out_cells(cells: pd.DataFrame) -> Partialled:
    """twfe's cell regression (mean on D, cell-n weights, wijk and wave effects, wijk clusters), partialled."""
    return partial_out(cells["mean"].to_numpy(float), cells["D"].to_numpy(float), cells["n"].to_numpy(float),
                       [cells["wijk_code"].to_numpy(), cells["wave"].to_numpy()], cells["wijk_code"].to_numpy())


def draw_weights(rng: np.random.Generator, reps: int, g: int, kind: str) -> np.ndarray:
    """reps x G multiplier weights: Rademacher (+-1) or Webb's six-point distribution."""
    if kind == "rademacher":
        return rng.choice(np.array([-1.0, 1.0]), size=(reps, g))
    if kind == "webb":
        return rng.choice(WEBB, size=(reps, g))
    raise ValueError(f"bootstrap weights {kind!r}: expected 'rademacher' or 'webb'")


def _boot_p(p: Partialled, v: np.ndarray, beta0: float, chunk: int = 2000) -> float:
    """Wild cluster restricted bootstrap p-value of H0: beta = beta0 (symmetric, bootstrap-t)."""
    t0 = abs(p.t_stat(beta0))
    a, c = p.sums(beta0)
    sxx, g = c.sum(), p.n_clusters
    exceed = 0
    for s in range(0, v.shape[0], chunk):
        vb = v[s:s + chunk]
        d = vb @ a / sxx  # beta* - beta0
        scores = vb * a[None, :] - d[:, None] * c[None, :]
        se = np.sqrt(g / (g - 1) * (scores**2).sum(axis=1)) / sxx
        exceed += int((np.abs(d / se) >= t0 - 1e-12).sum())
    return exceed / v.shape[0]


class _BootSums:
    """The bootstrap test at any beta0 from seven products of the draws, computed once.

    The restricted scores are linear in beta0: a_g(beta0) = A_g - beta0 c_g. So beta* - beta0 and the
    bootstrap standard error of every draw follow from v @ A, v @ c, v @ (A c), v @ c^2 and v^2 @ (A^2,
    A c, c^2), and each step of the CI's bisection costs O(reps) instead of O(reps x G).
    """

    def __init__(self, p: Partialled, v: np.ndarray):
        a, c = p.sums(0.0)
        v2 = v * v
        self.p, self.c2 = p, float((c * c).sum())
        self.vA, self.vc, self.vAc, self.vcc = v @ a, v @ c, v @ (a * c), v @ (c * c)
        self.v2AA, self.v2Ac, self.v2cc = v2 @ (a * a), v2 @ (a * c), v2 @ (c * c)
        self.sxx = float(c.sum())

    def pvalue(self, beta0: float) -> float:
        g = self.p.n_clusters
        t0 = abs(self.p.t_stat(beta0))
        d = (self.vA - beta0 * self.vc) / self.sxx  # beta* - beta0 per draw
        sva2 = self.v2AA - 2 * beta0 * self.v2Ac + beta0 * beta0 * self.v2cc  # sum_g v^2 a^2
        svac = self.vAc - beta0 * self.vcc  # sum_g v a c
        ss = np.maximum(sva2 - 2 * d * svac + d * d * self.c2, 0.0)  # sum_g (v a - d c)^2
        se = np.sqrt(g / (g - 1) * ss) / self.sxx
        return float((np.abs(d / se) >= t0 - 1e-12).mean())


def wild_cluster_bootstrap(p: Partialled, reps: int = 9999, kind: str = "rademacher", seed: int = 0,
                           level: float = 0.95) -> tuple[float, float, float]:
    """(p-value of beta = 0, CI low, CI high); the CI inverts the bootstrap test by bisection."""
    rng = np.random.default_rng(seed)
    v = draw_weights(rng, reps, p.n_clusters, kind)
    sums = _BootSums(p, v)
    pval = sums.pvalue(0.0)
    b = p.beta()
    a, c = p.sums(b)
    se = np.sqrt(p.n_clusters / (p.n_clusters - 1) * (a**2).sum()) / c.sum()
    alpha = 1 - level

    def bound(direction: int) -> float:
        inside, outside = b, b + direction * 2 * se
        while sums.pvalue(outside) > alpha and abs(outside - b) < 50 * se:
            outside = b + 2 * (outside - b)
        for _ in range(40):  # bisection to ~1e-12 of the bracket
            mid = (inside + outside) / 2
            if sums.pvalue(mid) > alpha:
                inside = mid
            else:
                outside = mid
            if abs(outside - inside) < 1e-6 * se:
                break
        return (inside + outside) / 2

    return pval, bound(-1), bound(+1)


def _twoway_grid(d: pd.DataFrame, cols: list[str], wcol: str) -> tuple[np.ndarray, list[np.ndarray], pd.Index]:
    """Cells as a wijk x wave grid: weights W (0 where a cell is absent) and each column in cols."""
    units = pd.Index(pd.unique(d["wijk_code"])).sort_values()
    waves = np.sort(pd.unique(d["wave"]))
    u = units.get_indexer(d["wijk_code"])
    t = np.searchsorted(waves, d["wave"].to_numpy())
    shape = (units.size, waves.size)
    w = np.zeros(shape)
    np.add.at(w, (u, t), d[wcol].to_numpy(float))
    grids = []
    for c in cols:
        g = np.zeros(shape)
        g[u, t] = d[c].to_numpy(float)
        grids.append(g)
    return w, grids, units


class _TwoWay:
    """Exact weighted wijk + wave residualisation on a grid: within-wijk demeaning, then the wave
    dummies (themselves within-demeaned) partialled out by least squares (Frisch-Waugh-Lovell)."""

    def __init__(self, w: np.ndarray):
        self.w = w
        self.sw = w.sum(axis=1)
        self.sw[self.sw == 0] = 1.0
        n_t = w.shape[1]
        # Z[:, :, s]: the within-wijk demeaned dummy of wave s (s >= 1; wave 0 is the reference)
        self.z = np.eye(n_t)[None, :, 1:] - (w / self.sw[:, None])[:, 1:][:, None, :]
        self.ginv = np.linalg.pinv(np.einsum("ut,uts,utr->sr", w, self.z, self.z))

    def residual(self, g: np.ndarray) -> np.ndarray:
        q = g - ((self.w * g).sum(axis=1) / self.sw)[:, None]
        gamma = self.ginv @ np.einsum("ut,uts,ut->s", self.w, self.z, q)
        return q - self.z @ gamma


def _ri_draws(d: pd.DataFrame, ycol: str, wcol: str, reps: int, seed: int, strata: str | None
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """(b, b*_y, b*_D): the estimate, and per draw the reassigned-path coefficient on y and on the actual D.

    Both are linear in the outcome, so the draws under any sharp null y - tau0 D follow as
    b*_y - tau0 b*_D without refitting. With strata (a column constant within wijk, e.g.
    gemeente_code), paths are permuted only among wijken of the same stratum.

    A draw gives wijk u the path of wijk perm[u]. Since the wijk and wave effects are linear
    projections, every draw's coefficient is a sum over wijken of per-(wijk, distinct path) terms,
    computed once, exactly (no iteration): x*'W x* after the wave effects = sum_u E[u, k] - f' G^-1 f
    with f = sum_u F[u, k, :], and x*'W y~ = sum_u C[u, k], for k the path wijk u receives.
    """
    rng = np.random.default_rng(seed)
    w, (y, dd), units = _twoway_grid(d, [ycol, "D"], wcol)
    waves = np.sort(pd.unique(d["wave"]))
    paths = d.pivot(index="wijk_code", columns="wave", values="D").reindex(index=units, columns=waves)
    groups = None
    if strata is not None:
        if strata not in d:
            raise WijkeffectError(f"randomisation inference: strata column {strata!r} not in the cells; expected one "
                                  f"of {sorted(d.columns)}")
        per_wijk = d.groupby("wijk_code")[strata].nunique()
        if (per_wijk > 1).any():
            raise WijkeffectError(f"randomisation inference: strata column {strata!r} varies within wijk "
                                  f"{per_wijk[per_wijk > 1].index[0]}; expected one stratum per wijk")
        lab = d.groupby("wijk_code")[strata].first().reindex(units)
        groups = [np.flatnonzero((lab == g).to_numpy()) for g in pd.unique(lab)]
    dm = np.nan_to_num(paths.to_numpy(float))
    distinct, kind = np.unique(dm, axis=0, return_inverse=True)  # K distinct paths; wijk j has path kind[j]
    kind = kind.reshape(-1)
    tw = _TwoWay(w)
    wy, wd = w * tw.residual(y), w * tw.residual(dd)
    a = w @ distinct.T  # (n_u, K): sum_t W[u,t] P_k[t]
    e = (w @ (distinct * distinct).T) - a * a / tw.sw[:, None]  # within-wijk x'Wx of wijk u under path k
    c_y, c_d = wy @ distinct.T, wd @ distinct.T  # x'W y~, x'W D~ (y~, D~ are orthogonal to wijk dummies)
    # F[u, k, s] = Z_s' W (within-demeaned path k on wijk u) = W[u,s] (P_k[s] - a[u,k] / sw[u])
    f = w[:, None, 1:] * (distinct[None, :, 1:] - (a / tw.sw[:, None])[:, :, None])
    rows = np.arange(units.size)

    def coefs(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """k: (draws, n_u) the path each wijk receives per draw."""
        fs = f[rows, k].sum(axis=1)  # (draws, S)
        sxx = e[rows, k].sum(axis=1) - np.einsum("rs,sq,rq->r", fs, tw.ginv, fs)
        scale = np.maximum(e[rows, k].sum(axis=1), 1e-300)
        bad = sxx <= 1e-12 * scale
        sxx = np.where(bad, np.nan, sxx)
        return c_y[rows, k].sum(axis=1) / sxx, c_d[rows, k].sum(axis=1) / sxx

    b0 = float(coefs(kind[None, :])[0][0])
    perms = np.empty((reps, units.size), dtype=np.int64)
    for r in range(reps):
        if groups is None:
            perms[r] = rng.permutation(units.size)
        else:
            perm = np.arange(units.size)
            for g in groups:
                perm[g] = g[rng.permutation(g.size)]
            perms[r] = perm
    by, bd = np.empty(reps), np.empty(reps)
    for start in range(0, reps, 256):  # blocks bound the (draws, n_u, S) gather
        sl = slice(start, start + 256)
        by[sl], bd[sl] = coefs(kind[perms[sl]])
    return b0, by, bd


def randomization_inference(d: pd.DataFrame, ycol: str, wcol: str, reps: int = 999, seed: int = 0,
                            strata: str | None = None) -> tuple[float, float]:
    """(estimate, p-value): treatment time paths reassigned at random among the sample's wijken.

    d holds wijk x wave cells with columns wijk_code, wave, D, ycol and wcol. Each draw permutes
    which wijk carries which D path (within strata, if given); the p-value is
    (1 + #|b*| >= |b|) / (1 + reps).
    """
    b0, by, _ = _ri_draws(d, ycol, wcol, reps, seed, strata)
    if not np.isfinite(b0):
        return b0, float("nan")
    by = by[np.isfinite(by)]  # a draw whose reassigned paths the wijk and wave effects absorb has no estimate
    exceed = int((np.abs(by) >= abs(b0) - 1e-12).sum())
    return b0, (1 + exceed) / (1 + by.size)


#: below this many treated clusters, cluster-robust t inference over-rejects (MacKinnon and Webb 2017):
#: rows say so and the wild cluster bootstrap is the inference to report
FEW_TREATED_CLUSTERS = 10


def few_clusters(n_treated_clusters: int, threshold: int = FEW_TREATED_CLUSTERS) -> str:
    """Suffix for a row's `inference` when treated clusters are few (";few_treated_clusters=3"), else ""."""
    return f";few_treated_clusters={int(n_treated_clusters)}" if n_treated_clusters < threshold else ""


def reported_rows(rows: pd.DataFrame) -> pd.Series:
    """Which tidy rows a table reports (a boolean mask): per (study, city, outcome, model, term, spec) the
    model's own first row, or, when a row of the group says few_treated_clusters and the group has a
    wild cluster bootstrap row, that bootstrap row."""
    by = [rows[k] for k in ["study", "city", "outcome", "model", "term", "spec"]]
    few = rows["inference"].str.contains("few_treated_clusters=", regex=False)
    boot = rows["inference"].str.startswith("wild_cluster")
    use_boot = few.groupby(by).transform("any") & boot.groupby(by).transform("any")
    first = rows.groupby(by).cumcount() == 0
    return (first & ~use_boot) | (boot & use_boot & (boot.astype(int).groupby(by).cumsum() == 1))


def randomization_ci(d: pd.DataFrame, ycol: str, wcol: str, reps: int = 999, seed: int = 0,
                     strata: str | None = None, level: float = 0.95) -> tuple[float, float, float, float]:
    """(estimate, p-value of 0, CI low, CI high): the CI inverts the RI test of sharp nulls tau_i = tau0.

    Under H0: tau0 the adjusted outcome y - tau0 D has no effect; its estimate is b - tau0 and a
    reassigned path's is b*_y - tau0 b*_D (Imbens & Rubin 2015, ch. 5). The CI is every tau0 with
    p(tau0) > 1 - level, found by bisection outwards from b (the accepted set is an interval
    in the usual case; the bisection finds its ends).
    """
    b0, by, bd = _ri_draws(d, ycol, wcol, reps, seed, strata)
    ok = np.isfinite(by)
    by, bd = by[ok], bd[ok]
    alpha = 1 - level

    def pval(tau0: float) -> float:
        return (1 + int((np.abs(by - tau0 * bd) >= abs(b0 - tau0) - 1e-12).sum())) / (1 + by.size)

    scale = float(np.std(by)) or abs(b0) or 1.0

    def bound(direction: int) -> float:
        inside, outside = b0, b0 + direction * scale
        steps = 0
        while pval(outside) > alpha and steps < 60:
            inside, outside = outside, b0 + 2 * (outside - b0)
            steps += 1
        if steps == 60:
            return direction * np.inf
        for _ in range(60):
            mid = (inside + outside) / 2
            inside, outside = (mid, outside) if pval(mid) > alpha else (inside, mid)
            if abs(outside - inside) < 1e-7 * scale:
                break
        return (inside + outside) / 2

    return b0, pval(0.0), bound(-1), bound(+1)


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error)."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    m = p.size
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order]).clip(max=1)
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate)."""
    p = np.asarray(p, float)
    m = p.size
    order = np.argsort(p)[::-1]
    adj = np.minimum.accumulate(p[order] * m / (m - np.arange(m))).clip(max=1)
    out = np.empty(m)
    out[order] = adj
    return out
