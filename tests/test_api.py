"""models.api on data that is not a wijk panel (counties, schools), golden against pyfixest 0.60.0.

No role, post, start, gemeente or interview_date columns: only did-style names. pyfixest's feols
reproduces R fixest (its default small-sample convention = our ssc "fixest"; fixef_rm="none" as in R).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from wijkeffect.errors import WijkeffectError
from wijkeffect.models import api

pf = pytest.importorskip("pyfixest")


def feols(fml, data, weights, cluster):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=data, weights=weights, vcov={"CRV1": cluster}, fixef_rm="none", fixef_tol=1e-12)


@pytest.fixture(scope="module")
def counties():
    """A county x year panel, 40 counties in 10 states, staggered first years 2004/2006, some never (0)."""
    rng = np.random.default_rng(8)
    rows = []
    for c in range(40):
        first = [2004, 2006, 0, 0][c % 4]
        unemp = rng.normal(5, 1)
        for year in range(2000, 2010):
            if rng.uniform() < 0.08:
                continue  # unbalanced: missing county-years
            treated = first > 0 and year >= first
            rows.append(dict(county=f"c{c}", state=f"s{c % 10}", year=year, first_treat=first,
                             pop=float(rng.uniform(1, 50)), unemp=unemp + rng.normal(0, 0.3),
                             lemp=1 + 0.1 * c + 0.03 * (year - 2000) - 0.04 * treated + rng.normal(0, 0.05)))
    return pd.DataFrame(rows)


def test_twfe_from_gname_matches_pyfixest(counties):
    d = counties
    fit = api.twfe(d, yname="lemp", tname="year", idname="county", gname="first_treat", clustervar="state",
                   weightsname="pop", covariates=["unemp"])
    dd = d.assign(treat=((d["first_treat"] > 0) & (d["year"] >= d["first_treat"])).astype(float))
    ref = feols("lemp ~ treat + unemp | county + year", dd, "pop", "state")
    tidy = fit.tidy().set_index("term")
    rt = ref.tidy()
    assert tidy.loc["D", "estimate"] == pytest.approx(rt.loc["treat", "Estimate"], rel=1e-6)
    assert tidy.loc["D", "std_error"] == pytest.approx(rt.loc["treat", "Std. Error"], rel=1e-6)
    assert tidy.loc["D", "p_value"] == pytest.approx(rt.loc["treat", "Pr(>|t|)"], rel=1e-5)
    assert tidy.loc["D", "ci_low"] == pytest.approx(rt.loc["treat", "2.5%"], rel=1e-6)
    assert tidy.loc["unemp", "estimate"] == pytest.approx(rt.loc["unemp", "Estimate"], rel=1e-6)
    assert fit.n_clusters == 10 and fit.n_obs == len(d)
    assert fit.inference == "cluster_state_cr1_fixest"  # 10 treated states: not few


def test_twfe_from_dname_equals_gname(counties):
    d = counties.assign(treat=((counties["first_treat"] > 0) & (counties["year"] >= counties["first_treat"])))
    a = api.twfe(d, "lemp", "year", "county", gname="first_treat").tidy()
    b = api.twfe(d, "lemp", "year", "county", dname="treat").tidy()
    assert a["estimate"].iloc[0] == pytest.approx(b["estimate"].iloc[0], rel=1e-12)


def test_event_study_matches_pyfixest_i(counties):
    d = counties
    fit = api.event_study(d, "lemp", "year", "county", "first_treat", clustervar="state", weightsname="pop")
    e = api.event_time(d, "year", "first_treat")
    assert set(e[d["first_treat"] == 2004]) <= set(range(-4, 6))
    ref = feols("lemp ~ i(e, ref=-1) | county + year", d.assign(e=e.fillna(-1).astype(int)), "pop", "state")
    tidy = fit.tidy().set_index("term")
    for name, b in ref.coef().items():
        term = f"k={int(name.split('::')[1])}"
        assert tidy.loc[term, "estimate"] == pytest.approx(b, rel=1e-6)
        assert tidy.loc[term, "std_error"] == pytest.approx(ref.se()[name], rel=1e-6)
    assert len(tidy) == len(ref.coef())
    assert fit.tests[0]["term"] == "pretrend_wald" and 0 <= fit.tests[0]["p_value"] <= 1


def test_repeated_cross_section_of_pupils_in_schools():
    """Pupils (new ones each year) in schools: idname is the school; equals pyfixest on the pupils."""
    rng = np.random.default_rng(4)
    n = 3000
    school = rng.integers(0, 30, n)
    year = rng.integers(2015, 2021, n)
    first = np.where(school < 12, 2018, 0)
    d = pd.DataFrame({"school": school, "year": year, "first": first, "girl": rng.choice(["yes", "no"], n),
                      "w": rng.uniform(0.5, 2, n)})
    d["score"] = 0.1 * school + 0.2 * (year - 2015) + 0.5 * ((first > 0) & (year >= first)) + rng.normal(0, 1, n)
    fit = api.twfe_individual(d, "score", "year", "school", gname="first", weightsname="w", covariates=["girl"])
    ref = feols("score ~ treat + C(girl) | school + year",
                d.assign(treat=((d["first"] > 0) & (d["year"] >= d["first"])).astype(float)), "w", "school")
    assert fit.estimate[0] == pytest.approx(ref.coef()["treat"], rel=1e-6)
    assert fit.se()[0] == pytest.approx(ref.se()["treat"], rel=1e-6)
    assert fit.estimate[0] == pytest.approx(0.5, abs=0.15)


def test_missing_column_names_the_argument(counties):
    with pytest.raises(WijkeffectError, match="weightsname='population': no such column"):
        api.twfe(counties, "lemp", "year", "county", gname="first_treat", weightsname="population")


def test_dname_or_gname_exactly_one(counties):
    with pytest.raises(WijkeffectError, match="exactly one of dname"):
        api.twfe(counties, "lemp", "year", "county")
