"""Specification sweeps: a grid of analysis choices from config `sweep:`, each point a named spec.

A sweep has named axes (control pool, outcome thresholds, covariates, weights, estimator options,
start date shifts, or any config/study key). Each axis value is an overlay: {dotted key: value},
keys under `study.` going to the study, the others to the config. Exactly one value per axis is its
baseline: the one that reproduces the configuration as written (else `default:` or the first).

Spec ids are readable and stable: `default` for the all-baseline spec, otherwise the non-baseline
choices `axis-label`, axes sorted by name, joined by `.` (e.g. `controls-nn2.walk-60`). Adding a value,
an axis (whose baseline is the configured value) or a city never renames an existing spec, so
incremental sweeps only run new jobs. Each axis invalidates one stage onward (clean -> panel ->
estimate); `stage_key(spec, stage)` is the id of the upstream output a spec needs, shared by every
spec that agrees on the axes up to that stage.

Example (config.yaml; 5 x 3 x 2 x 3 x 2 = 180 specs less the exclusions):

    sweep:
      axes:
        controls: [same_city, all, {match: nearest, k: 1}, {match: nearest, k: 2}, {match: nearest, k: 5}]
        walk: [30, 60, 150]            # thresholds.walking_min_week; also k10, mhi5
        covariates: [on, off]          # on: as configured; off: no covariates in any model
        start: [0, -1, 1]              # every start moved this many waves (placebo)
        cs_control: [never, not_yet]   # model_options.staggered.control_group
        estimator:                     # any overlay, labelled
          values: {all: {}, twfe_only: {models: [twfe]}}
      exclude:
        - {start: [-1, 1], controls: [all, nn1, nn2, nn5]}
      base: {inference.bootstrap_reps: 0}   # estimate options every spec shares (not in ids)
      design: grid                     # or one_at_a_time
      cities: [GM0363, GM0599]         # default: the run's cities; not part of spec ids
      max_specs: 200
      permutations: {reps: 199, seed: 1}   # the joint test by permutation (0: off; seed: the config's)
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error

STAGES = ("clean", "panel", "estimate")
#: top-level config key (or `study`) -> the first stage a change to it invalidates
STAGE_OF_KEY = {"thresholds": "clean", "waves": "clean", "study": "panel", "weights": "panel",
                "models": "estimate", "model_options": "estimate", "inference": "estimate", "seed": "estimate"}
#: values a key takes when neither config nor study sets it (schema defaults)
IMPLICIT = {"study.controls": "same_city", "weights": "survey", "thresholds.k10_high": 30,
            "thresholds.mhi5_low": 60, "thresholds.walking_min_week": 30}
#: keys that change only some outcomes: a spec departing on them is estimated (and curved) for those only
AFFECTS = {"thresholds.walking_min_week": ("walking",), "thresholds.k10_high": ("psych_distress",),
           "thresholds.mhi5_low": ("psych_distress",)}
#: models whose `covariates` option the `covariates: [on, off]` axis switches
COVARIATE_MODELS = ("twfe_individual", "segmented", "staggered")
#: preset axes: name -> the key their plain values set
PRESETS = {
    "controls": "study.controls",
    "walk": "thresholds.walking_min_week",
    "k10": "thresholds.k10_high",
    "mhi5": "thresholds.mhi5_low",
    "weights": "weights",
    "models": "models",
    "cs_control": "model_options.staggered.control_group",
    "base_period": "model_options.staggered.base_period",
}
#: null draws of the inferential specification curve when `sweep.permutations.reps` is not set (schema default)
PERMUTATION_REPS = 19
SHIFT = "shift_waves"  # overlay value {shift_waves: k} on study.treated: every start moved k waves
NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
SPEC_ID = r"default|[a-z0-9_]+-[a-z0-9_]+(\.[a-z0-9_]+-[a-z0-9_]+)*"  # Snakemake wildcard constraint


@dataclass(frozen=True)
class Axis:
    """One choice: value label -> overlay, its baseline label, and the first stage it invalidates."""

    name: str
    stage: str
    values: dict[str, dict[str, Any]]
    baseline: str
    outcomes: tuple[str, ...] | None = None  # the only outcomes its values change (None: all)
    applied: bool = False  # the baseline is not the configuration (an unset key): written into every spec


@dataclass(frozen=True)
class Spec:
    """One point of the grid: its stable id, the label chosen on every axis, and the overlay it applies
    (its non-baseline choices, and baselines over keys the configuration does not set)."""

    id: str
    values: dict[str, str]
    overlay: dict[str, Any]
    keys: dict[str, str] = field(default_factory=dict)  # stage -> id of the output of that stage it needs
    cities: tuple[str, ...] = ()
    outcomes: tuple[str, ...] | None = None  # None: every outcome; else the only ones this spec changes


def _err(where: str, bad: Any, expected: str) -> WijkeffectError:
    """The standard bad-input error for a key under the config's `sweep:` section."""
    return input_error("config", f"key sweep/{where}", [bad], expected)


def value_label(value: Any) -> str:
    """A short path-safe label for an axis value (numbers, strings, on/off, matched control pools)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        s = f"{value:g}".replace("-", "m").replace(".", "p")
        return s
    if isinstance(value, str):
        return re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
    if isinstance(value, list):
        return "_".join(value_label(v) for v in value)
    if isinstance(value, dict) and "match" in value:
        s = {"nearest": "nn", "propensity": "ps"}.get(value["match"], value_label(value["match"]))
        s += str(value.get("k", 2))
        return s + ("_all" if value.get("within", "same_city") == "all" else "")
    raise WijkeffectError(f"config: key sweep: cannot name value {value!r}; give the axis values as a mapping "
                          "label: value")


def _get(config: dict, study: dict | None, path: str) -> tuple[bool, Any]:
    """(known, value) of a dotted key in the config or (`study.`) the study; implicit defaults count."""
    parts = path.split(".")
    node: Any = study if parts[0] == "study" else config
    if parts[0] == "study":
        parts = parts[1:]
        if study is None:
            return False, None
    for p in parts:
        if not isinstance(node, dict) or p not in node:
            return (True, IMPLICIT[path]) if path in IMPLICIT else (False, None)
        node = node[p]
    return True, node


def _set(config: dict, study: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = study if parts[0] == "study" else config
    parts = parts[1:] if parts[0] == "study" else parts
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = copy.deepcopy(value)


def _stage_of(path: str) -> str | None:
    return STAGE_OF_KEY.get(path.split(".")[0])


def _preset_values(name: str, raw: list, config: dict) -> dict[str, dict[str, Any]]:
    """label -> overlay for a preset axis given as a plain list."""
    out: dict[str, dict[str, Any]] = {}
    for v in raw:
        if name == "covariates":
            if not isinstance(v, bool):
                raise _err(f"axes/{name}", v, "on or off")
            off = {f"model_options.{m}.covariates": [] for m in COVARIATE_MODELS
                   if (config.get("model_options") or {}).get(m, {}).get("covariates")}
            overlay = {} if v else off
        elif name == "start":
            if not isinstance(v, int) or isinstance(v, bool):
                raise _err(f"axes/{name}", v, "whole numbers of waves (0, -1, 1)")
            overlay = {"study.treated": {SHIFT: v}} if v else {}
        else:
            target = PRESETS[name]
            overlay = {target: [v] if name == "models" and isinstance(v, str) else v}
        label = value_label(v)
        if not NAME.match(label):
            raise _err(f"axes/{name}", v, "values whose label is lowercase letters, digits and _")
        if label in out:
            raise _err(f"axes/{name}", v, "distinct values")
        out[label] = overlay
    return out


def _axis(name: str, raw: Any, config: dict, study: dict | None) -> Axis:
    """Parse one axis (preset list, or {target, values, stage, default}) and find its baseline."""
    if not NAME.match(name):
        raise _err("axes", name, "axis names of lowercase letters, digits and _")
    stage, default = None, None
    if isinstance(raw, list):
        if name not in PRESETS and name not in ("covariates", "start"):
            raise _err(f"axes/{name}", raw, f"a preset axis ({', '.join([*PRESETS, 'covariates', 'start'])}) "
                                            "or a mapping with target/values")
        values = _preset_values(name, raw, config)
    elif isinstance(raw, dict) and "values" in raw:
        target, stage, default = raw.get("target"), raw.get("stage"), raw.get("default")
        vals = raw["values"]
        if isinstance(vals, list):
            if not target:
                raise _err(f"axes/{name}/values", vals, "a mapping label: overlay when no target is given")
            vals = {value_label(v): v for v in vals}
        values = {}
        for label, v in vals.items():
            label = str(label)
            if not NAME.match(label):
                raise _err(f"axes/{name}/values", label, "labels of lowercase letters, digits and _")
            if target:
                values[label] = {target: v}
            elif isinstance(v, dict):
                values[label] = dict(v)
            else:
                raise _err(f"axes/{name}/values/{label}", v, "an overlay {dotted.key: value} (no target given)")
    else:
        raise _err(f"axes/{name}", raw, "a list of values or a mapping with values")
    if len(values) < 1:
        raise _err(f"axes/{name}", raw, "at least one value")
    seen: dict[str, str] = {}
    for label, ov in values.items():
        key = json.dumps(ov, sort_keys=True)
        if key in seen:
            raise _err(f"axes/{name}", label, f"values that change the configuration; {label!r} and "
                                              f"{seen[key]!r} give the same one")
        seen[key] = label
    paths = sorted({p for ov in values.values() for p in ov})
    if stage is None:
        stages = [_stage_of(p) for p in paths]
        if None in stages:
            unknown = [p for p, s in zip(paths, stages) if s is None]
            raise _err(f"axes/{name}", unknown, f"keys under {sorted(STAGE_OF_KEY)}, or the axis's stage: "
                                                f"{'|'.join(STAGES)}")
        stage = min(stages, key=STAGES.index) if stages else "estimate"
    elif stage not in STAGES:
        raise _err(f"axes/{name}/stage", stage, " or ".join(STAGES))
    outcomes = None
    if paths and all(p in AFFECTS for p in paths):
        outcomes = tuple(sorted({o for p in paths for o in AFFECTS[p]}))
    baseline, matched = _baseline(name, values, config, study, default)
    applied = not matched and bool(values[baseline])
    if applied and stage != "estimate":
        raise _err(f"axes/{name}", list(values), f"the configured value among the values: a {stage}-stage axis "
                                                 "over a key the config (or study) does not set would make the "
                                                 "default spec differ from the plain run; set the key first")
    return Axis(name, stage, values, baseline, outcomes, applied)


def _baseline(name: str, values: dict[str, dict], config: dict, study: dict | None, default: str | None
              ) -> tuple[str, bool]:
    """(label, whether it is the configuration): the value that reproduces the configuration, else `default`
    or the first when the key is not set; an error if a configured value is not among them."""
    known_any = False
    for label, ov in values.items():
        ok = True
        for path, v in ov.items():
            known, cur = _get(config, study, path)
            known_any |= known
            ok &= known and cur == v
        if ok:
            return label, True
    if known_any:
        cur = {p: _get(config, study, p)[1] for ov in values.values() for p in ov}
        raise _err(f"axes/{name}", list(values), f"one value equal to the configured one {cur} (the baseline "
                                                 "every spec id is relative to)")
    if default is not None:
        if default not in values:
            raise _err(f"axes/{name}/default", default, f"one of {list(values)}")
        return default, False
    return next(iter(values)), False


def axes(config: dict, study: dict | None = None) -> list[Axis]:
    """The sweep's axes in the order written (none without a `sweep:` section)."""
    sw = config.get("sweep") or {}
    based = with_base(config)
    return [_axis(n, raw, based, study) for n, raw in (sw.get("axes") or {}).items()]


def with_base(config: dict) -> dict:
    """The config with the sweep's `base:` overlay written in (estimate options shared by every spec of the
    sweep, e.g. cheaper inference); upstream keys are refused so the `default` spec's cleaned waves and
    panel stay those of the plain run."""
    base = (config.get("sweep") or {}).get("base") or {}
    if not isinstance(base, dict):
        raise _err("base", base, "a mapping dotted.key: value")
    cfg = copy.deepcopy(config)
    for path, v in base.items():
        if _stage_of(path) != "estimate":
            keys = ", ".join(k for k, st in STAGE_OF_KEY.items() if st == "estimate")
            raise _err(f"base/{path}", v, f"estimate-stage keys only ({keys}); put upstream choices on an axis")
        _set(cfg, {}, path, v)
    return cfg


def spec_id(values: dict[str, str], ax: list[Axis]) -> str:
    """`default`, or the non-baseline choices as axis-label joined by '.', axes sorted by name."""
    parts = [f"{a.name}-{values[a.name]}" for a in sorted(ax, key=lambda a: a.name) if values[a.name] != a.baseline]
    return ".".join(parts) or "default"


def _key(values: dict[str, str], ax: list[Axis], stage: str) -> str:
    upto = STAGES[: STAGES.index(stage) + 1]
    return spec_id(values, [a for a in ax if a.stage in upto])


def _choices(entry: Any, ax: dict[str, Axis], where: str) -> dict[str, list[str]]:
    """An exclude/include entry {axis: label or [labels]}, checked against the axes."""
    if not isinstance(entry, dict) or not entry:
        raise _err(where, entry, "a mapping axis: value")
    out = {}
    for name, v in entry.items():
        if name not in ax:
            raise _err(where, name, f"one of the axes {sorted(ax)}")
        labels = [value_label(x) if not isinstance(x, str) else x for x in (v if isinstance(v, list) else [v])]
        for lb in labels:
            if lb not in ax[name].values:
                raise _err(f"{where}/{name}", lb, f"one of {list(ax[name].values)}")
        out[name] = labels
    return out


def expand(config: dict, study: dict | None = None) -> list[Spec]:
    """Every spec of the sweep (the one spec `default` without a `sweep:` section), default first."""
    sw = config.get("sweep") or {}
    unknown = sorted(set(sw) - {"axes", "exclude", "include", "design", "cities", "max_specs", "base", "permutations"})
    if unknown:
        raise _err("(top level)", unknown, "keys axes, exclude, include, design, cities, max_specs, base, "
                                           "permutations")
    permutations(config)
    ax = axes(config, study)
    by_name = {a.name: a for a in ax}
    cities = tuple(sw.get("cities") or config.get("cities") or (study or {}).get("cities") or ())
    design = sw.get("design", "grid")
    if design == "grid":
        combos = [dict(zip(by_name, c)) for c in itertools.product(*(list(a.values) for a in ax))]
    elif design == "one_at_a_time":
        combos = [{a.name: a.baseline for a in ax}]
        combos += [{b.name: (lb if b is a else b.baseline) for b in ax} for a in ax for lb in a.values
                   if lb != a.baseline]
    else:
        raise _err("design", design, "grid or one_at_a_time")
    for i, entry in enumerate(sw.get("include") or []):
        ch = _choices(entry, by_name, f"include/{i}")
        for picks in itertools.product(*ch.values()):
            combos.append({a.name: a.baseline for a in ax} | dict(zip(ch, picks)))
    excl = [_choices(e, by_name, f"exclude/{i}") for i, e in enumerate(sw.get("exclude") or [])]
    specs: dict[str, Spec] = {}
    for values in combos:
        if any(all(values[n] in lbs for n, lbs in e.items()) for e in excl):
            continue
        sid = spec_id(values, ax)
        if sid in specs:
            continue
        overlay = {p: v for a in ax if values[a.name] != a.baseline or a.applied
                   for p, v in a.values[values[a.name]].items()}
        keys = {s: _key(values, ax, s) for s in STAGES}
        only = [set(a.outcomes) for a in ax if a.outcomes is not None and values[a.name] != a.baseline]
        outcomes = tuple(sorted(set.intersection(*only))) if only else None
        specs[sid] = Spec(sid, dict(values), overlay, keys, cities, outcomes)
    if not specs:
        raise _err("exclude", sw.get("exclude"), "exclusions that leave at least one spec")
    limit = int(sw.get("max_specs", 200))
    if len(specs) > limit:
        raise _err("max_specs", limit, f"at least the {len(specs)} specs the grid gives (raise max_specs, add "
                                       "exclusions, or use design: one_at_a_time)")
    out = sorted(specs.values(), key=lambda s: s.id != "default")  # stable: keeps grid order otherwise
    return out


def permutations(config: dict) -> dict[str, int]:
    """The inferential specification curve's settings {reps, seed} (`sweep.permutations`; reps 0: off).

    The seed defaults to the config's seed (not a spec's: every spec must draw the same relabellings).
    """
    raw = (config.get("sweep") or {}).get("permutations")
    raw = {} if raw is None else raw
    if not isinstance(raw, dict) or set(raw) - {"reps", "seed"}:
        raise _err("permutations", raw, "a mapping with keys reps (whole number >= 0) and seed")
    reps, seed = raw.get("reps", PERMUTATION_REPS), raw.get("seed", config.get("seed", 0))
    for key, v in (("reps", reps), ("seed", seed)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise _err(f"permutations/{key}", v, "a whole number >= 0")
    return {"reps": reps, "seed": seed}


def stage_key(spec: Spec, stage: str) -> str:
    """The id of the `stage` output this spec needs (shared by specs that agree on axes up to it)."""
    if stage not in STAGES:
        raise WijkeffectError(f"sweep: stage {stage!r}; expected one of {STAGES}")
    return spec.keys.get(stage, "default") if spec.keys else "default"


def clean_key(spec: Spec) -> str:
    """Id of the cleaned waves the spec needs (thresholds)."""
    return stage_key(spec, "clean")


def panel_key(spec: Spec) -> str:
    """Id of the linked respondents and cells the spec needs (thresholds, controls, starts, weights)."""
    return stage_key(spec, "panel")


def outcomes_for(spec: Spec, outcomes: list[str]) -> list[str]:
    """The outcomes worth estimating under this spec: a walking-threshold spec leaves smoking unchanged."""
    return list(outcomes) if spec.outcomes is None else [o for o in outcomes if o in spec.outcomes]


def representatives(specs: list[Spec], stage: str) -> dict[str, Spec]:
    """stage key -> the first spec needing that output (every spec sharing a key agrees on the axes up to
    that stage, so any of them gives the same overlay for it)."""
    out: dict[str, Spec] = {}
    for s in specs:
        out.setdefault(stage_key(s, stage), s)
    return out


def shift_starts(treated: pd.DataFrame, waves: list[int], k: int) -> pd.DataFrame:
    """Every start moved k waves (placebo): the wijk's first post wave becomes the wave k later or earlier.

    The start moves by the years between the two waves and, where the previous wave would then be
    (partly) post, to 1 January after it; moved past the last wave it has no post period at all.
    """
    w = sorted(set(int(x) for x in waves))
    out = []
    for s in treated["start"]:
        s = pd.Timestamp(s)
        i = next((j for j, y in enumerate(w) if y >= s.year), len(w))
        j = i + k
        if j < 0 or i == len(w):
            raise WijkeffectError(f"sweep: start {s.date()} shifted {k:+d} waves falls outside the waves {w}; "
                                  "expected a start with a wave that many waves before or after it")
        if j >= len(w):
            out.append(pd.Timestamp(w[-1] + 1, 1, 1))
            continue
        new = s + pd.DateOffset(years=w[j] - w[i])
        if j > 0 and new.year <= w[j - 1]:
            new = pd.Timestamp(w[j - 1] + 1, 1, 1)
        out.append(new)
    return treated.assign(start=out)


def apply(spec: Spec, config: dict, study: dict, root: Path | None = None) -> tuple[dict, dict]:
    """The config and study for one spec: copies with the spec's overlay written in (no `sweep:` key).

    Cities are left alone: `spec.cities` is the fan-out of estimate jobs, so adding a city changes no
    spec's config or study (and reruns nothing but the new city's jobs).
    """
    cfg, st = with_base(config), copy.deepcopy(study)
    cfg.pop("sweep", None)
    for path, v in spec.overlay.items():
        if path == "study.treated" and isinstance(v, dict) and SHIFT in v:
            from wijkeffect.study import _treated_table

            t = _treated_table(study, Path(f"study {study.get('name', '')}"), root)
            waves = [w["wave"] for w in config["waves"]]
            t = shift_starts(t, waves, int(v[SHIFT]))
            st["treated"] = [{"wijk_code": r.wijk_code, "start": r.start.strftime("%Y-%m-%d"), "group": r.group}
                             for r in t.itertuples()]
        else:
            _set(cfg, st, path, v)
    return cfg, st


def specs_table(specs: list[Spec]) -> pd.DataFrame:
    """specs.csv beside the estimates: id, the label per axis, the stage keys and the overlay (JSON)."""
    names = list(dict.fromkeys(n for s in specs for n in s.values))
    rows = []
    for s in specs:
        rows.append({"spec": s.id, **{n: s.values.get(n, "") for n in names},
                     "clean_key": stage_key(s, "clean"), "panel_key": stage_key(s, "panel"),
                     "outcomes": "all" if s.outcomes is None else ("+".join(s.outcomes) or "none"),
                     "overlay": json.dumps(s.overlay, sort_keys=True)})
    return pd.DataFrame(rows, columns=["spec", *names, "clean_key", "panel_key", "outcomes", "overlay"])


def spec_outcomes(table: pd.DataFrame) -> dict[str, set[str] | None]:
    """spec -> the outcomes it is shown for (None: all), from a specs table's `outcomes` column."""
    if "outcomes" not in table:
        return {s: None for s in table["spec"]}
    return {s: None if o == "all" else (set() if o == "none" else set(o.split("+")))
            for s, o in zip(table["spec"], table["outcomes"].astype(str))}


def axis_columns(table: pd.DataFrame) -> list[str]:
    """The axis columns of a specs table (between `spec` and `clean_key`)."""
    cols = list(table.columns)
    return cols[cols.index("spec") + 1: cols.index("clean_key")]


def write_study(study: dict, path: str | Path) -> Path:
    """Write a spec's study as YAML; rewritten only when the text changes, so Snakemake sees no new mtime."""
    import yaml

    path = Path(path)
    text = yaml.safe_dump(study, sort_keys=True, allow_unicode=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def with_choices(est: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows with the choices that define their spec joined on `spec`: one column per axis, named
    `spec_<axis>` where the axis name is also a tidy column (e.g. the `covariates` axis)."""
    cols = axis_columns(table)
    names = {c: (f"spec_{c}" if c in est.columns else c) for c in cols}
    return est.merge(table[["spec", *cols]].rename(columns=names), on="spec", how="left", validate="many_to_one")
