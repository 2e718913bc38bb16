"""The respondent schema (DESIGN §5): the contract every cleaned wave satisfies."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Column:
    """One schema column: its kind, allowed levels or range, and whether it may be missing."""

    name: str
    kind: str  # str | int | float | date | category | binary
    levels: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    nullable: bool = True


COLUMNS: dict[str, Column] = {
    c.name: c
    for c in [
        Column("source", "str", nullable=False),
        Column("wave", "int", nullable=False),
        Column("respondent_id", "str", nullable=False),
        Column("interview_date", "date"),
        Column("pc4", "str"),
        Column("pc6", "str"),
        # when a wave delivers wijk codes instead of postcodes: the code and its indeling (year)
        Column("source_wijk_code", "str"),
        Column("source_indeling", "int", low=1900, high=2100),
        Column("weight", "float", low=0.0, nullable=False),
        Column("age", "int", low=0, high=120),
        Column("age_group", "str"),  # when a file only has age bands (e.g. GGD "16-17 jaar")
        Column("sex", "category", levels=("male", "female", "other")),
        Column("education", "category", levels=("low", "middle", "high")),
        # western/non_western: CBS classification before 2022; migrant/child_of_migrant: from 2022
        Column("migration_background", "category",
               levels=("dutch", "western", "non_western", "migrant", "child_of_migrant")),
        Column("household", "category", levels=("single", "couple", "couple_children", "single_parent", "other")),
        Column("survey_mode", "category", levels=("capi", "cati", "cawi", "paper")),
        Column("smoker", "binary"),
        Column("psych_score", "float", low=0.0, high=100.0),
        Column("psych_instrument", "category", levels=("K10", "MHI-5")),
        Column("psych_distress", "binary"),
        Column("walk_min_week", "float", low=0.0, high=7 * 24 * 60),
        Column("walking", "binary"),
    ]
}

#: Text columns are Arrow-backed: vectorised string operations, compact parquet.
STRING = pd.StringDtype("pyarrow")

#: Columns filled by linking (postcode -> reference indeling), not by cleaning.
LINK_COLUMNS = ("buurt_code", "wijk_code", "gemeente_code")

#: Binary outcomes the models estimate.
OUTCOMES = ("smoker", "psych_distress", "walking")

#: Covariates available to respondent-level models.
COVARIATES = ("age", "sex", "education", "migration_background")


def empty_frame(n: int) -> pd.DataFrame:
    """A frame of n rows with every schema column at its dtype, all missing."""
    return pd.DataFrame({name: pd.Series([pd.NA] * n, dtype=dtype_of(col)) for name, col in COLUMNS.items()})


def dtype_of(col: Column) -> str | pd.CategoricalDtype:
    """The pandas dtype that stores a schema column."""
    if col.kind == "str":
        return STRING
    if col.kind in ("int", "binary"):
        return "Int64"
    if col.kind == "float":
        return "Float64"
    if col.kind == "date":
        return "datetime64[s]"
    return pd.CategoricalDtype(list(col.levels))
