"""The fast YAML loader reads every YAML document of the project as PyYAML's pure-Python safe loader does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wijkeffect.yamlio import safe_load

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(p for d in ("config", "workflow", "data/raw/demo") for p in (ROOT / d).rglob("*.y*ml"))


def test_there_are_documents_to_compare():
    assert len(FILES) > 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_data_as_pure_python_loader(path):
    text = path.read_text(encoding="utf-8")
    assert safe_load(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_edge_cases_and_errors():
    text = ("a: &x {k: 1e-3, d: 2021-03-01, t: yes, n: ~, s: '010'}\nb: *x\nc: [1.5, .inf, 0x1f, 'é']\n"
            "multi: |\n  line one\n  line two\n")
    assert safe_load(text) == yaml.load(text, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.YAMLError):
        safe_load("a: [1, 2\nb: 3")
    with pytest.raises(yaml.YAMLError):  # a safe loader: no Python objects
        safe_load("!!python/object/apply:os.system ['true']")
