"""The inferential specification curve as the sweep runs it: each spec's panel rebuilt under permuted
treatment (exactly what the panel stage builds), one relabelling per draw shared by every spec, null rows
per spec combined into p-values with size under no effect and power under a large one; its config key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from wijkeffect import simulate, speccurve, stages, sweep, sweep_stages
from wijkeffect.errors import WijkeffectError
from wijkeffect.study import Study

NN2 = {"match": "nearest", "k": 2}


# ------------------------------------------------ the rebuilt panel is the panel stage's, for any relabelling
@pytest.fixture(scope="module")
def demo_linked(root, demo_cleaned):
    from wijkeffect.study import load_study

    study = load_study(root / "config/studies/demo.yaml")
    frames = [df for df, _ in demo_cleaned]
    return frames, study, sweep_stages.linked_respondents(frames, study)


@pytest.mark.parametrize("controls", ["same_city", NN2], ids=["same_city", "nn2"])
def test_rebuilt_panel_is_the_panel_stage_output(demo_linked, controls):
    from wijkeffect.panel import build_cells, build_respondents

    frames, study, linked = demo_linked
    study = dataclasses.replace(study, spec={**study.spec, "controls": controls})
    resp0, _, _ = build_respondents(frames, study)
    cells0 = build_cells(resp0, study.outcomes)
    universe = speccurve.permutation_universe(linked, study.cities)
    identity = dict(zip(universe["wijk_code"], universe["wijk_code"]))
    fast = speccurve.PermutedPanel(linked, study, study.outcomes)
    for resp, cells in (speccurve.permuted_panel(linked, study, identity, study.outcomes), fast(identity)):
        pd.testing.assert_frame_equal(resp, resp0)
        pd.testing.assert_frame_equal(cells, cells0)
    controls_seen = set()
    for r in range(3):  # the fast path equals the plain rebuild (permute_treated, matching, attach, build_cells)
        mapping = speccurve.wijk_permutation(universe, np.random.default_rng([5, r]))
        ref = speccurve.permuted_panel(linked, study, mapping, study.outcomes)
        got = fast(mapping)
        pd.testing.assert_frame_equal(got[0], ref[0])
        pd.testing.assert_frame_equal(got[1], ref[1])
        c = got[1].drop_duplicates("wijk_code")
        per_city = c[c["role"] == "treated"].groupby("gemeente_code").size()
        real = cells0.drop_duplicates("wijk_code")
        pd.testing.assert_series_equal(per_city, real[real["role"] == "treated"].groupby("gemeente_code").size())
        assert set(c.loc[c["role"] == "treated", "wijk_code"]) == {w for w, s in mapping.items()
                                                                   if s in set(study.treated["wijk_code"])}
        controls_seen.add(frozenset(c.loc[c["role"] == "control", "wijk_code"]))
    if controls != "same_city":  # a matched pool is matched again to each draw's treated wijken
        assert len(controls_seen) == 3


def test_permuted_study_keeps_treated_wijken_outside_the_relabelling(demo_linked):
    _, study, _ = demo_linked
    outside = study.treated["wijk_code"].iloc[0]
    rest = [w for w in study.treated["wijk_code"] if w != outside] + ["WK999901"]
    mapping = dict(zip(rest, rest[::-1]))
    t = speccurve.permuted_study(study, mapping).treated
    assert outside in set(t["wijk_code"]) and t["start"].dtype == study.treated["start"].dtype
    assert len(t) == len(study.treated) and t["wijk_code"].is_unique


# --------------------------------------------------------------- draws from the spec jobs' null rows
def _tidy(rows):
    base = dict(study="t", term="D", model="twfe", inference="cluster_wijk_cr1", std_error=0.01, n_obs=1,
                n_wijken=1, n_clusters=1, weights="", covariates="", seed=1, p_holm=np.nan, p_bh=np.nan, city="ALL",
                outcome="o", ci_low=0.0, ci_high=0.0)
    return pd.DataFrame([dict(base, **r) for r in rows])


def test_a_draw_missing_a_spec_is_left_out_of_that_curve():
    curve = speccurve.curve_table(_tidy([dict(spec="a", estimate=-0.05, p_value=0.01),
                                         dict(spec="b", estimate=-0.03, p_value=0.04)]))
    rows = _tidy([dict(spec=s, estimate=e, p_value=p, draw=r) for r, s, e, p in [
        (0, "a", 0.01, 0.5), (0, "b", -0.04, 0.03), (1, "a", 0.02, 0.6), (2, "a", -0.06, 0.01), (2, "b", 0.0, 0.9),
        (2, "c", 9.0, 0.0)]])  # draw 1 lacks spec b (its fit failed); spec c is not on the curve
    d = speccurve.draws_from_rows(curve, rows, range(3))
    assert d["draw"].tolist() == [0, 1, 2] and d.iloc[1][list(speccurve.STATISTICS)].isna().all()
    np.testing.assert_allclose(d.iloc[2][list(speccurve.STATISTICS)].to_numpy(float),
                               speccurve.statistics(np.array([-0.06, 0.0]), np.array([0.01, 0.9])))
    t = speccurve.pvalues_from_draws(curve, d, 3).iloc[0]
    assert t["reps"] == 3 and t["draws_used"] == 2
    # observed median -0.04, count 2, mean Z; draws 0 (-0.015, 1) and 2 (-0.03, 1): none as extreme
    assert t["p_median"] == pytest.approx(1 / 3) and t["p_share_sig"] == pytest.approx(1 / 3)
    assert t["share_sig_dominant"] == 1.0


# ------------------------------------------ size and power of the wired test on simulated demo-like studies
SIM = dict(respondents_per_wijk=20.0, waves=(2005, 2007, 2009, 2011))


def _joint_test(effect: float, seed: int, reps: int) -> pd.Series:
    """Two specs (same-city and matched controls, twfe) on one simulated study: the curve's joint test, each
    spec's null rows made by `sweep_stages.null_rows` as its sweep job would, combined as the summary does."""
    r = simulate.respondents(simulate.spec_with(effect, **SIM), seed=seed)
    treated = (r.loc[r["start"].notna(), ["wijk_code", "start", "group"]].drop_duplicates("wijk_code")
               .sort_values("wijk_code").reset_index(drop=True))
    spec = {"name": "sim", "cities": sorted(r["gemeente_code"].unique()), "outcomes": ["smoker"]}
    obs, nulls = [], []
    for sid, controls in (("default", "same_city"), ("controls-nn2", NN2)):
        study = Study("sim", Path("sim.yaml"), dict(spec, controls=controls), treated)
        universe = speccurve.permutation_universe(r, study.cities)
        _, cells = speccurve.permuted_panel(r, study, dict(zip(universe["wijk_code"], universe["wijk_code"])),
                                            ["smoker"])
        obs.append(stages.estimate_outcome("sim", "ALL", "smoker", cells, None, ["twfe"], 1, {},
                                           sweep_stages.NULL_INFERENCE, sid))
        nulls.append(sweep_stages.null_rows(r, study, "ALL", ["smoker"], ["twfe"], {}, 1, reps, seed + 1, sid))
    curve = speccurve.curve_table(pd.concat(obs, ignore_index=True))
    draws = speccurve.draws_from_rows(curve, pd.concat(nulls, ignore_index=True), range(reps))
    return speccurve.pvalues_from_draws(curve, draws, seed + 1).iloc[0]


def test_joint_test_has_size_under_no_effect_and_power_under_a_large_one():
    reps = 9  # smallest p 1/10
    null = pd.DataFrame([_joint_test(0.0, 300 + k, reps) for k in range(6)])
    assert (null["draws_used"] == reps).all() and (null["reps"] == reps).all()
    for col in ("p_median", "p_mean_z"):  # uniform on {0.1, ..., 1} under the null: mean 0.55
        assert null[col].mean() >= 0.3 and (null[col] <= 0.1).sum() <= 2, null[col].tolist()
    big = pd.DataFrame([_joint_test(-0.15, 400 + k, reps) for k in range(2)])
    assert (big["median"] < -0.08).all()
    np.testing.assert_allclose(big["p_median"], 1 / (1 + reps))  # no null draw as extreme
    assert (big["p_mean_z"] <= 0.2).all()


def test_null_rows_are_seeded_per_draw():
    r = simulate.respondents(simulate.spec_with(0.0, **SIM), seed=5)
    treated = r.loc[r["start"].notna(), ["wijk_code", "start", "group"]].drop_duplicates("wijk_code")
    study = Study("sim", Path("sim.yaml"), {"name": "sim", "cities": sorted(r["gemeente_code"].unique()),
                                             "outcomes": ["smoker"], "controls": "same_city"}, treated)
    a = sweep_stages.null_rows(r, study, "ALL", ["smoker"], ["twfe", "segmented"], {}, 1, 4, 8)
    b = sweep_stages.null_rows(r, study, "ALL", ["smoker"], ["twfe"], {}, 1, 2, 8)
    assert a["draw"].tolist() == [0, 1, 2, 3] and set(a["model"]) == {"twfe"}  # only the curve's models
    pd.testing.assert_frame_equal(a[a["draw"] < 2], b)  # draw r is Generator([seed, r]) whatever reps is
    assert a["estimate"].nunique() == 4


# ----------------------------------------------------------------------------- config: sweep.permutations
def test_permutations_config(root):
    cfg = {"seed": 11, "sweep": {"axes": {"walk": [30, 60]}}, "thresholds": {"walking_min_week": 30}}
    assert sweep.permutations(cfg) == {"reps": sweep.PERMUTATION_REPS, "seed": 11}
    cfg["sweep"]["permutations"] = {"reps": 0}
    assert sweep.permutations(cfg)["reps"] == 0 and len(sweep.expand(cfg)) == 2
    for bad in ({"reps": -1}, {"reps": 1.5}, {"draws": 9}, [9]):
        cfg["sweep"]["permutations"] = bad
        with pytest.raises(WijkeffectError, match="sweep/permutations"):
            sweep.expand(cfg)
    schema = yaml.safe_load((root / "workflow/schemas/config.schema.yaml").read_text())
    perm = schema["properties"]["sweep"]["properties"]["permutations"]
    assert perm["default"]["reps"] == perm["properties"]["reps"]["default"] == sweep.PERMUTATION_REPS
    demo = yaml.safe_load((root / "config/sweep.yaml").read_text())
    assert sweep.permutations(demo)["reps"] > 0
