"""Link respondents to the study's reference indeling: postcode -> buurt / wijk / gemeente."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error

LOOKUP_COLUMNS = ("buurt_code", "wijk_code", "gemeente_code")
_PATTERNS = {"buurt_code": r"BU\d{8}", "wijk_code": r"WK\d{6}", "gemeente_code": r"GM\d{4}"}


def read_lookup(path: Path, key: str = "pc6") -> pd.DataFrame:
    """A postcode lookup with one row per postcode and CBS codes checked for shape."""
    if not Path(path).exists():
        raise WijkeffectError(f"{path}: postcode lookup not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    need = [key, *LOOKUP_COLUMNS]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise input_error(path, f"columns {missing} missing", None, f"columns {need}; found {list(df.columns)}")
    df = df[need].copy()
    df[key] = df[key].str.replace(r"\s+", "", regex=True).str.upper()
    for col, pat in _PATTERNS.items():
        bad = ~df[col].fillna("").str.fullmatch(pat)
        if bad.any():
            raise input_error(path, f"column {col}", df.loc[bad, col].tolist(), f"CBS codes matching {pat}")
    dup = df[key].duplicated(keep=False)
    if dup.any():
        raise input_error(path, f"column {key}: postcodes listed twice", df.loc[dup, key].tolist(),
                          "one row per postcode (use a crosswalk with shares for split areas)")
    return df.set_index(key)


def link(df: pd.DataFrame, lookup: pd.DataFrame, key: str = "pc6") -> tuple[pd.DataFrame, dict[str, int]]:
    """Attach reference codes; returns linked rows and the count of unlinked rows per reason."""
    pc = df[key]
    codes = lookup.reindex(pc.to_numpy())
    codes.index = df.index
    no_pc = pc.isna()
    not_found = ~no_pc & codes["wijk_code"].isna()
    out = df.drop(columns=[c for c in LOOKUP_COLUMNS if c in df.columns]).join(codes)
    keep = ~(no_pc | not_found)
    counts = {f"{key}_missing": int(no_pc.sum()), f"{key}_not_in_lookup": int(not_found.sum())}
    return out[keep].reset_index(drop=True), {k: v for k, v in counts.items() if v}
