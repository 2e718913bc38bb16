"""Run time of the referee analyses (HonestDiD sensitivity, synthetic control / SDID, ITS, MDE table) on national-size data.

National demo: ~2 million respondents, 4 waves, 3,000 wijken in 100 cities (generated in a temporary
folder). Times: sensitivity on the pooled event study (ALL) and per city; synth (SC per treated wijk
+ SDID with placebo SE) per city; its pooled; the MDE table. Usage:
`PYTHONPATH=src python bench/bench_referee.py [--cities 10] [--cells cells.parquet]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def national_cells(keep: Path | None) -> pd.DataFrame:
    """Cells of the national demo (via bench_models.national_respondents), cached at `keep` if given."""
    if keep is not None and keep.exists():
        return pd.read_parquet(keep)
    spec = importlib.util.spec_from_file_location("bench_models", ROOT / "bench/bench_models.py")
    bm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bm)
    from wijkeffect.panel import build_cells

    with tempfile.TemporaryDirectory(prefix="wijkeffect-national-") as tmp:
        resp = bm.national_respondents(Path(tmp))
        cells = build_cells(resp, ["smoker", "psych_distress", "walking"])
    if keep is not None:
        cells.to_parquet(keep)
    return cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", type=int, default=10, help="cities timed one by one (per-city averages)")
    ap.add_argument("--cells", type=Path, default=None, help="cache the national cells here")
    a = ap.parse_args()
    from wijkeffect.models.its import its
    from wijkeffect.models.synth import synth
    from wijkeffect.models.tidy import Context
    from wijkeffect.power import mde_table
    from wijkeffect.sensitivity import sensitivity

    t0 = time.perf_counter()
    cells = national_cells(a.cells)
    print(f"national cells: {len(cells):,} rows, {cells['wijk_code'].nunique():,} wijken "
          f"({time.perf_counter() - t0:.0f} s to build)")
    c = cells[cells["outcome"] == "smoker"]
    t = time.perf_counter()
    rows = sensitivity(c, Context("national", "ALL", "smoker", seed=1))
    print(f"sensitivity, pooled ALL ({len(rows)} rows):     {time.perf_counter() - t:6.2f} s")
    cities = sorted(c["gemeente_code"].unique())[: a.cities]
    ts, tsy, ok = [], [], 0
    for gm in cities:
        d = c[c["gemeente_code"] == gm]
        t = time.perf_counter()
        try:
            sensitivity(d, Context("national", gm, "smoker", seed=1))
            ok += 1
        except Exception as e:  # a city without leads has no sensitivity analysis
            print(f"  {gm}: sensitivity skipped ({str(e)[:80]})")
        ts.append(time.perf_counter() - t)
        t = time.perf_counter()
        synth(d, Context("national", gm, "smoker", seed=1))
        tsy.append(time.perf_counter() - t)
    print(f"sensitivity per city (mean of {len(cities)}):    {np.mean(ts):6.2f} s  ({ok} ran)")
    print(f"synth (SC + SDID, 200 placebo draws) per city: {np.mean(tsy):6.2f} s  (max {np.max(tsy):.2f} s)")
    t = time.perf_counter()
    try:  # four waves: step only (intercept, trend, step = 3 coefficients)
        its(c, Context("national", "ALL", "smoker"), slope_change=False)
        print(f"its (step only), pooled treated wijken:       {time.perf_counter() - t:6.2f} s")
    except Exception as e:
        print(f"its skipped: {str(e)[:100]}")
    t = time.perf_counter()
    table = mde_table(cells)
    print(f"MDE table ({len(table)} rows, 3 outcomes):         {time.perf_counter() - t:6.2f} s")
    print(table[table["study_design"]][["outcome", "n_treated", "n_control", "n_per_cell", "pre", "post", "icc",
                                        "lag1_corr", "deff", "mde"]].to_string(index=False))


if __name__ == "__main__":
    main()
