"""Estimators. Each takes cells (or respondents) plus a spec and returns tidy rows (DESIGN §6)."""

from wijkeffect.models.naive import naive_post_difference
from wijkeffect.models.tidy import RESULT_COLUMNS, tidy_frame
from wijkeffect.models.twfe import twfe_cells

MODELS = {"twfe": twfe_cells, "naive": naive_post_difference}

__all__ = ["MODELS", "RESULT_COLUMNS", "naive_post_difference", "tidy_frame", "twfe_cells"]
