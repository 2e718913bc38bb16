"""YAML reading through libyaml's parser when PyYAML has it, else PyYAML's own (same documents).

Every Snakemake process (runs, dry runs, the report, cluster jobs) parses the config, the study, every
codebook and its bases, and the schemas: about 45 documents, 0.8 s with the pure-Python parser and a
tenth of that with libyaml. tests/test_yamlio.py checks both parsers give the same data.
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """yaml.safe_load with the fastest safe loader available."""
    return yaml.load(text, Loader=LOADER)  # noqa: S506 (a safe loader)
