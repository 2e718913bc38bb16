"""Estimates as CSV, LaTeX (booktabs) and Markdown tables, labelled from the one label dictionary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wijkeffect.labels import label


def _fmt(v: float, digits: int = 3) -> str:
    return "" if pd.isna(v) else f"{v:.{digits}f}"


def estimates_table(est: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """One row per city x outcome x model: estimate, 95% CI, p, n, wijken, clusters, inference."""
    t = pd.DataFrame({
        "City": est["city"],
        "Outcome": [label(o, language) for o in est["outcome"]],
        "Model": [label(m, language) for m in est["model"]],
        "Estimate": est["estimate"].map(_fmt),
        "95% CI": [f"[{_fmt(lo)}, {_fmt(hi)}]" for lo, hi in zip(est["ci_low"], est["ci_high"])],
        "p": est["p_value"].map(lambda v: _fmt(v, 3)),
        "n": est["n_obs"].astype(int),
        "Wijken": est["n_wijken"].astype(int),
        "Clusters": est["n_clusters"].astype(int),
        "Inference": est["inference"],
    })
    return t


def _markdown(t: pd.DataFrame) -> str:
    head = "| " + " | ".join(t.columns) + " |"
    sep = "|" + "|".join("---" for _ in t.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


def _latex(t: pd.DataFrame) -> str:
    esc = lambda s: str(s).replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")  # noqa: E731
    lines = [r"\begin{tabular}{" + "l" * 3 + "r" * (len(t.columns) - 3) + "}", r"\toprule",
             " & ".join(esc(c) for c in t.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(esc(v) for v in row) + r" \\" for row in t.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_tables(est: pd.DataFrame, out_dir: Path, language: str = "en") -> list[Path]:
    """Write estimates.{csv,md,tex} under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    t = estimates_table(est, language)
    paths = [out_dir / "estimates.csv", out_dir / "estimates.md", out_dir / "estimates.tex"]
    t.to_csv(paths[0], index=False, lineterminator="\n")
    paths[1].write_text(_markdown(t))
    paths[2].write_text(_latex(t))
    return paths
