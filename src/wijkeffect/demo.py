"""The embedded synthetic health monitor: deterministic, seeded, in the shapes real waves come in.

`python -m wijkeffect.demo` rewrites data/raw/demo/ byte for byte. `--scale national --out DIR`
writes about 2 million respondents in 4 waves over about 3,000 wijken for benchmarks.

Data-generating process (probability scale, additive, so the twfe estimand is known exactly):
    p_it = level_i + trend_t + mode_t + covariates + tau_i * 1[interview date >= start_i]
level_i rises with a deprivation index, and the treated wijken are the most deprived ones, so a
treated-vs-control comparison is biased; the common trend biases a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from wijkeffect.paths import DEMO_RAW

#: SPSS header stamp written in place of the time of writing, so .sav bytes repeat.
_SAV_STAMP = b"01 Jan 20" + b"00:00:00"
_SAV_STAMP_OFFSET = 92  # rec_type 4 + product 60 + layout 4 + case size 4 + compression 4 + weight index 4 + ncases 4 + bias 8

_PREFIXES = ["Molen", "Linde", "Hof", "Beek", "Berg", "Haven", "Kerk", "Wilg", "Eiken", "Rozen",
             "Vogel", "Zon", "Water", "Dijk", "Park", "Sluis", "Brug", "Veen", "Heide", "Duin"]
_SUFFIXES = ["veld", "hoven", "wijk", "kwartier", "zoom", "rijk", "hage", "kamp", "weide", "buurt", "laan", "oord"]
_CITY_NAMES = ["Havenstad", "Rivierdam", "Heuvelrug", "Polderveen", "Zandhoven"]


@dataclass(frozen=True)
class Group:
    """An intervention group: a start date and the effect on each outcome (probability scale)."""

    name: str
    start: date
    share: float  # share of a city's wijken in the group (most deprived first)
    effects: dict[str, float]
    cities: tuple[int, ...] | None = None  # city indices; None = every city
    within: str | None = None  # a subset of another group's wijken


@dataclass(frozen=True)
class DemoSpec:
    """Everything that shapes the synthetic monitor; the seed makes it reproducible."""

    seed: int = 20081119
    n_cities: int = 3
    wijken_per_city: tuple[int, ...] = (18, 24, 30)
    waves: tuple[int, ...] = (2005, 2006, 2007, 2009, 2011, 2013)
    new_scheme_from: int = 2010  # waves from this year use GGD names, K10 and mixed mode
    respondents_per_wijk: float = 36.0
    groups: tuple[Group, ...] = field(default_factory=lambda: (
        Group("krachtwijk", date(2008, 7, 1), 0.22, {"smoker": -0.03, "psych_distress": -0.02}),
        Group("later", date(2010, 7, 1), 0.12, {"smoker": -0.03, "psych_distress": -0.02}),
        Group("gezonde_wijk", date(2008, 11, 19), 0.6, {"walking": 0.07}, cities=(0, 1), within="krachtwijk"),
    ))
    formats: tuple[str, ...] = ("sav",)  # wave files: "sav" and/or "parquet"
    geometry: bool = True
    city_names: tuple[str, ...] = tuple(_CITY_NAMES)
    gm_base: int = 9901
    pc4_per_wijk: bool = False  # national scale: one PC4 per wijk (there are not enough PC4 codes per buurt)


DEMO = DemoSpec()
NATIONAL = DemoSpec(
    n_cities=100,
    wijken_per_city=(30,),
    waves=(2012, 2016, 2020, 2024),
    new_scheme_from=2000,
    respondents_per_wijk=167.0,
    groups=(
        Group("krachtwijk", date(2014, 7, 1), 0.2, {"smoker": -0.03, "psych_distress": -0.02}),
        Group("later", date(2018, 7, 1), 0.1, {"smoker": -0.03, "psych_distress": -0.02}),
        Group("gezonde_wijk", date(2014, 11, 19), 0.5, {"walking": 0.05}, within="krachtwijk"),
    ),
    formats=("parquet",),
    geometry=True,
    city_names=(),
    gm_base=9001,
    pc4_per_wijk=True,
)

OUTCOMES = ("smoker", "psych_distress", "walking")
# level = base + slope * deprivation; secular trend per year from 2005; reporting shift in self-completion modes
_BASE = {"smoker": (0.24, 0.045), "psych_distress": (0.12, 0.025), "walking": (0.56, -0.04)}
_TREND = {"smoker": -0.007, "psych_distress": 0.001, "walking": 0.004}
_MODE_SHIFT = {"smoker": -0.015, "psych_distress": 0.025, "walking": -0.02}
_COVARIATE_EFFECT = {  # (low education, non-western, female, per 10 years of age above 45)
    "smoker": (0.04, 0.01, -0.03, -0.012),
    "psych_distress": (0.025, 0.02, 0.02, -0.004),
    "walking": (-0.03, -0.04, 0.03, 0.006),
}


# --------------------------------------------------------------------------------------- places
def _wijk_names(rng: np.random.Generator, n: int) -> list[str]:
    pairs = [p + s for p in _PREFIXES for s in _SUFFIXES]
    idx = rng.choice(len(pairs), size=n, replace=False)
    return [pairs[i] for i in idx]


def _places(spec: DemoSpec, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wijken (with deprivation, size, treatment) and the PC6 -> buurt lookup."""
    wijk_rows, lookup_rows = [], []
    letters_all = np.array([a + b for a in "ABCDEFGHJKLMNPRSTVWXZ" for b in "ABCDEFGHJKLMNPRSTVWXZ"])
    wijk_counter = 0
    for c in range(spec.n_cities):
        gm = spec.gm_base + c
        name = spec.city_names[c] if c < len(spec.city_names) else f"Stad {c + 1:03d}"
        n_w = spec.wijken_per_city[c % len(spec.wijken_per_city)]
        names = _wijk_names(rng, n_w)
        depr = np.sort(rng.normal(0.0, 1.0, n_w))[::-1]  # wijk 01 is the most deprived after shuffling below
        order = rng.permutation(n_w)
        pc4_next = 1000 + 90 * c
        for k in range(n_w):
            wk = f"WK{gm:04d}{k + 1:02d}"
            size = float(np.clip(rng.lognormal(0.0, 0.45), 0.25, 2.5))
            wijk_rows.append(dict(gemeente_code=f"GM{gm:04d}", gemeente_name=name, wijk_code=wk,
                                  wijk_name=names[k], city_index=c, deprivation=depr[order[k]], size=size))
            n_b = int(rng.integers(2, 6))
            if spec.pc4_per_wijk:  # one PC4 per wijk, its PC6 letter pairs shared out over the buurten
                pc4s = [1000 + wijk_counter] * n_b
                sizes = rng.integers(3, 9, n_b)
                pool = rng.choice(letters_all, size=int(sizes.sum()), replace=False)
                pairs = np.split(pool, np.cumsum(sizes)[:-1])
            else:
                pc4s = [(pc4_next + b) % 10000 for b in range(n_b)]
                pc4_next += n_b
                pairs = [None] * n_b
            wijk_counter += 1
            for b in range(n_b):
                bu = f"BU{gm:04d}{k + 1:02d}{b:02d}"
                pc4 = pc4s[b]
                if pairs[b] is None:
                    letters = rng.choice(list("ABCDEFGHJKLMNPRSTVWXZ"), size=(int(rng.integers(3, 9)), 2))
                    codes = {f"{pc4:04d}{a}{b2}" for a, b2 in letters}
                else:
                    codes = {f"{pc4:04d}{p}" for p in pairs[b]}
                for pc6 in sorted(codes):
                    lookup_rows.append(dict(pc6=pc6, pc4=f"{pc4:04d}", buurt_code=bu, wijk_code=wk,
                                            gemeente_code=f"GM{gm:04d}"))
    wijken = pd.DataFrame(wijk_rows)
    wijken["group"] = ""
    for g in spec.groups:
        for c, sub in wijken.groupby("city_index"):
            if g.cities is not None and c not in g.cities:
                continue
            pool = sub[sub["group"] == (g.within or "")] if g.within else sub[sub["group"] == ""]
            pool = pool.sort_values("deprivation", ascending=False)
            n = max(1, int(round(g.share * (len(pool) if g.within else len(sub)))))
            wijken.loc[pool.index[:n], "group"] = g.name
    return wijken, pd.DataFrame(lookup_rows)


def _geometries(spec: DemoSpec, wijken: pd.DataFrame, rng: np.random.Generator):
    """Voronoi wijken that tile an irregular city outline, in EPSG:28992 (RD New) metres."""
    import geopandas as gpd
    import shapely

    geoms = {}
    for c, sub in wijken.groupby("city_index"):
        cx, cy = 110_000 + 45_000 * (c % 4), 420_000 + 50_000 * (c // 4)
        radius = 2_500 + 110 * len(sub)
        angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
        r = radius * (1 + 0.12 * np.sin(3 * angles + c) + rng.uniform(-0.06, 0.06, angles.size))
        outline = shapely.Polygon(np.c_[cx + r * np.cos(angles), cy + r * np.sin(angles)])
        pts: list[tuple[float, float]] = []
        min_d = radius * 1.1 / np.sqrt(len(sub))
        while len(pts) < len(sub):
            x, y = rng.uniform(cx - radius, cx + radius), rng.uniform(cy - radius, cy + radius)
            if outline.contains(shapely.Point(x, y)) and all((x - a) ** 2 + (y - b) ** 2 > min_d**2 for a, b in pts):
                pts.append((x, y))
            else:
                min_d *= 0.999
        pts.sort(key=lambda p: (-round(p[1], -2), p[0]))  # codes run north-west to south-east
        cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=outline)
        for k, (x, y) in enumerate(pts):
            cell = next(g for g in cells.geoms if g.contains(shapely.Point(x, y)))
            geoms[sub["wijk_code"].iloc[k]] = shapely.set_precision(cell.intersection(outline), 0.01)
    gdf = gpd.GeoDataFrame(
        wijken[["wijk_code", "wijk_name", "gemeente_code", "gemeente_name"]].reset_index(drop=True),
        geometry=[geoms[w] for w in wijken["wijk_code"]], crs="EPSG:28992")
    return gdf


# ---------------------------------------------------------------------------------- respondents
def _treatment(spec: DemoSpec, wijken: pd.DataFrame) -> pd.DataFrame:
    """Per wijk: its own group's start, and its effect per outcome (a subset group adds to its parent)."""
    by_name = {g.name: g for g in spec.groups}
    out = pd.DataFrame(index=wijken.index)
    out["start"] = pd.NaT
    for o in OUTCOMES:
        out[f"tau_{o}"] = 0.0
    for idx, grp in wijken["group"].items():
        g = by_name.get(grp)
        chain = []
        while g is not None:
            chain.append(g)
            g = by_name.get(g.within) if g.within else None
        if chain:
            out.loc[idx, "start"] = pd.Timestamp(min(x.start for x in chain))
            for x in chain:
                for o, v in x.effects.items():
                    out.loc[idx, f"tau_{o}"] += v
    return out


def _wave_respondents(spec: DemoSpec, wijken: pd.DataFrame, treat: pd.DataFrame, lookup: pd.DataFrame,
                      wave: int, rng: np.random.Generator) -> pd.DataFrame:
    """The latent truth of one wave: who, where, when, covariates and outcomes."""
    mu = spec.respondents_per_wijk * wijken["size"].to_numpy()
    n_w = np.maximum(rng.poisson(mu), 2)
    wi = np.repeat(np.arange(len(wijken)), n_w)
    n = wi.size
    w = wijken.iloc[wi].reset_index(drop=True)
    t = treat.iloc[wi].reset_index(drop=True)
    # postcode: a random PC6 of the wijk
    pcs = lookup.groupby("wijk_code")["pc6"].apply(np.array)
    pc6 = np.array([pcs[code][j % len(pcs[code])] for code, j in
                    zip(w["wijk_code"], rng.integers(0, 1_000_000, n))], dtype=object)
    day = rng.integers(31, 334, n)  # fieldwork February - November
    interview = pd.to_datetime(f"{wave}-01-01") + pd.to_timedelta(day, unit="D")
    depr = w["deprivation"].to_numpy()
    age = np.clip(rng.normal(47 - 2 * depr, 17, n), 18, 95).round().astype(int)
    female = rng.random(n) < 0.52
    p_low = 1 / (1 + np.exp(-(-0.6 + 0.8 * depr)))
    u = rng.random(n)
    edu = np.where(u < p_low, 1, np.where(u < p_low + (1 - p_low) * 0.55, 2, 3))
    p_nw = 1 / (1 + np.exp(-(-2.0 + 0.9 * depr)))
    u = rng.random(n)
    mig = np.where(u < p_nw, 3, np.where(u < p_nw + 0.09, 2, 1))
    new_scheme = wave >= spec.new_scheme_from
    post = (~t["start"].isna()).to_numpy() & (interview >= t["start"].fillna(pd.Timestamp.max)).to_numpy()
    out = pd.DataFrame(dict(wijk_code=w["wijk_code"], pc6=pc6, interview_date=interview, age=age,
                            female=female, edu=edu, mig=mig, post=post))
    for o in OUTCOMES:
        base, slope = _BASE[o]
        e_low, e_nw, e_f, e_age = _COVARIATE_EFFECT[o]
        p = (base + slope * depr + _TREND[o] * (wave - 2005) + (_MODE_SHIFT[o] if new_scheme else 0.0)
             + e_low * (edu == 1) + e_nw * (mig == 3) + e_f * female + e_age * (age - 45) / 10
             + t[f"tau_{o}"].to_numpy() * post)
        out[o] = (rng.random(n) < np.clip(p, 0.005, 0.995)).astype(int)
    out["weight"] = np.round(rng.lognormal(0.0, 0.35, n), 4)
    out["new_scheme"] = new_scheme
    return out


# ------------------------------------------------------------------------------- items from truth
def _spread(rng: np.random.Generator, extra: np.ndarray, n_items: int, cap: int) -> np.ndarray:
    """Distribute `extra` points over n_items items, each taking at most cap (vectorised)."""
    items = np.zeros((extra.size, n_items), dtype=int)
    remaining = extra.copy()
    for _ in range(int(extra.max(initial=0))):
        live = remaining > 0
        if not live.any():
            break
        room = np.where(items < cap, 0.0, -np.inf)
        pick = np.argmax(room + rng.gumbel(size=items.shape), axis=1)
        items[live, pick[live]] += 1
        remaining -= live
    return items


def _k10_items(rng: np.random.Generator, distressed: np.ndarray) -> np.ndarray:
    """K10 answers 1-5 whose sum is >= 30 exactly for the distressed."""
    total = np.where(distressed, rng.integers(30, 46, distressed.size),
                     10 + np.minimum(rng.poisson(7, distressed.size), 19))
    return 1 + _spread(rng, total - 10, 10, 4)


def _mhi5_items(rng: np.random.Generator, distressed: np.ndarray) -> np.ndarray:
    """MHI-5 raw answers 1-6 (1 = all of the time); score < 60 exactly for the distressed."""
    health = np.where(distressed, rng.integers(5, 20, distressed.size),
                      30 - np.minimum(rng.poisson(4, distressed.size), 10))
    h = 1 + _spread(rng, health - 5, 5, 5)  # health-direction scores 1-6
    raw = h.copy()
    raw[:, [2, 4]] = 7 - h[:, [2, 4]]  # items 3 (calm) and 5 (happy) are positively worded
    return raw


def _walk_items(rng: np.random.Generator, walker: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days per week and minutes per day of leisure walking; >= 30 min/week exactly for walkers."""
    n = walker.size
    days = np.where(walker, rng.integers(1, 8, n), np.where(rng.random(n) < 0.7, 0, 1))
    minutes = np.where(walker, rng.choice([30, 40, 45, 60, 90], n),
                       np.where(days == 0, 0, rng.choice([10, 15, 20], n)))
    return days, minutes


def _with_missing(rng: np.random.Generator, x: np.ndarray, rate: float, code: int) -> np.ndarray:
    x = x.astype(float)
    x[rng.random(x.size) < rate] = code
    return x


def _raw_wave(spec: DemoSpec, truth: pd.DataFrame, wave: int, rng: np.random.Generator
              ) -> tuple[pd.DataFrame, dict[str, dict[float, str]], dict[str, str]]:
    """The wave as the survey file delivers it: scheme-specific names, codes, missing codes, labels."""
    n = len(truth)
    miss = lambda x, rate, code: _with_missing(rng, np.asarray(x), rate, code)  # noqa: E731
    days, minutes = _walk_items(rng, truth["walking"].to_numpy() == 1)
    ids = rng.permutation(n) + 1
    if wave < spec.new_scheme_from:  # POLS-like older scheme: MHI-5, face-to-face
        items = _mhi5_items(rng, truth["psych_distress"].to_numpy() == 1)
        df = pd.DataFrame({
            "RESPNR": (wave * 100_000 + ids).astype(float),
            "INTDATUM": truth["interview_date"].dt.date,
            "PC6": truth["pc6"],
            "LFT": miss(truth["age"], 0.004, 999),
            "GESL": miss(np.where(truth["female"], 2, 1), 0.002, 9),
            "OPLEID": miss(np.choose(truth["edu"] - 1, [rng.choice([1, 2], n), np.full(n, 3), np.full(n, 4)]), 0.01, 9),
            "HERKOMST": miss(truth["mig"], 0.005, 9),
            "ROOKT": miss(np.where(truth["smoker"] == 1, 1, 2), 0.01, 9),
            **{f"MHI{j + 1}": miss(items[:, j], 0.012, 9) for j in range(5)},
            "WANDDAG": miss(days, 0.01, 99),
            "WANDMIN": miss(minutes, 0.01, 999),
            "WEEGFACTOR": truth["weight"],
        })
        labels = {
            "GESL": {1: "man", 2: "vrouw", 9: "onbekend"},
            "OPLEID": {1: "lager onderwijs", 2: "lbo/mavo", 3: "havo/vwo/mbo", 4: "hbo/wo", 9: "onbekend"},
            "HERKOMST": {1: "autochtoon", 2: "westers allochtoon", 3: "niet-westers allochtoon", 9: "onbekend"},
            "ROOKT": {1: "ja", 2: "nee", 9: "onbekend"},
            **{f"MHI{j + 1}": {1: "voortdurend", 2: "meestal", 3: "vaak", 4: "soms", 5: "zelden", 6: "nooit",
                               9: "onbekend"} for j in range(5)},
            "WANDDAG": {99: "onbekend"},
            "WANDMIN": {999: "onbekend"},
            "LFT": {999: "onbekend"},
        }
        var_labels = {"RESPNR": "respondentnummer", "INTDATUM": "datum interview", "PC6": "postcode",
                      "LFT": "leeftijd", "GESL": "geslacht", "OPLEID": "hoogst voltooide opleiding",
                      "HERKOMST": "herkomst", "ROOKT": "rookt u?", "WANDDAG": "dagen per week gewandeld",
                      "WANDMIN": "minuten per dag gewandeld", "WEEGFACTOR": "weegfactor"}
    else:  # GGD Gezondheidsmonitor-like newer scheme: K10, web or paper
        items = _k10_items(rng, truth["psych_distress"].to_numpy() == 1)
        mode = np.where(rng.random(n) < 0.62, 1, 2)
        pc = truth["pc6"].astype(str)
        spaced = rng.random(n) < 0.3
        pc = np.where(spaced, [p[:4] + " " + p[4:] for p in pc], pc)
        df = pd.DataFrame({
            "VOLGNR": [f"{wave}-{i:06d}" for i in ids],
            "AFNAMEDATUM": truth["interview_date"].dt.strftime("%d-%m-%Y"),
            "POSTCODE": pc.astype(object),
            "AGLFA401": miss(truth["age"], 0.003, 99),
            "AGGSA401": miss(np.where(truth["female"], 2, 1), 0.002, 9),
            "AGOWA401": miss(truth["edu"], 0.012, 9),
            "AGHKA401": miss(truth["mig"], 0.006, 9),
            "LFRKA403": miss(np.where(truth["smoker"] == 1, 1, 0), 0.01, 9),
            **{f"GGADA2{j + 1:02d}": miss(items[:, j], 0.01, 9) for j in range(10)},
            "LFWAD401": miss(days, 0.01, 99),
            "LFWAM401": miss(minutes, 0.01, 999),
            "AFNAMEWIJZE": mode.astype(float),
            "ewGGD": truth["weight"],
        })
        labels = {
            "AGGSA401": {1: "man", 2: "vrouw", 9: "weet niet/geen antwoord"},
            "AGOWA401": {1: "laag", 2: "midden", 3: "hoog", 9: "onbekend"},
            "AGHKA401": {1: "Nederlands", 2: "westers", 3: "niet-westers", 9: "onbekend"},
            "LFRKA403": {0: "nee", 1: "ja", 9: "weet niet/geen antwoord"},
            **{f"GGADA2{j + 1:02d}": {1: "nooit", 2: "af en toe", 3: "soms", 4: "vaak", 5: "altijd",
                                      9: "geen antwoord"} for j in range(10)},
            "LFWAD401": {99: "geen antwoord"},
            "LFWAM401": {999: "geen antwoord"},
            "AGLFA401": {99: "onbekend"},
            "AFNAMEWIJZE": {1: "internet", 2: "papier"},
        }
        var_labels = {"VOLGNR": "volgnummer", "AFNAMEDATUM": "datum invullen", "POSTCODE": "postcode",
                      "AGLFA401": "leeftijd", "AGGSA401": "geslacht", "AGOWA401": "opleidingsniveau",
                      "AGHKA401": "migratieachtergrond", "LFRKA403": "rookt u wel eens?",
                      "LFWAD401": "dagen wandelen in vrije tijd", "LFWAM401": "minuten per keer",
                      "AFNAMEWIJZE": "afnamewijze", "ewGGD": "weegfactor GGD"}
    # about 1% of postcodes are missing and 0.4% are not in the lookup (moved, typo, other town)
    pc_col = "PC6" if "PC6" in df else "POSTCODE"
    u = rng.random(n)
    pcs = df[pc_col].astype(object).to_numpy().copy()
    pcs[u < 0.01] = ""
    pcs[(u >= 0.01) & (u < 0.014)] = "9999ZZ"
    df[pc_col] = pcs
    return df, labels, var_labels


# ------------------------------------------------------------------------------------- the truth
def twfe_estimand(cells: pd.DataFrame, effect: str) -> float:
    """Weighted two-way FE coefficient of `effect` on D over a balanced wijk x wave panel.

    With weights constant over waves within a wijk the within transform is exact:
    x~ = x - xbar_i - xbar_t(w) + xbar(w).
    """
    d = cells.pivot(index="wijk_code", columns="wave", values="D").to_numpy(float)
    y = cells.pivot(index="wijk_code", columns="wave", values=effect).to_numpy(float)
    wts = cells.groupby("wijk_code")["w"].first().sort_index().to_numpy(float)[:, None]

    def within(x: np.ndarray) -> np.ndarray:
        xi = x.mean(axis=1, keepdims=True)
        xt = (wts * x).sum(axis=0, keepdims=True) / wts.sum()
        return x - xi - xt + (wts * xi).sum() / wts.sum()

    dd = within(d)
    denom = (wts * dd * dd).sum()
    return float((wts * dd * y).sum() / denom) if denom > 1e-12 else float("nan")  # no treatment variation


def _truth(spec: DemoSpec, wijken: pd.DataFrame, treat: pd.DataFrame) -> dict:
    """The twfe estimand per outcome, pooled and per city, from the expected cell panel."""
    rows = []
    for wave in spec.waves:
        # every wave's fieldwork starts on 1 February: a wave counts as post when it starts after the start date
        first_day = pd.Timestamp(f"{wave}-02-01")
        d = (~treat["start"].isna()) & (treat["start"] <= first_day)
        rows.append(pd.DataFrame({"wijk_code": wijken["wijk_code"], "gemeente_code": wijken["gemeente_code"],
                                  "wave": wave, "D": d.astype(float),
                                  "w": spec.respondents_per_wijk * wijken["size"],
                                  **{o: treat[f"tau_{o}"] * d for o in OUTCOMES}}))
    cells = pd.concat(rows, ignore_index=True)
    pooled = {o: round(twfe_estimand(cells, o), 6) for o in OUTCOMES}
    by_city = {gm: {o: round(twfe_estimand(sub, o), 6) for o in OUTCOMES}
               for gm, sub in cells.groupby("gemeente_code")}
    return {
        "description": "True effects of the synthetic demo monitor, probability scale (proportion points). "
                       "Top-level outcome values are the pooled twfe estimand (wijk x wave cells, wijk and wave "
                       "effects, cells weighted by expected respondents), which is what the default twfe "
                       "model estimates; by_city gives the same per city.",
        "seed": spec.seed,
        **pooled,
        "by_city": by_city,
        "groups": {g.name: {"start": g.start.isoformat(), "effects": dict(g.effects),
                            **({"within": g.within} if g.within else {})} for g in spec.groups},
    }


# ------------------------------------------------------------------------------------------ write
def _write_sav(df: pd.DataFrame, path: Path, labels: dict, var_labels: dict, label: str) -> None:
    """Write a .sav with value labels and missing-value codes, then fix the header time stamp."""
    import pyreadstat

    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) and not isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object)
    missing = {v: [c for c in lab if "onbekend" in lab[c] or "geen antwoord" in lab[c]] for v, lab in labels.items()}
    pyreadstat.write_sav(out, path, file_label=label, column_labels=var_labels,
                         variable_value_labels=labels, missing_ranges={k: v for k, v in missing.items() if v},
                         row_compress=True)
    with open(path, "r+b") as fh:
        fh.seek(_SAV_STAMP_OFFSET)
        fh.write(_SAV_STAMP)


def generate(spec: DemoSpec = DEMO, out: Path = DEMO_RAW) -> dict[str, Path]:
    """Write the synthetic monitor to `out`; returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    wijken, lookup = _places(spec, rng)
    treat = _treatment(spec, wijken)
    written: dict[str, Path] = {}

    interventions = wijken.loc[wijken["group"] != "", ["wijk_code", "gemeente_code", "wijk_name", "group"]].copy()
    interventions["start"] = treat.loc[interventions.index, "start"].dt.strftime("%Y-%m-%d")
    by_name = {g.name: g for g in spec.groups}
    interventions["programme_start"] = [by_name[g].start.isoformat() for g in interventions["group"]]
    interventions = interventions.sort_values("wijk_code")
    written["interventions"] = out / "interventions.csv"
    interventions.to_csv(written["interventions"], index=False, lineterminator="\n")
    written["lookup"] = out / "pc6_lookup.csv"
    lookup.to_csv(written["lookup"], index=False, lineterminator="\n")

    for wave in spec.waves:
        wrng = np.random.default_rng([spec.seed, wave])
        truth = _wave_respondents(spec, wijken, treat, lookup, wave, wrng)
        raw, labels, var_labels = _raw_wave(spec, truth, wave, wrng)
        for fmt in spec.formats:
            path = out / f"monitor_{wave}.{fmt}"
            if fmt == "sav":
                _write_sav(raw, path, labels, var_labels, f"Synthetische gezondheidsmonitor {wave}")
            else:
                raw.to_parquet(path, index=False)
            written[f"wave_{wave}_{fmt}" if len(spec.formats) > 1 else f"wave_{wave}"] = path

    if spec.geometry:
        gdf = _geometries(spec, wijken, rng)
        path = out / "wijken.gpkg"
        if path.exists():
            path.unlink()
        previous = os.environ.get("OGR_CURRENT_DATE")
        os.environ["OGR_CURRENT_DATE"] = "2020-01-01T00:00:00Z"  # GeoPackage stamps the time otherwise
        try:
            gdf.to_file(path, layer="wijken", driver="GPKG", engine="pyogrio")
        finally:
            if previous is None:
                os.environ.pop("OGR_CURRENT_DATE", None)
            else:
                os.environ["OGR_CURRENT_DATE"] = previous
        written["geometry"] = path

    truth = _truth(spec, wijken, treat)
    written["truth"] = out / "TRUTH.yaml"
    with open(written["truth"], "w") as fh:
        yaml.safe_dump(truth, fh, sort_keys=False, allow_unicode=True)
    return written


def write_study(spec: DemoSpec, out: Path, files: dict[str, Path]) -> dict[str, Path]:
    """A study, codebooks and a standalone config for generated data (the national benchmark), so
    `snakemake --configfile OUT/config.yaml` runs it from the project root with nothing else to write."""
    from wijkeffect.paths import CONFIG, relative

    out = Path(out).resolve()
    lookup = pd.read_csv(files["lookup"], dtype=str, usecols=["gemeente_code"])
    cities = sorted(lookup["gemeente_code"].unique())
    scheme = CONFIG / "codebooks" / "demo" / ("_ggd_scheme.yaml" if spec.new_scheme_from <= min(spec.waves)
                                                else "_pols_scheme.yaml")
    name = "national" if spec.n_cities > 10 else "synthetic"
    written: dict[str, Path] = {}
    waves = []
    for wave in spec.waves:
        cb = out / "codebooks" / f"{wave}.yaml"
        cb.parent.mkdir(parents=True, exist_ok=True)
        # paths relative to the project root (extends: to the codebook), so results name no machine path
        cb.write_text(f"extends: {os.path.relpath(scheme, cb.parent)}\nsource: {name}\nwave: {wave}\n"
                      f"file: {relative(files[f'wave_{wave}'])}\n")
        waves.append({"source": name, "wave": wave, "codebook": relative(cb)})
    study = {"name": name, "description": f"Synthetic monitor, {spec.n_cities} gemeenten (wijkeffect.demo)",
             "indeling": 2020, "lookup": relative(files["lookup"]), "treated": {"file": relative(files["interventions"])},
             "controls": "same_city", "cities": cities, "outcomes": list(OUTCOMES)}
    if "geometry" in files:
        study.update(geometry=relative(files["geometry"]), geometry_layer="wijken")
    written["study"] = out / "study.yaml"
    written["study"].write_text(yaml.safe_dump(study, sort_keys=False))
    config = {"study": relative(written["study"]), "waves": waves, "figure_formats": ["png"],
              "truth": relative(files["truth"]), "batch_cities": 10}
    written["config"] = out / "config.yaml"
    written["config"].write_text("# Standalone config for the generated monitor (python -m wijkeffect.demo).\n"
                                 + yaml.safe_dump(config, sort_keys=False))
    return written


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m wijkeffect.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["demo", "national"], default="demo")
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default data/raw/demo for --scale demo; required for national)")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    spec = DEMO if args.scale == "demo" else NATIONAL
    if args.seed is not None:
        from dataclasses import replace
        spec = replace(spec, seed=args.seed)
    if args.out is None:
        if args.scale == "national":
            ap.error("--scale national writes about 2 million rows: give --out outside the repository")
        args.out = DEMO_RAW
    files = generate(spec, args.out)
    if args.scale == "national":
        files.update(write_study(spec, args.out, files))
    for key, path in files.items():
        print(f"{key:14s} {path}  {path.stat().st_size / 1e6:6.2f} MB")
    if args.scale == "national":
        print(f"run it: snakemake --cores all --configfile {files['config']}")


if __name__ == "__main__":
    main()
