"""CPU seconds of sensitivity() per city x outcome on the demo cells: the former implementation vs the fast one.

The former (wijkeffect.sensitivity_reference: SLSQP at every h of the FLCI search, vertices and the
hybrid test on the whole grid for every Mbar) and the current one run in the same process, on the
same cells, alternately; the rows are compared (largest relative difference of the CI bounds and
the breakdown values). Target: <= 0.25 s CPU per outcome.
Usage: `.venv/bin/python bench/bench_sensitivity.py [--cells data/processed/demo/wijk_period.parquet]
[--repeat 1]` (cities GM9901-GM9903 and ALL, outcomes smoker, psych_distress, walking by default).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

from wijkeffect import sensitivity as S
from wijkeffect import sensitivity_reference as R
from wijkeffect.models.tidy import Context

ROOT = Path(__file__).resolve().parents[1]


def cpu(repeat: int, fn):
    """Smallest CPU time over repeat runs, and the last result."""
    out, times = None, []
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        times.append(time.process_time() - t0)
    return min(times), out


def run_former(cells: pd.DataFrame, ctx: Context) -> list[dict]:
    with mock.patch.object(S, "flci", R.flci_reference), mock.patch.object(S, "rm_ci", R.rm_ci_reference):
        return S.sensitivity(cells, ctx)


def max_rel_diff(old: list[dict], new: list[dict]) -> float:
    """Largest |new - old| / max(|old|, 1e-12) over ci_low, ci_high and the breakdown estimates."""
    assert [r["term"] for r in old] == [r["term"] for r in new]
    worst = 0.0
    for ro, rn in zip(old, new):
        cols = ["estimate"] if ro["term"].startswith("breakdown") else ["ci_low", "ci_high"]
        for c in cols:
            a, b = float(ro[c]), float(rn[c])
            if a == b or (np.isnan(a) and np.isnan(b)):
                continue
            worst = max(worst, abs(a - b) / max(abs(a), 1e-12))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=Path, default=ROOT / "data/processed/demo/wijk_period.parquet")
    ap.add_argument("--cities", nargs="+", default=["GM9901", "GM9902", "GM9903", "ALL"])
    ap.add_argument("--outcomes", nargs="+", default=["smoker", "psych_distress", "walking"])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    cells = pd.read_parquet(args.cells)
    first = cells[cells["gemeente_code"] == args.cities[0]] if args.cities[0] != "ALL" else cells
    S.sensitivity(first, Context("demo", args.cities[0], args.outcomes[0], 1))  # imports and first-call set-up
    print(f"{'city':8} {'outcome':16} {'former_s':>9} {'fast_s':>8} {'speedup':>8} {'max_rel_diff':>13}")
    tot_old = tot_new = 0.0
    for city in args.cities:
        c = cells if city == "ALL" else cells[cells["gemeente_code"] == city]
        for outcome in args.outcomes:
            ctx = Context("demo", city, outcome, 1)
            t_old, old = cpu(args.repeat, lambda: run_former(c, ctx))
            t_new, new = cpu(args.repeat, lambda: S.sensitivity(c, ctx))
            tot_old, tot_new = tot_old + t_old, tot_new + t_new
            print(f"{city:8} {outcome:16} {t_old:9.3f} {t_new:8.3f} {t_old / t_new:8.1f} {max_rel_diff(old, new):13.2e}")
    n = len(args.cities) * len(args.outcomes)
    print(f"{'mean':25} {tot_old / n:9.3f} {tot_new / n:8.3f} {tot_old / tot_new:8.1f}")


if __name__ == "__main__":
    main()
