"""A warm process that forks notebook jobs, so a run pays the jobs' imports once instead of once per job.

Every notebook job is a fresh Python process, and before its first cell does any work it imports
papermill, IPython, pandas, scipy, matplotlib, geopandas, linearmodels and the package: 1.5-3 s
of CPU per job, about a third of the demo's CPU. The first job of a run starts this server
beside itself (and runs its own notebook as usual); the server imports all that once and
listens on a Unix socket. Each later job's runner (`python -m wijkeffect.notebook`) connects,
hands over its arguments, working directory, environment and its stdin/stdout/stderr, and the
server forks a child that runs the job exactly as the runner would, with the same outputs.
The runner waits for the child's exit status and exits with it; SIGINT/SIGTERM (Snakemake
cancelling the job) are passed on to the child.

A server serves one project root, interpreter, environment and version of the code: the
socket's name is a hash of them (`server_key`), so an edited module or another environment
starts a fresh server and the old one exits after `IDLE_SECONDS` without a job. It is not used
under SLURM (each job there is the scheduler's own) or with WIJKEFFECT_FORKSERVER=0. When
anything about the server fails, the job runs in its own process as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path

#: True in a job forked by the server (its runner must not ask a server again)
IN_CHILD = False
IDLE_SECONDS = float(os.environ.get("WIJKEFFECT_FORKSERVER_IDLE", "30"))
#: seconds a runner waits for the server to fork its job before it runs the job itself
HANDSHAKE_SECONDS = 30.0
#: jobs running at once beyond which a runner is told to run its job itself
MAX_CHILDREN = 4 * (os.cpu_count() or 1)
#: environment variables that change what an import does: a server only serves jobs that agree on them
#: what Snakemake sets to a job's threads (snakemake/shell.py): thread pools sized at import
THREAD_ENV = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
IMPORT_ENV = ("PYTHONPATH", "PYTHONHASHSEED", "PYTHONSAFEPATH", "MPLBACKEND", "MPLCONFIGDIR", "HOME", "LANG",
              "LC_ALL", "TZ", "VIRTUAL_ENV", *THREAD_ENV)
#: what the server imports before it serves (each job's imports, in one process)
PRELOAD = ("numpy", "pandas", "pyarrow", "pyarrow.parquet", "scipy.stats", "scipy.optimize", "matplotlib.pyplot",
           "geopandas", "linearmodels", "great_tables", "papermill", "nbformat", "nbconvert", "IPython",
           "wijkeffect.notebook", "wijkeffect.inprocess", "wijkeffect.stages", "wijkeffect.review",
           "wijkeffect.models.api", "wijkeffect.provenance", "wijkeffect.tables", "wijkeffect.clean",
           "wijkeffect.panel")
# not wijkeffect.figures.*: its style module switches matplotlib to Agg at import, which a job that never
# draws must not inherit (matplotlib.pyplot itself loads no backend until a figure is made)


def enabled() -> bool:
    return os.environ.get("WIJKEFFECT_FORKSERVER", "1") != "0" and "SLURM_JOB_ID" not in os.environ


def job_env(threads: int = 1) -> dict[str, str]:
    """This process's environment as Snakemake gives it to a local job with `threads` threads."""
    return {**os.environ, **{k: str(threads) for k in THREAD_ENV}}


def server_key(env: dict[str, str] | None = None) -> str:
    """Hash of what the server's imports depend on: interpreter, project root, the package's files,
    the installed packages (site-packages' directory times) and the import-relevant environment."""
    import sysconfig

    from wijkeffect.paths import ROOT

    h = hashlib.sha256(f"{sys.executable}\0{ROOT}\0{os.getuid()}".encode())
    pkg = Path(__file__).parent
    for p in sorted(pkg.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(pkg)}:{st.st_mtime_ns}:{st.st_size}\0".encode())
    for key in ("purelib", "platlib"):
        site = Path(sysconfig.get_paths()[key])
        if site.exists():
            h.update(f"{site.stat().st_mtime_ns}\0".encode())
    env = os.environ if env is None else env
    h.update(json.dumps({k: v for k, v in env.items() if k in IMPORT_ENV or k.startswith(("PYTHON", "LC_"))},
                        sort_keys=True).encode())
    return h.hexdigest()[:20]


def socket_path(key: str | None = None) -> Path:
    import tempfile

    base = Path(tempfile.gettempdir()) / f"wijkeffect-forkserver-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    return base / f"{key or server_key()}.sock"


def _send(sock: socket.socket, payload: dict, fds: list[int]) -> None:
    data = json.dumps(payload).encode()
    socket.send_fds(sock, [struct.pack("!I", len(data)) + data], fds)


def _receive(sock: socket.socket) -> tuple[dict, list[int]]:
    msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
    (size,) = struct.unpack("!I", msg[:4])
    data = msg[4:]
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the runner closed the connection")
        data += chunk
    return json.loads(data), fds


# ---------------------------------------------------------------------------------------------- client


def run_remote(module: str, argv: list[str]) -> int | None:
    """Run `python -m MODULE ARGV` in a child of the server: its exit status, or None when there is no
    server to ask (one is then started for the next jobs, and the caller runs the job itself)."""
    if not enabled():
        return None
    child: int | None = None
    held: list[int] = []

    def forward(signum, _frame) -> None:  # to the job's process group (the job and any pool it started)
        if child is None:
            held.append(signum)
            return
        try:
            os.killpg(child, signum)
        except (ProcessLookupError, PermissionError):
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    try:
        path = socket_path()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(HANDSHAKE_SECONDS)
        sock.connect(str(path))
    except OSError:
        start_server()
        return _local_after(held)
    try:
        _send(sock, {"module": module, "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                     "umask": _umask()}, [0, 1, 2])
        reader = sock.makefile("r", encoding="utf-8")
        first = reader.readline()
    except OSError:  # no answer in time: closing the socket stops a child that starts late (its watchdog)
        sock.close()
        return _local_after(held)
    if not first.startswith("pid "):
        sock.close()
        return _local_after(held)  # the server refused or went away before forking: run it here
    child = int(first.split()[1])
    for signum in held:
        forward(signum, None)
    sock.settimeout(None)
    try:
        last = reader.readline()
    except OSError:
        last = ""
    if last.startswith("exit "):
        return int(last.split()[1])
    print(f"wijkeffect: the notebook job's process (pid {child}) ended without an exit status "
          "(killed, or crashed in native code)", file=sys.stderr)
    return 1


def _local_after(held: list[int]) -> None:
    """Back to running the job here: default signal handling, and a signal that came meanwhile acted on."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
    for signum in held:
        os.kill(os.getpid(), signum)
    return None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def start_server(env: dict[str, str] | None = None) -> None:
    """Start the server for jobs with this environment (default: this process's) in the background, in its
    own session; never waits."""
    import subprocess

    env = dict(os.environ if env is None else env)
    try:
        subprocess.Popen([sys.executable, "-m", "wijkeffect.forkserver", server_key(env)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                         close_fds=True, env=env)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------- server


def _preloader():
    """Import PRELOAD one module per step (a generator), as a cell imports them: with get_ipython() the
    notebook's shell (pandas, for one, sets its display defaults at import by asking it whether there is
    a kernel). Each job makes its own shell (`_child`)."""
    import importlib

    from wijkeffect.paths import skip_unused_optional_imports

    skip_unused_optional_imports()
    from wijkeffect import inprocess

    sh = inprocess.shell()  # sets MPLBACKEND as a kernel does, before matplotlib reads it at import
    for name in PRELOAD:
        with sh.builtin_trap:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 (a job that needs it will say why)
                pass
        yield name


def _child(conn: socket.socket, lock) -> None:
    """In the forked child: become the job's process, run the runner, report the exit status."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    lock.close()  # the server's lock is the server's: a job must not keep a new server from starting
    os.setpgid(0, 0)  # the runner signals this group: the job and any worker pool it starts
    os.register_at_fork(after_in_child=conn.close)  # a worker keeps no copy: the runner sees EOF when we end
    global IN_CHILD
    IN_CHILD = True
    inprocess = sys.modules.get("wijkeffect.inprocess")
    if inprocess is not None:
        inprocess.ZMQInteractiveShell.clear_instance()  # the server's, made for its imports: a fresh one per job
    code = 1
    try:
        req, fds = _receive(conn)
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        os.environ["WIJKEFFECT_FORKSERVER"] = "0"  # the job, and anything it starts, runs where it is
        os.umask(req.get("umask", _umask()))
        import tempfile

        tempfile.tempdir = None  # the job's TMPDIR (Snakemake's tmpdir resource), not the server's
        conn.sendall(f"pid {os.getpid()}\n".encode())
        _watch(conn)
        import runpy

        try:  # what `python -m MODULE ARGV` does, in this warm process
            sys.argv = [req["module"], *req["argv"]]
            runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 (the runner's own errors are printed by main; this is the rest)
        import traceback

        traceback.print_exc()
    finally:
        import logging

        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        try:
            conn.sendall(f"exit {code}\n".encode())
        except OSError:
            pass
        os._exit(code)


def _watch(conn: socket.socket) -> None:
    """A thread that ends the job's process group when its runner goes away (the runner sends nothing
    after the request, so end of file means it was killed): no job outlives the Snakemake job it is."""
    import threading

    def watch() -> None:
        try:
            gone = conn.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            os.killpg(0, signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def serve(key: str) -> None:
    """Bind the key's socket (one server per key: a lock decides), preload, fork a child per job; exit
    after IDLE_SECONDS without a job."""
    import fcntl

    path = socket_path(key)
    lock = open(path.with_suffix(".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server for this key is starting or running
    steps = _preloader()
    next(steps)  # IPython, papermill and the shell (what every job needs first), and numpy
    path.unlink(missing_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(64)
    # serve from now on; between jobs, import the rest one module at a time (a job forked before the end
    # imports what is still missing itself)
    preloading = True
    last = time.monotonic()
    children: set[int] = set()
    try:
        while time.monotonic() - last < IDLE_SECONDS:
            for pid in list(children):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    children.discard(pid)
            if children:
                last = time.monotonic()  # not idle while a job runs
            srv.settimeout(0.0 if preloading else 1.0)
            try:
                conn, _ = srv.accept()
            except (socket.timeout, BlockingIOError):
                if preloading:
                    preloading = next(steps, None) is not None
                    last = time.monotonic()
                continue
            last = time.monotonic()
            if len(children) >= MAX_CHILDREN:
                conn.close()  # the runner then runs the job itself
                continue
            conn.settimeout(None)
            pid = os.fork()
            if pid == 0:
                srv.close()
                _child(conn, lock)
            children.add(pid)
            conn.close()
    finally:
        path.unlink(missing_ok=True)
        srv.close()


if __name__ == "__main__":
    # through the package's module, not this __main__ copy: IN_CHILD must be the flag the runner reads
    from wijkeffect import forkserver

    forkserver.serve(sys.argv[1])
