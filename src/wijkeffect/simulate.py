"""Demo-like respondents with known effects, straight to the linked panel form, for recovery studies.

Reuses the demo's design (places, treatment groups, outcome model) without writing survey files,
so hundreds of seeded replications are cheap. `effects` overrides the demo's per-group effects.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from wijkeffect import demo


def spec_with(effect: float, spec: demo.DemoSpec = demo.DEMO, **changes) -> demo.DemoSpec:
    """The demo spec with every group's effect on every outcome set to `effect` (homogeneous)."""
    groups = tuple(replace(g, effects={o: (effect if g.within is None else 0.0) for o in demo.OUTCOMES})
                   for g in spec.groups)
    return replace(spec, groups=groups, **changes)


def respondents(spec: demo.DemoSpec, seed: int) -> pd.DataFrame:
    """One replication: respondents with role, group, start, post, outcomes and covariates."""
    spec = replace(spec, seed=seed)
    rng = np.random.default_rng(spec.seed)
    wijken, lookup = demo._places(spec, rng)
    treat = demo._treatment(spec, wijken)
    frames = []
    for wave in spec.waves:
        t = demo._wave_respondents(spec, wijken, treat, lookup, wave, np.random.default_rng([seed, wave]))
        t["wave"] = wave
        frames.append(t)
    r = pd.concat(frames, ignore_index=True)
    w = wijken.set_index("wijk_code")
    r["gemeente_code"] = r["wijk_code"].map(w["gemeente_code"])
    r["group"] = r["wijk_code"].map(w["group"]).replace("", pd.NA).astype("string")
    r["start"] = r["wijk_code"].map(treat.set_index(wijken["wijk_code"])["start"])
    r["role"] = np.where(r["start"].notna(), "treated", "control")
    r["post"] = r["post"].astype("int8")
    r["sex"] = np.where(r["female"], "female", "male")
    r["education"] = pd.Categorical.from_codes(r["edu"] - 1, ["low", "middle", "high"])
    r["migration_background"] = pd.Categorical.from_codes(r["mig"] - 1, ["dutch", "western", "non_western"])
    r["psych_distress"], r["smoker"], r["walking"] = (r[o].astype(float) for o in
                                                       ("psych_distress", "smoker", "walking"))
    return r.drop(columns=["female", "edu", "mig", "new_scheme"])


def segmented_respondents(seed: int, diff_slope_change: float = 0.15, n_wijken: int = 60, per_half_year: int = 12,
                          years: tuple[int, int] = (2004, 2011), start: str = "2008-07-01") -> pd.DataFrame:
    """URBAN40-like data: logit P(y) with separate half-year trends before/after the start.

    Treated wijken (the first third) change slope by `diff_slope_change` more than controls;
    wijk random intercepts make observations within a wijk correlated.
    """
    rng = np.random.default_rng(seed)
    wijk = np.repeat(np.arange(n_wijken), per_half_year * 2 * (years[1] - years[0] + 1))
    n = wijk.size
    year = rng.integers(years[0], years[1] + 1, n)
    day = rng.integers(0, 365, n)
    date = pd.to_datetime(year.astype(str) + "-01-01") + pd.to_timedelta(day, unit="D")
    t = (year * 2 + (np.asarray(date.month) > 6)).astype(float)
    t0 = pd.Timestamp(start).year * 2 + (pd.Timestamp(start).month > 6)
    t, t0 = t - t.min(), t0 - t.min()
    after = np.maximum(t - t0, 0)
    treated = wijk < n_wijken // 3
    u = rng.normal(0, 0.2, n_wijken)[wijk]
    eta = -0.3 + 0.4 * treated + 0.02 * t - 0.01 * after + diff_slope_change * treated * after + u
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"wijk_code": [f"WK0000{i:02d}" for i in wijk], "gemeente_code": "GM0000",
                         "interview_date": date, "walking": y, "weight": rng.lognormal(0, 0.2, n),
                         "role": np.where(treated, "treated", "control"),
                         "group": pd.array(np.where(treated, "g", pd.NA), dtype="string"),
                         "start": pd.Timestamp(start), "post": 0})
