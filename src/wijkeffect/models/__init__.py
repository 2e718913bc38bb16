"""Estimators. Each takes cells (or respondents) plus a context and returns tidy rows (DESIGN §6).

Submodules are imported on demand: linearmodels costs most of a second to import.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

#: model name -> "module:function"
MODELS: dict[str, str] = {
    "twfe": "wijkeffect.models.twfe:twfe_cells",
    "naive": "wijkeffect.models.naive:naive_post_difference",
}


def get_model(name: str) -> Callable[..., list[dict]]:
    """The estimator function registered under name."""
    module, func = MODELS[name].split(":")
    return getattr(import_module(module), func)
