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


def prevalence_table(cells: pd.DataFrame, min_cell_n: int) -> pd.DataFrame:
    """Weighted prevalence (%) with 95% CI per wijk, wave and outcome; cells under min_cell_n suppressed."""
    from wijkeffect.disclosure import suppress

    t = suppress(cells, min_cell_n)
    out = pd.DataFrame({
        "outcome": t["outcome"], "gemeente_code": t["gemeente_code"], "wijk_code": t["wijk_code"],
        "wave": t["wave"], "role": t["role"], "n": t["n"].astype(int),
        "prevalence_pct": (100 * t["mean"]).round(1),
        "ci_low_pct": (100 * (t["mean"] - 1.96 * t["se"]).clip(lower=0)).round(1),
        "ci_high_pct": (100 * (t["mean"] + 1.96 * t["se"]).clip(upper=1)).round(1),
        "suppressed": t["suppressed"],
    })
    return out.sort_values(["outcome", "wijk_code", "wave"]).reset_index(drop=True)


def write_prevalence(cells: pd.DataFrame, out_dir: Path, min_cell_n: int, language: str = "en") -> list[Path]:
    """prevalence.csv (machine-readable, suppressed cells blank and flagged) and prevalence.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    t = prevalence_table(cells, min_cell_n)
    paths = [out_dir / "prevalence.csv", out_dir / "prevalence.md"]
    t.to_csv(paths[0], index=False, lineterminator="\n")
    shown = t.assign(outcome=[label(o, language) for o in t["outcome"]],
                     prevalence_pct=[f"< {min_cell_n} (suppressed)" if s else f"{v:.1f}"
                                     for s, v in zip(t["suppressed"], t["prevalence_pct"])])
    paths[1].write_text(_markdown(shown.drop(columns=["suppressed", "ci_low_pct", "ci_high_pct"])))
    return paths


def write_tables(est: pd.DataFrame, out_dir: Path, language: str = "en") -> list[Path]:
    """Write estimates.{csv,md,tex} under out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    t = estimates_table(est, language)
    paths = [out_dir / "estimates.csv", out_dir / "estimates.md", out_dir / "estimates.tex"]
    t.to_csv(paths[0], index=False, lineterminator="\n")
    paths[1].write_text(_markdown(t))
    paths[2].write_text(_latex(t))
    return paths
