"""Time the demo pipeline without the install: cold run (results removed), a rerun with nothing changed,
`make demo` cold and no-op, and the demo sweep (config/sweep.yaml) after the demo and from scratch.

Runs in a throwaway copy of the project so the checkout's results/ stay as they are. Prints wall
seconds, the peak resident memory of the whole process tree (Snakemake, papermill, kernels), and
the largest single process. Usage: `.venv/bin/python bench/bench_pipeline.py [--cores N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ["Snakefile", "Makefile", "tools", "workflow", "notebooks", "config", "data/raw/demo"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree(pid: int) -> dict[int, int]:
    """Resident bytes of pid itself and of each job under it (a child's whole subtree), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21]) * PAGE
        except (OSError, ValueError):
            continue
    out = {pid: rss.get(pid, 0)}
    for child in children.get(pid, []):
        total, stack = 0, [child]
        while stack:
            p = stack.pop()
            total += rss.get(p, 0)
            stack.extend(children.get(p, []))
        out[child] = total
    return out


def _label(pid: int) -> str:
    """A short name for a process: its command line without the interpreter, shortened."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = " ".join(a.decode(errors="replace") for a in args if a).split()
    named = [w for w in words if "results/" in w or w.startswith("notebooks/")]
    return " ".join(named[:3]) if named else " ".join(words[1:4])[:120]


PEAK_PROCESSES: list[tuple[int, str]] = []  # the largest jobs (and Snakemake itself) at the last run's peak


def run(workdir: Path, cores: str, extra: list[str] | None = None) -> tuple[float, int, str]:
    """Wall seconds and peak tree RSS of one Snakemake run (its largest jobs then: PEAK_PROCESSES)."""
    env = {**os.environ, "WIJKEFFECT_ROOT": str(workdir)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", cores, *(extra or [])], cwd=workdir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            tree = _tree(proc.pid)
            total = sum(tree.values())
            if total > peak:
                peak = total
                top = sorted(tree.items(), key=lambda kv: -kv[1])[:4]
                PEAK_PROCESSES[:] = [(r, _label(p)) for p, r in top]
            time.sleep(0.05)

    th = threading.Thread(target=sample)
    th.start()
    out, _ = proc.communicate()
    th.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{out[-3000:]}")
    return wall, peak, out


def make_demo(workdir: Path) -> float:
    """Wall seconds of `make demo` (workflow and report) in workdir, with the project's installed venv."""
    venv = ROOT / ".venv"
    t0 = time.perf_counter()
    subprocess.run(["make", "demo", f"VENV={venv}", "-o", f"{venv}/.installed"], cwd=workdir, check=True,
                   env={**os.environ, "WIJKEFFECT_ROOT": str(workdir)}, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default="all")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="wijkeffect-bench-") as tmp:
        work = Path(tmp)
        for part in PARTS:
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, work / part)
        import resource

        cold, peak, _ = run(work, args.cores, ["-q"])
        largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        rerun, _, out = run(work, args.cores, ["-q"])
        n_nb = len(list((work / "results").rglob("*.ipynb")))
        shutil.rmtree(work / "results")
        shutil.rmtree(work / "data" / "processed")
        demo_cold = make_demo(work)
        demo_noop = make_demo(work)
        sweep_after, _, _ = run(work, args.cores, ["-q", "--configfile", "config/sweep.yaml"])
        shutil.rmtree(work / "results")
        shutil.rmtree(work / "data" / "processed")
        sweep_cold, sweep_peak, _ = run(work, args.cores, ["-q", "--configfile", "config/sweep.yaml"])
        n_specs = sum(1 for _ in (work / "results" / "demo" / "sweep").glob("*/estimates"))
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; snakemake --cores {args.cores}; "
              f"{n_nb} notebooks executed")
        print(f"cold run (results removed):   {cold:6.1f} s wall")
        print(f"peak memory, process tree:    {peak / 2**20:6.0f} MiB")
        print(f"largest single process:       {largest / 2**20:6.0f} MiB")
        print(f"rerun with nothing changed:   {rerun:6.1f} s wall"
              f"{'  [nothing to be done]' if 'Nothing to be done' in out else ''}")
        print(f"make demo, cold (+ report):   {demo_cold:6.1f} s wall   (target <= 40 s)")
        print(f"make demo, nothing changed:   {demo_noop:6.1f} s wall   (target <= 5 s)")
        print(f"demo sweep ({n_specs} specs), after the demo: {sweep_after:6.1f} s wall")
        print(f"demo sweep from scratch (demo + sweep): {sweep_cold:6.1f} s wall, peak {sweep_peak / 2**20:.0f} MiB"
              "   (target <= 120 s)")


if __name__ == "__main__":
    main()
