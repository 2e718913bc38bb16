"""The answer first: a plain-language paragraph per outcome, generated from the tidy estimates, that says
whether the estimators find an effect, how large, and which caveats apply (pre-trends, few clusters,
model-based data, disagreement between estimators, sensitivity and the minimum detectable effect)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wijkeffect.labels import label
from wijkeffect.regtable import MAIN_TERMS, primary_inference, upgrade_tidy

#: estimators whose main effect makes the headline, in order; naive (biased by design), event_study (leads and
#: lags) and segmented (log-odds slopes) are reported in the tables, not here
HEADLINE = [("twfe", "D"), ("twfe_individual", "D"), ("staggered", "overall")]
NOT_HEADLINE = {"naive", "event_study", "segmented", "sensitivity"}
SHORT = {"twfe": "f_twfe", "twfe_individual": "f_twfe_individual", "staggered": "f_staggered"}
#: below this many clusters CR1 intervals tend to be too narrow (Cameron and Miller 2015, J. Human Resources
#: 50(2), sect. VI; MacKinnon and Webb 2017): the verdict then points to the wild cluster bootstrap
FEW_CLUSTERS = 30


@dataclass
class Verdict:
    """One outcome's verdict: the paragraph and the facts it was built from (for tests and tables)."""

    outcome: str
    city: str
    text: str
    estimates: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)


def _pp(v: float) -> str:
    """Proportion as percentage points, one decimal, a real minus sign."""
    s = f"{100 * v:.1f}"
    return s.replace("-", "\u2212") if s not in ("-0.0",) else "0.0"


def _p(v: float) -> str:
    return "< 0.001" if v < 0.001 else f"= {v:.3f}" if v < 0.01 else f"= {v:.2f}"


def headline_rows(est: pd.DataFrame, outcome: str, city: str, spec: str = "default") -> pd.DataFrame:
    """The main effect of every headline estimator (own primary inference), one row each, in HEADLINE order
    and then any further model with a main term."""
    e = upgrade_tidy(est)
    e = e[(e["outcome"] == outcome) & (e["city"] == city) & (e["spec"] == spec)]
    order = [m for m, _ in HEADLINE] + sorted(set(e["model"]) - {m for m, _ in HEADLINE} - NOT_HEADLINE)
    rows = []
    for model in order:
        m = e[e["model"] == model]
        if m.empty:
            continue
        term = MAIN_TERMS.get(model) or next((t for t in ("D", "overall", "treated") if t in set(m["term"])), None)
        r = m[(m["term"] == term) & (m["inference"] == primary_inference(m))]
        if len(r) and np.isfinite(r["estimate"].iloc[0]):
            rows.append(r.iloc[0])
    return pd.DataFrame(rows).reset_index(drop=True)


def _describe(r: pd.Series, language: str) -> str:
    name = label(SHORT.get(r["model"], r["model"]), language)
    return label("v_estimate", language, model=name, est=_pp(r["estimate"]), lo=_pp(r["ci_low"]),
                 hi=_pp(r["ci_high"]))


def verdict(est: pd.DataFrame, outcome: str, city: str = "ALL", language: str = "en", *, spec: str = "default",
            alpha: float = 0.05, few_clusters: int = FEW_CLUSTERS, model_based: bool = False,
            mde: pd.DataFrame | None = None) -> Verdict:
    """The paragraph for one outcome (and city: ALL = pooled) from the tidy rows.

    mde: optional table with columns city, outcome, mde (proportion) and optionally power (a proportion, as power.mde_table writes it, or %); sensitivity
    rows (model "sensitivity") are used when the table has them.
    """
    e = upgrade_tidy(est)
    e = e[(e["outcome"] == outcome) & (e["city"] == city) & (e["spec"] == spec)]
    h = headline_rows(e, outcome, city, spec)
    out_label = label(outcome, language).lower() if language == "en" else label(outcome, language).lower()
    facts: dict[str, Any] = {"n": len(h), "flags": []}
    if h.empty:
        return Verdict(outcome, city, label("v_no_estimates", language, outcome=out_label), h, facts)
    sig = (h["ci_low"] > 0) | (h["ci_high"] < 0)
    neg, pos = h[sig & (h["estimate"] < 0)], h[sig & (h["estimate"] > 0)]
    span = "; ".join(_describe(r, language) for _, r in h.iterrows())
    lo, hi = _pp(h["estimate"].min()), _pp(h["estimate"].max())
    facts.update(n_significant=int(sig.sum()), estimate_min=float(h["estimate"].min()),
                 estimate_max=float(h["estimate"].max()))
    if len(neg) and len(pos):
        facts["flags"].append("estimators_contradict")
        parts = [label("v_opposite", language, outcome=out_label,
                       neg="; ".join(_describe(r, language) for _, r in neg.iterrows()),
                       pos="; ".join(_describe(r, language) for _, r in pos.iterrows()))]
    elif not sig.any():
        facts["direction"] = "none"
        parts = [label("v_none", language, outcome=out_label, n=len(h), lo=lo, hi=hi, span=span)]
    else:
        direction = "v_decrease" if len(neg) else "v_increase"
        facts["direction"] = "decrease" if len(neg) else "increase"
        if sig.all():
            parts = [label("v_all", language, outcome=out_label, n=len(h), direction=label(direction, language),
                           lo=lo, hi=hi, span=span)]
        else:
            facts["flags"].append("estimators_disagree")
            parts = [label("v_some", language, outcome=out_label, k=int(sig.sum()), n=len(h),
                           direction=label(direction, language),
                           sig="; ".join(_describe(r, language) for _, r in h[sig].iterrows()),
                           rest="; ".join(_describe(r, language) for _, r in h[~sig].iterrows()))]
    pre = e[(e["model"] == "event_study") & (e["term"] == "pretrend_wald")]["p_value"].dropna()
    if len(pre):
        facts["pretrend_p"] = float(pre.iloc[0])
        if pre.iloc[0] < alpha:
            facts["flags"].append("pretrend_failed")
            parts.append(label("v_pretrend_fail", language, p=_p(pre.iloc[0])))
        else:
            parts.append(label("v_pretrend_ok", language, p=_p(pre.iloc[0])))
    g = int(h["n_clusters"].min())
    facts["min_clusters"] = g
    if g < few_clusters:
        facts["flags"].append("few_clusters")
        text = label("v_few_clusters", language, g=g)
        wcr = e[(e["model"] == "twfe") & (e["term"] == "D")
                & e["inference"].astype(str).str.startswith("wild_cluster")]["p_value"].dropna()
        if len(wcr):
            text += label("v_wcr", language, p=_p(wcr.iloc[0]))
        parts.append(text + ".")
    sens = e[e["model"] == "sensitivity"]
    if len(sens):
        facts["flags"].append("sensitivity")
        parts.append(label("v_sensitivity", language, text=_sensitivity_text(sens, language)))
    if mde is not None and len(mde):
        m = mde[(mde["outcome"] == outcome) & (mde["city"] == city)] if "city" in mde else mde[
            mde["outcome"] == outcome]
        if len(m) and pd.notna(m["mde"].iloc[0]):
            value = float(m["mde"].iloc[0])
            power = float(m["power"].iloc[0]) if "power" in m and pd.notna(m["power"].iloc[0]) else 80.0
            power = round(100 * power if power <= 1 else power)  # power.mde_table holds a proportion (0.8)
            facts["mde"] = value
            text = label("v_mde", language, power=power, mde=_pp(abs(value)))
            if (h["estimate"].abs() < abs(value)).all():
                facts["flags"].append("underpowered")
                text += label("v_mde_larger", language)
            parts.append(text + ".")
    if model_based:
        facts["flags"].append("model_based")
        parts.append(label("v_model_based", language))
    return Verdict(outcome, city, " ".join(parts), h, facts)


def _sensitivity_text(sens: pd.DataFrame, language: str) -> str:
    """Breakdown value where the table has one, else each sensitivity term with its interval."""
    br = sens[sens["term"].astype(str).str.contains("breakdown")]
    if len(br) and pd.notna(br["estimate"].iloc[0]):
        return label("v_breakdown", language, m=f"{br['estimate'].iloc[0]:.2g}")
    return "; ".join(f"{r['term']} [{_pp(r['ci_low'])}, {_pp(r['ci_high'])}]" for _, r in sens.head(4).iterrows())


def verdicts(est: pd.DataFrame, outcomes: list[str] | None = None, city: str | None = None, language: str = "en",
             **options: Any) -> list[Verdict]:
    """A verdict per outcome: for the pooled estimate (ALL) when there is one, else for every city."""
    e = upgrade_tidy(est)
    outcomes = outcomes or sorted(e["outcome"].unique())
    cities = [city] if city else (["ALL"] if "ALL" in set(e["city"]) else sorted(e["city"].unique()))
    return [verdict(e, o, c, language, **options) for o in outcomes for c in cities]


def _image(path: str | Path, width: str, alt: str) -> str:
    """An <img> with the PNG as a data URI: the report is one self-contained HTML file, and snakemake's
    embeddedimage directive leaves the file path in src (9.27.1), which does not resolve from the report."""
    import base64
    from html import escape

    from wijkeffect.paths import relative, resolve

    data = base64.b64encode(resolve(path).read_bytes()).decode("ascii")
    return (f'<img class="wijkeffect-figure" src="data:image/png;base64,{data}" alt="{escape(alt)}" '
            f'title="{escape(relative(path))}" style="width: {width}; max-width: 100%;">')


def first_page_html(vs: list[Verdict], figures: dict[str, str | Path] | None = None, language: str = "en",
                    names: dict[str, str] | None = None, overview: str | Path | None = None) -> str:
    """An HTML fragment for the report's first page: the overview figure, then per outcome a heading, the
    verdict and the forest plot of every estimator (figures: outcome -> PNG path), images embedded.

    workflow/report/workflow.rst takes it in with ``.. raw:: html`` and ``:file:`` (docutils' include
    directive refuses lines over 10,000 characters, which every embedded figure has)."""
    from html import escape

    names = names or {}
    parts = ['<div class="wijkeffect-verdicts">']
    if overview:
        parts.append(f"<p>{_image(overview, '100%', label('overview_title', language))}</p>")
    one_city = len({v.city for v in vs}) == 1
    for v in vs:
        head = label(v.outcome, language) + ("" if v.city == "ALL" else f" ({names.get(v.city, v.city)})")
        parts += [f'<h2 id="verdict-{escape(v.outcome)}-{escape(v.city)}">{escape(head)}</h2>',
                  f'<p class="wijkeffect-verdict">{escape(v.text)}</p>']
        fig = (figures or {}).get(v.outcome) if (v.city == "ALL" or one_city) else None
        if fig:
            parts.append(f"<p>{_image(fig, '60%', label('effect_pp', language) + ': ' + head)}</p>")
    parts.append("</div>")
    return "\n".join(parts) + "\n"


def write_first_page(est: pd.DataFrame, out_html: str | Path, figures_dir: str | Path, language: str = "en",
                     names: dict[str, str] | None = None, outcomes: list[str] | None = None,
                     **options: Any) -> Path:
    """Write the first page's HTML fragment (verdicts, overview, forest plots of the pooled estimate or of the
    only city) for workflow/report/workflow.rst; options go to verdict() (model_based, mde, few_clusters)."""
    from wijkeffect.paths import resolve

    vs = verdicts(est, outcomes, language=language, **options)
    fdir = resolve(figures_dir)
    figures = {v.outcome: fdir / v.city / f"forest_{v.outcome}.png" for v in vs}
    figures = {k: f for k, f in figures.items() if f.exists()}
    overview = fdir / "overview.png"
    text = first_page_html(vs, figures, language, names, overview if overview.exists() else None)
    out = resolve(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out
