"""The package's import graph has no cycle (function-level imports included), models import nothing from
panel, and every module imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "wijkeffect"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """wijkeffect modules imported anywhere in the file (module level and inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        out |= {n for n in names if n in modules}
    return out


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PKG.rglob("*.py")}
    mods = set(files)
    g = {m: imports_of(p, mods) - {m} for m, p in files.items()}
    # importing a.b.c runs a/__init__ and a/b/__init__ first
    for m in g:
        parents = {".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)}
        g[m] |= {p for p in parents if p in mods} - {m}
    return g


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_find_cycle_finds_one():
    """The checker itself: a -> b -> c -> a is reported."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_import_graph_has_no_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def test_models_import_nothing_from_panel():
    g = graph()
    offenders = {m: g[m] & {"wijkeffect.panel", "wijkeffect.controls"} for m in g if m.startswith("wijkeffect.models")}
    assert not any(offenders.values()), offenders


MODULES = ["wijkeffect.roles", "wijkeffect.panel", "wijkeffect.controls", "wijkeffect.models",
           "wijkeffect.models.design", "wijkeffect.models.fe", "wijkeffect.models.api", "wijkeffect.models.twfe",
           "wijkeffect.models.individual", "wijkeffect.models.event", "wijkeffect.models.naive",
           "wijkeffect.models.segmented", "wijkeffect.models.staggered", "wijkeffect.models.inference"]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_in_a_fresh_interpreter(module):
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
