"""Simulated power at the analytic MDE (BPW 2020 with arbitrary serial correlation): should be 80% +- 5 points.

Run: PYTHONPATH=src python bench/bench_power.py [--reps 2000]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from wijkeffect.power import Design, mde, simulate_power

BASE = Design(n_treated=10, n_control=30, n_per_cell=36, pre=3, post=3, var_y=0.25 * 0.75, icc=0.03,
              lag_corr=(0.7, 0.4, 0.2), deff=1.3)
DESIGNS = {
    "10 treated, 30 control, 3+3 waves, AR-like": BASE,
    "5 treated, 20 control, 2+4 waves": replace(BASE, n_treated=5, n_control=20, pre=2, post=4, lag_corr=(0.3,)),
    "20 treated, 60 control, 95 per cell, negative lag 2": replace(BASE, n_treated=20, n_control=60, n_per_cell=95,
                                                                   lag_corr=(0.5, -0.2, 0.0)),
    "3 treated, 30 control (few treated)": replace(BASE, n_treated=3),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=20201)
    a = p.parse_args()
    assert a.reps >= 500, "at least 500 replications"
    for i, (name, d) in enumerate(DESIGNS.items()):
        t0 = time.perf_counter()
        m = mde(d)
        pw = simulate_power(d, m, reps=a.reps, seed=a.seed + i)
        size = simulate_power(d, 0.0, reps=a.reps, seed=a.seed + 100 + i)
        print(f"{name:55s} MDE {100 * m:5.2f} pp  simulated power {100 * pw:5.1f}%  size {100 * size:4.1f}%  "
              f"({a.reps} reps, {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
