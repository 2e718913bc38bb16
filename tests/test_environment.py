"""pyproject.toml and environment.yml list the same packages at the same versions."""

from __future__ import annotations

import re
import tomllib

import yaml


def _pip(root):
    data = tomllib.loads((root / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + [d for group in data["project"]["optional-dependencies"].values()
                                              for d in group]
    return dict(re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", d).groups() for d in deps)


def _conda(root):
    env = yaml.safe_load((root / "environment.yml").read_text())
    out = {}
    for d in env["dependencies"]:
        name, _, version = d.partition("=")
        if name != "python":
            out[name] = version
    return out


def test_every_dependency_is_pinned(root):
    data = tomllib.loads((root / "pyproject.toml").read_text())
    for d in data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]:
        assert "==" in d, f"pyproject.toml: {d!r} is not pinned with =="


def test_pyproject_and_environment_agree(root):
    pip, conda = _pip(root), _conda(root)
    norm = lambda d: {k.lower().replace("_", "-"): v for k, v in d.items()}  # noqa: E731
    assert norm(pip) == norm(conda)


def test_installed_versions_match_pins(root):
    from importlib import metadata

    data = tomllib.loads((root / "pyproject.toml").read_text())
    installed_groups = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    for name, version in _pip(root).items():
        if not any(d.startswith(f"{name}==") for d in installed_groups):
            continue  # optional extras (bench) are installed by `make bench` only
        assert metadata.version(name) == version, f"{name}: installed {metadata.version(name)}, pinned {version}"
