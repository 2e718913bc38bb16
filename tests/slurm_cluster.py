"""A throwaway single-node SLURM cluster on loopback (munged + slurmctld + slurmd), for tests/test_slurm.py.

Everything lives in one directory: the munge key and socket, slurm.conf, state, spool, logs and pid files.
No systemd, no accounting database: the executor plugin is told to poll job states with `squeue`, which
slurmctld answers from memory for MinJobAge seconds after a job ends.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

APT_PACKAGES = ("slurm-wlm", "munge")
BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "scontrol", "sinfo")


def missing_binaries() -> list[str]:
    """The SLURM/munge programs not on PATH (an empty list means the cluster can be started)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [b for b in BINARIES if shutil.which(b, path=path) is None]


def try_install() -> str | None:
    """Install slurm-wlm and munge with apt-get when we may (root); the reason we could not, else None."""
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install them"
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine (Debian/Ubuntu packages slurm-wlm and munge expected)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES]):
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if res.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {res.stderr.strip()[-500:]}"
    return None if not missing_binaries() else f"still missing after install: {missing_binaries()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_hardware() -> dict[str, str]:
    """What slurmd detects on this machine (CPUs, sockets, cores, threads, RealMemory), from `slurmd -C`."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True, timeout=60).stdout
    first = out.splitlines()[0]
    hw = dict(kv.split("=", 1) for kv in first.split())
    hw.pop("NodeName", None)
    return hw


@dataclass
class SlurmCluster:
    """munged, slurmctld and slurmd started in `base`; `env` points SLURM clients (and jobs) at them."""

    base: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    hardware: dict[str, str] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.base / "etc/slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        path = f"{self.base / 'bin'}:{os.environ.get('PATH', '')}:/usr/sbin"
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    @property
    def cpus(self) -> int:
        return int(self.hardware["CPUs"])

    @property
    def mem_mb(self) -> int:
        return int(self.hardware["RealMemory"])

    def _write_config(self) -> None:
        for d in ("bin", "etc", "munge", "state", "spool", "log", "run"):
            (self.base / d).mkdir(parents=True, exist_ok=True)
        # The slurm-jobstep plugin strips every SLURM_* variable (SLURM_CONF too) before its nested srun;
        # a real cluster has /etc/slurm/slurm.conf, this one has a wrapper that names its own file.
        srun = shutil.which("srun")
        wrapper = self.base / "bin/srun"
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {srun} "$@"\n')
        wrapper.chmod(0o755)
        os.chmod(self.base / "munge", 0o700)
        key = self.base / "munge/munge.key"
        subprocess.run(["mungekey", "--create", f"--keyfile={key}", "--force"], check=True, capture_output=True)
        os.chmod(key, 0o600)
        self.hardware = node_hardware()
        node = " ".join(f"{k}={v}" for k, v in self.hardware.items() if k != "UpTime")
        b = self.base
        self.conf.write_text(f"""\
ClusterName=wijkeffect-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={b}/run/munge.socket
StateSaveLocation={b}/state
SlurmdSpoolDir={b}/spool
SlurmctldPidFile={b}/run/slurmctld.pid
SlurmdPidFile={b}/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=3600
SchedulerParameters=sched_interval=1
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost {node} State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
""")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.base / f"log/{name}.out", "ab")  # noqa: SIM115 (closed with the process)
        self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                           start_new_session=True))

    def start(self, timeout: float = 60) -> "SlurmCluster":
        """Write the configuration, start the three daemons and wait until the node is idle."""
        self._write_config()
        b = self.base
        self._spawn("munged", ["munged", "--foreground", "--force", f"--key-file={b}/munge/munge.key",
                               f"--socket={b}/run/munge.socket", f"--pid-file={b}/run/munged.pid",
                               f"--log-file={b}/log/munged.log", f"--seed-file={b}/munge/munged.seed"])
        self._wait(lambda: (b / "run/munge.socket").exists(), timeout, "munged socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._ok(["scontrol", "ping"], "UP"), timeout, "slurmctld")
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait(lambda: self._ok(["sinfo", "-h", "-N", "-o", "%T"], "idle"), timeout, "node idle")
        return self

    def _ok(self, cmd: list[str], expect: str) -> bool:
        res = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30)
        return res.returncode == 0 and expect in res.stdout

    def _wait(self, ready, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"SLURM test cluster: {dead[0].args[0]} exited ({dead[0].returncode}); "
                                   f"logs in {self.base / 'log'}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"SLURM test cluster: {what} not ready after {timeout:.0f} s; logs:\n{self.logs()}")

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-tail:]}"
                         for p in sorted((self.base / "log").glob("*")) if p.is_file())

    def stop(self) -> None:
        """Stop slurmd, slurmctld and munged (in that order), killing any that do not exit."""
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        self.procs.clear()
        # slurmstepd children of finished jobs exit with slurmd; any left in our sessions are ours
        for pidfile in (self.base / "run").glob("*.pid"):
            pidfile.unlink(missing_ok=True)


def version(env: dict[str, str] | None = None) -> str:
    """The installed SLURM version (e.g. 22.05.8), as sbatch reports it."""
    out = subprocess.run(["sbatch", "--version"], capture_output=True, text=True, env=env).stdout
    m = re.search(r"[\d.]+", out)
    return m.group(0) if m else out.strip()
