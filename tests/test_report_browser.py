"""The Snakemake report opens on the verdicts: a real `snakemake --report` of a two-rule workflow whose
description takes in verdict.write_first_page's fragment, loaded in headless Chromium (renders, links
resolve, every figure it names exists and is embedded); the demo's report too when `make demo` made one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from html import escape
from pathlib import Path

import pytest

from tests.browser import check_report, png_is_blank, report_contents, require_chromium, screenshot
from tests.demo_results import ROOT, demo_results  # noqa: F401  (fixture)


def _mini_workflow(d: Path, first_page: str) -> None:
    """A workflow whose description raw-includes the first page, and two reported figures with labels."""
    (d / "report").mkdir()
    (d / "report" / "workflow.rst").write_text(textwrap.dedent(f"""\
        .. raw:: html
           :file: {first_page}

        About this workflow
        ~~~~~~~~~~~~~~~~~~~

        Study **{{{{ snakemake.config["study"] }}}}**.
        """))
    (d / "report" / "trends.rst").write_text("Trends of wijk {{ snakemake.wildcards.wijk }}.\n")
    (d / "Snakefile").write_text(textwrap.dedent("""\
        config["study"] = "demo"
        report: "report/workflow.rst"
        rule all:
            input: "figures/GM9901/wijken"
        rule trends:
            input: "src.png"
            output:
                report(directory("figures/GM9901/wijken"), patterns=["{wijk}/trends.png"],
                       caption="report/trends.rst", category="GM9901", subcategory="Wijk trends",
                       labels={"city": "GM9901", "wijk": "{wijk}", "figure": "trends"})
            shell: "mkdir -p {output}/WK990103 {output}/WK990106 && cp {input} {output}/WK990103/trends.png && cp {input} {output}/WK990106/trends.png"
        """))


@pytest.mark.e2e  # two snakemake runs and two Chromium loads: about 20 s on an idle machine
def test_snakemake_report_opens_on_the_verdicts(demo_results, tmp_path, monkeypatch):  # noqa: F811
    require_chromium()
    from wijkeffect.figures.effects import forest_plot
    from wijkeffect.verdict import verdicts, write_first_page

    est = demo_results["estimates"]
    est = est[est["city"] == "GM9901"]
    figs = tmp_path / "figures"
    for outcome in ("smoker", "walking"):
        forest_plot(est, "GM9901", outcome, "GM9901", figs / "GM9901" / f"forest_{outcome}")
    page = write_first_page(est, tmp_path / "report_parts" / "first_page.html", figs,
                            outcomes=["smoker", "walking"])
    _mini_workflow(tmp_path, str(page.relative_to(tmp_path)))
    (tmp_path / "src.png").write_bytes((figs / "GM9901" / "forest_smoker.png").read_bytes())
    run = lambda *a: subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", *a], cwd=tmp_path,  # noqa: E731
                                    capture_output=True, text=True, timeout=240)
    r = run()
    assert r.returncode == 0, r.stderr[-2000:]
    r = run("--report", "report.html")
    assert r.returncode == 0, r.stderr[-2000:]

    dom, problems = check_report(tmp_path / "report.html", tmp_path)
    assert not problems, problems
    vs = verdicts(est, ["smoker", "walking"])
    # the rendered page (the report's scripts also hold the description as an escaped string)
    shown = dom[dom.index('<div class="wijkeffect-verdicts">'):]
    at = [shown.index(escape(v.text, quote=False)[:120]) for v in vs]
    assert at == sorted(at), "verdicts in outcome order"
    assert shown.index("About this workflow") > at[-1], "the verdicts come before the workflow's description"
    assert shown.count('class="wijkeffect-figure" src="data:image/png;base64,') == 2  # the two forest plots
    categories, results = report_contents((tmp_path / "report.html").read_text())
    trends = categories["GM9901"]["Wijk trends"]
    assert len(trends) == 2 and {results[f]["labels"]["wijk"] for f in trends} == {"WK990103", "WK990106"}
    png = screenshot(tmp_path / "report.html", tmp_path / "report.png", 1200, 1000, 4000)
    assert not png_is_blank(png)


def test_the_demo_report(tmp_path):
    """After `make demo`: the report in results/demo loads, its links resolve, its figures exist."""
    report = ROOT / "results" / "demo" / "report.html"
    if not report.exists():
        pytest.skip(f"{report} not built (run `make demo`)")
    require_chromium()
    _, problems = check_report(report, ROOT)
    assert not problems, problems
