"""Time the demo pipeline without the install: cold run (results removed), a rerun with nothing changed,
`make demo` cold and no-op, and the demo sweep (config/sweep.yaml) after the demo and from scratch.

Runs in a throwaway copy of the project so the checkout's results/ stay as they are. Prints wall
seconds, the peak memory (PSS) of the whole process tree (Snakemake, its jobs, the fork server and the
jobs it forked), and the largest single process. Usage: `.venv/bin/python bench/bench_pipeline.py [--cores N]`.
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


def _memory(pid: int, rss_pages: int) -> int:
    """Proportional set size of a process (shared pages split between the processes sharing them: jobs
    forked by the fork server share its imports), from /proc/PID/smaps_rollup; else its resident size."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss_pages * PAGE


def _processes() -> tuple[dict[int, list[int]], dict[int, int], list[int]]:
    """From /proc: children per pid, resident pages per pid, and the fork servers' pids."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    servers = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21])
            if _cmdline_has(d, b"wijkeffect.forkserver"):
                servers.append(int(d.name))
        except (OSError, ValueError):
            continue
    return children, rss, servers


def _tree(pid: int, pss: bool = True, snapshot=None) -> dict[int, int]:
    """Memory of pid itself and of each job under it (a child's whole subtree): PSS, or resident bytes with
    pss=False (cheaper, and an overcount when jobs share pages); the fork server's jobs
    (wijkeffect.forkserver) count as the run's jobs, the server itself as one."""
    children, rss, servers = snapshot or _processes()

    def mem(p: int) -> int:
        return _memory(p, rss.get(p, 0)) if pss else rss.get(p, 0) * PAGE

    out = {pid: mem(pid)}
    for child in [c for c in children.get(pid, []) if c not in servers] + servers + \
            [c for s in servers for c in children.get(s, [])]:
        total, stack = 0, [child]
        while stack:
            p = stack.pop()
            total += mem(p)
            if p not in servers:
                stack.extend(c for c in children.get(p, []) if c not in servers)
        out[child] = total
    return out


def _label(pid: int) -> str:
    """A short name for a process: its command line without the interpreter, shortened."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = " ".join(a.decode(errors="replace") for a in args if a).split()
    if "wijkeffect.forkserver" in words and Path(f"/proc/{pid}/fd").exists():
        # a job the fork server forked has the server's command line: name it by the log it writes
        try:
            logs = sorted({os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()
                           if "/logs/" in os.readlink(f)})
        except OSError:
            logs = []
        if logs:
            return "forked job, log " + logs[0][logs[0].index("/logs/") + 1:]
    named = [w for w in words if "results/" in w or w.startswith("notebooks/")]
    return " ".join(named[:3]) if named else " ".join(words[1:4])[:120]


def stop_fork_servers(workdir: Path) -> None:
    """End the fork server that serves workdir's jobs (wijkeffect.forkserver; named by its key, so other
    checkouts' servers and the jobs a server forked are left alone) and wait, so the next run starts as a
    fresh clone's does: its first jobs run in their own processes while a new server imports."""
    import signal

    keys = subprocess.run([sys.executable, "-c", "from wijkeffect import forkserver as f; "
                           "print(f.server_key(f.job_env(1)), f.server_key())"],
                          env={**os.environ, "WIJKEFFECT_ROOT": str(workdir)}, capture_output=True, text=True,
                          check=True).stdout.split()
    children, _, running = _processes()
    parent = {c: p for p, cs in children.items() for c in cs}
    ours = [pid for pid in running if any(k.encode() in _cmdline(pid) for k in keys)]
    servers = [pid for pid in ours if parent.get(pid) not in ours]  # a forked job's parent is the server
    for pid in servers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 10
    while time.monotonic() < end and any(Path(f"/proc/{p}").exists() for p in servers):
        time.sleep(0.1)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _cmdline_has(d: Path, needle: bytes) -> bool:
    return needle in _cmdline(int(d.name))


PEAK_PROCESSES: list[tuple[int, str]] = []  # the largest jobs (and Snakemake itself) at the last run's peak


def run(workdir: Path, cores: str, extra: list[str] | None = None) -> tuple[float, int, str]:
    """Wall seconds and peak tree memory of one Snakemake run (its largest jobs then: PEAK_PROCESSES), with
    no fork server running for it when it starts."""
    stop_fork_servers(workdir)
    env = {**os.environ, "WIJKEFFECT_ROOT": str(workdir)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", cores, *(extra or [])], cwd=workdir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0

    def sample() -> None:
        # resident sizes are cheap to read (3 ms a sample); PSS (smaps_rollup walks page tables, ~35 ms for the
        # tree) at most once a second and only when the resident total is within 10% of its peak so far or
        # above it: the sampler takes about 5% of one core
        nonlocal peak
        rss_peak, pss_at = 0, 0.0
        while proc.poll() is None:
            snap = _processes()
            rss_total = sum(_tree(proc.pid, pss=False, snapshot=snap).values())
            new_high = rss_total > rss_peak
            rss_peak = max(rss_peak, rss_total)
            if rss_total >= 0.9 * rss_peak and (new_high or time.monotonic() - pss_at >= 1.0):
                pss_at = time.monotonic()
                tree = _tree(proc.pid, snapshot=snap)
                total = sum(tree.values())
                if total > peak:
                    peak = total
                    top = sorted(tree.items(), key=lambda kv: -kv[1])[:4]
                    PEAK_PROCESSES[:] = [(r, _label(p)) for p, r in top]
            time.sleep(0.1)

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
    stop_fork_servers(workdir)
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
        stop_fork_servers(work)
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
