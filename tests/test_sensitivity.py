"""HonestDiD sensitivity bounds against R HonestDiD's documented README example, and on the demo.

Golden numbers: R package HonestDiD, README.md ("Sensitivity analysis using relative magnitudes
restrictions" and "... smoothness restrictions"), https://github.com/asheshrambachan/HonestDiD
(commit 6813f02). The README's betahat / sigma come from
`feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster = "stfips")` on the Medicaid expansion
data (Mixtape-Sessions/Advanced-DID, Exercises/Data/ehec_data.dta, years < 2016, 2015 cohort
dropped). They are written below to 12 digits as obtained with wijkeffect.models.fe.wls_absorb on
that file (CR1, times fixest's (n-1)/(n-K) with n = 344, K = 14), so the test needs neither file.
"""

from __future__ import annotations

import numpy as np
import pytest

from wijkeffect import sensitivity as S
from wijkeffect.errors import WijkeffectError

BETA = np.array([-0.00528535453272, -0.0112973246482, -0.00267599181179, -0.00141931225211,
                 0.000339663518972, 0.0464468541599, 0.069206175479])
_SIG_UPPER = [
    [7.46579126124e-05, 6.02157144687e-05, 4.43115127356e-05, 3.37550481304e-05, 4.31489606912e-05,
     4.75143841672e-05, 2.41777982491e-05],
    [7.24448091816e-05, 3.77784740244e-05, 2.85789142507e-05, 4.52955299014e-05, 4.41542936138e-05,
     2.81609548225e-05],
    [5.03674269186e-05, 2.66557737360e-05, 2.76977479929e-05, 3.05136942979e-05, 9.60832923454e-06],
    [3.99109105050e-05, 2.40554827882e-05, 2.37365345692e-05, 2.91501790657e-06],
    [5.44610868521e-05, 3.67137186674e-05, 9.69348402514e-06],
    [8.35028801006e-05, 6.30224221113e-05],
    [1.06798906294e-04],
]
SIGMA = np.zeros((7, 7))
for i, r in enumerate(_SIG_UPPER):
    SIGMA[i, i:] = r
SIGMA = SIGMA + np.triu(SIGMA, 1).T

# README: createSensitivityResults(..., Mvec = seq(0, 0.05, by = 0.01)) -> FLCI (lb, ub)
README_SD = {0.0: (0.0259, 0.0607), 0.01: (0.0132, 0.0787), 0.02: (0.00286, 0.0907),
             0.03: (-0.00714, 0.101), 0.04: (-0.0171, 0.111), 0.05: (-0.0271, 0.121)}
# README: createSensitivityResults_relativeMagnitudes(..., Mbarvec = seq(0.5, 2, by = 0.5)) -> C-LF (lb, ub)
README_RM = {0.5: (0.0241, 0.0673), 1.0: (0.0171, 0.0720), 1.5: (0.00859, 0.0796), 2.0: (-0.00107, 0.0883)}


@pytest.mark.parametrize("m", sorted(README_SD))
def test_flci_reproduces_honestdid_readme(m):
    lb, ub = S.flci(BETA, SIGMA, 5, 2, M=m)
    # README prints 3 significant digits; R simulates the folded-normal quantile (10^6 draws)
    assert lb == pytest.approx(README_SD[m][0], abs=2e-4)
    assert ub == pytest.approx(README_SD[m][1], abs=6e-4 if m >= 0.03 else 2e-4)


@pytest.mark.parametrize("mbar", sorted(README_RM))
def test_rm_hybrid_reproduces_honestdid_readme(mbar):
    lb, ub = S.rm_ci(BETA, SIGMA, 5, 2, mbar=mbar)
    # to 3 decimals: R's least-favourable critical value is a 99.5% quantile of 1000 simulated draws and
    # its theta grid has steps of 40 sd / 999 = 3.7e-4, so two runs with different seeds differ by ~5e-4
    assert lb == pytest.approx(README_RM[mbar][0], abs=1e-3)
    assert ub == pytest.approx(README_RM[mbar][1], abs=1e-3)


def test_readme_breakdown_values():
    # README: "the breakdown value for a significant effect is Mbar = 2" (grid 0.5..2) and "M ~ 0.03"
    rm = S.breakdown(lambda mb: S.rm_ci(BETA, SIGMA, 5, 2, mbar=mb), 3.0, tol=1e-2)
    sd = S.breakdown(lambda m: S.flci(BETA, SIGMA, 5, 2, M=m), 0.1, tol=1e-2)
    assert 1.5 < rm <= 2.0 + 0.05
    assert 0.02 < sd < 0.03


def test_original_ci_and_zero_violation():
    est, se, lo, hi = S.original_ci(BETA, SIGMA, 5, 2)
    assert est == BETA[5] and se == pytest.approx(np.sqrt(SIGMA[5, 5]))
    # Mbar = 0 forces the post-period bias to zero: the RM set is (close to) the original CI
    lb, ub = S.rm_ci(BETA, SIGMA, 5, 2, mbar=0.0)
    assert lb == pytest.approx(lo, abs=1.5e-3) and ub == pytest.approx(hi, abs=1.5e-3)


def test_coverage_under_a_violation_inside_delta_sd():
    # truth: a linear pre-trend continued (a member of Delta^SD(0)) and zero effect; FLCI at M = 0 covers ~95%
    rng = np.random.default_rng(3)
    k_pre, k_post = 3, 2
    a = rng.normal(size=(5, 5))
    sig = (a @ a.T + 5 * np.eye(5)) * 1e-4
    delta = 0.05 * np.r_[np.arange(-k_pre, 0), np.arange(1, k_post + 1)]
    draws = rng.multivariate_normal(delta, sig, size=300)
    cover = [lo <= 0 <= hi for lo, hi in (S.flci(b, sig, k_pre, k_post, M=0.0) for b in draws)]
    assert 0.91 <= np.mean(cover) <= 0.99
    naive = [abs(b[k_pre]) <= 1.96 * np.sqrt(sig[k_pre, k_pre]) for b in draws]
    assert np.mean(naive) < 0.9  # the ordinary CI is misled by the trend


def test_bad_input_is_named():
    with pytest.raises(WijkeffectError, match="l_vec"):
        S.flci(BETA, SIGMA, 5, 2, l_vec=[1, 0, 0])
    with pytest.raises(WijkeffectError, match="betahat"):
        S.rm_ci(BETA[:6], SIGMA, 5, 2)


def test_demo_rows_and_figure(demo_panel, tmp_path):
    from wijkeffect.figures.sensitivity import sensitivity_plot
    from wijkeffect.models.tidy import Context, tidy_frame

    _, _, cells = demo_panel
    city = cells[cells["gemeente_code"] == cells["gemeente_code"].iloc[0]]
    ctx = Context("demo", str(city["gemeente_code"].iloc[0]), "smoker", seed=1)
    ec = S.event_coefficients(city, "smoker")
    assert ec.num_pre >= 1 and ec.num_post >= 1 and ec.sigma.shape == (ec.num_pre + ec.num_post,) * 2
    rows = S.sensitivity(city, ctx, mbar=[0, 0.5, 1], m=[0, 0.01])
    df = tidy_frame(rows)
    terms = set(df["term"])
    assert {"rm(Mbar=0.5):first", "sm(M=0.01):avg", "breakdown_rm:first", "original:avg"} <= terms
    ci = df[df["term"].str.startswith(("rm(", "sm("))]
    assert (ci["ci_low"] <= ci["ci_high"]).all()
    # robust sets widen with the allowed violation
    w = df.set_index("term")
    assert (w.loc["rm(Mbar=1):first", "ci_high"] - w.loc["rm(Mbar=1):first", "ci_low"]
            >= w.loc["rm(Mbar=0.5):first", "ci_high"] - w.loc["rm(Mbar=0.5):first", "ci_low"] - 1e-12)
    paths = sensitivity_plot(df, ctx.city, "smoker", "Demo", tmp_path / "sens", language="nl")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
