"""What a reviewer needs to trust an executed notebook: parameters, code version, inputs, outputs."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from wijkeffect.paths import ROOT, relative, resolve

PACKAGES = ("wijkeffect", "pandas", "numpy", "linearmodels", "geopandas", "matplotlib", "pyreadstat", "papermill",
            "snakemake", "great-tables", "cbsodata", "python-calamine")


def sha256(path: str | Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_state(root: Path = ROOT) -> tuple[str, bool | None]:
    """The commit checked out and whether tracked files differ from it (None outside a git checkout)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip() != ""
        return commit, dirty
    except (OSError, subprocess.CalledProcessError):
        return "unknown", None


def versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def _files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = resolve(p)
        # in a directory, the data files: not Snakemake's hidden .snakemake_timestamp marker or other dotfiles
        out.extend(sorted(x for x in p.rglob("*") if x.is_file()
                          and not any(part.startswith(".") for part in x.relative_to(p).parts)) if p.is_dir() else [p])
    return out


def provenance(parameters: dict[str, Any], inputs: Iterable[str | Path]) -> pd.DataFrame:
    """One table: parameters, git commit and dirtiness, package versions, sha256 of every input file (named
    relative to the project root, so the executed notebook does not depend on where the project lives)."""
    commit, dirty = git_state()
    rows = [("parameter", k, repr(v)) for k, v in parameters.items()]
    rows += [("code", "git commit", commit), ("code", "tree dirty", str(dirty))]
    rows += [("package", k, v) for k, v in versions().items()]
    for f in _files(inputs):
        rows.append(("input sha256", relative(f), sha256(f) if f.exists() else "MISSING"))
    return pd.DataFrame(rows, columns=["kind", "name", "value"])


def outputs_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Files a notebook wrote (relative to the project root), with sizes and sha256, for its closing cell."""
    rows = [(relative(f), f.stat().st_size, sha256(f)) for f in _files(paths)]
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"])
