"""The whole workflow on the national-size synthetic monitor (issue 10): wall time, peak memory, jobs run,
and the fixed cost per job (interpreter, imports, kernel) as a share of the run.

Generates the data once (`python -m wijkeffect.demo --scale national --out DIR`: 2.2 M respondents,
4 waves, 100 gemeenten x 30 wijken, geometry, study and config), then runs Snakemake on that config in a
throwaway copy of the project with `batch_cities` cities per notebook. Prints the figures.
Usage: `.venv/bin/python bench/bench_national.py [--data DIR] [--batch 10] [--cores all]`
(`make bench-national`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import PEAK_PROCESSES, ROOT, run  # noqa: E402


def empty_notebook_seconds(work: Path, served: bool = False) -> float:
    """Wall time of one trivial notebook through the workflow's runner: the fixed cost of a notebook job, in a
    process of its own or (served) forked by a running fork server."""
    nb = work / "empty.ipynb"
    nb.write_text('{"cells": [{"cell_type": "code", "execution_count": null, "id": "c0", "metadata": '
                  '{"tags": ["parameters"]}, "outputs": [], "source": ["x = 1"]}], "metadata": {"kernelspec": '
                  '{"display_name": "Python 3", "language": "python", "name": "python3"}}, "nbformat": 4, '
                  '"nbformat_minor": 5}')
    env = {**os.environ, "WIJKEFFECT_ROOT": str(work), "WIJKEFFECT_FORKSERVER": "1" if served else "0"}
    cmd = [sys.executable, "-m", "wijkeffect.notebook", str(nb), str(work / "empty.out.ipynb")]
    if served:
        sock = subprocess.run([sys.executable, "-c", "from wijkeffect.forkserver import socket_path; "
                               "print(socket_path())"], env=env, capture_output=True, text=True, check=True)
        subprocess.run(cmd, cwd=work, check=True, env=env, capture_output=True)  # starts the server
        end = time.monotonic() + 60
        while not Path(sock.stdout.strip()).exists() and time.monotonic() < end:
            time.sleep(0.2)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=work, check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "national")
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    data = args.data.resolve()
    if not (data / "config.yaml").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wijkeffect.demo", "--scale", "national", "--out", str(data)],
                       check=True, capture_output=True)
        print(f"generated the national monitor in {time.perf_counter() - t0:.0f} s ({data})")
    # run where a user runs it: the project root (results/national and data/processed/national are
    # git-ignored); the generated config names its files relative to the root
    for generated in (ROOT / "results" / "national", ROOT / "data" / "processed" / "national"):
        shutil.rmtree(generated, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="wijkeffect-national-") as tmp:
        fixed = empty_notebook_seconds(Path(tmp))
        served = empty_notebook_seconds(Path(tmp), served=True)
    wall, peak, out = run(ROOT, args.cores, ["--configfile", os.path.relpath(data / "config.yaml", ROOT),
                                             "--config", f"batch_cities={args.batch}"])
    log = ROOT / "logs" / "national" / "bench_snakemake.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(out, encoding="utf-8")
    jobs = Counter(re.findall(r"^Finished jobid: \d+ \(Rule: (\w+)\)", out, flags=re.M))
    notebooks = list((ROOT / "results" / "national").rglob("*.ipynb"))
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load {load:.1f}; batch_cities={args.batch}")
    print(f"national end to end:   {wall:7.1f} s wall   (target <= 300 s)")
    print(f"peak memory, tree:     {peak / 2**30:7.2f} GiB  (target <= 3 GiB)")
    for rss, label in PEAK_PROCESSES:
        print(f"  at the peak, job: {rss / 2**30:5.2f} GiB  {label}")
    print(f"notebook jobs:         {len(notebooks):7d}")
    print("jobs run:              " + ", ".join(f"{r} {n}" for r, n in sorted(jobs.items())) + f" (log: {log})")
    cores = wall * min(os.cpu_count() or 1, 2)
    print(f"fixed cost per notebook, own process: {fixed:5.2f} s -> {len(notebooks) * fixed:.0f} s of CPU if every "
          f"job paid it, {len(notebooks) * fixed / cores:.0%} of the run's core-seconds (target <= 10%)")
    print(f"fixed cost per notebook, forked by the fork server: {served:5.2f} s -> "
          f"{len(notebooks) * served / cores:.1%} of the run's core-seconds")


if __name__ == "__main__":
    main()
