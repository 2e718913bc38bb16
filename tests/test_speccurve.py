"""Specification curve: the table, its statistics, the permutation test (size and power), tables, figure."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import stdtr

from wijkeffect import speccurve, sweep
from wijkeffect.errors import WijkeffectError


def tidy(rows: list[dict]) -> pd.DataFrame:
    base = dict(study="t", term="D", model="twfe", inference="cluster_wijk_cr1", std_error=0.01, n_obs=1,
                n_wijken=1, n_clusters=1, weights="", covariates="", seed=1, p_holm=np.nan, p_bh=np.nan)
    out = pd.DataFrame([dict(base, **r) for r in rows])
    out["ci_low"] = out["estimate"] - 1.96 * out["std_error"]
    out["ci_high"] = out["estimate"] + 1.96 * out["std_error"]
    return out


def test_curve_table_ranks_picks_headline_rows_and_joins_choices():
    specs = sweep.specs_table(sweep.expand({"sweep": {"axes": {"walk": [30, 60, 150]}},
                                            "thresholds": {"walking_min_week": 30}}))
    est = tidy([
        dict(city="ALL", outcome="walking", spec="default", estimate=0.05, p_value=0.01),
        dict(city="ALL", outcome="walking", spec="walk-60", estimate=-0.02, p_value=0.04),
        dict(city="ALL", outcome="walking", spec="walk-150", estimate=0.01, p_value=0.30),
        # not headline rows: another inference, an old adjusted row, a non-headline term, an unknown model
        dict(city="ALL", outcome="walking", spec="default", estimate=9.0, p_value=0.5, inference="randomization_999"),
        dict(city="ALL", outcome="walking", spec="default", estimate=9.0, p_value=0.5,
             inference="cluster_wijk_cr1+holm"),
        dict(city="ALL", outcome="walking", spec="default", estimate=9.0, p_value=0.5, term="k=0",
             model="event_study"),
        dict(city="ALL", outcome="walking", spec="default", estimate=9.0, p_value=0.5,
             term="diff_slope_change[krachtwijk]", model="segmented"),
        dict(city="ALL", outcome="walking", spec="default", estimate=0.03, p_value=0.2, model="staggered",
             term="overall", inference="wijk_jackknife"),
    ])
    c = speccurve.curve_table(est, specs)
    assert c["estimate"].tolist() == [-0.02, 0.01, 0.03, 0.05]
    assert c["rank"].tolist() == [1, 2, 3, 4]
    assert c["significant"].tolist() == ["negative", "", "", "positive"]
    assert c["model"].tolist() == ["twfe", "twfe", "staggered", "twfe"]
    assert c["walk"].astype(str).tolist() == ["60", "150", "30", "30"]
    assert list(c["walk"].cat.categories) == ["30", "60", "150"]  # the order the sweep lists them
    # Stouffer's Z from the two-sided p (scipy as the reference)
    np.testing.assert_allclose(c["z"], np.sign(c["estimate"]) * stats.norm.isf(c["p_value"] / 2))
    s = speccurve.curve_stats(c).loc[("ALL", "walking")]
    assert s["n_specs"] == 4 and s["median"] == pytest.approx(0.02)
    assert s["share_sig_negative"] == 0.25 and s["share_sig_positive"] == 0.25 and s["n_sig_dominant"] == 1
    with pytest.raises(WijkeffectError, match="specs.csv"):
        speccurve.curve_table(est.assign(spec="unknown"), specs)
    # a walking-threshold spec is not a specification of the smoking curve (it would duplicate the baseline)
    smoke = speccurve.curve_table(est.assign(outcome="smoker"), specs)
    assert smoke["spec"].tolist() == ["default", "default"] and smoke["rank"].tolist() == [1, 2]


# ----------------------------------------------------------------------------- a fast simulated multiverse
G, T, BLOCK = 40, 6, 2  # wijken, waves, cities (treatment permuted within each)


def _panel(rng: np.random.Generator, tau: float) -> dict:
    """Balanced wijk x wave panel, a third of each city's wijken treated from wave 3, two outcome measures
    sharing one latent outcome (as two thresholds of one score would)."""
    city = np.repeat(np.arange(BLOCK), G // BLOCK)
    treated = np.zeros(G, bool)
    for b in range(BLOCK):
        idx = np.flatnonzero(city == b)
        treated[rng.choice(idx, size=len(idx) // 3, replace=False)] = True
    d = np.outer(treated, np.arange(T) >= 3).astype(float)
    latent = rng.normal(0, 1, (G, 1)) + np.linspace(0, 0.5, T) + rng.normal(0, 0.5, (G, T)) + tau * d
    ys = {"a": latent + rng.normal(0, 0.3, (G, T)), "b": latent + rng.normal(0, 0.3, (G, T))}
    return {"city": city, "treated": treated, "d": d, "y": ys}


def _did(y: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    """Two-way FE on a balanced panel (double demeaning), CR1 cluster-by-wijk SE, t(G-1) p-value."""
    dm = lambda m: m - m.mean(1, keepdims=True) - m.mean(0, keepdims=True) + m.mean()  # noqa: E731
    x, yy = dm(d), dm(y)
    b = (x * yy).sum() / (x * x).sum()
    e = yy - b * x
    g = y.shape[0]
    se = np.sqrt(g / (g - 1) * ((x * e).sum(1) ** 2).sum()) / (x * x).sum()
    return b, se, 2 * stdtr(g - 1, -abs(b / se))


WINDOWS = {"all": slice(0, T), "drop_first": slice(1, T), "drop_last": slice(0, T - 1)}


def _fits(p: dict, d: np.ndarray) -> np.ndarray:
    """(estimate, se, p) of six specifications: two measures x three wave windows."""
    return np.array([_did(y[:, sl], d[:, sl]) for y in p["y"].values() for sl in WINDOWS.values()])


def _estimates(p: dict, d: np.ndarray) -> pd.DataFrame:
    f = _fits(p, d)
    specs = [f"m-{m}.w-{w}" for m in p["y"] for w in WINDOWS]
    return tidy([dict(city="ALL", outcome="o", spec=s, estimate=b, std_error=se, p_value=pv)
                 for s, (b, se, pv) in zip(specs, f)])


def _permuted(p: dict, rng: np.random.Generator) -> np.ndarray:
    d = p["d"].copy()
    for b in range(BLOCK):
        idx = np.flatnonzero(p["city"] == b)
        d[idx] = p["d"][rng.permutation(idx)]
    return d


def _rejections(tau: float, datasets: int, reps: int, seed: int) -> np.ndarray:
    """Share of simulated studies in which each joint statistic's permutation p is <= 0.05."""
    out = []
    for k in range(datasets):
        p = _panel(np.random.default_rng([seed, k]), tau)
        f = _fits(p, p["d"])
        obs = speccurve.statistics(f[:, 0], f[:, 2])
        null = []
        for r in range(reps):
            fr = _fits(p, _permuted(p, np.random.default_rng([seed, k, r])))
            null.append(speccurve.statistics(fr[:, 0], fr[:, 2]))
        out.append(speccurve.permutation_pvalues(obs, np.array(null)) <= 0.05)
    return np.mean(out, axis=0)


def test_permutation_test_has_its_size_under_no_effect_and_power_under_an_effect():
    # 19 draws: P(p <= 0.05) = 1/20 exactly under the null for an exchangeable assignment;
    # 200 studies: binomial sd of the rejection rate 1.5 points
    size = _rejections(0.0, datasets=200, reps=19, seed=11)
    assert ((0.02 <= size) & (size <= 0.09)).all(), size
    power = _rejections(0.8, datasets=40, reps=19, seed=12)
    assert (power >= 0.8).all(), power


def test_statistics_and_pvalues_by_hand():
    est, p = np.array([-0.3, -0.1, 0.2, -0.2]), np.array([0.01, 0.5, 0.04, 0.03])
    s = speccurve.statistics(est, p)
    z = np.sign(est) * stats.norm.isf(p / 2)
    np.testing.assert_allclose(s, [-0.15, 2, z.mean()])
    null = np.array([[0.2, 2, 0.1], [-0.1, 1, -3.0], [0.15, 3, np.nan]])
    np.testing.assert_allclose(speccurve.permutation_pvalues(s, null), [2 / 3, 2 / 3, 2 / 3])


def test_inferential_test_is_seeded_and_draws_are_independent():
    p = _panel(np.random.default_rng(5), 0.3)
    curve = speccurve.curve_table(_estimates(p, p["d"]))
    f = lambda rng: _estimates(p, _permuted(p, rng))  # noqa: E731
    a, na = speccurve.inferential_test(curve, f, 8, seed=3)
    b, _ = speccurve.inferential_test(curve, f, 8, seed=3)
    c, nc = speccurve.inferential_test(curve, f, 12, seed=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(na, nc[nc["draw"] < 8].reset_index(drop=True))  # draw r uses [seed, r]
    assert not na["median"].equals(speccurve.inferential_test(curve, f, 8, seed=4)[1]["median"])
    # the same p-values as the statistics of the draws give by hand
    obs = speccurve.curve_stats(curve).iloc[0]
    by_hand = speccurve.permutation_pvalues(obs[list(speccurve.STATISTICS)].to_numpy(float),
                                            nc[list(speccurve.STATISTICS)].to_numpy(float))
    np.testing.assert_allclose(c.iloc[0][["p_median", "p_share_sig", "p_mean_z"]].to_numpy(float), by_hand)
    # draws count only the specs the observed curve shows (here: one measure's three windows)
    part = curve[curve["spec"].str.startswith("m-a")]
    _, nd = speccurve.inferential_test(part, f, 3, seed=3)
    for r in range(3):
        e = _estimates(p, _permuted(p, np.random.default_rng([3, r])))
        e = e[e["spec"].str.startswith("m-a")]
        np.testing.assert_allclose(nd.loc[r, list(speccurve.STATISTICS)].to_numpy(float),
                                   speccurve.statistics(e["estimate"], e["p_value"]))


# ---------------------------------------------------------------- the demo-like data and the real twfe model
@pytest.fixture(scope="module")
def demo_cells():
    from wijkeffect import simulate
    from wijkeffect.panel import build_cells

    resp = simulate.respondents(simulate.spec_with(-0.08), seed=7)
    return resp, build_cells(resp, ["smoker"])


def _twfe_specs(cells: pd.DataFrame) -> pd.DataFrame:
    from wijkeffect.models import get_model
    from wijkeffect.models.tidy import Context, tidy_frame

    rows = []
    for weights in ("n", "sum_w"):
        for drop_first in (False,):
            c = cells[cells["wave"] > cells["wave"].min()] if drop_first else cells
            sid = ".".join(x for x in (("drop-yes" if drop_first else ""), ("w-sum_w" if weights == "sum_w" else ""))
                           if x) or "default"
            rows += get_model("twfe")(c, Context("demo", "ALL", "smoker", 1, spec=sid), weights=weights)
    return tidy_frame(rows)


def test_curve_on_demo_like_data_with_the_twfe_model_recovers_the_effect(demo_cells):
    _, cells = demo_cells
    curve = speccurve.curve_table(_twfe_specs(cells))
    assert len(curve) == 2 and curve["spec"].nunique() == 2
    reestimate = speccurve.permuted_reestimate({"default": cells}, lambda key, c: _twfe_specs(c))
    res, null = speccurve.inferential_test(curve, reestimate, reps=9, seed=2)
    r = res.loc[("ALL", "smoker")]
    assert r["median"] == pytest.approx(-0.08, abs=0.03)
    assert r["p_median"] == pytest.approx(0.1) and r["p_mean_z"] == pytest.approx(0.1)  # 1/(1+9): the minimum
    assert r["p_share_sig"] <= 0.3  # a count: ties with draws that overlap the true assignment
    assert null["median"].abs().max() < abs(r["median"])


def test_permute_cells_moves_whole_treatment_paths_within_cities(demo_cells):
    _, cells = demo_cells
    out = speccurve.permute_cells(cells, np.random.default_rng(1))
    assert len(out) == len(cells) and (out["mean"] == cells["mean"]).all()
    per = lambda c: c.drop_duplicates("wijk_code").groupby("gemeente_code")["role"].value_counts()  # noqa: E731
    pd.testing.assert_series_equal(per(out), per(cells))
    moved = out.drop_duplicates("wijk_code").set_index("wijk_code")["role"] != \
        cells.drop_duplicates("wijk_code").set_index("wijk_code")["role"]
    assert moved.any()
    assert (out.loc[out["role"] == "control", "D"] == 0).all()
    # each treated wijk's D path is one of the original treated paths (same start)
    treated = cells[cells["role"] == "treated"]
    orig = {tuple(g.sort_values("wave")["D"].round(12)) for _, g in treated.groupby("wijk_code")}
    new = out[out["role"] == "treated"]
    full = new.groupby("wijk_code")["wave"].transform("size") == cells["wave"].nunique()
    assert all(tuple(g.sort_values("wave")["D"].round(12)) in orig for _, g in new[full].groupby("wijk_code"))


def test_permute_respondents_recomputes_post_from_the_new_start(demo_cells):
    resp, _ = demo_cells
    out = speccurve.permute_respondents(resp, np.random.default_rng(3))
    per = lambda r: r.drop_duplicates("wijk_code").groupby("gemeente_code")["role"].value_counts()  # noqa: E731
    pd.testing.assert_series_equal(per(out), per(resp))
    t = out["role"] == "treated"
    assert (out.loc[t, "post"] == (out.loc[t, "interview_date"] >= out.loc[t, "start"])).all()
    assert (out.loc[~t, "post"] == 0).all()
    assert (out.groupby("wijk_code")["start"].nunique(dropna=False) == 1).all()


def test_remove_effect_forces_the_null():
    from wijkeffect import simulate
    from wijkeffect.models import get_model
    from wijkeffect.models.tidy import Context
    from wijkeffect.panel import build_cells

    cells = build_cells(simulate.respondents(simulate.spec_with(-0.08), seed=9), ["smoker"])
    ctx = Context("demo", "ALL", "smoker", 1)
    b = get_model("twfe")(cells, ctx)[0]["estimate"]
    b0 = get_model("twfe")(speccurve.remove_effect(cells, b), ctx)[0]["estimate"]
    assert abs(b0) < 1e-10


# ---------------------------------------------------------------------------- tables and the figure
@pytest.fixture(scope="module")
def small_curve():
    cfg = {"sweep": {"axes": {"controls": ["same_city", "all", {"match": "nearest", "k": 2}],
                              "covariates": [True, False]}},
           "model_options": {"twfe_individual": {"covariates": ["age"]}}}
    specs = sweep.specs_table(sweep.expand(cfg, {"controls": "same_city"}))
    rng = np.random.default_rng(4)
    rows = []
    for sid in specs["spec"]:
        for model, term, inf in (("twfe", "D", "cluster_wijk_cr1"), ("staggered", "overall", "wijk_jackknife")):
            e = rng.normal(-0.02, 0.01)
            rows.append(dict(city="GM9901", outcome="smoker", spec=sid, model=model, term=term, inference=inf,
                             estimate=e, std_error=0.008, p_value=2 * stats.norm.sf(abs(e) / 0.008)))
    return speccurve.curve_table(tidy(rows), specs)


def test_tables_csv_and_markdown(tmp_path, small_curve):
    summary = speccurve.summary_table(small_curve)
    paths = speccurve.write_tables(small_curve, summary, tmp_path, "nl")
    assert [p.name for p in paths] == ["speccurve.csv", "speccurve_summary.csv", "speccurve_summary.md"]
    back = pd.read_csv(paths[0])
    assert len(back) == 12 and back["rank"].tolist() == list(range(1, 13))
    md = paths[2].read_text()
    assert "Specificaties" in md and "Rookt" in md and md.count("\n") == 3


def test_speccurve_figure_is_byte_identical_on_rerun_and_double_column(tmp_path, small_curve):
    from PIL import Image

    from wijkeffect.figures.speccurve import choice_rows, speccurve_plot

    test = speccurve.curve_stats(small_curve).assign(p_median=0.01, p_share_sig=0.02, p_mean_z=0.03, reps=99)
    row = test.loc[("GM9901", "smoker")]
    a = speccurve_plot(small_curve, "GM9901", "smoker", "Havenstad", tmp_path / "a" / "sc", "en", summary=row)
    b = speccurve_plot(small_curve, "GM9901", "smoker", "Havenstad", tmp_path / "b" / "sc", "en", summary=row)
    assert [p.suffix for p in a] == [".pdf", ".svg", ".png"]
    for x, y in zip(a, b):
        assert hashlib.sha256(x.read_bytes()).digest() == hashlib.sha256(y.read_bytes()).digest(), x.suffix
    with Image.open(a[2]) as im:
        assert abs(im.size[0] / 300 * 25.4 - 183) < 0.5
    rows = choice_rows(small_curve, ["model", "controls", "covariates"])
    assert rows[0] == ("model", None) and ("controls", "nn2") in rows and len(rows) == 3 + 2 + 3 + 2
    from wijkeffect.figures.speccurve import speccurve_figures

    idx = speccurve_figures(small_curve, {"GM9901": "Havenstad"}, tmp_path / "all", "nl",
                            summary=speccurve.summary_table(small_curve), formats=("png",))
    assert (tmp_path / "all" / "GM9901" / "speccurve_smoker.png").read_bytes() != a[2].read_bytes()  # Dutch labels
    assert idx["file"].tolist() == [str(tmp_path / "all" / "GM9901" / "speccurve_smoker.png")]


def test_one_permutation_shared_by_every_spec_and_the_treated_table(demo_cells):
    resp, cells = demo_cells
    wijken = cells[["wijk_code", "gemeente_code"]].drop_duplicates()
    mapping = speccurve.wijk_permutation(wijken, np.random.default_rng(8))
    assert sorted(mapping) == sorted(mapping.values()) == sorted(wijken["wijk_code"])
    gm = dict(zip(wijken["wijk_code"], wijken["gemeente_code"]))
    assert all(gm[a] == gm[b] for a, b in mapping.items())  # within cities
    c = speccurve.permute_cells(cells, mapping=mapping)
    r = speccurve.permute_respondents(resp, mapping=mapping)
    tc = set(c.loc[c["role"] == "treated", "wijk_code"])
    assert tc == set(r.loc[r["role"] == "treated", "wijk_code"])
    treated = resp.loc[resp["role"] == "treated", ["wijk_code", "start", "group"]].drop_duplicates("wijk_code")
    pt = speccurve.permute_treated(treated, mapping)
    assert set(pt["wijk_code"]) == tc and sorted(pt["start"]) == sorted(treated["start"])
    with pytest.raises(WijkeffectError, match="not in the data"):
        speccurve.permute_cells(cells[cells["wijk_code"] != cells["wijk_code"].iloc[0]], mapping=mapping)


def test_null_draws_in_chunks_give_the_same_test():
    p = _panel(np.random.default_rng(6), 0.2)
    curve = speccurve.curve_table(_estimates(p, p["d"]))
    f = lambda rng: _estimates(p, _permuted(p, rng))  # noqa: E731
    whole, _ = speccurve.inferential_test(curve, f, 10, seed=9)
    parts = pd.concat([speccurve.null_draws(curve, f, range(0, 4), 9), speccurve.null_draws(curve, f, range(4, 10), 9)])
    pd.testing.assert_frame_equal(speccurve.pvalues_from_draws(curve, parts, 9), whole)
