"""The fork server (wijkeffect.forkserver): a job it serves writes the notebook the runner writes on its own,
failures and signals reach the job, it is not used when switched off, and it exits when idle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the fork server needs os.fork (POSIX)")


def _template(path: Path, *cells: str) -> Path:
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[v4.new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
                                *[v4.new_code_cell(c) for c in cells]],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    return path


@pytest.fixture
def env(tmp_path):
    """A project root of its own (so a server of its own) and a short idle time."""
    return {**os.environ, "WIJKEFFECT_ROOT": str(tmp_path), "WIJKEFFECT_FORKSERVER_IDLE": "4",
            "WIJKEFFECT_FORKSERVER": "1"}


def _socket(env: dict) -> Path:
    out = subprocess.run([sys.executable, "-c", "from wijkeffect.forkserver import socket_path; print(socket_path())"],
                         env=env, capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _run(template: Path, out: Path, env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wijkeffect.notebook", str(template), str(out), "-p",
                             json.dumps({"n": 3}), "--log", str(out.with_suffix(".log"))], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _wait_for(path: Path, present: bool, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while path.exists() != present:
        assert time.monotonic() < end, f"{path} still {'absent' if present else 'there'} after {seconds} s"
        time.sleep(0.2)


def _outputs(path: Path) -> list:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(c["execution_count"], c["outputs"]) for c in cells if c["cell_type"] == "code"]


def _state(pid: int) -> str:
    try:
        return " ".join(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State"))
    except OSError:
        return "zombie"


def _text(cell: tuple) -> str:
    return "".join("".join(o["text"]) for o in cell[1] if o["output_type"] == "stream")


def test_a_served_job_writes_the_runners_notebook(tmp_path, env):
    tpl = _template(tmp_path / "t.ipynb", "import os, pandas as pd\nprint('pid', os.getpid())",
                    "pd.DataFrame({f'c{i}': range(3) for i in range(25)})", "n * 14")
    sock = _socket(env)
    first = _run(tpl, tmp_path / "a.ipynb", env)
    assert first.wait(120) == 0, first.stderr.read()
    assert _text(_outputs(tmp_path / "a.ipynb")[2]) == f"pid {first.pid}\n"  # ran in its own process
    _wait_for(sock, present=True)  # the first job started the server
    second = _run(tpl, tmp_path / "b.ipynb", env)
    assert second.wait(120) == 0, second.stderr.read()
    a, b = _outputs(tmp_path / "a.ipynb"), _outputs(tmp_path / "b.ipynb")
    assert _text(b[2]).startswith("pid ") and _text(b[2]) != f"pid {second.pid}\n"  # a child of the server ran it
    assert a[:2] + a[3:] == b[:2] + b[3:]  # the same cells and outputs (a wide frame formatted as in a notebook)
    assert "".join(b[4][1][0]["data"]["text/plain"]) == "42"
    _wait_for(sock, present=False, seconds=30)  # idle: the server is gone


def test_a_served_failure_and_a_signal_reach_the_runner(tmp_path, env):
    sock = _socket(env)
    warm = _run(_template(tmp_path / "w.ipynb", "1"), tmp_path / "w_out.ipynb", env)
    assert warm.wait(120) == 0
    _wait_for(sock, present=True)
    bad = _run(_template(tmp_path / "t.ipynb", "raise KeyError('wijk_code')"), tmp_path / "o.ipynb", env)
    assert bad.wait(120) == 1
    assert "KeyError (cell [3]): 'wijk_code'" in bad.stderr.read()
    assert (tmp_path / "o.ipynb").exists()  # the executed notebook, with the failing cell
    slow = _run(_template(tmp_path / "s.ipynb", "import time\ntime.sleep(120)"), tmp_path / "s_out.ipynb", env)
    time.sleep(3)
    slow.send_signal(signal.SIGTERM)
    assert slow.wait(30) != 0  # the job was stopped, not left running for two minutes
    # a runner killed outright (SIGKILL cannot be passed on): its job, and a worker the job forked, end too
    pidfile = tmp_path / "pids.txt"
    orphan = _run(_template(tmp_path / "k.ipynb", "import os, time\nfrom concurrent.futures import ProcessPoolExecutor\n"
                            "pool = ProcessPoolExecutor(1)\nworker = pool.submit(os.getpid).result()\n"
                            f"open({str(pidfile)!r}, 'w').write(f'{{os.getpid()}} {{worker}}')\ntime.sleep(120)"),
                  tmp_path / "k_out.ipynb", env)
    _wait_for(pidfile, present=True)
    time.sleep(0.5)
    orphan.kill()
    orphan.wait(10)
    for pid in map(int, pidfile.read_text().split()):
        end = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid) and time.monotonic() < end:
            time.sleep(0.2)
        assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid), f"pid {pid} outlived its runner"


def test_switched_off_no_server_starts(tmp_path, env):
    env = {**env, "WIJKEFFECT_FORKSERVER": "0"}
    sock = _socket(env)
    done = _run(_template(tmp_path / "t.ipynb", "1"), tmp_path / "o.ipynb", env)
    assert done.wait(120) == 0
    time.sleep(2)
    assert not sock.exists()


def test_the_key_follows_code_and_environment(tmp_path, env):
    keys = {subprocess.run([sys.executable, "-c", "from wijkeffect.forkserver import server_key; print(server_key())"],
                           env=e, capture_output=True, text=True, check=True).stdout
            for e in (env, {**env, "MPLBACKEND": "agg"}, {**env, "WIJKEFFECT_ROOT": str(tmp_path / "other")})}
    assert len(keys) == 3


def test_the_server_started_at_onstart_is_the_one_jobs_ask(tmp_path, env):
    """Snakemake sets OMP_NUM_THREADS and friends to a job's threads: the Snakefile's onstart must start the
    server under the environment a job gets, or the jobs ask a server that does not exist."""
    (tmp_path / "Snakefile").write_text(
        "import sys\n"
        "onstart:\n"
        "    from wijkeffect import forkserver\n"
        "    open('onstart.txt', 'w').write(forkserver.server_key(forkserver.job_env(threads=1)))\n"
        "rule a:\n"
        "    output: 'job.txt'\n"
        "    shell: \"{sys.executable} -c 'from wijkeffect.forkserver import server_key; print(server_key(), end=\\\"\\\")'"
        " > {output}\"\n")
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "-q"], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    assert (tmp_path / "onstart.txt").read_text() == (tmp_path / "job.txt").read_text()
