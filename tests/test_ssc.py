"""Small-sample conventions (`ssc`) of every cluster-robust model, golden against pyfixest 0.60.0.

pyfixest reproduces R fixest (https://py-fixest.github.io/pyfixest/; its tests compare with R
fixest). The conventions and their pyfixest equivalents:
- "fixest": feols(..., ssc=pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True), fixef_rm="none"),
  R fixest's default ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE);
- "reghdfe": the same K count after dropping singletons (fixef_rm="singleton"), as Stata reghdfe
  does (its DoF.mata: effects nested in the cluster are redundant, + 1 "nested_adj"; with wijk
  effects clustered by wijk or gemeente and wave effects both give K = regressors + waves);
- "g_only": pf.ssc(k_adj=False, G_adj=True), G/(G-1) alone.
Data: simulated, with survey/cell weights, wijk and wave effects, unequal cells and two singleton wijken
(observed in one wave only) so that "reghdfe" and "fixest" differ.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import WijkeffectError
from wijkeffect.models import get_model
from wijkeffect.models.fe import wls_absorb
from wijkeffect.models.tidy import Context

pf = pytest.importorskip("pyfixest")

CTX = Context("t", "GM0001", "y")
REL = 1e-6


def pf_kwargs(ssc: str) -> dict:
    """pyfixest arguments reproducing one of our conventions (module docstring)."""
    if ssc == "g_only":
        return dict(ssc=pf.ssc(k_adj=False, G_adj=True), fixef_rm="none")
    return dict(ssc=pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True),
                fixef_rm="singleton" if ssc == "reghdfe" else "none")


def feols(fml: str, data: pd.DataFrame, weights: str, cluster: str, ssc: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=data, weights=weights, vcov={"CRV1": cluster}, fixef_tol=1e-12, **pf_kwargs(ssc))


def respondents(seed: int = 5, n_wijk: int = 24) -> pd.DataFrame:
    """Respondents in wijken of four gemeenten; the first third treated from wave 4; wijken 3 and 7 singletons."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_wijk):
        treated = i % 3 == 0
        waves = [2] if i in (3, 7) else range(1, 7)
        for t in waves:
            for _ in range(1 if i in (3, 7) else int(rng.integers(3, 9))):
                post = float(treated and t >= 4)
                age = float(rng.integers(18, 90))
                sex = str(rng.choice(["female", "male"]))
                y = 0.2 + 0.01 * i + 0.02 * t - 0.05 * post + 0.002 * age + rng.normal(0, 0.3)
                rows.append(dict(gemeente_code=f"GM000{i % 4}", wijk_code=f"WK{i:04d}", wave=t,
                                 role="treated" if treated else "control", post=post, age=age, sex=sex,
                                 weight=float(rng.uniform(0.3, 3.0)), y=y))
    return pd.DataFrame(rows)


def cells_of(r: pd.DataFrame) -> pd.DataFrame:
    """Weighted cell means, cell n and D, as panel.build_cells writes them (outcome column 'y')."""
    g = r.assign(wy=r["weight"] * r["y"], wp=r["weight"] * r["post"]).groupby(
        ["gemeente_code", "wijk_code", "wave", "role"], as_index=False).agg(
        n=("y", "size"), sum_w=("weight", "sum"), wy=("wy", "sum"), wp=("wp", "sum"))
    return g.assign(outcome="y", mean=g["wy"] / g["sum_w"], D=g["wp"] / g["sum_w"])


@pytest.fixture(scope="module")
def data():
    r = respondents()
    return r, cells_of(r)


@pytest.mark.parametrize("ssc", ["fixest", "reghdfe", "g_only"])
@pytest.mark.parametrize("cluster", ["wijk", "gemeente"])
def test_twfe_cells_matches_pyfixest(data, ssc, cluster):
    _, c = data
    ours = get_model("twfe")(c, CTX, cluster=cluster, ssc=ssc)[0]
    ref = feols("mean ~ D | wijk_code + wave", c, "n", f"{cluster}_code", ssc)
    assert ours["estimate"] == pytest.approx(ref.coef()["D"], rel=REL)
    assert ours["std_error"] == pytest.approx(ref.se()["D"], rel=REL)
    assert ours["n_obs"] == ref._N
    assert ours["inference"].startswith(f"cluster_{cluster}_cr1_{ssc}")


@pytest.mark.parametrize("ssc", ["fixest", "reghdfe", "g_only"])
def test_twfe_individual_with_covariates_matches_pyfixest(data, ssc):
    r, _ = data
    ours = get_model("twfe_individual")(r, CTX, covariates=["age", "sex"], ssc=ssc)[0]
    ref = feols("y ~ post + age + C(sex) | wijk_code + wave", r, "weight", "wijk_code", ssc)
    assert ours["estimate"] == pytest.approx(ref.coef()["post"], rel=REL)
    assert ours["std_error"] == pytest.approx(ref.se()["post"], rel=REL)


@pytest.mark.parametrize("ssc", ["fixest", "reghdfe", "g_only"])
def test_event_study_matches_pyfixest_i(data, ssc):
    """Event-time dummies with reference k = -1 == pyfixest's i(k, ref=-1) on the treated."""
    _, c = data
    rows = {x["term"]: x for x in get_model("event_study")(c, CTX, ssc=ssc) if x["term"].startswith("k=")}
    first = c[c["D"] > 0].groupby("wijk_code")["wave"].min()
    waves = np.sort(c["wave"].unique())
    pos = pd.Series(np.arange(len(waves)), index=waves)
    k = c["wave"].map(pos) - c["wijk_code"].map(first).map(pos)
    # controls get the reference level, so they carry no event-time dummy
    ref = feols("mean ~ i(k, ref=-1) | wijk_code + wave", c.assign(k=k.fillna(-1).astype(int)), "n", "wijk_code", ssc)
    for name, b in ref.coef().items():
        v = int(name.split("::")[1])
        assert rows[f"k={v}"]["estimate"] == pytest.approx(b, rel=REL)
        assert rows[f"k={v}"]["std_error"] == pytest.approx(ref.se()[name], rel=REL)
    assert len(rows) == len(ref.coef())


@pytest.mark.parametrize("ssc", ["fixest", "reghdfe", "g_only"])
def test_naive_matches_pyfixest(data, ssc):
    _, c = data
    ours = get_model("naive")(c, CTX, ssc=ssc)[0]
    post_waves = c.loc[c["D"] > 0, "wave"].unique()
    d = c[c["wave"].isin(post_waves) & ((c["role"] == "control") | (c["D"] > 0))]
    d = d.assign(treated=(d["role"] == "treated").astype(float))
    ref = feols("mean ~ treated", d, "n", "wijk_code", ssc)
    assert ours["estimate"] == pytest.approx(ref.coef()["treated"], rel=REL)
    assert ours["std_error"] == pytest.approx(ref.se()["treated"], rel=REL)


def test_conventions_differ_where_they_should(data):
    """reghdfe drops the two singleton wijken (n and G change); g_only omits (n-1)/(n-K)."""
    _, c = data
    se = {s: get_model("twfe")(c, CTX, ssc=s)[0] for s in ["fixest", "reghdfe", "g_only"]}
    assert se["reghdfe"]["n_obs"] == se["fixest"]["n_obs"] - 2
    assert se["reghdfe"]["n_clusters"] == se["fixest"]["n_clusters"] - 2
    assert se["fixest"]["std_error"] > se["g_only"]["std_error"] * (1 + 1e-3)
    assert se["reghdfe"]["std_error"] != pytest.approx(se["fixest"]["std_error"], rel=1e-6)


def test_segmented_logit_ssc_matches_statsmodels():
    """Logit cluster sandwich: "fixest" == statsmodels Logit(cov_type='cluster') with its default
    use_correction (G/(G-1) * (n-1)/(n-K), R fixest feglm's default too); "reghdfe" and "g_only" drop
    (n-1)/(n-K), as Stata's logit, vce(cluster) (Stata [P] _robust, Methods and formulas: (n-1)/(n-K)
    for regress only)."""
    import statsmodels.api as sm

    from wijkeffect.models.design import logit_fit

    rng = np.random.default_rng(2)
    n = 600
    cl = rng.integers(0, 15, n)
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x @ [0.2, 0.8, -0.5]) - 0.3 * (cl % 3)))).astype(float)
    ref = sm.Logit(y, x).fit(disp=0, cov_type="cluster", cov_kwds={"groups": cl})
    beta, v = logit_fit(y, x, None, cl, ssc="fixest")
    np.testing.assert_allclose(beta, ref.params, rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(v)), ref.bse, rtol=1e-8)
    ref0 = sm.Logit(y, x).fit(disp=0, cov_type="cluster", cov_kwds={"groups": cl, "use_correction": False})
    g = np.unique(cl).size
    for ssc in ("g_only", "reghdfe"):
        _, v0 = logit_fit(y, x, None, cl, ssc=ssc)
        np.testing.assert_allclose(np.sqrt(np.diag(v0)), ref0.bse * np.sqrt(g / (g - 1)), rtol=1e-8)


def test_unknown_convention_is_an_error(data):
    _, c = data
    with pytest.raises(WijkeffectError, match="ssc 'stata': expected one of"):
        get_model("twfe")(c, CTX, ssc="stata")


def test_wls_absorb_without_effects_adds_an_intercept():
    """No factors: OLS with intercept; fixest's K counts it (pyfixest on y ~ x)."""
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"x": rng.normal(size=200), "c": rng.integers(0, 12, 200), "w": rng.uniform(1, 2, 200)})
    d["y"] = 1 + 0.5 * d["x"] + rng.normal(size=200)
    fit = wls_absorb(d["y"].to_numpy(), d[["x"]].to_numpy(), d["w"].to_numpy(), [], d["c"].to_numpy())
    ref = feols("y ~ x", d, "w", "c", "fixest")
    assert fit.params[0] == pytest.approx(ref.coef()["x"], rel=1e-10)
    assert fit.se()[0] == pytest.approx(ref.se()["x"], rel=1e-10)
