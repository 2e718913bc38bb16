"""Study definitions (config/studies/*.yaml): treated wijken with starts and groups, controls, outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wijkeffect.codebook import load_yaml, refuse_todo, validate
from wijkeffect.errors import input_error
from wijkeffect.geo import read_crosswalk, read_lookup
from wijkeffect.paths import resolve
from wijkeffect.readers import read_table, require_columns


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
        """The file of a study key, whether written as a path or as a table ({file: ..., read: ...})."""
        return table_spec(self.spec[key], root)[0]

    def lookup(self, root: Path | None = None) -> pd.DataFrame:
        """The postcode lookup, read with its `read:` options and `columns:` names, indexed by link_key."""
        path, read, columns = table_spec(self.spec["lookup"], root)
        return read_lookup(path, self.spec.get("link_key", "pc6"), read, columns)

    def crosswalks(self, root: Path | None = None) -> dict[int, pd.DataFrame]:
        """Indeling year -> crosswalk to the reference indeling (none when the study has no crosswalks)."""
        out = {}
        for year, spec in (self.spec.get("crosswalks") or {}).items():
            path, read, columns = table_spec(spec, root)
            out[int(year)] = read_crosswalk(path, read, columns, study_key=f"crosswalks: {year}")
        return out

    def table_files(self, root: Path | None = None) -> list[Path]:
        """Every file the study reads (lookup, intervention list, crosswalks, geometry): workflow inputs."""
        files = [self.path_of("lookup", root)]
        if isinstance(self.spec["treated"], dict):
            files.append(self.path_of("treated", root))
        files += [table_spec(spec, root)[0] for spec in (self.spec.get("crosswalks") or {}).values()]
        if self.spec.get("geometry"):
            files.append(resolve(self.spec["geometry"], root))
        return files

    def path_of_crosswalk(self, year: int, root: Path | None = None) -> Path:
        cw = self.spec.get("crosswalks") or {}
        return table_spec(cw.get(year, cw.get(str(year))), root)[0]


def table_spec(spec: str | dict[str, Any], root: Path | None = None
               ) -> tuple[Path, dict[str, Any], dict[str, str]]:
    """(file, read options, column names) of a study table written as a path or as {file, read, columns}."""
    if isinstance(spec, dict):
        read = dict(spec.get("read") or {})
        if "format" in spec:
            read["format"] = spec["format"]
        return resolve(spec["file"], root), read, dict(spec.get("columns") or {})
    return resolve(spec, root), {}, {}


def _treated_table(spec: dict[str, Any], path: Path, root: Path | None) -> pd.DataFrame:
    t = spec["treated"]
    date_format = "%Y-%m-%d"
    if isinstance(t, dict) and "file" in t:
        src, read, columns = table_spec(t, root)
        df = read_table(src, read, "intervention list", columns, "treated")
        require_columns(df, src, "intervention list", ("wijk_code", "start"), read, "treated")
        date_format = t.get("date_format", date_format)
    else:
        src = path
        df = pd.DataFrame(t, dtype=str)
    bad = ~df["wijk_code"].fillna("").str.fullmatch(r"WK\d{6}")
    if bad.any():
        raise input_error(src, "treated wijken: column wijk_code", df.loc[bad, "wijk_code"].tolist(),
                          "CBS wijk codes WK######")
    start = pd.to_datetime(df["start"], format=date_format, errors="coerce")
    if start.isna().any():
        raise input_error(src, "treated wijken: column start", df.loc[start.isna(), "start"].tolist(),
                          f"dates as {date_format} (set `treated: {{date_format: ...}}` for another format)")
    dup = df["wijk_code"].duplicated(keep=False)
    if dup.any():
        raise input_error(src, "treated wijken: wijk listed twice", df.loc[dup, "wijk_code"].tolist(),
                          "each treated wijk once")
    group = df["group"] if "group" in df.columns else pd.Series("treated", index=df.index)
    return pd.DataFrame({"wijk_code": df["wijk_code"], "start": start, "group": group.fillna("treated")})


def validate_tables(study: Study, root: Path | None = None) -> None:
    """Read and check the lookup, intervention list and crosswalks before any wave is cleaned, so a wrong
    delimiter, a missing column or a code that is nowhere in the lookup fails in seconds, not after cleaning."""
    lookup = study.lookup(root)
    lookup_path = study.path_of("lookup", root)
    crosswalks = study.crosswalks(root)
    gm = set(lookup["gemeente_code"].dropna())
    absent = [c for c in study.cities if c not in gm]
    if absent:
        raise input_error(lookup_path, f"study {study.path.name}: cities not in the lookup's gemeente_code", absent,
                          f"gemeente codes the lookup holds (first: {sorted(gm)[:8]}): is the lookup for "
                          "these cities?")
    wijken = set(lookup["wijk_code"].dropna())
    treated_src = study.path_of("treated", root) if isinstance(study.spec["treated"], dict) else study.path
    unknown = [w for w in study.treated["wijk_code"] if w not in wijken]
    if unknown:
        raise input_error(treated_src, "treated wijken: column wijk_code: wijken not in the lookup", unknown,
                          f"wijk codes of the reference indeling {study.spec.get('indeling')} that the lookup "
                          f"{lookup_path.name} holds")
    controls = study.controls
    if isinstance(controls, list):
        unknown = [w for w in controls if w not in wijken]
        if unknown:
            raise input_error(study.path, "controls: wijken not in the lookup", unknown,
                              f"wijk codes the lookup {lookup_path.name} holds")
    for year, cw in crosswalks.items():
        off = sorted(set(cw["new_code"]) - wijken)
        if off:
            cw_path = study.path_of_crosswalk(year, root)
            raise input_error(cw_path, f"crosswalk from {year}: column new_code: codes not in the lookup", off,
                              f"wijk codes of the reference indeling {study.spec.get('indeling')}")


def load_study(path: str | Path, root: Path | None = None) -> Study:
    """Load and validate a study file."""
    path = resolve(path, root)
    spec = load_yaml(path)
    refuse_todo(spec, path)
    validate(spec, "study.schema.yaml", path)
    return Study(spec["name"], path, spec, _treated_table(spec, path, root))
