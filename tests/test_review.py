"""The reviewer's sections of the estimate notebook, on the demo: numbers checked against the respondents
directly, the event-study figure's pre-trend p read back from its SVG text, provenance paths relative."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from tests.demo_results import demo_results  # noqa: F401  (fixture)
from wijkeffect import review
from wijkeffect.errors import WijkeffectError
from wijkeffect.labels import LABELS

CITY, OUTCOME = "GM9901", "smoker"


def test_data_summary_counts_respondents_and_cells(demo_results):  # noqa: F811
    resp, cells = demo_results["respondents"], demo_results["cells"]
    t = review.data_summary(resp, cells, CITY, OUTCOME)
    r = resp[(resp["gemeente_code"] == CITY) & resp["role"].isin(["treated", "control"])]
    assert t["Respondents"].sum() == len(r)
    assert t["With outcome"].sum() == r[OUTCOME].notna().sum()
    c = cells[(cells["gemeente_code"] == CITY) & (cells["outcome"] == OUTCOME)]
    assert t["Cells"].sum() == len(c[c["role"].isin(["treated", "control"])])
    assert set(t["Role"]) == {"Intervention wijken", "Control wijken"} and t["Wave"].nunique() == 6
    nl = review.data_summary(resp, cells, CITY, OUTCOME, language="nl")
    assert "Respondenten" in nl and "Meting" in nl


def test_raw_trends_are_the_weighted_prevalence_of_the_respondents(demo_results):  # noqa: F811
    resp, cells = demo_results["respondents"], demo_results["cells"]
    t = review.raw_trend_frame(cells, CITY, OUTCOME)
    r = resp[(resp["gemeente_code"] == CITY) & resp[OUTCOME].notna()]
    for _, row in t.iterrows():  # independent of the cells: straight from the respondents
        sub = r[(r["role"] == row["role"]) & (r["wave"] == row["wave"])]
        assert row["mean"] == pytest.approx(np.average(sub[OUTCOME], weights=sub["weight"]), rel=1e-9)
        assert row["n"] == len(sub)
    fig = review.raw_trends_figure(cells, CITY, OUTCOME)
    assert len(fig.axes[0].get_lines()) >= 2 and "Current smoking" in fig.axes[0].get_title(loc="left")
    # the notebook shows an image: a bare Figure under the Agg backend would display as "<Figure ...>" text
    assert review.raw_trends(cells, CITY, OUTCOME).data[:8] == b"\x89PNG\r\n\x1a\n"


def _svg_text(svg: str) -> str:
    """The text drawn in a matplotlib SVG (glyphs are paths; each text element is preceded by a comment)."""
    return html.unescape("\n".join(re.findall(r"<!-- (.*?) -->", svg)))


@pytest.mark.parametrize("suffix", ["", " ssc(G/(G-1))"])
def test_event_study_figure_shows_the_pretrend_p(demo_results, tmp_path, suffix):  # noqa: F811
    est = demo_results["estimates"].copy()
    est["inference"] = est["inference"].str.replace("cluster_wijk_cr1", "cluster_wijk_cr1" + suffix, regex=False)
    pre = est[(est["city"] == CITY) & (est["outcome"] == OUTCOME) & (est["term"] == "pretrend_wald")]
    assert len(pre) == 1 and pre["inference"].iloc[0].startswith("cluster_wijk_cr1")
    img = review.event_study(est, CITY, OUTCOME, out_stem=tmp_path / "event")
    assert img.data[:8] == b"\x89PNG\r\n\x1a\n"
    text = _svg_text((tmp_path / "event.svg").read_text())
    p = pre["p_value"].iloc[0]
    assert f"Pre-trend test p {'< 0.001' if p < 0.001 else f'= {p:.3f}' if p < 0.01 else f'= {p:.2f}'}" in text
    assert review.pretrend_test(est, CITY, OUTCOME)["p_value"].iloc[0] == pre["p_value"].iloc[0]


def test_event_study_figure_on_an_old_contract_table(demo_results, tmp_path):  # noqa: F811
    """estimates.csv of the old contract (no spec/p_holm/p_bh, +holm/+bh rows): one p, the unadjusted one."""
    est = demo_results["estimates"].drop(columns=["spec", "p_holm", "p_bh"])
    old = pd.concat([est, est.assign(inference=est["inference"] + "+holm", p_value=0.999)])
    review.event_study(old, CITY, OUTCOME, out_stem=tmp_path / "event")
    text = _svg_text((tmp_path / "event.svg").read_text())
    p = est[(est["city"] == CITY) & (est["outcome"] == OUTCOME) & (est["term"] == "pretrend_wald")]["p_value"]
    assert text.count("Pre-trend test p ") == 1 and "0.999" not in text
    assert f"{p.iloc[0]:.3f}"[:4] in text


def test_balance_table(demo_results):  # noqa: F811
    b = review.balance_table(demo_results["balance_file"])
    raw = pd.read_csv(demo_results["balance_file"])
    assert list(b["feature"]) == list(raw["feature"])
    assert (b["|SMD| < 0.1"] == (raw["smd_after"].abs() < 0.1)).all()
    with pytest.raises(WijkeffectError, match="smd_after"):
        review.balance_table(pd.DataFrame({"feature": ["age"], "smd": [0.2]}))


def test_estimates_table_is_shown_whole(demo_results):  # noqa: F811
    est = demo_results["estimates"]
    t = review.estimates_table(est, CITY, OUTCOME)
    assert len(t) == ((est["city"] == CITY) & (est["outcome"] == OUTCOME)).sum() > 60
    with review.full_display():
        text = repr(t)
    assert "..." not in text and len(text.splitlines()) == len(t) + 1
    with pd.option_context("display.max_rows", 10):  # what the notebook showed before: 10 of them
        assert "..." in repr(t)


def test_regression_table_is_html(demo_results):  # noqa: F811
    g = review.regression_table(demo_results["estimates"], CITY, OUTCOME, language="nl")
    html = g.as_raw_html()
    assert "Rookt, GM9901" in html and "Waarnemingen" in html and 'id="regtable_GM9901_smoker"' in html


def test_assumptions_one_sentence_per_model():
    models = ["twfe", "naive", "event_study", "twfe_individual", "segmented", "staggered", "new_model"]
    en, nl = review.assumptions(models), review.assumptions(models, "nl")
    assert len(en) == len(nl) == len(models)
    assert all(s.endswith(".") and s.count(". ") <= 1 for s in en["Assumes"][:-1])
    assert en["Assumes"].iloc[-1] == LABELS["en"]["assume_unknown"]
    assert (en["Assumes"] != nl["Veronderstelt"]).all()


def test_provenance_names_files_relative_to_the_root(tmp_path, monkeypatch):
    from wijkeffect import paths
    from wijkeffect.provenance import outputs_table, provenance

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cells.parquet").write_bytes(b"x")
    outside = tmp_path.parent / f"{tmp_path.name}_outside.csv"
    outside.write_text("a\n")
    p = provenance({"city": CITY}, ["data/cells.parquet", str(tmp_path / "data" / "cells.parquet"), outside])
    names = list(p.loc[p["kind"] == "input sha256", "name"])
    # outside the root: relative with "..", so no machine path is written (the audit rejects absolute ones)
    assert names == ["data/cells.parquet", "data/cells.parquet", f"../{outside.name}"]
    assert list(outputs_table([tmp_path / "data"])["file"]) == ["data/cells.parquet"]
    # a directory input is its data files: not Snakemake's .snakemake_timestamp marker or other dotfiles
    (tmp_path / "data" / ".snakemake_timestamp").write_text("")
    (tmp_path / "data" / ".cache").mkdir()
    (tmp_path / "data" / ".cache" / "x.bin").write_bytes(b"y")
    p = provenance({}, ["data"])
    assert list(p.loc[p["kind"] == "input sha256", "name"]) == ["data/cells.parquet"]


def test_event_study_pretrend_label_sits_above_the_axes(demo_results, monkeypatch):  # noqa: F811
    """The pre-trend p is drawn between the title and the axes, so no coefficient or CI can run under it
    (inside the axes it sat on a tall lead's CI line)."""
    import matplotlib.pyplot as plt

    from wijkeffect.figures import effects

    drawn = []
    monkeypatch.setattr(effects, "save_figure", lambda fig, stem: drawn.append(fig) or [])
    effects.event_plot(demo_results["estimates"], CITY, OUTCOME, "Title", "unused")
    fig = drawn[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    [note] = [t for t in ax.texts if t.get_text().startswith("Pre-trend test p")]
    box, axes_box, title_box = (t.get_window_extent(renderer) for t in (note, ax, ax.title))
    assert box.y0 >= axes_box.y1  # above the data area
    assert not box.overlaps(title_box) and title_box.y1 <= fig.bbox.y1  # under the title, which stays in the figure
    plt.close(fig)
