"""`synth`: synthetic control per treated wijk and synthetic difference-in-differences, on wijk x wave cells.

Synthetic control (Abadie, Diamond & Hainmueller 2010), outcome-only: donor weights on the
simplex minimising the squared pre-start gap between the treated wijk's cell means and the
weighted donors' (an exact non-negative least squares with the sum-to-one constraint as a heavily
weighted extra row, then polished by SLSQP). Inference is in-space placebo: every donor in turn
plays the treated wijk against the other donors; the p-value is the rank of the treated wijk's
post/pre RMSPE ratio among all (ADH 2010, section 4).

Synthetic DiD (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021, AER): unit weights with an
intercept and ridge penalty zeta_omega = (N_tr T_post)^(1/4) sd(first differences of donors' pre
outcomes), time weights with zeta_lambda = 1e-6 of that, both by the Frank-Wolfe scheme of R
`synthdid` (100 iterations, weights below a quarter of the largest set to zero, then to
convergence); the placebo standard error is their Algorithm 4 (donors drawn as pseudo-treated).

The donor pool is the control wijken in the cells given (the stage passes one city's, or all);
donors missing a wave are dropped, since both methods need a balanced panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize, nnls
from scipy.special import ndtri

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.tidy import Context, t_row


# ---------------------------------------------------------------- synthetic control

def simplex_weights(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """argmin ||x1 - x0 w||^2 over w >= 0, sum w = 1 (x0: periods x donors)."""
    scale = max(float(np.abs(x0).max()), 1e-12) * 1e3
    a = np.vstack([x0, np.full((1, x0.shape[1]), scale)])
    w, _ = nnls(a, np.r_[x1, scale], maxiter=50 * x0.shape[1])
    w = w / w.sum() if w.sum() > 0 else np.full(x0.shape[1], 1 / x0.shape[1])
    res = minimize(lambda v: float(((x1 - x0 @ v) ** 2).sum()), w, jac=lambda v: -2 * x0.T @ (x1 - x0 @ v),
                   bounds=[(0, 1)] * w.size, constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
                   method="SLSQP", options={"ftol": 1e-15, "maxiter": 500})
    v = np.clip(res.x, 0, None)
    return v / v.sum()


@dataclass
class SCFit:
    """One treated unit's synthetic control: weights, paths, gaps and the placebo distribution."""

    unit: str
    donors: list[str]
    weights: np.ndarray
    waves: list
    n_pre: int
    treated: np.ndarray
    synthetic: np.ndarray
    placebo_gaps: np.ndarray  # donors x waves
    effect: float  # mean post-start gap
    ratio: float  # post / pre RMSPE
    placebo_ratios: np.ndarray
    p_value: float

    @property
    def gap(self) -> np.ndarray:
        return self.treated - self.synthetic


def _rmspe_ratio(gap: np.ndarray, n_pre: int) -> float:
    pre = np.sqrt(np.mean(gap[:n_pre] ** 2))
    post = np.sqrt(np.mean(gap[n_pre:] ** 2))
    return float(post / max(pre, 1e-12))


def synthetic_control(y1: np.ndarray, y0: np.ndarray, n_pre: int, unit: str = "treated",
                      donors: list[str] | None = None, waves: list | None = None, placebo: bool = True) -> SCFit:
    """Synthetic control of y1 (waves) from y0 (waves x donors), the first n_pre waves before the start."""
    w = simplex_weights(y0[:n_pre], y1[:n_pre])
    synth = y0 @ w
    gap = y1 - synth
    ratio = _rmspe_ratio(gap, n_pre)
    gaps, ratios = [], []
    if placebo and y0.shape[1] > 2:
        for j in range(y0.shape[1]):
            others = np.delete(y0, j, axis=1)
            wj = simplex_weights(others[:n_pre], y0[:n_pre, j])
            gj = y0[:, j] - others @ wj
            gaps.append(gj)
            ratios.append(_rmspe_ratio(gj, n_pre))
    ratios_a = np.array(ratios)
    p = (1 + int((ratios_a >= ratio - 1e-12).sum())) / (1 + ratios_a.size) if ratios else np.nan
    return SCFit(unit, donors or [f"d{j}" for j in range(y0.shape[1])], w, waves or list(range(y1.size)), n_pre,
                 y1, synth, np.array(gaps).reshape(len(gaps), y1.size), float(gap[n_pre:].mean()), ratio, ratios_a, p)


# ---------------------------------------------------------------- synthetic DiD

def fw_weights_batch(y: np.ndarray, zeta: np.ndarray, start: np.ndarray | None = None,
                     min_decrease: np.ndarray | float = 1e-3, max_iter: int = 1000, intercept: bool = True
                     ) -> np.ndarray:
    """synthdid's sc.weight.fw for a batch of problems (y: batch x N x (k+1)); rows of the result sum to 1.

    Each problem is min zeta^2 ||x||^2 + ||A x - b||^2 / N over the simplex, by Frank-Wolfe with
    exact line search until the objective falls by less than min_decrease^2, as in R synthdid; the
    Gram matrices are formed once, so an iteration costs O(k) per problem, and a problem that has
    converged stops moving while the others go on.
    """
    bsz, n, k1 = y.shape
    k = k1 - 1
    zeta = np.broadcast_to(np.asarray(zeta, float), (bsz,))
    md2 = np.broadcast_to(np.asarray(min_decrease, float), (bsz,)) ** 2
    x = np.full((bsz, k), 1 / k) if start is None else np.array(start, float, copy=True)
    if intercept:
        y = y - y.mean(axis=1, keepdims=True)
    a, b = y[:, :, :k], y[:, :, k]
    eta = n * zeta**2
    gram = np.einsum("bni,bnj->bij", a, a)
    ab = np.einsum("bni,bn->bi", a, b)
    bb = np.einsum("bn,bn->b", b, b)
    gx = np.einsum("bij,bj->bi", gram, x)
    rows = np.arange(bsz)
    active = np.ones(bsz)
    prev = np.full(bsz, np.inf)
    z2 = zeta**2
    for t in range(max_iter):
        half_grad = gx - ab + eta[:, None] * x
        i = np.argmin(half_grad, axis=1)
        gxi = gx[rows, i]
        xgx = np.einsum("bi,bi->b", x, gx)
        xx = np.einsum("bi,bi->b", x, x)
        # dx = e_i - x: half_grad.dx = hg_i - hg.x ; dx.dx = 1 - 2 x_i + x.x
        hg_dx = half_grad[rows, i] - np.einsum("bi,bi->b", half_grad, x)
        dxdx = 1 - 2 * x[rows, i] + xx
        denom = gram[rows, i, i] - 2 * gxi + xgx + eta * dxdx
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(denom > 0, -hg_dx / denom, 0.0)
        step = np.clip(step, 0.0, 1.0) * active
        x *= (1 - step)[:, None]
        x[rows, i] += step
        gx += step[:, None] * (gram[rows, :, i] - gx)
        val = z2 * np.einsum("bi,bi->b", x, x) + (np.einsum("bi,bi->b", x, gx) - 2 * np.einsum("bi,bi->b", ab, x)
                                                  + bb) / n
        if t >= 1:
            active = np.where(prev - val <= md2, 0.0, active)
            if not active.any():
                break
        prev = np.where(active > 0, val, prev)
    return x


def fw_weights(y: np.ndarray, zeta: float, start: np.ndarray | None = None, min_decrease: float = 1e-3,
               max_iter: int = 1000, intercept: bool = True) -> np.ndarray:
    """One problem of fw_weights_batch (y: N x (k+1)), with 1-d arrays (less overhead per iteration)."""
    n, k = y.shape[0], y.shape[1] - 1
    x = np.full(k, 1 / k) if start is None else np.array(start, float, copy=True)
    if intercept:
        y = y - y.mean(axis=0)
    a, b = y[:, :k], y[:, k]
    eta, z2, md2 = n * zeta**2, zeta**2, min_decrease**2
    gram, ab, bb = a.T @ a, a.T @ b, float(b @ b)
    diag = np.diag(gram).copy()
    gx = gram @ x
    prev = np.inf
    for t in range(max_iter):
        half_grad = gx - ab + eta * x
        i = int(half_grad.argmin())
        xx, xgx = float(x @ x), float(x @ gx)
        denom = diag[i] - 2 * gx[i] + xgx + eta * (1 - 2 * x[i] + xx)
        if denom > 0:
            step = min(1.0, max(0.0, -(half_grad[i] - float(half_grad @ x)) / denom))
            x *= 1 - step
            x[i] += step
            gx *= 1 - step
            gx += step * gram[:, i]
        val = z2 * float(x @ x) + (float(x @ gx) - 2 * float(ab @ x) + bb) / n
        if t >= 1 and prev - val <= md2:
            break
        prev = val
    return x


def _sparsify(v: np.ndarray) -> np.ndarray:
    """synthdid's sparsify: weights at most a quarter of the largest set to 0, rows renormalised."""
    v = np.where(v <= v.max(axis=-1, keepdims=True) / 4, 0.0, v)
    return v / v.sum(axis=-1, keepdims=True)


def sdid_weights_batch(y: np.ndarray, n0: int, t0: int) -> tuple[np.ndarray, np.ndarray]:
    """(omega: batch x n0, lambda: batch x t0) for y: batch x units x waves, donors first (R synthdid defaults)."""
    bsz, n, t = y.shape
    n1, t1 = n - n0, t - t0
    d = np.diff(y[:, :n0, :t0], axis=2).reshape(bsz, -1)
    noise = d.std(axis=1, ddof=1) if d.shape[1] > 1 else np.zeros(bsz)
    zeta_omega, zeta_lambda = (n1 * t1) ** 0.25 * noise, 1e-6 * noise
    min_dec = np.where(noise > 0, 1e-5 * noise, 1e-8)
    # time weights: rows = donors; columns = pre waves, then the donors' post-wave mean
    yl = np.concatenate([y[:, :n0, :t0], y[:, :n0, t0:].mean(axis=2, keepdims=True)], axis=2)
    lam = fw_weights_batch(yl, zeta_lambda, None, min_dec, 100)
    lam = fw_weights_batch(yl, zeta_lambda, _sparsify(lam), min_dec, 10000)
    # unit weights: rows = pre waves; columns = donors, then the treated units' mean
    yo = np.concatenate([np.swapaxes(y[:, :n0, :t0], 1, 2), y[:, n0:, :t0].mean(axis=1)[:, :, None]], axis=2)
    om = fw_weights_batch(yo, zeta_omega, None, min_dec, 100)
    om = fw_weights_batch(yo, zeta_omega, _sparsify(om), min_dec, 10000)
    return om, lam


def _sdid_tau(y: np.ndarray, om: np.ndarray, lam: np.ndarray, n0: int, t0: int) -> np.ndarray:
    n1, t1 = y.shape[1] - n0, y.shape[2] - t0
    row = np.concatenate([-om, np.full((om.shape[0], n1), 1 / n1)], axis=1)
    col = np.concatenate([-lam, np.full((lam.shape[0], t1), 1 / t1)], axis=1)
    return np.einsum("bi,bij,bj->b", row, y, col)


def sdid_weights(y: np.ndarray, n0: int, t0: int) -> tuple[np.ndarray, np.ndarray]:
    """sdid_weights_batch for one panel (units x waves), by the 1-d Frank-Wolfe loop."""
    n1, t1 = y.shape[0] - n0, y.shape[1] - t0
    noise = float(np.std(np.diff(y[:n0, :t0], axis=1), ddof=1)) if t0 > 1 else 0.0
    zeta_omega, zeta_lambda = (n1 * t1) ** 0.25 * noise, 1e-6 * noise
    min_dec = 1e-5 * noise if noise > 0 else 1e-8
    yl = np.column_stack([y[:n0, :t0], y[:n0, t0:].mean(axis=1)])
    lam = fw_weights(yl, zeta_lambda, min_decrease=min_dec, max_iter=100)
    lam = fw_weights(yl, zeta_lambda, start=_sparsify(lam), min_decrease=min_dec, max_iter=10000)
    yo = np.column_stack([y[:n0, :t0].T, y[n0:, :t0].mean(axis=0)])
    om = fw_weights(yo, zeta_omega, min_decrease=min_dec, max_iter=100)
    om = fw_weights(yo, zeta_omega, start=_sparsify(om), min_decrease=min_dec, max_iter=10000)
    return om, lam


def sdid_estimate(y: np.ndarray, n0: int, t0: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(tau, omega, lambda): (treated - omega'donors) x (post mean - lambda'pre), y: units x waves."""
    om, lam = sdid_weights(y, n0, t0)
    return float(_sdid_tau(y[None], om[None], lam[None], n0, t0)[0]), om, lam


def sdid_placebo_se(y: np.ndarray, n0: int, t0: int, reps: int = 200, seed: int = 0) -> float:
    """Arkhangelsky et al. (2021) Algorithm 4: sd of estimates with N_tr donors drawn as pseudo-treated."""
    n1 = y.shape[0] - n0
    if n0 <= n1:
        return np.nan
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(n0) for _ in range(reps)])
    order = np.concatenate([perms[:, n1:], perms[:, :n1]], axis=1)
    yb = y[:n0][order]  # reps x n0 x waves: the last n1 rows play the treated
    om, lam = sdid_weights_batch(yb, n0 - n1, t0)
    est = _sdid_tau(yb, om, lam, n0 - n1, t0)
    return float(np.sqrt((reps - 1) / reps) * np.std(est, ddof=1))


# ---------------------------------------------------------------- cells

def panel_matrix(cells: pd.DataFrame, outcome: str, treated: list[str]) -> tuple[pd.DataFrame, list[str], int]:
    """(units x waves matrix of cell means, donors first then treated; donor codes; number of pre waves)."""
    c = cells[cells["outcome"] == outcome]
    wide = c.pivot_table(index="wijk_code", columns="wave", values="mean")
    missing = [w for w in treated if w not in wide.index or wide.loc[w].isna().any()]
    if missing:
        raise WijkeffectError(f"synth, outcome {outcome}: treated wijken {missing} are not observed in every wave "
                              f"{list(wide.columns)}; expected a balanced series")
    donors = sorted(w for w in c.loc[c["role"] == "control", "wijk_code"].unique() if not wide.loc[w].isna().any())
    if len(donors) < 2:
        raise WijkeffectError(f"synth, outcome {outcome}: {len(donors)} control wijken observed in every wave; "
                              "expected at least 2 donors")
    starts = c[c["wijk_code"].isin(treated) & (c["D"] > 0)].groupby("wijk_code")["wave"].min()
    if starts.nunique() != 1 or len(starts) != len(treated):
        raise WijkeffectError(f"synth, outcome {outcome}: treated wijken {treated} start in waves "
                              f"{starts.to_dict()}; expected one common first post-start wave")
    waves = list(wide.columns)
    t0 = waves.index(starts.iloc[0])
    if t0 < 2:
        raise WijkeffectError(f"synth, outcome {outcome}: {t0} waves before the start; expected at least 2")
    return wide.loc[donors + list(treated)], donors, t0


def synth(cells: pd.DataFrame, ctx: Context, wijken: list[str] | None = None, methods: tuple[str, ...] = ("sc", "sdid"),
          reps: int = 200, level: float = 0.95) -> list[dict]:
    """Tidy rows: `sc:<wijk>` per treated wijk (mean post gap, placebo p) and `sdid` for the wijken together.

    wijken: the treated wijken, sharing one start (default: the treated wijken of the earliest start
    wave that has at least two waves before it).
    """
    c = cells[cells["outcome"] == ctx.outcome]
    if not wijken:  # the earliest start with at least two waves before it
        tr = c[(c["role"] == "treated") & (c["D"] > 0)].groupby("wijk_code")["wave"].min()
        waves = sorted(c["wave"].unique())
        ok = tr[tr.map(lambda w: waves.index(w) >= 2)] if len(tr) else tr
        wijken = sorted(ok[ok == ok.min()].index) if len(ok) else []
    if not wijken:
        raise WijkeffectError(f"synth, outcome {ctx.outcome}: no treated wijk observed after its start with at "
                              "least two waves before it")
    wide, donors, t0 = panel_matrix(c, ctx.outcome, list(wijken))
    y = wide.to_numpy(float)
    n0 = len(donors)
    n = c.set_index("wijk_code")["n"].groupby(level=0).sum()
    common = dict(n_obs=int(y.size), n_wijken=int(y.shape[0]), n_clusters=int(y.shape[0]),
                  weights="unweighted cell means")
    rows = []
    if "sc" in methods:
        for i, w in enumerate(wijken):
            fit = synthetic_control(y[n0 + i], y[:n0].T, t0, w, donors, list(wide.columns))
            r = t_row(ctx, "synth", f"sc:{w}", fit.effect, np.nan, 0,
                      inference=f"placebo in-space, RMSPE ratio rank among {len(fit.placebo_ratios)} donors", **common)
            r.update(std_error=np.nan, p_value=fit.p_value, n_obs=int(n.get(w, 0)))
            rows.append(r)
    if "sdid" in methods:
        tau, om, lam = sdid_estimate(y, n0, t0)
        se = sdid_placebo_se(y, n0, t0, reps=reps, seed=ctx.seed)
        z = float(ndtri(0.5 + level / 2))
        r = t_row(ctx, "synth", "sdid", tau, se if np.isfinite(se) else np.nan, 10**6,
                  inference=f"placebo variance (Arkhangelsky et al. 2021 alg. 4, {reps} draws), normal", **common)
        if np.isfinite(se):
            r.update(ci_low=tau - z * se, ci_high=tau + z * se)
        rows.append(r)
    return rows


def synth_paths(cells: pd.DataFrame, outcome: str, wijk: str) -> SCFit:
    """The synthetic-control fit of one treated wijk (for the trajectory and placebo figures)."""
    wide, donors, t0 = panel_matrix(cells, outcome, [wijk])
    y = wide.to_numpy(float)
    return synthetic_control(y[-1], y[:-1].T, t0, wijk, donors, list(wide.columns))
