"""CPU seconds per figure, by kind and format, for this tree's figure code against an older revision's.

Each variant runs in its own process (old: `git archive REV src`; new: this tree's src), the rounds
interleaved, and the best round is reported (the machine is shared: the minimum is the least disturbed).
Needs the demo's cells and estimates (a demo workflow run makes both).

Run: PYTHONPATH=src python bench/bench_figures.py [--old main] [--rounds 2] [--city GM9901]
         [--cells data/processed/demo/wijk_period.parquet] [--estimates results/demo/estimates.csv]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMAT_SETS = (("pdf", "svg", "png"), ("pdf",), ("svg",), ("png",))
OUTCOMES = ["smoker", "psych_distress", "walking"]
BREAKS = [-0.1, -0.05, -0.02, 0.02, 0.05, 0.1]


def _work(cells_file: str, estimates_file: str, geometry: str, city: str, out: Path) -> dict[str, float]:
    """CPU seconds per figure for each (kind, formats), in this process (the figure code on sys.path)."""
    import geopandas as gpd
    import pandas as pd

    from wijkeffect.figures import effects, maps, sensitivity, trends
    from wijkeffect.figures.style import use_formats

    cells = pd.read_parquet(cells_file)
    cells = cells[cells["gemeente_code"] == city]
    treated = sorted(cells.loc[cells["role"] == "treated", "wijk_code"].unique())
    jobs = [(w, f"{w} ({w}), {city}", out / "trend" / w / "trends") for w in treated]
    est = pd.read_csv(estimates_file)
    est = est[est["city"] == city]
    geo = gpd.read_file(geometry) if geometry else None

    def trend() -> int:
        if hasattr(trends, "wijk_trends"):  # one figure per batch (what the figures stage calls)
            trends.wijk_trends(cells, jobs, OUTCOMES, 10)
        else:
            for wijk, title, stem in jobs:
                trends.wijk_trend(cells, wijk, OUTCOMES, 10, title, stem)
        return len(jobs)

    def effect(fn) -> int:
        for outcome in OUTCOMES:
            fn(est[est["outcome"] == outcome], city, outcome, city, out / fn.__name__ / outcome)
        return len(OUTCOMES)

    kinds = {"trend": trend, "event": lambda: effect(effects.event_plot),
             "forest": lambda: effect(effects.forest_plot)}
    if (est["model"] == "sensitivity").any():
        kinds["sensitivity"] = lambda: effect(sensitivity.sensitivity_plot)
    if geo is not None:
        def city_map() -> int:
            maps.city_map(geo, cells, city, OUTCOMES, BREAKS, 10, city, out / "map" / city)
            return 1

        kinds["map"] = city_map
    with use_formats(["png"]):
        for draw in kinds.values():  # warm: imports, font cache, the lean fonts
            draw()
    result = {}
    for kind, draw in kinds.items():
        for formats in FORMAT_SETS:
            with use_formats(list(formats)):
                t0 = time.process_time()
                n = draw()
                result[f"{kind} {'+'.join(formats)}"] = (time.process_time() - t0) / n
    return result


def _old_tree(rev: str, into: Path) -> Path:
    """The src folder of revision rev, unpacked under into."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--old", default="main", help="git revision to compare with ('' for none)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--city", default="GM9901")
    p.add_argument("--cells", default=str(ROOT / "data/processed/demo/wijk_period.parquet"))
    p.add_argument("--estimates", default=str(ROOT / "results/demo/estimates.csv"))
    p.add_argument("--geometry", default=str(ROOT / "data/raw/demo/wijken.gpkg"))
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    geometry = a.geometry if Path(a.geometry).exists() else ""
    missing = [f for f in (a.cells, a.estimates) if not Path(f).exists()]
    if missing:
        sys.exit(f"bench_figures: {missing} not found: run the demo workflow first, or pass --cells/--estimates")
    if a.worker:
        print(json.dumps(_work(a.cells, a.estimates, geometry, a.city, Path(a.worker))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        variants = {"new": ROOT / "src"}
        if a.old:
            variants = {"old": _old_tree(a.old, Path(tmp) / "old"), **variants}
        best: dict[str, dict[str, float]] = {v: {} for v in variants}
        for r in range(a.rounds):
            for name, src in variants.items():
                env = {**os.environ, "PYTHONPATH": str(src), "MPLBACKEND": "Agg"}
                out = subprocess.run([sys.executable, __file__, "--worker", f"{tmp}/{name}{r}", "--city", a.city,
                                      "--cells", a.cells, "--estimates", a.estimates, "--geometry", geometry],
                                     env=env, check=True, capture_output=True, text=True).stdout
                for key, sec in json.loads(out.splitlines()[-1]).items():
                    best[name][key] = min(best[name].get(key, sec), sec)
    names = list(variants)
    print(f"CPU s per figure (best of {a.rounds} rounds; city {a.city}; old = {a.old or '-'})")
    print(f"{'kind formats':28s}" + "".join(f"{n:>9s}" for n in names) + ("    ratio" if len(names) == 2 else ""))
    for key in best["new"]:
        row = [best[n].get(key, float("nan")) for n in names]
        ratio = f"{row[0] / row[1]:8.2f}x" if len(row) == 2 else ""
        print(f"{key:28s}" + "".join(f"{v:9.3f}" for v in row) + ratio)


if __name__ == "__main__":
    main()
