"""Codebooks: per source and wave, how the file's variables become respondent-schema columns.

A codebook is YAML, validated against workflow/schemas/codebook.schema.yaml. `extends:` names a
base codebook (relative to this one) whose keys it overrides, so waves that share a scheme share
one file. See config/codebooks/demo/ for worked examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from wijkeffect.errors import WijkeffectError
from wijkeffect.paths import ROOT, resolve, skip_unused_optional_imports
from wijkeffect.yamlio import safe_load

SCHEMA_DIR = ROOT / "workflow" / "schemas"


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; the error names the file when it is not one."""
    path = Path(path)
    if not path.exists():
        raise WijkeffectError(f"{path}: file not found")
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WijkeffectError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise WijkeffectError(f"{path}: top level is {type(data).__name__}; expected a mapping of keys")
    return data


@lru_cache(maxsize=None)
def _validator(schema_name: str):
    """A validator per schema file, built once per process (a workflow validates every wave's codebook)."""
    skip_unused_optional_imports()
    import jsonschema

    return jsonschema.Draft202012Validator(safe_load((SCHEMA_DIR / schema_name).read_text(encoding="utf-8")))


def validate(data: dict[str, Any], schema_name: str, source: str | Path) -> None:
    """Validate against a JSON schema in workflow/schemas; the error names the key path and file."""
    validator = _validator(schema_name)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise WijkeffectError(f"{source}: key {where}: {e.message}; expected a value matching {schema_name}")


def todo_keys(data: Any, where: str = "") -> list[str]:
    """Key paths whose key or value still holds a TODO left by `python -m wijkeffect init`."""
    found: list[str] = []
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{where}/{k}" if where else str(k)
            if "TODO" in str(k):
                found.append(here)
            else:
                found.extend(todo_keys(v, here))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found.extend(todo_keys(v, f"{where}[{i}]"))
    elif isinstance(data, str) and "TODO" in data:
        found.append(where or "(top level)")
    return found


def refuse_todo(data: dict[str, Any], source: str | Path) -> None:
    """A draft is not a codebook: refuse one that still holds a TODO, naming the file and every key."""
    keys = todo_keys(data)
    if keys:
        raise WijkeffectError(f"{source}: keys still marked TODO: {', '.join(keys)}; expected a decision in place "
                              "of each TODO (the comments beside it list the file's values and labels), or the "
                              "key deleted when the file does not have it")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass(frozen=True)
class Codebook:
    """A validated codebook with its source path and the data file it reads."""

    path: Path
    source: str
    wave: int
    file: Path
    spec: dict[str, Any]

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        return self.spec.get("columns", {})

    @property
    def scores(self) -> dict[str, dict[str, Any]]:
        return self.spec.get("scores", {})

    def source_vars(self) -> list[str]:
        """Every file variable the codebook reads (for column-subset reading)."""
        names: list[str] = [self.spec["rows"]["var"]] if "rows" in self.spec else []
        for col in self.columns.values():
            if "var" in col:
                names.append(col["var"])
        for sc in self.scores.values():
            names.extend(sc.get("items", []))
            names.extend(sc.get("vars", []))
        return list(dict.fromkeys(names))


def load_codebook(path: str | Path, root: Path | None = None) -> Codebook:
    """Load, resolve `extends`, and validate a codebook."""
    path = resolve(path, root)
    data = load_yaml(path)
    refuse_todo(data, path)
    seen, here = {path}, path.parent
    while "extends" in data:
        base_path = (here / str(data.pop("extends"))).resolve()
        if base_path in seen:
            raise WijkeffectError(f"{path}: key extends: cycle through {base_path}")
        seen.add(base_path)
        here = base_path.parent
        base = load_yaml(base_path)
        refuse_todo(base, base_path)
        data = _merge(base, data)
    validate(data, "codebook.schema.yaml", path)
    return Codebook(path=path, source=str(data["source"]), wave=int(data["wave"]),
                    file=resolve(data["file"], root), spec=data)
