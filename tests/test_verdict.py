"""Verdicts: the paragraph follows the numbers (agreement, direction, caveats) and names them correctly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.demo_results import demo_results  # noqa: F401  (fixture)
from wijkeffect.models.tidy import Context, t_row, tidy_frame
from wijkeffect.verdict import first_page_html, headline_rows, verdict, verdicts

CR1 = "cluster_wijk_cr1"


def _tidy(effects: dict[str, tuple[float, float]], pretrend_p: float | None = 0.5, clusters: int = 60,
          wcr_p: float | None = None, outcome: str = "smoker", city: str = "ALL", extra: list | None = None):
    """Tidy rows with chosen main effects (estimate, se) per model, a pre-trend test and cluster count."""
    ctx = Context("s", city, outcome)
    common = dict(n_obs=500, n_wijken=clusters, n_clusters=clusters, weights="cell_n")
    terms = {"twfe": "D", "twfe_individual": "D", "staggered": "overall", "naive": "treated"}
    rows = []
    for model, (b, se) in effects.items():
        inf = "wijk_jackknife" if model == "staggered" else CR1
        rows.append(t_row(ctx, model, terms[model], b, se, clusters - 1, inference=inf, **common))
    if pretrend_p is not None:
        r = t_row(ctx, "event_study", "pretrend_wald", 2.0, np.nan, clusters - 1, inference=f"{CR1} joint F(3,59) of leads",
                  **common)
        rows.append(dict(r, p_value=pretrend_p))
    if wcr_p is not None:
        r = t_row(ctx, "twfe", "D", effects["twfe"][0], np.nan, clusters - 1,
                  inference="wild_cluster_restricted_bootstrap_webb_9999", **common)
        rows.append(dict(r, p_value=wcr_p))
    return tidy_frame(rows + (extra or []))


def test_all_estimators_agree_on_a_decrease():
    v = verdict(_tidy({"twfe": (-0.04, 0.01), "twfe_individual": (-0.05, 0.012), "staggered": (-0.03, 0.01)}),
                "smoker")
    assert v.facts["direction"] == "decrease" and v.facts["n_significant"] == 3 and not v.facts["flags"]
    assert v.text.startswith("All 3 estimators find a decrease in current smoking")
    assert "\u22125.0 to \u22123.0 percentage points" in v.text  # min and max of the three, in pp
    assert "pre-trend test p = 0.50" in v.text


def test_no_estimator_finds_an_effect():
    v = verdict(_tidy({"twfe": (0.01, 0.02), "twfe_individual": (-0.005, 0.02), "staggered": (0.0, 0.03)}),
                "smoker")
    assert v.facts["direction"] == "none"
    assert v.text.startswith("No estimator finds a change in current smoking")
    assert "every 95% confidence interval includes zero" in v.text


def test_disagreement_and_contradiction_are_flagged():
    some = verdict(_tidy({"twfe": (-0.04, 0.01), "twfe_individual": (-0.01, 0.02), "staggered": (-0.02, 0.02)}),
                   "smoker")
    assert "estimators_disagree" in some.facts["flags"] and "1 of 3 find a decrease" in some.text
    opposite = verdict(_tidy({"twfe": (-0.04, 0.01), "staggered": (0.05, 0.01)}), "smoker")
    assert "estimators_contradict" in opposite.facts["flags"]
    assert "significant decrease" in opposite.text and "significant increase" in opposite.text


def test_naive_is_not_a_headline_estimator():
    v = verdict(_tidy({"twfe": (-0.04, 0.01), "naive": (0.08, 0.01)}), "smoker")
    assert list(v.estimates["model"]) == ["twfe"] and "estimators_contradict" not in v.facts["flags"]


def test_caveats_pretrend_few_clusters_model_based():
    v = verdict(_tidy({"twfe": (-0.04, 0.01)}, pretrend_p=0.003, clusters=12, wcr_p=0.21), "smoker",
                model_based=True)
    assert {"pretrend_failed", "few_clusters", "model_based"} <= set(v.facts["flags"])
    assert "pre-trend test p = 0.003" in v.text
    assert "only 12 wijken as clusters" in v.text and "wild cluster bootstrap gives p = 0.21" in v.text
    assert "model-based small-area estimates" in v.text
    assert verdict(_tidy({"twfe": (-0.04, 0.01)}, pretrend_p=None), "smoker").facts.get("pretrend_p") is None


def test_sensitivity_and_mde_when_present_and_silent_when_absent():
    base = {"twfe": (-0.01, 0.008), "staggered": (-0.012, 0.01)}
    plain = verdict(_tidy(base), "smoker")
    assert "Sensitivity" not in plain.text and "detects" not in plain.text
    ctx = Context("s", "ALL", "smoker")
    sens = t_row(ctx, "sensitivity", "breakdown_M", 0.5, np.nan, 59, n_obs=500, n_wijken=60, n_clusters=60,
                 inference="honest_did_relative_magnitudes", weights="cell_n")
    mde = pd.DataFrame({"city": ["ALL"], "outcome": ["smoker"], "mde": [0.035], "power": [80]})
    v = verdict(_tidy(base, extra=[sens]), "smoker", mde=mde)
    assert "violations of parallel trends up to M = 0.5" in v.text
    assert "80% power is about 3.5 percentage points" in v.text and "underpowered" in v.facts["flags"]
    # the power stage's table holds power as a proportion (0.8): the first page said "0% power"
    v = verdict(_tidy(base, extra=[sens]), "smoker", mde=mde.assign(power=[0.8]))
    assert "80% power is about 3.5 percentage points" in v.text


def test_dutch():
    v = verdict(_tidy({"twfe": (-0.04, 0.01), "staggered": (-0.03, 0.01)}), "smoker", language="nl")
    assert v.text.startswith("Alle 2 schatters vinden een daling in rookt")
    assert "procentpunt" in v.text


def test_on_the_demo_numbers_come_from_the_tidy_rows(demo_results):  # noqa: F811
    est = demo_results["estimates"]
    vs = verdicts(est, ["smoker", "walking"])
    assert [(v.outcome, v.city) for v in vs] == [("smoker", "GM9901"), ("smoker", "GM9902"),
                                                 ("walking", "GM9901"), ("walking", "GM9902")]
    h = headline_rows(est, "smoker", "GM9901")
    assert list(h["model"]) == ["twfe", "twfe_individual", "staggered"]
    twfe = est[(est["city"] == "GM9901") & (est["outcome"] == "smoker") & (est["model"] == "twfe")
               & est["inference"].str.startswith(CR1)].iloc[0]
    text = vs[0].text
    expect = f"{100 * twfe['estimate']:.1f} [{100 * twfe['ci_low']:.1f}, {100 * twfe['ci_high']:.1f}]"
    assert expect.replace("-", "\u2212") in text
    assert "few_clusters" in vs[0].facts["flags"]  # 18 wijken in GM9901
    html = first_page_html(vs)
    assert html.count("<h2") == 4 and "wijkeffect-verdict" in html


def test_no_rows_says_so():
    v = verdict(_tidy({"twfe": (-0.04, 0.01)}), "smoker", city="GM0000")
    assert v.text.startswith("No effect estimate")
    with pytest.raises(KeyError):
        v.facts["direction"]
