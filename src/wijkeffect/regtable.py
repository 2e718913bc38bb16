"""Regression tables a co-author can paste: models as columns, one row per reported term (fixest::etable,
modelsummary), estimate with its SE or CI beneath, and footer rows for the design and the inference.

Built from the tidy estimates only (DESIGN §6). One `RegTable` is written as LaTeX (booktabs,
threeparttable notes), Markdown and HTML (Great Tables), every label from `labels.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError
from wijkeffect.labels import label

#: column order; models not listed here follow, alphabetically
MODEL_ORDER = ["twfe", "twfe_individual", "event_study", "staggered", "segmented", "naive"]
#: the one term that is a model's headline effect (row "Effect"); other models: the first of FALLBACK_TERMS
MAIN_TERMS = {"twfe": "D", "twfe_individual": "D", "naive": "treated", "staggered": "overall"}
FALLBACK_TERMS = ("D", "overall", "treated", "att", "ATT")
#: label key of each model's fixed effects (footer row)
FIXED_EFFECTS = {"twfe": "fe_wijk_wave", "twfe_individual": "fe_wijk_wave", "event_study": "fe_wijk_wave",
                 "naive": "fe_none", "staggered": "fe_group_time", "segmented": "fe_group_trends"}
EVENT_TERM = re.compile(r"k=(-?\d+)$")
AVG_POST_TERMS = ("avg_post", "average_post", "avg(k>=0)")
SLOPE_TERM = re.compile(r"diff_slope_change\[(.+)\]$")
RESAMPLING = ("wild_cluster", "randomization")
STARS = ((0.01, "***"), (0.05, "**"), (0.10, "*"))


def upgrade_tidy(est: pd.DataFrame) -> pd.DataFrame:
    """A tidy table in the current contract: old tables had no spec/p_holm/p_bh columns and carried
    adjusted p-values as extra rows whose inference ends in +holm / +bh; those become the columns."""
    est = est.copy()
    if "spec" not in est:
        est["spec"] = "default"
    est["spec"] = est["spec"].fillna("default")
    for c in ("p_holm", "p_bh"):
        if c not in est:
            est[c] = np.nan
    inf = est["inference"].astype(str)
    extra = inf.str.contains(r"\+(?:holm|bh)$", regex=True)
    if extra.any():
        key = ["city", "outcome", "model", "term", "inference", "spec"]
        base = est[~extra]
        for suffix, col in (("+holm", "p_holm"), ("+bh", "p_bh")):
            adj = est[inf.str.endswith(suffix)].copy()
            adj["inference"] = adj["inference"].str[: -len(suffix)]
            adj = adj[key + ["p_value"]].drop_duplicates(key).rename(columns={"p_value": "_adj"})
            base = base.merge(adj, on=key, how="left")
            base[col] = base[col].fillna(base.pop("_adj"))
        est = base
    return est.reset_index(drop=True)


def primary_inference(rows: pd.DataFrame) -> str:
    """The inference a model's column reports: CR1 when there is one (whatever suffix, e.g. an ssc
    label, follows), else the first that is not a resampling p-value or a joint test."""
    infs = [str(i) for i in dict.fromkeys(rows.loc[rows["term"] != "pretrend_wald", "inference"])]
    cands = [i for i in infs if not i.startswith(RESAMPLING) and "+" not in i and "joint" not in i]
    cr1 = [i for i in cands if "_cr1" in i]
    if not (cr1 or cands or infs):
        raise WijkeffectError("estimates: no inference label in the model's rows")
    return (cr1 or cands or infs)[0]


def inference_label(inference: str, language: str = "en") -> str:
    """A reader's name for an inference label (CR1 by wijk, t(G-1); wijk jackknife; ...)."""
    m = re.match(r"cluster_([a-z]+)_cr1", inference)
    if m:
        return label("inf_cr1", language, cluster=m.group(1))
    m = re.match(r"([a-z]+)_(jackknife|bootstrap)", inference)
    if m:
        return label(f"inf_{m.group(2)}", language, cluster=m.group(1))
    return inference


def _weights_label(w: Any, language: str) -> str:
    if not isinstance(w, str) or not w:
        return ""
    return label(f"w_{w.split(' ')[0]}", language) if f"w_{w.split(' ')[0]}" in _known() else w


def _known() -> set[str]:
    from wijkeffect.labels import LABELS

    return set(LABELS["en"])


def _covariates_list(c: Any) -> str:
    return ", ".join(c.split("+")) if isinstance(c, str) and c else ""


def _covariates_label(c: Any, language: str) -> str:
    """'yes' in the footer (the list goes in the notes, etable style), 'none' without covariates."""
    return label("yes", language) if _covariates_list(c) else label("none", language)


def _num(v: float, digits: int) -> str:
    return "" if pd.isna(v) else f"{v:.{digits}f}"


def _count(values: pd.Series) -> str:
    v = sorted({int(x) for x in values.dropna()})
    if not v:
        return ""
    return f"{v[0]:,}" if len(v) == 1 else f"{v[0]:,}\u2013{v[-1]:,}"


def _stars(p: float) -> str:
    for cut, mark in STARS:
        if pd.notna(p) and p < cut:
            return mark
    return ""


def _model_terms(rows: pd.DataFrame, model: str, event: str) -> list[tuple[tuple, pd.Series]]:
    """(row key, tidy row) for each term a model's column shows."""
    by_term = {r["term"]: r for _, r in rows.iterrows()}
    out: list[tuple[tuple, pd.Series]] = []
    main = MAIN_TERMS.get(model)
    if main is None and model not in ("event_study", "segmented"):
        main = next((t for t in FALLBACK_TERMS if t in by_term), None)
        if main is None:  # a model this module does not know: its first term
            main = next((t for t in by_term if t != "pretrend_wald"), None)
    if main in by_term:
        out.append((("effect",), by_term[main]))
    if model == "event_study" or any(EVENT_TERM.match(t) for t in by_term if model not in MAIN_TERMS):
        avg = next((t for t in AVG_POST_TERMS if t in by_term), None)
        if event == "average" and avg:
            out.append((("avg_post",), by_term[avg]))
        elif event != "none":
            ks = sorted((int(EVENT_TERM.match(t).group(1)), t) for t in by_term if EVENT_TERM.match(t))
            out += [(("event", k), by_term[t]) for k, t in ks if event != "post" or k >= 0]
    for t in sorted(by_term):
        m = SLOPE_TERM.match(t)
        if m:
            out.append((("slope", m.group(1)), by_term[t]))
    return out


def _row_label(key: tuple, language: str) -> str:
    if key[0] == "effect":
        return label("term_effect", language)
    if key[0] == "avg_post":
        return label("term_avg_post", language)
    if key[0] == "event":
        return label("term_event", language, k=str(key[1]).replace("-", "\u2212"))
    return label("term_diff_slope_change", language, g=key[1])


def _row_order(key: tuple) -> tuple:
    kind = {"effect": 0, "avg_post": 1, "event": 2, "slope": 3}[key[0]]
    return (kind, key[1] if len(key) > 1 else 0)


@dataclass
class RegTable:
    """One regression table: columns (city, model), body rows with estimate and uncertainty, footer rows."""

    title: str
    columns: list[tuple[str, str]]
    headers: list[str]
    spanners: list[tuple[str, int]]
    body: list[tuple[str, list[str], list[str]]]
    footer: list[tuple[str, list[str]]]
    notes: list[str]
    shown: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def n_terms_shown(self) -> int:
        """Distinct (city, model, term) the table reports: its body rows can be no more than these."""
        return len(self.shown)

    def to_frame(self) -> pd.DataFrame:
        """The table as text cells: one row per body line (estimate, then its uncertainty) and footer row."""
        cols = [f"({i + 1}) {h}" for i, h in enumerate(self.headers)]
        rows = []
        for lab, est, unc in self.body:
            rows.append([lab, *est])
            if any(unc):
                rows.append(["", *unc])
        rows += [[lab, *cells] for lab, cells in self.footer]
        return pd.DataFrame(rows, columns=["", *cols])


def regression_table(est: pd.DataFrame, outcome: str, cities: list[str] | None = None, *, language: str = "en",
                     spec: str = "default", models: list[str] | None = None, uncertainty: str = "se",
                     stars: bool = False, event: str = "terms", digits: int = 3,
                     names: dict[str, str] | None = None) -> RegTable:
    """The table for one outcome: models as columns (grouped by city when several), one row per term.

    uncertainty: "se" (in parentheses) or "ci" (95% CI in brackets) beneath each estimate; event: "terms"
    (every lead and lag), "post" (k >= 0), "average" (a tidy average-of-lags term where the model gives
    one) or "none"; stars: significance marks on the model's own p-value.
    """
    if uncertainty not in ("se", "ci"):
        raise WijkeffectError(f"regression table: uncertainty={uncertainty!r}; expected 'se' or 'ci'")
    if event not in ("terms", "post", "average", "none"):
        raise WijkeffectError(f"regression table: event={event!r}; expected terms, post, average or none")
    est = upgrade_tidy(est)
    e = est[(est["outcome"] == outcome) & (est["spec"] == spec)]
    if e.empty:
        raise WijkeffectError(f"estimates: no rows for outcome {outcome!r} and spec {spec!r}; "
                              f"expected one of {sorted(est['outcome'].unique())}")
    present = sorted(e["city"].unique(), key=lambda c: (c != "ALL", c))
    cities = cities or (["ALL"] if "ALL" in present else present)
    bad = [c for c in cities if c not in present]
    if bad:
        raise WijkeffectError(f"estimates: no rows for city {bad} (outcome {outcome}); expected one of {present}")
    names = names or {}
    city_name = lambda c: label("all_cities", language) if c == "ALL" else names.get(c, c)  # noqa: E731
    columns: list[tuple[str, str]] = []
    cells: dict[tuple[str, str], dict[tuple, pd.Series]] = {}
    meta: dict[tuple[str, str], dict[str, str]] = {}
    shown: set[tuple[str, str, str]] = set()
    spanners: list[tuple[str, int]] = []
    for city in cities:
        ce = e[e["city"] == city]
        avail = list(ce["model"].unique())
        order = [m for m in (models or MODEL_ORDER + sorted(set(avail) - set(MODEL_ORDER))) if m in avail]
        n_before = len(columns)
        for model in order:
            rows = ce[ce["model"] == model]
            inf = primary_inference(rows)
            main = rows[rows["inference"] == inf]
            terms = _model_terms(main, model, event)
            if not terms:
                continue
            col = (city, model)
            columns.append(col)
            cells[col] = dict(terms)
            shown.update((city, model, r["term"]) for _, r in terms)
            meta[col] = _footer_cells(rows, main, terms, model, inf, language)
        spanners.append((city_name(city), len(columns) - n_before))
    if not columns:
        raise WijkeffectError(f"estimates: no model rows to tabulate for outcome {outcome!r}")
    keys = sorted({k for col in columns for k in cells[col]}, key=_row_order)
    body = []
    for key in keys:
        ests, uncs = [], []
        for col in columns:
            r = cells[col].get(key)
            if r is None:
                ests.append("")
                uncs.append("")
                continue
            ests.append(_num(r["estimate"], digits) + (_stars(r["p_value"]) if stars else ""))
            if uncertainty == "se":
                uncs.append(f"({_num(r['std_error'], digits)})" if pd.notna(r["std_error"]) else "")
            else:
                ok = pd.notna(r["ci_low"]) and pd.notna(r["ci_high"])
                uncs.append(f"[{_num(r['ci_low'], digits)}, {_num(r['ci_high'], digits)}]" if ok else "")
        body.append((_row_label(key, language), ests, uncs))
    footer = []
    for k in ("n_obs", "n_wijken", "n_clusters", "fixed_effects", "covariates", "weights", "inference",
              "pretrend", "p_wcr", "p_ri", "p_holm", "p_bh"):
        vals = [meta[c].get(k, "") for c in columns]
        if any(vals):
            footer.append((label(f"row_{k}", language), vals))
    notes = [label("note_se" if uncertainty == "se" else "note_ci", language), label("note_scale", language)]
    covs = {m: _covariates_list(cells[(c, m)][next(iter(cells[(c, m)]))]["covariates"]) for c, m in columns}
    notes += [label("note_covariates", language, model=_column_label(m, language), covariates=v)
              for m, v in covs.items() if v]
    notes.append(label("note_inference", language))
    if any(m == "event_study" for _, m in columns) and event != "none":
        notes.append(label("note_event", language))
    if stars:
        notes.append(label("note_stars", language))
    if any(lab in (label("row_p_holm", language), label("row_p_bh", language)) for lab, _ in footer):
        notes.append(label("note_adjusted", language))
    title = (label("regtable_title", language, outcome=label(outcome, language)) if len(cities) > 1
             or cities == ["ALL"] else
             label("regtable_title_city", language, outcome=label(outcome, language), city=city_name(cities[0])))
    return RegTable(title=title, columns=columns, headers=[_column_label(m, language) for _, m in columns],
                    spanners=spanners if len(cities) > 1 else [], body=body, footer=footer, notes=notes,
                    shown=shown)


def _column_label(model: str, language: str) -> str:
    """A short column head (etable style); models without one get their full label."""
    short = label(f"col_{model}", language)
    return short if short != f"col_{model}" else label(model, language)


def _footer_cells(rows: pd.DataFrame, main: pd.DataFrame, terms: list[tuple[tuple, pd.Series]], model: str,
                  inf: str, language: str) -> dict[str, str]:
    """Footer values of one column: sizes over the terms shown, design, inference, extra p-values."""
    shown = pd.DataFrame([r for _, r in terms])
    first = shown.iloc[0]
    out = {"n_obs": _count(shown["n_obs"]), "n_wijken": _count(shown["n_wijken"]),
           "n_clusters": _count(shown["n_clusters"]),
           "fixed_effects": label(FIXED_EFFECTS[model], language) if model in FIXED_EFFECTS else "",
           "covariates": _covariates_label(first["covariates"], language),
           "weights": _weights_label(first["weights"], language), "inference": inference_label(inf, language)}
    pre = rows.loc[rows["term"] == "pretrend_wald", "p_value"]
    if len(pre):
        out["pretrend"] = _num(pre.iloc[0], 3)
    effect = dict(terms).get(("effect",))
    if effect is not None:
        for key, prefix in (("p_wcr", "wild_cluster"), ("p_ri", "randomization")):
            alt = rows[(rows["term"] == effect["term"]) & rows["inference"].astype(str).str.startswith(prefix)]
            if len(alt):
                out[key] = _num(alt["p_value"].iloc[0], 3)
        out["p_holm"], out["p_bh"] = _num(effect["p_holm"], 3), _num(effect["p_bh"], 3)
    return out


# ---------------------------------------------------------------- LaTeX

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_UNICODE = {"\u2212": "$-$", "\u2265": r"$\geq$", "\u2264": r"$\leq$", "\u0394": r"$\Delta$",
                "\u00d7": r"$\times$", "\u2013": "--", "\u2014": "---", "\u00b1": r"$\pm$"}


def tex_escape(s: str) -> str:
    """Text safe for pdflatex: special characters escaped, the few non-Latin symbols in labels as math."""
    out = "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(s))
    out = re.sub(r"(?<![\w$-])-(?=\d)", "$-$", out)  # minus signs of numbers
    return "".join(_TEX_UNICODE.get(ch, ch) for ch in out)


def _tex_stack(head: str) -> str:
    """A column head on two lines (split at its comma or last space) in a nested tabular: six models fit."""
    a, sep, b = head.partition(", ")
    if not sep:
        a, sep, b = head.rpartition(" ")
    if not sep or not a:
        return tex_escape(head)
    return rf"\begin{{tabular}}[b]{{@{{}}c@{{}}}}{tex_escape(a)}\\ {tex_escape(b)}\end{{tabular}}"


def to_latex(t: RegTable, label_id: str = "", size: str = r"\footnotesize") -> str:
    """A table float: booktabs rules, threeparttable notes (needs booktabs and threeparttable); size is the
    font size command for the table (\\footnotesize keeps six models within an article's text width)."""
    n = len(t.columns)
    lines = [r"\begin{table}[htbp]", r"\centering", size, r"\setlength{\tabcolsep}{4pt}", r"\begin{threeparttable}",
             rf"\caption{{{tex_escape(t.title)}}}" + (rf"\label{{{label_id}}}" if label_id else ""),
             rf"\begin{{tabular}}{{l*{{{n}}}{{c}}}}", r"\toprule"]
    if t.spanners:
        parts, rules, start = [""], [], 2
        for name, span in t.spanners:
            parts.append(rf"\multicolumn{{{span}}}{{c}}{{{tex_escape(name)}}}")
            rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            start += span
        lines += [" & ".join(parts) + r" \\", " ".join(rules)]
    lines.append(" & " + " & ".join(_tex_stack(h) for h in t.headers) + r" \\")
    lines.append(" & " + " & ".join(f"({i + 1})" for i in range(n)) + r" \\")
    lines.append(r"\midrule")
    for lab, est, unc in t.body:
        lines.append(" & ".join([tex_escape(lab), *(tex_escape(v) for v in est)]) + r" \\")
        if any(unc):
            lines.append(" & ".join(["", *(tex_escape(v) for v in unc)]) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join([tex_escape(lab), *(tex_escape(v) for v in vals)]) + r" \\" for lab, vals in t.footer]
    lines += [r"\bottomrule", r"\end{tabular}", r"\begin{tablenotes}[flushleft]", r"\footnotesize"]
    lines += [rf"\item {tex_escape(note)}" for note in t.notes]
    lines += [r"\end{tablenotes}", r"\end{threeparttable}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def latex_document(body: str) -> str:
    """A standalone document around table floats (what the compile test and a quick look need)."""
    return "\n".join([r"\documentclass{article}", r"\usepackage[utf8]{inputenc}", r"\usepackage{booktabs}", r"\usepackage{threeparttable}", r"\usepackage{graphicx}",
                      r"\begin{document}", body, r"\end{document}"]) + "\n"


# ---------------------------------------------------------------- Markdown


def to_markdown(t: RegTable) -> str:
    """A pipe table (uncertainty on the line beneath each estimate), notes below it."""
    esc = lambda s: str(s).replace("|", r"\|")  # noqa: E731
    head = [""] + [f"({i + 1}) {h}" for i, h in enumerate(t.headers)]
    if t.spanners:
        city_of = [name for name, span in t.spanners for _ in range(span)]
        head = [""] + [f"{c}: {h}" for c, h in zip(city_of, head[1:])]
    lines = [f"**{esc(t.title)}**", "", "| " + " | ".join(esc(h) for h in head) + " |",
             "|" + "|".join([":---"] + [":---:"] * len(t.columns)) + "|"]
    for lab, est, unc in t.body:
        lines.append("| " + " | ".join(esc(v) for v in [lab, *est]) + " |")
        if any(unc):
            lines.append("| " + " | ".join(esc(v) for v in ["", *unc]) + " |")
    lines += ["| " + " | ".join(esc(v) for v in [f"*{lab}*", *vals]) + " |" for lab, vals in t.footer]
    lines += ["", *[f"{esc(n)}  " for n in t.notes]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML


def to_gt(t: RegTable, table_id: str = "regtable"):
    """The table as a great_tables.GT (displays itself in a notebook); a fixed id keeps the HTML stable."""
    from great_tables import GT, html, loc, style

    keys = [f"c{i}" for i in range(len(t.columns))]
    rows = []
    for lab, est, unc in t.body:
        rows.append([lab, *est])
        if any(unc):
            rows.append(["", *unc])
    first_footer = len(rows)
    rows += [[lab, *vals] for lab, vals in t.footer]
    df = pd.DataFrame(rows, columns=["_label", *keys])
    g = GT(df, rowname_col="_label", id=table_id).tab_header(title=t.title)
    g = g.cols_label(**{k: html(f"{h}<br>({i + 1})") for i, (k, h) in enumerate(zip(keys, t.headers))})
    start = 0
    for name, span in t.spanners:
        g = g.tab_spanner(label=name, columns=keys[start:start + span], id=f"city{start}")
        start += span
    g = g.cols_align(align="center", columns=keys)
    if first_footer:  # estimates and intervals on one line each
        g = g.tab_style(style.css(rule="white-space: nowrap"), loc.body(columns=keys, rows=list(range(first_footer))))
    if t.footer:  # the rule between the terms and the statistics (etable's midrule)
        rule = style.borders(sides="top", color="#333333", weight="1px")
        g = g.tab_style(rule, loc.body(rows=[first_footer])).tab_style(rule, loc.stub(rows=[first_footer]))
    for note in t.notes:
        g = g.tab_source_note(note)
    return g.tab_options(table_font_size="13px", data_row_padding="2px", table_body_hlines_style="none",
                         stub_border_style="none", table_body_border_top_color="#333333",
                         table_body_border_bottom_color="#333333", heading_border_bottom_color="#333333",
                         column_labels_border_bottom_color="#333333")


def to_html(t: RegTable, table_id: str = "regtable") -> str:
    """A standalone HTML page holding the Great Tables table (no external resources)."""
    body = to_gt(t, table_id).as_raw_html()
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + _html_escape(t.title)
            + "</title></head>\n<body>\n" + body + "\n</body></html>\n")


def _html_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- files


def write_regression_tables(est: pd.DataFrame, out_dir: str | Path, language: str = "en", per_city: bool = False,
                            names: dict[str, str] | None = None, **options: Any) -> list[Path]:
    """tables/regression_<outcome>.{tex,md,html} per outcome (the pooled city, or every city as column
    groups when there is no pooled estimate); with per_city also regression_<outcome>_<city>.*."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    est = upgrade_tidy(est)
    spec = options.get("spec", "default")
    paths: list[Path] = []
    for outcome in sorted(est.loc[est["spec"] == spec, "outcome"].unique()):
        jobs: list[tuple[str, list[str] | None]] = [(f"regression_{outcome}", None)]
        if per_city:
            cities = sorted(c for c in est.loc[est["outcome"] == outcome, "city"].unique() if c != "ALL")
            jobs += [(f"regression_{outcome}_{c}", [c]) for c in cities]
        for stem, cities in jobs:
            t = regression_table(est, outcome, cities, language=language, names=names, **options)
            for ext, text in (("tex", to_latex(t, f"tab:{stem}")), ("md", to_markdown(t)), ("html", to_html(t))):
                p = out_dir / f"{stem}.{ext}"
                p.write_text(text)
                paths.append(p)
    return paths
