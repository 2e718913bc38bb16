"""The former, straightforward Delta^SD FLCI and Delta^RM hybrid CI, kept to check the fast ones against.

`flci_reference` solves the min-bias problem by SLSQP at every h the half-length search visits
(warm-started from the nearest h solved); `rm_ci_reference` enumerates the dual vertices for every
Mbar and runs the ARP hybrid test on the whole theta grid. wijkeffect.sensitivity must agree with
them to solver tolerance (tests/test_sensitivity_fast.py, bench/bench_sensitivity.py).
"""

from __future__ import annotations

import numpy as np
from wijkeffect.sensitivity import (_check, _dual_vertices, _flci_search, _lvec, _SDProblem, _SlsqpFrontier,
                                    _truncnorm_upper_quantile)


def flci_reference(betahat, sigma, num_pre: int, num_post: int, l_vec=None, M: float = 0.0,
                   alpha: float = 0.05) -> tuple[float, float]:
    """sensitivity.flci with the min-bias problem solved by SLSQP for every h (the former implementation)."""
    b, s = np.asarray(betahat, float), np.asarray(sigma, float)
    lv = _lvec(l_vec, num_post)
    _check(b, s, num_pre, num_post, lv)
    pr = _SDProblem(s, num_pre, num_post, lv)
    return _flci_search(pr, _SlsqpFrontier(pr), b, lv, M, alpha)


def rm_constraints(num_pre: int, num_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """A with A delta <= 0 for Delta^RM(Mbar) when the largest pre-period first difference is at s, signed."""
    n = num_pre + num_post
    atilde = np.zeros((n, n + 1))
    for r in range(n):
        atilde[r, r:r + 2] = (-1.0, 1.0)
    vmax = np.zeros(n + 1)
    vmax[num_pre + s - 1:num_pre + s + 1] = (-1.0, 1.0)
    if not positive:
        vmax = -vmax
    ub = np.vstack([np.tile(vmax, (num_pre, 1)), np.tile(mbar * vmax, (num_post, 1))])
    a = np.vstack([atilde - ub, -atilde - ub])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, num_pre, axis=1)  # drop the reference period's column


def lf_hybrid_accept_reference(y0: np.ndarray, a1: np.ndarray, x: np.ndarray, sig: np.ndarray,
                               grid: np.ndarray, alpha: float, kappa: float, rng: np.random.Generator,
                               sims: int = 1000) -> np.ndarray:
    """Acceptance of theta on grid by the ARP conditional least-favourable hybrid test, point by point."""
    sd = np.sqrt(np.diag(sig))
    w = np.column_stack([sd, x]) if x.size else sd[:, None]
    verts = _dual_vertices(w)
    if verts.shape[0] == 0:
        return np.ones(grid.size, bool)
    draws = rng.multivariate_normal(np.zeros(sd.size), sig, size=sims, method="eigh")
    lf_cv = float(np.quantile((verts @ (-draws.T)).max(axis=0), 1 - kappa))
    ys = y0[:, None] - a1[:, None] * grid[None, :]  # moments x grid
    vals = verts @ ys  # vertices x grid
    best = vals.argmax(axis=0)
    eta = vals[best, np.arange(grid.size)]
    gam = verts[best]  # grid x moments
    sg = gam @ sig
    var_b = (sg * gam).sum(axis=1)
    sd_b = np.sqrt(np.maximum(var_b, 0))
    bvec = sg / np.where(var_b > 0, var_b, 1)[:, None]
    svec = ys.T - bvec * eta[:, None]
    lam_s = svec @ verts.T
    lam_b = bvec @ verts.T - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = -lam_s / lam_b
    vup = np.where(lam_b > 1e-10, bound, np.inf).min(axis=1)
    vlo = np.where(lam_b < -1e-10, bound, -np.inf).max(axis=1)
    mod_size = (alpha - kappa) / (1 - kappa)
    with np.errstate(divide="ignore", invalid="ignore"):
        zlo, zup, stat = vlo / sd_b, np.minimum(vup, lf_cv) / sd_b, eta / sd_b
    reject = eta > lf_cv
    inside = (zlo <= stat) & (stat <= zup) & (sd_b > 0)
    cval = np.maximum(0.0, _truncnorm_upper_quantile(1 - mod_size, zlo, zup))
    reject |= inside & (stat > cval)
    reject |= (sd_b <= 0) & (eta > 0)
    return ~reject


def rm_ci_reference(betahat, sigma, num_pre: int, num_post: int, l_vec=None, mbar: float = 1.0,
                    alpha: float = 0.05, grid_points: int = 1000, seed: int = 0) -> tuple[float, float]:
    """sensitivity.rm_ci as first written: constraints, vertices and the test rebuilt for every Mbar."""
    b, s = np.asarray(betahat, float), np.asarray(sigma, float)
    lv = _lvec(l_vec, num_post)
    _check(b, s, num_pre, num_post, lv)
    sd_theta = float(np.sqrt(lv @ s[num_pre:, num_pre:] @ lv))
    grid = np.linspace(-20 * sd_theta, 20 * sd_theta, grid_points)
    first = int(np.flatnonzero(lv)[0])
    gamma = np.vstack([lv, np.delete(np.eye(num_post), first, axis=0)])
    ginv = np.linalg.inv(gamma)
    accept = np.zeros(grid_points, bool)
    for piece, (s_idx, positive) in enumerate([(si, pos) for si in range(-(num_pre - 1), 1) for pos in (True, False)]):
        a = rm_constraints(num_pre, num_post, mbar, s_idx, positive)
        a = a[np.flatnonzero(np.abs(a[:, num_pre:]).sum(axis=1) > 0)]
        agi = a[:, num_pre:] @ ginv
        rng = np.random.default_rng([seed, piece])
        accept |= lf_hybrid_accept_reference(a @ b, agi[:, 0], agi[:, 1:], a @ s @ a.T, grid, alpha,
                                             alpha / 10, rng)
    if not accept.any():
        return np.nan, np.nan
    return float(grid[accept].min()), float(grid[accept].max())
