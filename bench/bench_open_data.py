"""The open-data study end to end (issue 9): `make open-data`'s workflow on the real RIVM/CBS files in
../shared/data, in a throwaway copy; prints wall time and peak memory of the process tree.
Usage: `.venv/bin/python bench/bench_open_data.py [--cores all]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import ROOT, run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    shared = ROOT.parent / "shared"
    if not (shared / "data" / "rivm_50090NED").exists():
        raise SystemExit(f"{shared / 'data'}: the real public files are not there; nothing to measure")
    with tempfile.TemporaryDirectory(prefix="wijkeffect-open-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        (Path(tmp) / "shared").symlink_to(shared)
        for part in ["Snakefile", "workflow", "notebooks", "config"]:
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / part)
        wall, peak, _ = run(work, args.cores, ["-q", "--configfile", "config/open_data.yaml"])
        n_nb = len(list((work / "results").rglob("*.ipynb")))
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {n_nb} notebooks executed")
        print(f"open-data study end to end: {wall:6.1f} s wall")
        print(f"peak memory, process tree:  {peak / 2**20:6.0f} MiB")


if __name__ == "__main__":
    main()
