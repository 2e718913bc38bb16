"""Callaway and Sant'Anna (2021) group-time ATTs on any long data frame, with R `did`'s names and options.

`att_gt(data, yname, tname, gname, ...)` mirrors R `did::att_gt`; `AttGT.aggte(type, ...)` mirrors
`did::aggte` (types simple, group, dynamic, calendar); `AttGT.pretest()` is `did`'s Wald pre-test (`Wpval`).
gname: the first treated period (a value of tname); 0, NaN or inf = never treated; a unit first treated
after the last period is no cohort but serves as a not-yet-treated control. Units treated in or before
the first period are dropped (as in `did`).

Per (g,t): the 2x2 comparison of cohort g with the controls between t and the base period b (varying:
b = t-1 before g and g-1 from g on; universal: always g-1). est_method (Sant'Anna and Zhao 2020):
"reg" (outcome regression), "ipw" (normalised inverse probability weighting) or "dr" (doubly robust;
`DRDID::drdid_panel` / `drdid_rc`, the locally efficient one for repeated cross-sections), for panels
(`panel=True`: a balanced panel of `idname` units, differences Y_t - Y_b, covariates from b) and for
repeated cross-sections (every row its own respondent). Propensity scores: weighted logit; controls with
p >= 0.995 get weight 0 (DRDID's trimming).

Inference, clustered by `clustervar` (default: each unit / row its own cluster):
- "analytic": influence functions (nuisance estimation included), summed within clusters;
  V = G/(G-1) sum_c psi_c psi_c' with a clustervar, sum_c psi_c psi_c' without (as `did`);
- "multiplier": `did`'s multiplier bootstrap (Mammen weights per cluster, IQR-based SE) on the same IFs;
- "jackknife": leave-one-cluster-out, every ATT(g,t) and aggregate recomputed;
- "bootstrap": weighted bootstrap over clusters (Exp(1) weights), everything recomputed.
Aggregation weights are the cohort shares P(G=g) (share of the weight: rows for repeated cross-sections,
units for panels), their estimation included in the analytic IF. Convention difference from `did`: the
share's IF is w_i(1{G_i=g} - p_g)/sum(w) (the ratio's IF), `did` uses (w_i 1{G_i=g} - p_g)/n; the two are
equal with equal weights, and ours makes cell-level and respondent-level fits agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import chdtrc

from wijkeffect.errors import WijkeffectError

METHODS = ("reg", "ipw", "dr")
SE_METHODS = ("analytic", "multiplier", "jackknife", "bootstrap")
TRIM = 0.995


# ----------------------------------------------------------------------------- nuisance fits
def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray, need_if: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Weighted least squares coefficients and their per-row influence (beta_hat - beta ~ sum of rows)."""
    xtw = x.T * w
    h_inv = np.linalg.pinv(xtw @ x)
    beta = h_inv @ (xtw @ y)
    if not need_if:
        return beta, None
    return beta, ((w * (y - x @ beta))[:, None] * x) @ h_inv.T


def _logit(x: np.ndarray, d: np.ndarray, w: np.ndarray, need_if: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Weighted logit by Newton's method and its per-row influence."""
    gamma = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ gamma)))
        step = np.linalg.pinv((x.T * (w * p * (1 - p))) @ x) @ (x.T @ (w * (d - p)))
        gamma = gamma + step
        if np.max(np.abs(step)) < 1e-10 * (1 + np.max(np.abs(gamma))):
            break
    p = 1 / (1 + np.exp(-(x @ gamma)))
    if not need_if:
        return gamma, None
    h_inv = np.linalg.pinv((x.T * (w * p * (1 - p))) @ x)
    return gamma, ((w * (d - p))[:, None] * x) @ h_inv.T


def _odds(x: np.ndarray, gamma: np.ndarray, d: np.ndarray) -> np.ndarray:
    """p/(1-p) of the propensity, 0 for controls trimmed at p >= 0.995 (DRDID)."""
    p = np.minimum(1 / (1 + np.exp(-(x @ gamma))), 1 - 1e-6)
    return np.where((d == 0) & (p >= TRIM), 0.0, p / (1 - p))


def _terms(method: str, panel: bool, y, d, t, x, w, nu: list[np.ndarray]) -> list[tuple]:
    """The estimator as a sum of c * sum(a) / sum(b) given the nuisance parameters nu.

    Each term is (c, a, b, ps, lin): ps = index in nu of the propensity coefficients when a and b carry
    the odds weights (d a / d gamma = a x), lin = {j: q} when a is linear in x @ nu[j] (d a / d nu[j] = q x).
    """
    c0 = 1 - d
    if panel:  # y = Y_t - Y_b
        wd = w * d
        if method == "reg":
            return [(1, wd * (y - x @ nu[0]), wd, None, {0: -wd})]
        if method == "ipw":
            o = w * c0 * _odds(x, nu[0], d)
            return [(1, wd * y, wd, None, {}), (-1, o * y, o, 0, {})]
        r = y - x @ nu[0]
        o = w * c0 * _odds(x, nu[1], d)
        return [(1, wd * r, wd, None, {0: -wd}), (-1, o * r, o, 1, {0: -o})]
    t0 = 1 - t
    w1, w10, w11 = w * d, w * d * t0, w * d * t
    if method == "reg":
        m = x @ nu[1] - x @ nu[0]
        return [(1, w11 * y, w11, None, {}), (-1, w10 * y, w10, None, {}), (-1, w1 * m, w1, None, {1: w1, 0: -w1})]
    if method == "ipw":
        o = w * c0 * _odds(x, nu[0], d)
        return [(1, w11 * y, w11, None, {}), (-1, w10 * y, w10, None, {}), (-1, o * t * y, o * t, 0, {}),
                (1, o * t0 * y, o * t0, 0, {})]
    mc_pre, mc_post, mt_pre, mt_post = (x @ b for b in nu[:4])
    o = w * c0 * _odds(x, nu[4], d)
    r = y - (t * mc_post + t0 * mc_pre)
    o1, o0 = o * t, o * t0
    return [(1, w11 * r, w11, None, {1: -w11}), (-1, w10 * r, w10, None, {0: -w10}),
            (-1, o1 * r, o1, 4, {1: -o1}), (1, o0 * r, o0, 4, {0: -o0}),
            (1, w1 * (mt_post - mc_post), w1, None, {3: w1, 1: -w1}),
            (-1, w11 * (mt_post - mc_post), w11, None, {3: w11, 1: -w11}),
            (-1, w1 * (mt_pre - mc_pre), w1, None, {2: w1, 0: -w1}),
            (1, w10 * (mt_pre - mc_pre), w10, None, {2: w10, 0: -w10})]


def _value(terms: list[tuple]) -> float:
    return float(sum(tm[0] * tm[1].sum() / tm[2].sum() for tm in terms))


def _gradient(terms: list[tuple], x: np.ndarray, nus: list[np.ndarray]) -> list[np.ndarray]:
    """d estimate / d nu[j] for each nuisance parameter vector, from the terms' structure."""
    grad = [np.zeros(len(v)) for v in nus]
    for c, a, b, ps, lin in terms:
        sb = b.sum()
        for j, q in lin.items():
            grad[j] += c * (x.T @ q) / sb
        if ps is not None:
            grad[ps] += c * (x.T @ (a - (a.sum() / sb) * b)) / sb
    return grad


def gt_fit(y: np.ndarray, d: np.ndarray, t: np.ndarray, x: np.ndarray, w: np.ndarray, method: str, panel: bool,
           need_if: bool = True) -> tuple[float, np.ndarray | None]:
    """One ATT(g,t) and its per-row influence function (att_hat - att ~ sum over rows)."""
    if x.shape[1] == 1:  # no covariates: every method is the difference of weighted mean changes
        if panel:
            terms = [(1, w * d * y, w * d, None, {}), (-1, w * (1 - d) * y, w * (1 - d), None, {})]
        else:
            terms = [(c, w * dd * tt * y, w * dd * tt, None, {}) for c, dd, tt in
                     ((1, d, t), (-1, d, 1 - t), (-1, 1 - d, t), (1, 1 - d, 1 - t))]
        nus, ifs = [], []
    else:
        ctrl, tr = d == 0, d == 1
        if panel:
            masks = {"reg": [ctrl], "ipw": [None], "dr": [ctrl, None]}[method]
        else:
            pre, post = t == 0, t == 1
            masks = {"reg": [ctrl & pre, ctrl & post], "ipw": [None],
                     "dr": [ctrl & pre, ctrl & post, tr & pre, tr & post, None]}[method]
        nus, ifs = [], []
        for m in masks:
            if m is None:
                b, inf = _logit(x, d, w, need_if)
            else:
                b, inf = _wls(x[m], y[m], w[m], need_if)
                if inf is not None:
                    full = np.zeros((len(y), x.shape[1]))
                    full[m] = inf
                    inf = full
            nus.append(b)
            ifs.append(inf)
        terms = _terms(method, panel, y, d, t, x, w, nus)
    att = _value(terms)
    if not need_if:
        return att, None
    psi = sum(tm[0] * (tm[1] - (tm[1].sum() / tm[2].sum()) * tm[2]) / tm[2].sum() for tm in terms)
    for g, inf in zip(_gradient(terms, x, nus), ifs):  # nuisance estimation: gradient x its influence
        psi = psi + inf @ g
    return att, psi


# ----------------------------------------------------------------------------- estimates with uncertainty
@dataclass
class Est:
    """A value with its linear perturbation: cluster IFs (analytic) or replicate values (resampling)."""

    v: float
    d: np.ndarray


def _wavg(items: list[Est], shares: list[Est] | None, replicates: bool) -> Est:
    """Average of estimates, equally or by (estimated) shares; replicate values are recombined exactly."""
    if shares is None:
        return Est(float(np.mean([e.v for e in items])), np.mean([e.d for e in items], axis=0))
    s = np.array([x.v for x in shares])
    v = float(s @ np.array([e.v for e in items]) / s.sum())
    if replicates:
        sd = np.array([x.d for x in shares])
        ed = np.array([e.d for e in items])
        return Est(v, (sd * ed).sum(axis=0) / sd.sum(axis=0))
    d = sum((si / s.sum()) * e.d + (e.v - v) * x.d / s.sum() for si, e, x in zip(s, items, shares))
    return Est(v, d)


@dataclass
class AttGT:
    """ATT(g,t) with their perturbations, the cohort shares, and how to turn them into standard errors."""

    gt: pd.DataFrame  # g, t, e, base, att, se, n
    ests: list[Est]
    shares: dict[float, Est]
    se_method: str
    n_clusters: int
    clustered: bool
    n_obs: int
    tlist: np.ndarray
    seed: int = 0
    reps: int = 999
    _mult: np.ndarray | None = field(default=None, repr=False)

    @property
    def replicates(self) -> bool:
        return self.se_method in ("jackknife", "bootstrap")

    def se(self, e: Est) -> float:
        """Standard error of an estimate under the chosen method."""
        d = e.d
        if self.se_method == "analytic":
            g = self.n_clusters
            return float(np.sqrt((g / (g - 1) if self.clustered and g > 1 else 1.0) * (d @ d)))
        if self.se_method == "multiplier":
            if self._mult is None:
                rng = np.random.default_rng(self.seed)
                k = (np.sqrt(5) + 1) / 2  # Mammen's two-point weights
                self._mult = np.where(rng.random((self.reps, self.n_clusters)) < k / np.sqrt(5),
                                      -(np.sqrt(5) - 1) / 2, k)
            b = self._mult @ d
            q75, q25 = np.quantile(b, [0.75, 0.25])
            return float((q75 - q25) / (2 * 0.6744897501960817))
        ok = np.isfinite(d)
        g = int(ok.sum())
        if g < 2:
            return np.nan
        if self.se_method == "jackknife":
            return float(np.sqrt((g - 1) / g * ((d[ok] - d[ok].mean()) ** 2).sum()))
        return float(np.std(d[ok], ddof=1))

    def cov(self, idx: list[int]) -> np.ndarray:
        """Covariance matrix of a set of ATT(g,t) (analytic for the multiplier bootstrap, as `did`)."""
        dm = np.array([self.ests[i].d for i in idx])
        if self.se_method in ("analytic", "multiplier"):
            g = self.n_clusters
            return (g / (g - 1) if self.clustered and g > 1 else 1.0) * dm @ dm.T
        ok = np.isfinite(dm).all(axis=0)
        dm = dm[:, ok]
        if self.se_method == "jackknife":
            g = dm.shape[1]
            c = dm - dm.mean(axis=1, keepdims=True)
            return (g - 1) / g * c @ c.T
        return np.cov(dm, ddof=1)

    def pretest(self) -> tuple[float, int, float]:
        """Wald statistic that all pre-period ATT(g,t) are zero, its degrees of freedom and chi2 p-value."""
        idx = list(np.flatnonzero((self.gt["t"] < self.gt["g"]).to_numpy()))
        if not idx:
            return np.nan, 0, np.nan
        att = self.gt["att"].to_numpy()[idx]
        v = self.cov(idx)
        rank = int(np.linalg.matrix_rank(v))
        if rank == 0:
            return np.nan, 0, np.nan
        w = float(att @ np.linalg.pinv(v) @ att)
        return w, rank, float(chdtrc(rank, w))

    def aggte(self, type: str = "simple", balance_e: int | None = None, min_e: float = -np.inf,
              max_e: float = np.inf) -> pd.DataFrame:
        """R did's aggte: rows (key, att, se) per group / event time / period, and the overall (key NaN)."""
        gt, rep = self.gt, self.replicates
        g, t, e = (gt[c].to_numpy() for c in ("g", "t", "e"))
        share = [self.shares[x] for x in g]
        ests = self.ests

        def avg(idx, by_share=True):
            return _wavg([ests[i] for i in idx], [share[i] for i in idx] if by_share else None, rep)

        out: list[tuple[float, Est]] = []
        if type == "simple":
            keep = np.flatnonzero((t >= g) & (e <= max_e))
            overall = avg(keep)
        elif type == "group":
            for gg in np.unique(g):
                idx = np.flatnonzero((g == gg) & (t >= g) & (e <= max_e))
                if idx.size:
                    out.append((gg, avg(idx, by_share=False)))
            overall = _wavg([x for _, x in out], [self.shares[k] for k, _ in out], rep)
        elif type == "dynamic":
            incl = np.ones(len(g), dtype=bool)
            eseq = np.unique(e)
            if balance_e is not None:
                incl = self.tlist[-1] - g >= balance_e
                eseq = np.unique(e[incl])
                eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - self.tlist[-1] + self.tlist[0])]
            eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
            for ee in eseq:
                out.append((ee, avg(np.flatnonzero((e == ee) & incl))))
            post = [x for k, x in out if k >= 0]
            overall = _wavg(post, None, rep) if post else Est(np.nan, np.full_like(ests[0].d, np.nan))
        elif type == "calendar":
            for tt in self.tlist[self.tlist >= g.min()]:
                idx = np.flatnonzero((t == tt) & (g <= t))
                if idx.size:
                    out.append((tt, avg(idx)))
            overall = _wavg([x for _, x in out], None, rep)
        else:
            raise WijkeffectError(f"aggte: type {type!r}; expected 'simple', 'group', 'dynamic' or 'calendar'")
        rows = [dict(key=k, att=x.v, se=self.se(x)) for k, x in out]
        rows.append(dict(key=np.nan, att=overall.v, se=self.se(overall)))
        res = pd.DataFrame(rows, columns=["key", "att", "se"])
        res.attrs["ests"] = [x for _, x in out] + [overall]
        return res


# ----------------------------------------------------------------------------- the did-style entry point
def _covariate_matrix(df: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Intercept, numeric covariates as they are, others as dummies (first level dropped)."""
    cols = [np.ones(len(df))]
    for c in covariates:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s):
            cat = s.astype("category")
            cols += [(cat == lv).to_numpy(float) for lv in list(cat.cat.categories)[1:]]
        else:
            cols.append(pd.to_numeric(s, errors="coerce").to_numpy(float))
    return np.column_stack(cols)


def att_gt(data: pd.DataFrame, yname: str, tname: str, gname: str, idname: str | None = None,
           clustervar: str | None = None, weightsname: str | None = None, covariates: list[str] | None = None,
           panel: bool = False, control_group: str = "never", base_period: str = "varying",
           est_method: str = "dr", se: str = "analytic", reps: int = 999, seed: int = 0,
           source: str = "data") -> AttGT:
    """Group-time average treatment effects (R did::att_gt) on a long frame; `source` names it in errors."""
    covariates = list(covariates or [])
    checks = {"control_group": (control_group, ("never", "not_yet")), "base_period": (base_period,
              ("varying", "universal")), "est_method": (est_method, METHODS), "se": (se, SE_METHODS)}
    for key, (val, allowed) in checks.items():
        if val not in allowed:
            raise WijkeffectError(f"att_gt: {key} {val!r}; expected one of {', '.join(allowed)}")
    need = [yname, tname, gname, *covariates] + [c for c in (idname, clustervar, weightsname) if c]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise WijkeffectError(f"{source}: column(s) {missing} missing; expected {need}")
    if panel and not idname:
        raise WijkeffectError(f"{source}: panel=True needs idname (the unit identifier)")
    df = data[list(dict.fromkeys(need))].copy()
    y = pd.to_numeric(df[yname], errors="coerce").to_numpy(float)
    x = _covariate_matrix(df, covariates)
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    df, y, x = df[ok].reset_index(drop=True), y[ok], x[ok]
    g = pd.to_numeric(df[gname], errors="coerce").to_numpy(float)
    g = np.where(~np.isfinite(g) | (g == 0), 0.0, g)
    tt = pd.to_numeric(df[tname], errors="coerce").to_numpy(float)
    tlist = np.unique(tt)
    if len(tlist) < 2:
        raise WijkeffectError(f"{source}: column {tname} has {len(tlist)} period(s); expected at least 2")
    bad = np.unique(g[(g > tlist[0]) & (g <= tlist[-1]) & ~np.isin(g, tlist)])
    if bad.size:
        raise WijkeffectError(f"{source}: column {gname} has first-treated periods {bad[:5].tolist()} that are no "
                              f"period of {tname}; expected values of {tname}, or 0 for never treated")
    keep = ~((g > 0) & (g <= tlist[0]))  # treated in or before the first period: no pre-period
    w = (pd.to_numeric(df[weightsname], errors="coerce").to_numpy(float) if weightsname
         else np.ones(len(df)))
    if not (np.isfinite(w) & (w >= 0)).all():
        raise WijkeffectError(f"{source}: column {weightsname} has negative or missing weights; expected >= 0")
    df, y, x, g, tt, w = df[keep].reset_index(drop=True), y[keep], x[keep], g[keep], tt[keep], w[keep]
    glist = np.unique(g[(g > 0) & (g <= tlist[-1])])
    if glist.size == 0:
        raise WijkeffectError(f"{source}: column {gname} has no cohort treated within the periods of {tname}")

    if panel:
        ids, uid = pd.factorize(df[idname])
        wide = np.full((len(uid), len(tlist)), np.nan)
        pos = np.searchsorted(tlist, tt)
        if pd.Series(ids * len(tlist) + pos).duplicated().any():
            raise WijkeffectError(f"{source}: several rows per {idname} x {tname}; expected one (panel=True)")
        wide[ids, pos] = y
        xw = np.full((len(uid), len(tlist), x.shape[1]), np.nan)
        xw[ids, pos] = x
        balanced = np.isfinite(wide).all(axis=1)
        first = pd.Series(np.arange(len(df))).groupby(ids).first().to_numpy()
        unit_g, unit_w = g[first][balanced], w[first][balanced]
        wide, xw = wide[balanced], xw[balanced]
        cl_raw = df[clustervar].to_numpy()[first][balanced] if clustervar else np.arange(balanced.sum())
        grp, w_all = unit_g, unit_w
    else:
        cl_raw = df[clustervar].to_numpy() if clustervar else np.arange(len(df))
        grp, w_all = g, w
    cl, _ = pd.factorize(pd.Series(cl_raw))
    n_cl = int(cl.max()) + 1

    replicates = se in ("jackknife", "bootstrap")
    xi = np.random.default_rng(seed).exponential(1.0, size=(reps, n_cl)) if se == "bootstrap" else None

    def rep(v: np.ndarray) -> np.ndarray:
        """Replicate totals of per-cluster sums v: all clusters but one (jackknife) or reweighted."""
        return v.sum() - v if se == "jackknife" else xi @ v

    # cohort shares P(G = g) and their perturbation
    wc = np.bincount(cl, weights=w_all, minlength=n_cl)
    shares = {}
    for gg in glist:
        wgc = np.bincount(cl, weights=w_all * (grp == gg), minlength=n_cl)
        s = wgc.sum() / wc.sum()
        shares[gg] = Est(s, rep(wgc) / rep(wc) if replicates else (wgc - s * wc) / wc.sum())

    rows, ests = [], []
    for gg in glist:
        jg = int(np.searchsorted(tlist, gg))
        for jt, tv in enumerate(tlist):
            if base_period == "varying":
                if jt < jg and jt == 0:
                    continue
                jb = jt - 1 if jt < jg else jg - 1
            else:
                jb = jg - 1
                if jt == jb:
                    continue
            bv = tlist[jb]
            never = grp == 0
            ctrl = never | ((grp > max(tv, bv)) & (grp != gg)) if control_group == "not_yet" else never
            treat = grp == gg
            if panel:
                sel = treat | ctrl
                yy = (wide[:, jt] - wide[:, jb])[sel]
                xx, ww, dd, cc = xw[sel, jb], unit_w[sel], treat[sel].astype(float), cl[sel]
                if not (dd.any() and (dd == 0).any()):
                    continue
                tvec = np.ones(len(yy))
            else:
                sel = (treat | ctrl) & ((tt == tv) | (tt == bv))
                yy, xx, ww, cc = y[sel], x[sel], w[sel], cl[sel]
                dd, tvec = treat[sel].astype(float), (tt[sel] == tv).astype(float)
                cells = [(dd == a) & (tvec == b) for a in (0, 1) for b in (0, 1)]
                if not all((ww[c] > 0).any() for c in cells):
                    continue
            att, psi = gt_fit(yy, dd, tvec, xx, ww, est_method, panel, need_if=not replicates)
            if replicates:
                if x.shape[1] == 1:  # no covariates: the four (two) weighted means per replicate, vectorised
                    terms = ([(1, ww * dd * yy, ww * dd), (-1, ww * (1 - dd) * yy, ww * (1 - dd))] if panel else
                             [(c, ww * a * b * yy, ww * a * b) for c, a, b in
                              ((1, dd, tvec), (-1, dd, 1 - tvec), (-1, 1 - dd, tvec), (1, 1 - dd, 1 - tvec))])
                    with np.errstate(invalid="ignore", divide="ignore"):
                        d = sum(c * rep(np.bincount(cc, a, n_cl)) / rep(np.bincount(cc, b, n_cl))
                                for c, a, b in terms)
                else:
                    n_rep = n_cl if se == "jackknife" else reps
                    d = np.empty(n_rep)
                    for r in range(n_rep):
                        wr = ww * (cc != r) if se == "jackknife" else ww * xi[r, cc]
                        try:
                            with np.errstate(invalid="ignore", divide="ignore"):
                                d[r] = gt_fit(yy, dd, tvec, xx, wr, est_method, panel, need_if=False)[0]
                        except (np.linalg.LinAlgError, ZeroDivisionError, FloatingPointError):
                            d[r] = np.nan
            else:
                d = np.bincount(cc, weights=psi, minlength=n_cl)
            est = Est(att, d)
            ests.append(est)
            rows.append(dict(g=gg, t=tv, e=tv - gg, base=bv, att=att, n=int(sel.sum())))
    if not rows:
        raise WijkeffectError(f"{source}: no ATT(g,t) could be estimated (no controls or no treated in the periods)")
    res = AttGT(pd.DataFrame(rows), ests, shares, se, n_cl, clustervar is not None,
                int(len(grp)), tlist, seed, reps)
    res.gt["se"] = [res.se(e) for e in ests]
    return res
