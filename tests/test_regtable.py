"""Regression tables: models as columns, terms as rows, footers from the tidy rows; LaTeX compiles, HTML
renders in headless Chromium, Dutch labels, bounded size."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from tests.browser import dump_dom, png_is_blank, screenshot
from tests.demo_results import demo_results  # noqa: F401  (fixture)
from wijkeffect import regtable as rt
from wijkeffect.errors import WijkeffectError
from wijkeffect.labels import LABELS


@pytest.fixture(scope="module")
def est(demo_results):  # noqa: F811
    return demo_results["estimates"]


def _cell(t: rt.RegTable, row_label: str, model: str, city: str = "GM9901") -> tuple[str, str]:
    j = t.columns.index((city, model))
    for lab, ests, uncs in t.body:
        if lab == row_label:
            return ests[j], uncs[j]
    raise KeyError(row_label)


def test_columns_are_models_and_numbers_come_from_the_tidy_rows(est):
    t = rt.regression_table(est, "smoker", ["GM9901"])
    assert [m for _, m in t.columns] == ["twfe", "twfe_individual", "event_study", "staggered", "segmented", "naive"]
    e = est[(est["city"] == "GM9901") & (est["outcome"] == "smoker")]
    for model, term, inf in (("twfe", "D", "cluster_wijk_cr1"), ("staggered", "overall", "wijk_jackknife"),
                             ("naive", "treated", "cluster_wijk_cr1")):
        r = e[(e["model"] == model) & (e["term"] == term) & e["inference"].str.startswith(inf)].iloc[0]
        assert _cell(t, "Effect", model) == (f"{r['estimate']:.3f}", f"({r['std_error']:.3f})")
    k0 = e[(e["model"] == "event_study") & (e["term"] == "k=0")].iloc[0]
    assert _cell(t, "k = 0", "event_study")[0] == f"{k0['estimate']:.3f}"
    # footer: the pre-trend test's p, twfe's resampling p-values, Holm across outcomes
    foot = dict(t.footer)
    pre = e.loc[e["term"] == "pretrend_wald", "p_value"].iloc[0]
    assert foot["Pre-trend test p"][t.columns.index(("GM9901", "event_study"))] == f"{pre:.3f}"
    wcr = e[(e["model"] == "twfe") & e["inference"].str.startswith("wild_cluster")]["p_value"].iloc[0]
    assert foot["p, wild bootstrap"][0] == f"{wcr:.3f}"
    twfe = e[(e["model"] == "twfe") & e["inference"].str.startswith("cluster_wijk_cr1")].iloc[0]
    assert foot["p, Holm-adjusted"][0] == f"{twfe['p_holm']:.3f}"
    assert foot["Observations"][0] == f"{int(twfe['n_obs']):,}"
    assert foot["Covariates"][:2] == ["none", "yes"]
    assert "Covariates (TWFE, respondents): age, sex, education." in t.notes


def test_size_is_bounded_by_the_terms_shown(est):
    for event in ("terms", "post", "none"):
        t = rt.regression_table(est, "walking", ["GM9901", "GM9902"], event=event)
        assert len(t.body) <= t.n_terms_shown
        md_rows = [line for line in rt.to_markdown(t).splitlines() if line.startswith("| ")]
        assert len(md_rows) <= 1 + 2 * len(t.body) + len(t.footer)  # header, estimate + SE per term, footer
        tex_rows = [line for line in rt.to_latex(t).splitlines() if line.endswith(r"\\")]
        assert len(tex_rows) <= 3 + 2 * len(t.body) + len(t.footer)  # spanner, labels, numbers
    post = rt.regression_table(est, "walking", ["GM9901"], event="post")
    assert not any(lab.startswith("k = \u2212") for lab, _, _ in post.body)
    # 2,540 tidy rows once became a 2,540-row table; the whole study is now a handful of rows per outcome
    assert len(rt.regression_table(est, "smoker", ["GM9901", "GM9902"]).to_frame()) < 40


def test_uncertainty_as_ci_and_stars(est):
    t = rt.regression_table(est, "smoker", ["GM9901"], uncertainty="ci", stars=True)
    e = est[(est["city"] == "GM9901") & (est["outcome"] == "smoker") & (est["model"] == "twfe")
            & est["inference"].str.startswith("cluster_wijk_cr1")].iloc[0]
    mark = "***" if e["p_value"] < 0.01 else "**" if e["p_value"] < 0.05 else "*" if e["p_value"] < 0.1 else ""
    assert _cell(t, "Effect", "twfe") == (f"{e['estimate']:.3f}{mark}", f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}]")
    assert "[, ]" not in rt.to_markdown(t)


def test_inference_with_a_suffix_is_still_the_primary_one(est):
    """Another helper may append a small-sample label to inference; CR1 must still be picked."""
    e = est.copy()
    e["inference"] = e["inference"].str.replace("cluster_wijk_cr1", "cluster_wijk_cr1 ssc(G/(G-1))", regex=False)
    t = rt.regression_table(e, "smoker", ["GM9901"])
    assert _cell(t, "Effect", "twfe") == _cell(rt.regression_table(est, "smoker", ["GM9901"]), "Effect", "twfe")
    assert dict(t.footer)["Inference"][0] == "CR1 wijk"


def test_old_contract_rows_become_columns(est):
    """Tables of the old contract carried adjusted p-values as +holm/+bh rows; they fold into p_holm/p_bh."""
    new = est[est["p_holm"].notna()].head(20)
    old = pd.concat([new.drop(columns=["spec", "p_holm", "p_bh"]),
                     new.assign(inference=new["inference"] + "+holm", p_value=new["p_holm"]).drop(
                         columns=["spec", "p_holm", "p_bh"]),
                     new.assign(inference=new["inference"] + "+bh", p_value=new["p_bh"]).drop(
                         columns=["spec", "p_holm", "p_bh"])])
    up = rt.upgrade_tidy(old).sort_values(["city", "outcome", "model", "term", "inference"]).reset_index(drop=True)
    ref = new.sort_values(["city", "outcome", "model", "term", "inference"]).reset_index(drop=True)
    assert len(up) == len(new)
    np.testing.assert_allclose(up["p_holm"], ref["p_holm"])
    np.testing.assert_allclose(up["p_bh"], ref["p_bh"])
    assert (up["spec"] == "default").all()


def test_dutch_labels(est):
    t = rt.regression_table(est, "smoker", ["GM9901"], language="nl")
    text = rt.to_markdown(t) + rt.to_latex(t)
    for key in ("row_n_obs", "row_fixed_effects", "row_inference", "smoker", "col_twfe", "col_naive"):
        assert LABELS["nl"][key] in text
    for key in ("row_n_obs", "row_fixed_effects", "note_se"):
        assert LABELS["en"][key] not in text
    assert set(LABELS["nl"]) >= set(LABELS["en"]), "every English label has a Dutch one"


def test_bad_input_is_named(est):
    with pytest.raises(WijkeffectError, match="outcome 'bmi'"):
        rt.regression_table(est, "bmi")
    with pytest.raises(WijkeffectError, match="GM0000"):
        rt.regression_table(est, "smoker", ["GM0000"])
    with pytest.raises(WijkeffectError, match="uncertainty"):
        rt.regression_table(est, "smoker", uncertainty="sd")


def test_write_tables_keeps_the_tidy_table_and_writes_one_table_per_outcome(est, tmp_path):
    from wijkeffect.tables import write_tables

    paths = write_tables(est, tmp_path, per_city=True)
    names = {p.name for p in paths}
    assert {"estimates.csv", "regression_smoker.tex", "regression_walking.md", "regression_walking.html",
            "regression_smoker_GM9902.md"} <= names
    back = pd.read_csv(tmp_path / "estimates.csv")
    assert len(back) == len(est) and "term" in back and list(back.columns) == list(est.columns)
    # no pooled city in this results set: the study table groups the cities' columns
    md = (tmp_path / "regression_smoker.md").read_text()
    assert "GM9901: (1)" in md and "GM9902: (7)" in md
    # estimates.{md,tex}: every outcome's study table in one file, no per-city copies
    both = (tmp_path / "estimates.md").read_text()
    assert both == md + "\n" + (tmp_path / "regression_walking.md").read_text()
    assert (tmp_path / "estimates.tex").read_text().count(r"\begin{table}") == 2


def test_latex_compiles(est, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed (apt-get install -y texlive-latex-base texlive-latex-recommended "
                    "texlive-latex-extra)")
    floats = [rt.to_latex(rt.regression_table(est, o, cities, language=lang, stars=True, uncertainty=u), f"tab:{i}")
              for i, (o, cities, lang, u) in enumerate([("smoker", ["GM9901"], "en", "se"),
                                                        ("walking", ["GM9901", "GM9902"], "nl", "ci")])]
    (tmp_path / "t.tex").write_text(rt.latex_document("\n\\clearpage\n".join(floats)))
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:]
    log = (tmp_path / "t.log").read_text(errors="replace")
    assert "Undefined control sequence" not in log and "Missing $ inserted" not in log
    assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_html_renders_in_chromium(est, tmp_path):
    t = rt.regression_table(est, "smoker", ["GM9901"], language="nl")
    page = tmp_path / "regression_smoker.html"
    page.write_text(rt.to_html(t))
    assert "http" not in re.sub(r'xmlns="[^"]*"', "", page.read_text()), "the page loads nothing from outside"
    png = screenshot(page, tmp_path / "shot.png", 1100, 800)
    assert not png_is_blank(png)
    dom = dump_dom(page)
    body_rows = re.findall(r"<tr[^>]*>", dom.split("<tbody", 1)[1].split("</tbody>", 1)[0])
    assert len(body_rows) == len(t.to_frame())
    assert LABELS["nl"]["row_n_obs"] in dom and t.title in dom
