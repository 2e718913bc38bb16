"""Estimators. Each takes cells and/or respondents plus a context and returns tidy rows (DESIGN §6).

Submodules are imported on demand: linearmodels and statsmodels cost most of a second to import.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

#: model name -> ("module:function", input): input is "cells", "respondents" or "both"
MODELS: dict[str, tuple[str, str]] = {
    "twfe": ("wijkeffect.models.twfe:twfe_cells", "cells"),
    "naive": ("wijkeffect.models.naive:naive_post_difference", "cells"),
    "event_study": ("wijkeffect.models.event:event_study", "both"),
    "twfe_individual": ("wijkeffect.models.individual:twfe_individual", "respondents"),
    "segmented": ("wijkeffect.models.segmented:segmented", "respondents"),
    "staggered": ("wijkeffect.models.staggered:staggered", "both"),
    "sensitivity": ("wijkeffect.sensitivity:sensitivity", "cells"),
    "its": ("wijkeffect.models.its:its", "cells"),
    "synth": ("wijkeffect.models.synth:synth", "cells"),
}


def get_model(name: str) -> Callable[..., list[dict]]:
    """The estimator function registered under name."""
    module, func = MODELS[name][0].split(":")
    return getattr(import_module(module), func)


def needs_respondents(models: list[str], options: dict[str, dict] | None = None) -> bool:
    """Whether any configured model reads respondent rows (so the stage loads them)."""
    options = options or {}
    return any(MODELS[m][1] == "respondents" or (MODELS[m][1] == "both" and options.get(m, {}).get("covariates"))
               for m in models)
