"""Specification sweeps: stable ids, exclusions, designs, stage keys, overlays, start shifts, schema."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from wijkeffect import sweep
from wijkeffect.codebook import load_yaml, validate
from wijkeffect.errors import WijkeffectError


@pytest.fixture(scope="module")
def base(root):
    return load_yaml(root / "config/config.yaml"), load_yaml(root / "config/studies/demo.yaml")


def with_sweep(config: dict, text: str) -> dict:
    c = copy.deepcopy(config)
    c["sweep"] = yaml.safe_load(text)
    return c


GRID = """
axes:
  controls: [same_city, all, {match: nearest, k: 1}, {match: nearest, k: 2}, {match: nearest, k: 5}]
  walk: [30, 60, 150]
  covariates: [on, off]
  start: [0, -1, 1]
  cs_control: [never, not_yet]
"""


def ids(specs):
    return [s.id for s in specs]


def test_no_sweep_is_one_default_spec_and_apply_changes_nothing_else(base):
    config, study = base
    specs = sweep.expand(config, study)
    assert ids(specs) == ["default"]
    cfg, st = sweep.apply(specs[0], config, study)
    assert st == study
    assert cfg == config
    assert sweep.clean_key(specs[0]) == sweep.panel_key(specs[0]) == "default"
    t = sweep.specs_table(specs)
    assert t["spec"].tolist() == ["default"] and t["overlay"].tolist() == ["{}"]


def test_grid_size_ids_readable_and_unique(base):
    config, study = base
    specs = sweep.expand(with_sweep(config, GRID), study)
    assert len(specs) == 5 * 3 * 2 * 3 * 2
    assert len(set(ids(specs))) == len(specs)
    assert specs[0].id == "default"
    one = next(s for s in specs if s.values == {"controls": "nn2", "walk": "60", "covariates": "off", "start": "m1",
                                                 "cs_control": "never"})
    assert one.id == "controls-nn2.covariates-off.start-m1.walk-60"  # axes sorted by name, baselines left out


def test_ids_stable_when_values_axes_or_cities_are_added_or_axes_reordered(base):
    config, study = base
    small = sweep.expand(with_sweep(config, "axes: {walk: [30, 60], controls: [same_city, all]}"), study)
    more_values = sweep.expand(with_sweep(config, "axes: {walk: [30, 60, 150], controls: [same_city, all, "
                                                  "{match: nearest, k: 2}]}"), study)
    more_axes = sweep.expand(with_sweep(config, "axes: {walk: [30, 60], controls: [same_city, all], "
                                                "covariates: [on, off], start: [0, 1]}"), study)
    reordered = sweep.expand(with_sweep(config, "axes: {controls: [all, same_city], walk: [60, 30]}"), study)
    more_cities = sweep.expand(with_sweep(config, "axes: {walk: [30, 60], controls: [same_city, all]}\n"
                                                  "cities: [GM9901, GM9902, GM9903, GM9904]"), study)
    before = {s.id: s for s in small}
    for bigger in (more_values, more_axes, reordered, more_cities):
        after = {s.id: s for s in bigger}
        assert set(before) <= set(after)
        for k, s in before.items():  # same id, same choices, same overlay
            assert after[k].overlay == s.overlay
            assert {a: after[k].values[a] for a in s.values} == s.values
    assert len(more_values) == 9 and len(more_axes) == 16
    assert more_cities[0].cities == ("GM9901", "GM9902", "GM9903", "GM9904")
    cfg_small = with_sweep(config, "axes: {walk: [30, 60], controls: [same_city, all]}")
    cfg_more = with_sweep(config, "axes: {walk: [30, 60], controls: [same_city, all]}\ncities: [GM9901]")
    for a, b in zip(small, more_cities):  # adding a city changes no spec's config or study: no job reruns
        assert sweep.apply(a, cfg_small, study) == sweep.apply(b, cfg_more, study)


def test_exclusions_drop_exactly_the_matching_specs(base):
    config, study = base
    text = GRID + "exclude:\n  - {start: [-1, 1], controls: [all, nn1, nn2, nn5]}\n  - {walk: 150, covariates: off}\n"
    specs = sweep.expand(with_sweep(config, text), study)
    full = sweep.expand(with_sweep(config, GRID), study)
    dropped = [s for s in full if (s.values["start"] != "0" and s.values["controls"] != "same_city")
               or (s.values["walk"] == "150" and s.values["covariates"] == "off")]
    assert len(specs) == len(full) - len(dropped)
    assert not set(ids(specs)) & set(ids(dropped))


@pytest.mark.parametrize("text, where", [
    ("axes: {walk: [60, 150]}", "sweep/axes/walk"),  # the configured 30 must be one of the values
    ("axes: {walk: [30, 60]}\nexclude: [{walk: 45}]", "exclude/0/walk"),
    ("axes: {walk: [30, 60]}\nexclude: [{nope: 1}]", "exclude/0"),
    ("axes: {walk: [30, 60, 150], covariates: [on, off]}\nmax_specs: 5", "max_specs"),
    ("axes: {walk: [30, 30]}", "axes/walk"),
    ("axes: {colour: [red, blue]}", "axes/colour"),
    ("axes: {x: {target: nowhere.key, values: [1, 2]}}", "axes/x"),
    ("axes: {walk: [30, 60]}\nexclude: [{walk: [30, 60]}]", "exclude"),
    ("axes: {walk: [30, 60]}\nexlude: [{walk: 60}]", "sweep/"),
])
def test_bad_sweeps_name_the_key(base, text, where):
    config, study = base
    with pytest.raises(WijkeffectError, match=where.replace("/", "/")):
        sweep.expand(with_sweep(config, text), study)


def test_one_at_a_time_is_the_baseline_plus_each_value_alone_with_grid_ids(base):
    config, study = base
    oat = sweep.expand(with_sweep(config, GRID + "design: one_at_a_time\ninclude: [{controls: nn2, walk: 60}]"),
                       study)
    grid = ids(sweep.expand(with_sweep(config, GRID), study))
    assert len(oat) == 1 + 4 + 2 + 1 + 2 + 1 + 1  # baseline, each non-baseline value, one included combination
    assert set(ids(oat)) <= set(grid)
    assert "controls-nn2.walk-60" in ids(oat)


def test_stage_keys_share_upstream_outputs(base):
    config, study = base
    specs = sweep.expand(with_sweep(config, GRID), study)
    t = sweep.specs_table(specs)
    assert t["clean_key"].nunique() == 3  # walk only
    assert t["panel_key"].nunique() == 3 * 5 * 3  # walk x controls x start
    s = next(x for x in specs if x.id == "controls-all.covariates-off.cs_control-not_yet.walk-150")
    assert sweep.clean_key(s) == "walk-150"
    assert sweep.panel_key(s) == "controls-all.walk-150"
    assert sweep.stage_key(s, "estimate") == s.id
    axes = {a.name: a.stage for a in sweep.axes(with_sweep(config, GRID), study)}
    assert axes == {"controls": "panel", "walk": "clean", "covariates": "estimate", "start": "panel",
                    "cs_control": "estimate"}
    assert sweep.axis_columns(t) == ["controls", "walk", "covariates", "start", "cs_control"]
    assert all(pd.Series(t["spec"]).str.fullmatch(sweep.SPEC_ID))


def test_apply_overlays_config_and_study_without_touching_the_inputs(base, root):
    config, study = base
    c0, s0 = copy.deepcopy(config), copy.deepcopy(study)
    cfg_sw = with_sweep(config, GRID)
    spec = next(x for x in sweep.expand(cfg_sw, study)
                if x.id == "controls-nn2.covariates-off.cs_control-not_yet.walk-60")
    cfg, st = sweep.apply(spec, cfg_sw, study)
    assert config == c0 and study == s0
    assert st["controls"] == {"match": "nearest", "k": 2}
    assert cfg["thresholds"]["walking_min_week"] == 60 and cfg["thresholds"]["k10_high"] == 30
    assert cfg["model_options"]["twfe_individual"]["covariates"] == []
    assert cfg["model_options"]["staggered"] == {"control_group": "not_yet", "se": "jackknife"}
    assert "sweep" not in cfg
    validate(cfg, "config.schema.yaml", "overlaid config")
    validate(st, "study.schema.yaml", "overlaid study")


def _cohort(start: pd.Timestamp, waves: list[int]) -> int | None:
    """First wave with fieldwork (February-November, as the demo) on or after the start."""
    return next((w for w in waves if pd.Timestamp(w, 11, 30) >= start), None)


def test_start_shift_moves_every_first_post_wave_by_exactly_one_wave(base):
    config, study = base
    waves = [w["wave"] for w in config["waves"]]
    cfg_sw = with_sweep(config, "axes: {start: [0, -1, 1]}")
    specs = {s.id: s for s in sweep.expand(cfg_sw, study)}
    assert sweep.panel_key(specs["start-m1"]) == "start-m1" and sweep.clean_key(specs["start-m1"]) == "default"
    _, st0 = sweep.apply(specs["default"], cfg_sw, study)
    from wijkeffect.study import _treated_table

    t0 = _treated_table(st0, "study", None).set_index("wijk_code")
    for sid, k in (("start-m1", -1), ("start-1", 1)):
        _, st = sweep.apply(specs[sid], cfg_sw, study)
        validate(st, "study.schema.yaml", sid)
        t = pd.DataFrame(st["treated"]).set_index("wijk_code")
        assert len(t) == len(t0) and (t["group"] == t0["group"]).all()
        for w, r in t.iterrows():
            before, after = _cohort(t0.loc[w, "start"], waves), _cohort(pd.Timestamp(r["start"]), waves)
            assert waves.index(after) == waves.index(before) + k, (w, r["start"])
    shifted = sweep.shift_starts(pd.DataFrame({"start": pd.to_datetime(["2008-07-01", "2011-03-01"])}), waves, 1)
    assert shifted["start"].tolist() == [pd.Timestamp("2010-07-01"), pd.Timestamp("2013-03-01")]
    past = sweep.shift_starts(pd.DataFrame({"start": [pd.Timestamp("2012-07-01")]}), waves, 1)
    assert past["start"].iloc[0] == pd.Timestamp("2014-01-01")  # no post wave left
    with pytest.raises(WijkeffectError, match="outside the waves"):
        sweep.shift_starts(pd.DataFrame({"start": [pd.Timestamp("2004-07-01")]}), waves, -1)


def test_generic_axes_with_labels_targets_and_explicit_stage(base):
    config, study = base
    text = """
axes:
  estimator:
    values:
      all: {}
      twfe_only: {models: [twfe]}
      cs_notyet: {models: [staggered], model_options.staggered.control_group: not_yet}
  base_period:
    target: model_options.staggered.base_period
    values: [universal, varying]
  trim:
    stage: panel
    default: none
    values: {none: {}, p99: {model_options.twfe.trim: 0.99}}
"""
    cfg_sw = with_sweep(config, text)
    ax = {a.name: a for a in sweep.axes(cfg_sw, study)}
    assert ax["estimator"].baseline == "all" and ax["estimator"].stage == "estimate"
    assert ax["base_period"].baseline == "universal"  # not configured: the first value
    assert ax["trim"].stage == "panel"
    specs = {s.id: s for s in sweep.expand(cfg_sw, study)}
    assert len(specs) == 3 * 2 * 2
    cfg, _ = sweep.apply(specs["base_period-varying.estimator-cs_notyet"], cfg_sw, study)
    assert cfg["models"] == ["staggered"]
    assert cfg["model_options"]["staggered"]["base_period"] == "varying"
    assert cfg["model_options"]["staggered"]["control_group"] == "not_yet"
    # a baseline over a key the config does not set is written into every spec (the label must be true)
    cfg, _ = sweep.apply(specs["default"], cfg_sw, study)
    assert cfg["model_options"]["staggered"]["base_period"] == "universal"
    assert "trim" not in cfg["model_options"].get("twfe", {})  # an empty baseline writes nothing
    # ... but upstream that would make the default spec differ from the plain run
    with pytest.raises(WijkeffectError, match="axes/link"):
        sweep.expand(with_sweep(config, "axes: {link: {target: study.link_key, values: [pc4, pc6]}}"), study)


def test_schema_accepts_the_sweep_section_and_rejects_unknown_keys(base):
    config, _ = base
    validate(with_sweep(config, GRID + "exclude: [{walk: 150}]\nmax_specs: 300\ndesign: grid"), "config.schema.yaml",
             "cfg")
    for bad in (GRID + "maximum: 3", "axes: {Walk: [30]}", GRID + "design: random"):
        with pytest.raises(WijkeffectError, match="sweep"):
            validate(with_sweep(config, bad), "config.schema.yaml", "cfg")


def test_write_study_is_byte_stable_and_not_rewritten(tmp_path, base):
    _, study = base
    p = sweep.write_study(study, tmp_path / "s" / "study.yaml")
    mtime, text = p.stat().st_mtime_ns, p.read_bytes()
    import os
    import time

    time.sleep(0.01)
    os.utime(p, ns=(mtime, mtime))
    sweep.write_study(copy.deepcopy(study), p)
    assert p.stat().st_mtime_ns == mtime and p.read_bytes() == text
    assert yaml.safe_load(text) == study


def test_value_labels():
    assert [sweep.value_label(v) for v in (30, 2.5, -1, True, False, "not_yet", ["twfe", "naive"])] == \
        ["30", "2p5", "m1", "on", "off", "not_yet", "twfe_naive"]
    assert sweep.value_label({"match": "propensity", "k": 5, "within": "all"}) == "ps5_all"


def test_threshold_specs_are_kept_only_for_the_outcomes_they_change(base):
    config, study = base
    cfg_sw = with_sweep(config, "axes: {walk: [30, 60], k10: [30, 25], covariates: [on, off]}")
    specs = {s.id: s for s in sweep.expand(cfg_sw, study)}
    outcomes = ["smoker", "psych_distress", "walking"]
    assert sweep.outcomes_for(specs["default"], outcomes) == outcomes
    assert sweep.outcomes_for(specs["covariates-off"], outcomes) == outcomes
    assert sweep.outcomes_for(specs["walk-60"], outcomes) == ["walking"]
    assert sweep.outcomes_for(specs["covariates-off.k10-25"], outcomes) == ["psych_distress"]
    assert sweep.outcomes_for(specs["k10-25.walk-60"], outcomes) == []
    t = sweep.specs_table(list(specs.values())).set_index("spec")
    assert t.loc["walk-60", "outcomes"] == "walking" and t.loc["k10-25.walk-60", "outcomes"] == "none"
    assert sweep.spec_outcomes(t.reset_index())["default"] is None


def test_representatives_give_one_spec_per_shared_upstream_output(base):
    config, study = base
    cfg_sw = with_sweep(config, GRID)
    specs = sweep.expand(cfg_sw, study)
    for stage, n in (("clean", 3), ("panel", 45), ("estimate", len(specs))):
        reps = sweep.representatives(specs, stage)
        assert len(reps) == n
    # every spec sharing a panel key gets the same study and thresholds from apply
    panel = sweep.representatives(specs, "panel")
    for s in specs[:40]:
        rep = panel[sweep.panel_key(s)]
        (c1, s1), (c2, s2) = sweep.apply(s, cfg_sw, study), sweep.apply(rep, cfg_sw, study)
        assert s1 == s2 and c1["thresholds"] == c2["thresholds"]


def test_overlays_change_what_the_real_stages_produce(base, root, tmp_path, demo_panel):
    """walk-150 lowers the cleaned walking prevalence; start-1 moves every treated wijk's first post wave."""
    from wijkeffect.clean import Thresholds, clean_wave
    from wijkeffect.codebook import load_codebook
    from wijkeffect.panel import attach_treatment
    from wijkeffect.study import load_study

    config, study = base
    cfg_sw = with_sweep(config, "axes: {walk: [30, 150], start: [0, 1]}")
    specs = {s.id: s for s in sweep.expand(cfg_sw, study)}
    cb = load_codebook(root / "config/codebooks/demo/2013.yaml")
    share = {}
    for sid in ("default", "walk-150"):
        cfg, _ = sweep.apply(specs[sid], cfg_sw, study)
        share[sid] = clean_wave(cb, Thresholds.from_config(cfg["thresholds"]))[0]["walking"].mean()
    assert share["walk-150"] < share["default"] - 0.05
    resp = demo_panel[0]
    first = {}
    for sid in ("default", "start-1"):
        _, st = sweep.apply(specs[sid], cfg_sw, study)
        s = load_study(sweep.write_study(st, tmp_path / sid / "study.yaml"))
        out, _ = attach_treatment(resp.drop(columns=["role", "group", "start", "post"]), s)
        first[sid] = out[out["post"] == 1].groupby("wijk_code")["wave"].min()
    waves = sorted(resp["wave"].unique())
    moved = first["start-1"].reindex(first["default"].index)
    shifted = first["default"][first["default"] < waves[-1]].map(lambda w: waves[waves.index(w) + 1])
    assert len(shifted) > 10 and (moved[shifted.index] == shifted).all()


def test_with_choices_joins_the_axis_values(base):
    config, study = base
    specs = sweep.expand(with_sweep(config, "axes: {walk: [30, 60]}"), study)
    est = pd.DataFrame({"spec": ["default", "walk-60", "walk-60"], "estimate": [1.0, 2.0, 3.0]})
    out = sweep.with_choices(est, sweep.specs_table(specs))
    assert out["walk"].tolist() == ["30", "60", "60"]


def test_base_overlay_is_shared_by_every_spec_and_refused_upstream(base):
    config, study = base
    text = "axes: {covariates: [on, off]}\nbase: {inference.bootstrap_reps: 0, models: [twfe, staggered]}"
    cfg_sw = with_sweep(config, text)
    validate(cfg_sw, "config.schema.yaml", "cfg")
    specs = sweep.expand(cfg_sw, study)
    assert ids(specs) == ["default", "covariates-off"]  # the base is not part of ids
    for s in specs:
        cfg, _ = sweep.apply(s, cfg_sw, study)
        assert cfg["inference"]["bootstrap_reps"] == 0 and cfg["models"] == ["twfe", "staggered"]
        assert cfg["inference"]["randomization_reps"] == config["inference"]["randomization_reps"]
    with pytest.raises(WijkeffectError, match="base/thresholds.walking_min_week"):
        sweep.expand(with_sweep(config, "base: {thresholds.walking_min_week: 60}"), study)
    with pytest.raises(WijkeffectError, match="sweep"):
        validate(with_sweep(config, "base: {study.controls: all}"), "config.schema.yaml", "cfg")
    # an axis over a key the base sets takes the base's value as its baseline
    cfg_b = with_sweep(config, "axes: {reps: {target: inference.bootstrap_reps, values: [0, 999]}}\n"
                               "base: {inference.bootstrap_reps: 0}")
    assert ids(sweep.expand(cfg_b, study)) == ["default", "reps-999"]
