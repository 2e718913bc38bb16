"""Study definitions (config/studies/*.yaml): treated wijken with starts and groups, controls, outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.codebook import load_yaml, validate
from wijkeffect.errors import input_error
from wijkeffect.paths import resolve


@dataclass(frozen=True)
class Study:
    """A validated study: who is treated from when, who may serve as control, what to estimate."""

    name: str
    path: Path
    spec: dict[str, Any]
    treated: pd.DataFrame  # wijk_code, start (Timestamp), group

    @property
    def cities(self) -> list[str]:
        return list(self.spec["cities"])

    @property
    def outcomes(self) -> list[str]:
        return list(self.spec["outcomes"])

    @property
    def controls(self) -> str | list[str]:
        return self.spec.get("controls", "same_city")

    def path_of(self, key: str, root: Path | None = None) -> Path:
        return resolve(self.spec[key], root)


def _treated_table(spec: dict[str, Any], path: Path, root: Path | None) -> pd.DataFrame:
    t = spec["treated"]
    if isinstance(t, dict) and "file" in t:
        src = resolve(t["file"], root)
        df = pd.read_csv(src, dtype=str, keep_default_na=False, na_values=[""])
    else:
        src = path
        df = pd.DataFrame(t, dtype=str)
    for col in ("wijk_code", "start"):
        if col not in df.columns:
            raise input_error(src, f"treated wijken: column {col} missing", None, "columns wijk_code, start[, group]")
    bad = ~df["wijk_code"].fillna("").str.fullmatch(r"WK\d{6}")
    if bad.any():
        raise input_error(src, "treated wijken: column wijk_code", df.loc[bad, "wijk_code"].tolist(),
                          "CBS wijk codes WK######")
    start = pd.to_datetime(df["start"], format="%Y-%m-%d", errors="coerce")
    if start.isna().any():
        raise input_error(src, "treated wijken: column start", df.loc[start.isna(), "start"].tolist(),
                          "dates as YYYY-MM-DD")
    dup = df["wijk_code"].duplicated(keep=False)
    if dup.any():
        raise input_error(src, "treated wijken: wijk listed twice", df.loc[dup, "wijk_code"].tolist(),
                          "each treated wijk once")
    group = df["group"] if "group" in df.columns else pd.Series("treated", index=df.index)
    return pd.DataFrame({"wijk_code": df["wijk_code"], "start": start, "group": group.fillna("treated")})


def load_study(path: str | Path, root: Path | None = None) -> Study:
    """Load and validate a study file."""
    path = resolve(path, root)
    spec = load_yaml(path)
    validate(spec, "study.schema.yaml", path)
    return Study(spec["name"], path, spec, _treated_table(spec, path, root))
