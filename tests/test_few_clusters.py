"""Few clusters, honestly (issue 8 item 9): refuse below 2 treated or 2 control clusters, flag few treated ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_ssc import cells_of, respondents
from wijkeffect.errors import WijkeffectError
from wijkeffect.models import get_model
from wijkeffect.models.inference import few_clusters, reported_rows
from wijkeffect.models.tidy import Context, tidy_frame

CTX = Context("s", "GM0001", "y")


def _two_wijken():
    """One treated and one control wijk: the case that printed SE ~1e-15 and p ~1e-16."""
    r = respondents(seed=1, n_wijk=2)  # wijk 0 treated, wijk 1 control
    return r, cells_of(r)


@pytest.mark.parametrize("model", ["twfe", "naive", "event_study", "twfe_individual"])
def test_two_clusters_refuse_with_counts(model):
    r, c = _two_wijken()
    data = r if model == "twfe_individual" else c
    with pytest.raises(WijkeffectError, match=r"study s, city GM0001, outcome y: 1 treated and 1 control clusters "
                                              r"\(wijk_code\); expected at least 2 of each"):
        get_model(model)(data, CTX)


def test_one_gemeente_cannot_be_clustered_on():
    r = respondents(seed=1, n_wijk=12).assign(gemeente_code="GM0001")
    with pytest.raises(WijkeffectError, match="1 treated and 1 control clusters"):
        get_model("twfe")(cells_of(r), CTX, cluster="gemeente")


def test_few_treated_clusters_are_named_in_every_row():
    # wijken 0, 3, 6, 9 treated; 3 is observed before its start only, so 3 treated clusters carry post data
    c = cells_of(respondents(seed=3, n_wijk=12))
    rows = get_model("twfe")(c, CTX) + get_model("event_study")(c, CTX)
    assert all(r["inference"].startswith("cluster_wijk_cr1_fixest") for r in rows)
    assert all(";few_treated_clusters=3" in r["inference"] for r in rows)
    many = get_model("twfe")(c, CTX, few_clusters=3)[0]
    assert many["inference"] == "cluster_wijk_cr1_fixest"


def test_few_clusters_suffix():
    assert few_clusters(3) == ";few_treated_clusters=3"
    assert few_clusters(10) == ""
    assert few_clusters(10, threshold=12) == ";few_treated_clusters=10"


def test_reported_rows_prefer_the_wild_bootstrap_when_treated_clusters_are_few():
    base = dict(study="s", city="GM0001", outcome="y", term="D", spec="default")
    rows = pd.DataFrame([
        dict(base, model="twfe", inference="cluster_wijk_cr1_fixest;few_treated_clusters=3"),
        dict(base, model="twfe", inference="wild_cluster_restricted_bootstrap_webb_9999"),
        dict(base, model="twfe", inference="randomization_999"),
        dict(base, model="twfe_individual", inference="cluster_wijk_cr1_fixest;few_treated_clusters=3"),
        dict(base, model="naive", inference="cluster_wijk_cr1_fixest"),
    ])
    assert reported_rows(rows).tolist() == [False, True, False, True, True]


def test_rows_stay_finite_with_three_treated_clusters():
    c = cells_of(respondents(seed=3, n_wijk=9))
    out = tidy_frame(get_model("twfe")(c, CTX))
    assert (out["std_error"] > 1e-6).all() and np.isfinite(out["p_value"]).all()
