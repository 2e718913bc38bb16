"""Workflow configuration: typed command-line values, schema defaults, and parameter files for reruns.

A user's config stands alone (DESIGN §3): the Snakefile reads `config/config.yaml` (the demo) only
when no `--configfile` is given, and every key a config omits takes the schema's default.

Reruns follow the config: each stage's values go into a small JSON file under
`data/processed/<study>/params/`, named by the stage and a hash of the values, that the stage's rule
takes as an input. Changing a value names a new file, written when the workflow is parsed; so Snakemake
reruns exactly the jobs whose values changed (and what depends on them). A dry run writes at most the
parameter files of values not seen before and changes no output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from wijkeffect.paths import ROOT
from wijkeffect.yamlio import safe_load

SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def load_schema(path: str | Path = SCHEMA) -> dict[str, Any]:
    """The config JSON schema (YAML)."""
    return safe_load(Path(path).read_text(encoding="utf-8"))


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, list):
        return set(t)
    if t:
        return {t}
    if "enum" in schema:
        return {"string"} if all(isinstance(v, str) for v in schema["enum"]) else {"enum"}
    return set()


def coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Command-line config values as users write them: `pooled=false`, `min_cell_n=5`, lists, mappings.

    Snakemake passes `--config key=value` values it cannot read as int, float or True/False on as
    text (and nested YAML as text leaves); where the schema expects another type, the text is read
    as YAML, recursively through objects and arrays.
    """
    if isinstance(value, str):
        types = _types(schema)
        if types and "string" not in types:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                return value
            return coerce(parsed, schema) if not isinstance(parsed, str) else parsed
        return value
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: coerce(v, props.get(k, extra if isinstance(extra, dict) else {})) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [coerce(v, items if isinstance(items, dict) else {}) for v in value]
    return value


def coerce_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Coerce every value of a loaded config in place (and return it)."""
    schema = schema or load_schema()
    fixed = coerce(dict(config), schema)
    config.clear()
    config.update(fixed)
    return config


def canonical(values: dict[str, Any]) -> str:
    """Values as canonical JSON: the same values give the same text on every machine."""
    return json.dumps(values, sort_keys=True, indent=1, default=str) + "\n"


def params_key(name: str, values: dict[str, Any]) -> str:
    """`name.<12 hex of sha256>`: the parameter file's stem for these values."""
    import hashlib

    return f"{name}.{hashlib.sha256(canonical(values).encode()).hexdigest()[:12]}"


def write_params(path: str | Path, values: dict[str, Any]) -> Path:
    """Write a stage's values as canonical JSON, touching the file only when its content changes."""
    path = Path(path)
    text = canonical(values)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")  # whole files only: jobs on other nodes read it
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path
