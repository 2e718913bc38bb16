"""Disclosure control: every published cell rests on at least min_cell_n respondents (DESIGN §7)."""

from __future__ import annotations

import pandas as pd


def suppress(df: pd.DataFrame, min_cell_n: int, n_col: str = "n",
             value_cols: tuple[str, ...] = ("mean", "se")) -> pd.DataFrame:
    """Blank value columns where n < min_cell_n and mark the row; rows are kept, never dropped."""
    out = df.copy()
    small = out[n_col] < min_cell_n
    out["suppressed"] = small
    for c in value_cols:
        if c in out:
            out[c] = out[c].astype(float).where(~small)
    return out
