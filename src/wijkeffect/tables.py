"""Tables for papers: the tidy estimates as CSV, per-outcome regression tables (regtable.py), prevalence
per wijk and wave; labelled from the one label dictionary."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.labels import label


def _markdown(t: pd.DataFrame) -> str:
    head = "| " + " | ".join(t.columns) + " |"
    sep = "|" + "|".join("---" for _ in t.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in t.itertuples(index=False)]
    return "\n".join([head, sep, *body]) + "\n"


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


def write_tables(est: pd.DataFrame, out_dir: Path, language: str = "en", per_city: bool = False,
                 names: dict[str, str] | None = None, **options: Any) -> list[Path]:
    """tables/estimates.csv (the full tidy table, DESIGN §6 columns, `term` included), one regression table
    per outcome, regression_<outcome>.{tex,md,html} (per city too with per_city), and estimates.{tex,md}
    holding every outcome's table in one file (to \\input in a paper); options go to
    regtable.regression_table (uncertainty, stars, event, digits, spec)."""
    from wijkeffect.regtable import write_regression_tables

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "estimates.csv"]
    est.to_csv(paths[0], index=False, lineterminator="\n", float_format="%.10g")
    tables = write_regression_tables(est, out_dir, language, per_city=per_city, names=names, **options)
    for ext in ("md", "tex"):
        study = [p for p in tables if p.suffix == f".{ext}" and not _is_city_table(p)]
        (out_dir / f"estimates.{ext}").write_text("\n".join(p.read_text() for p in study))
        paths.append(out_dir / f"estimates.{ext}")
    return paths + tables


def _is_city_table(p: Path) -> bool:
    """regression_<outcome>_<city> (a gemeente code ends the stem) rather than regression_<outcome>."""
    return bool(re.search(r"_GM\d{4}$", p.stem))
