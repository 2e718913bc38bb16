"""The fast sensitivity paths against the former straightforward ones and an exact 1-d solution.

References: wijkeffect.sensitivity_reference (the former implementation: SLSQP for every min-bias
problem of the Delta^SD FLCI; vertex enumeration and the hybrid test on the whole theta grid for
every Mbar), and, for num_pre = 2, the min-bias problem solved by hand (one free dimension: the
l1 norm is piecewise linear in it, so its minimum over the variance interval is at a kink or an end).
"""

from __future__ import annotations

import numpy as np
import pytest

from wijkeffect import sensitivity as S
from wijkeffect import sensitivity_reference as R


def _case(rng: np.random.Generator, k_pre: int, k_post: int, trend: float = 0.0):
    """A random positive definite sigma (scale 1e-5..1e-2) and a betahat drawn around a linear trend."""
    n = k_pre + k_post
    a = rng.normal(size=(n, n))
    sig = (a @ a.T + rng.uniform(0.5, 5) * np.eye(n)) * 10 ** rng.uniform(-5, -2)
    times = np.r_[np.arange(-k_pre, 0), np.arange(1, k_post + 1)]
    beta = rng.multivariate_normal(trend * np.sqrt(sig[0, 0]) * times, sig)
    return beta, sig


CASES = [(k_pre, k_post, rep) for k_pre in (2, 3, 4) for k_post in (1, 2, 3) for rep in range(2)]


@pytest.mark.parametrize("k_pre,k_post,rep", CASES)
def test_flci_matches_slsqp_reference(k_pre, k_post, rep):
    rng = np.random.default_rng([11, k_pre, k_post, rep])
    beta, sig = _case(rng, k_pre, k_post, trend=rep)
    se = np.sqrt(sig[k_pre, k_pre])
    for lv in (None, np.full(k_post, 1 / k_post)):
        for m in (0.0, 0.02 * se, 0.2 * se, se, 4 * se):
            new = S.flci(beta, sig, k_pre, k_post, l_vec=lv, M=m)
            old = R.flci_reference(beta, sig, k_pre, k_post, l_vec=lv, M=m)
            tol = 1e-6 * (old[1] - old[0])
            assert new[0] == pytest.approx(old[0], rel=1e-6, abs=tol)
            assert new[1] == pytest.approx(old[1], rel=1e-6, abs=tol)


@pytest.mark.parametrize("k_pre", [2, 3, 4])
def test_sd_breakdown_matches_slsqp_reference(k_pre):
    rng = np.random.default_rng([12, k_pre])
    for _ in range(2):
        beta, sig = _case(rng, k_pre, 2)
        beta[k_pre:] += 4 * np.sqrt(np.diag(sig)[k_pre:])  # a clear effect: the breakdown value is inside (0, upper)
        upper = 10 * np.sqrt(sig[k_pre, k_pre])
        new = S.breakdown(lambda m: S.flci(beta, sig, k_pre, 2, M=m), upper)
        old = S.breakdown(lambda m: R.flci_reference(beta, sig, k_pre, 2, M=m), upper)
        assert new == pytest.approx(old, abs=1e-9 * upper)


def _min_bias_two_pre(pr: S._SDProblem, h: float) -> float:
    """min ||c(v)||_1 over the trend-invariant line v = (x, (-ct - t1 x) / t2) with var(v) <= h^2, by hand."""
    t, ct = pr.t_pre, pr.const_trend  # trend invariance: t1 v1 + t2 v2 = -ct
    v_of = lambda x: np.array([x, (-ct - t[0] * x) / t[1]])  # noqa: E731
    # var(v_of(x)) = a x^2 + b x + c: solve var = h^2 for the ends of the feasible interval
    q0, q1, q2 = pr.var(v_of(0.0)), pr.var(v_of(1.0)), pr.var(v_of(-1.0))
    a, b, c = (q1 + q2) / 2 - q0, (q1 - q2) / 2, q0 - h * h
    disc = b * b - 4 * a * c
    ends = [(-b - np.sqrt(disc)) / (2 * a), (-b + np.sqrt(disc)) / (2 * a)]
    # kinks: where an entry of c(v) = c_pre v + c_post crosses 0 (c is affine in x)
    c0, c1 = pr.c_pre @ v_of(0.0) + pr.c_post, pr.c_pre @ v_of(1.0) + pr.c_post
    slope = c1 - c0
    kinks = [-c0[i] / slope[i] for i in range(slope.size) if abs(slope[i]) > 1e-14]
    xs = ends + [x for x in kinks if ends[0] <= x <= ends[1]]
    return min(pr.bias(v_of(x)) for x in xs)


@pytest.mark.parametrize("k_post", [1, 2, 3])
def test_exact_frontier_solves_min_bias(k_post):
    rng = np.random.default_rng([13, k_post])
    for _ in range(3):
        _, sig = _case(rng, 2, k_post)
        for lv in (np.eye(k_post)[0], np.full(k_post, 1 / k_post)):
            pr = S._SDProblem(sig, 2, k_post, lv)
            front, slsqp = S._ExactFrontier(pr), S._SlsqpFrontier(pr)
            for h in np.linspace(pr.h_min * (1 + 1e-6), pr.h0, 9):
                bias, v = front(h)
                assert pr.t_pre @ v == pytest.approx(-pr.const_trend, abs=1e-10)
                assert pr.var(v) <= h * h * (1 + 1e-10)
                assert bias == pytest.approx(_min_bias_two_pre(pr, h), rel=1e-9, abs=1e-12)
                assert bias <= slsqp(h)[0] * (1 + 1e-8) + 1e-12  # never worse than SLSQP
    # more pre-periods: no hand solution, but SLSQP's bias is matched and never beaten
    for k_pre in (3, 4, 5):
        _, sig = _case(rng, k_pre, 2)
        pr = S._SDProblem(sig, k_pre, 2, np.array([0.5, 0.5]))
        front, slsqp = S._ExactFrontier(pr), S._SlsqpFrontier(pr)
        for h in np.linspace(pr.h_min * (1 + 1e-6), pr.h0, 7):
            bias, v = front(h)
            assert pr.var(v) <= h * h * (1 + 1e-10)
            assert bias == pytest.approx(slsqp(h)[0], rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("k_pre,k_post", [(2, 1), (2, 3), (3, 2), (4, 2), (3, 3)])
def test_rm_ci_and_breakdown_match_reference(k_pre, k_post):
    rng = np.random.default_rng([14, k_pre, k_post])
    for rep in range(2):
        beta, sig = _case(rng, k_pre, k_post, trend=rep)
        beta[k_pre:] += 3 * np.sqrt(np.diag(sig)[k_pre:])
        for lv in (None, np.full(k_post, 1 / k_post)):
            for mbar in (0.0, 0.25, 1.0, 3.0):
                new = S.rm_ci(beta, sig, k_pre, k_post, l_vec=lv, mbar=mbar, seed=5)
                old = R.rm_ci_reference(beta, sig, k_pre, k_post, l_vec=lv, mbar=mbar, seed=5)
                np.testing.assert_allclose(new, old, rtol=1e-12, atol=0)
        new_b = S.breakdown(lambda mb: S.rm_ci(beta, sig, k_pre, k_post, mbar=mb, seed=5), 10.0)
        old_b = S.breakdown(lambda mb: R.rm_ci_reference(beta, sig, k_pre, k_post, mbar=mb, seed=5), 10.0)
        assert new_b == old_b


def test_mvn_draws_and_quantile_are_numpys():
    rng = np.random.default_rng(15)
    a = rng.normal(size=(6, 6))
    sig = a @ a.T
    z = S._std_normals(3, 2, 6, 1000)
    np.testing.assert_array_equal(S._mvn_draws(z, sig),
                                  np.random.default_rng([3, 2]).multivariate_normal(np.zeros(6), sig, 1000,
                                                                                   method="eigh"))
    for q in (0.995, 0.95, 0.5, 0.01):
        x = rng.normal(size=1000)
        assert S._quantile(x, q) == np.quantile(x, q)


def test_demo_rows_match_reference(demo_panel, monkeypatch):
    from wijkeffect.models.tidy import Context

    _, _, cells = demo_panel
    code = str(cells["gemeente_code"].iloc[0])
    city = cells[cells["gemeente_code"] == code]
    ctx = Context("demo", code, "smoker", seed=1)
    new = S.sensitivity(city, ctx)
    monkeypatch.setattr(S, "flci", R.flci_reference)
    monkeypatch.setattr(S, "rm_ci", R.rm_ci_reference)
    old = S.sensitivity(city, ctx)
    assert [r["term"] for r in new] == [r["term"] for r in old] and len(new) == 2 * (1 + 7 + 6 + 2)
    for rn, ro in zip(new, old):
        for col in ("estimate", "std_error", "ci_low", "ci_high"):
            assert rn[col] == pytest.approx(ro[col], rel=1e-6, abs=1e-9, nan_ok=True), (rn["term"], col)


def test_singular_pre_covariance_falls_back_to_slsqp():
    # three pre-periods whose covariance has rank 2: no exact frontier, the FLCI is the former SLSQP one
    rng = np.random.default_rng(16)
    b = rng.normal(size=(5, 2))
    sig = (b @ b.T + np.diag([0, 0, 0, 1.0, 1.0])) * 1e-3
    beta = rng.multivariate_normal(np.zeros(5), sig)
    sig_key = np.ascontiguousarray(sig).tobytes()
    assert S._sd_setup(sig_key, 3, 2, np.eye(2)[0].tobytes())[1] is None
    for m in (0.0, 0.01, 0.1):
        assert S.flci(beta, sig, 3, 2, M=m) == R.flci_reference(beta, sig, 3, 2, M=m)
