"""Project paths, resolved from the repository root (cookiecutter-data-science style)."""

from __future__ import annotations

import os
from pathlib import Path

#: The project root: WIJKEFFECT_ROOT if set, else the directory holding the Snakefile above this file.
ROOT = Path(os.environ.get("WIJKEFFECT_ROOT", Path(__file__).resolve().parents[2]))
DEMO_RAW = ROOT / "data" / "raw" / "demo"
CONFIG = ROOT / "config"


def skip_unused_optional_imports() -> None:
    """Keep jsonschema from importing its optional IRI and duration checkers (rfc3987_syntax, about 1.3 s;
    isoduration with arrow, 0.05 s): no schema here uses the "iri" or "duration" formats, and Snakemake's
    validate() and papermill/nbformat import jsonschema in every run."""
    import sys

    for name in ("rfc3987_syntax", "isoduration"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def resolve(path: str | Path, root: Path | None = None) -> Path:
    """An absolute path: relative paths are taken from the project root."""
    p = Path(path)
    return p if p.is_absolute() else (root or ROOT) / p


def relative(path: str | Path, root: Path | None = None) -> str:
    """A path as written in outputs: relative to the project root (with `..` for data kept beside the
    project), so outputs do not depend on, or reveal, where the project is checked out."""
    p, base = Path(path).resolve(), (root or ROOT).resolve()
    return str(p.relative_to(base)) if p.is_relative_to(base) else os.path.relpath(p, base)
