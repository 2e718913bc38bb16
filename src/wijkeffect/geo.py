"""Link respondents to the study's reference indeling.

Two routes, per respondent: a postcode (PC6 or PC4) looked up in the study's lookup file, or a
wijk code on an older indeling carried to the reference codes through a crosswalk. Crosswalks
may be one-to-one, many-to-one, or split an old wijk over several new ones with shares; a
respondent of a split wijk is assigned one new wijk by a seeded draw with those shares, so each
respondent stays one row. Every respondent that cannot be linked is counted per reason.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error  # noqa: F401 (kept for the functions below)
from wijkeffect.readers import read_table, require_columns

LOOKUP_COLUMNS = ("buurt_code", "wijk_code", "gemeente_code")
_PATTERNS = {"buurt_code": r"BU\d{8}", "wijk_code": r"WK\d{6}", "gemeente_code": r"GM\d{4}"}
_KEY_PATTERNS = {"pc6": r"\d{4}[A-Z]{2}", "pc4": r"\d{4}"}


def _read_csv(path: Path, what: str, read: dict[str, Any] | None = None,
              columns: dict[str, str] | None = None, need: tuple[str, ...] = (), study_key: str = "") -> pd.DataFrame:
    """A study table read like a wave (`read:` options: sep, decimal, encoding, sheet; CSV, Excel or parquet),
    its columns renamed from the file's names (`columns:` expected -> file name), the needed ones checked."""
    df = read_table(Path(path), read, what, columns, study_key or what)
    return require_columns(df, path, what, need, read, study_key or what)


def read_lookup(path: Path, key: str = "pc6", read: dict[str, Any] | None = None,
                columns: dict[str, str] | None = None) -> pd.DataFrame:
    """A postcode lookup, one row per postcode, CBS codes checked for shape; indexed by the key.

    A PC6 lookup also serves PC4 linking when every PC4 lies in one wijk; pass key="pc4".
    `read` and `columns` are the study's table options (see study.schema.yaml).
    """
    df = _read_csv(path, "postcode lookup", read, columns, study_key="lookup")
    if key == "pc4" and "pc4" not in df.columns and "pc6" in df.columns:
        df["pc4"] = df["pc6"].str[:4]
    need = (key, *LOOKUP_COLUMNS)
    df = require_columns(df, path, "postcode lookup", need, read, "lookup")
    df = df[list(need)].copy()
    df[key] = df[key].str.replace(r"\s+", "", regex=True).str.upper()
    bad = ~df[key].fillna("").str.fullmatch(_KEY_PATTERNS[key])
    if bad.any():
        raise input_error(path, f"column {key} (postcode lookup)", df.loc[bad, key].tolist(),
                          f"postcodes matching {_KEY_PATTERNS[key]}")
    for col, pat in _PATTERNS.items():
        bad = ~df[col].fillna("").str.fullmatch(pat)
        if bad.any():
            raise input_error(path, f"column {col} (postcode lookup)", df.loc[bad, col].tolist(),
                              f"CBS codes matching {pat}")
    if key == "pc4":  # a PC4 that spans wijken cannot be linked to one wijk: refuse rather than guess
        df = df.drop_duplicates([key, "wijk_code"])
        df["buurt_code"] = pd.NA
        df = df.drop_duplicates([key, "wijk_code", "gemeente_code"])
    dup = df[key].duplicated(keep=False)
    if dup.any():
        raise input_error(path, f"column {key}: postcodes in more than one area", df.loc[dup, key].tolist(),
                          "one area per postcode (link on PC6, or use a crosswalk with shares)")
    return df.set_index(key)


def read_crosswalk(path: Path, read: dict[str, Any] | None = None, columns: dict[str, str] | None = None,
                   study_key: str = "crosswalks") -> pd.DataFrame:
    """old_code -> new_code with share (default 1); shares of each old code must sum to 1."""
    df = _read_csv(path, "crosswalk", read, columns, need=("old_code", "new_code"), study_key=study_key)
    raw_share = df["share"] if "share" in df.columns else pd.Series("1", index=df.index)
    text = raw_share.fillna("1").astype(str).str.strip()
    if (read or {}).get("decimal", ".") != ".":
        text = text.str.replace(read["decimal"], ".", regex=False)
    df["share"] = pd.to_numeric(text, errors="coerce")
    bad = df["share"].isna() | (df["share"] <= 0) | (df["share"] > 1)
    if bad.any():
        raise input_error(path, "crosswalk: column share", raw_share[bad].tolist(),
                          "shares in (0, 1]" + ("" if (read or {}).get("decimal") else
                                                " (decimal commas? add `read: {decimal: ','}`)"))
    for col in ("old_code", "new_code"):
        bad = ~df[col].fillna("").str.fullmatch(r"WK\d{6}")
        if bad.any():
            raise input_error(path, f"crosswalk: column {col}", df.loc[bad, col].tolist(), "CBS wijk codes WK######")
    sums = df.groupby("old_code")["share"].sum()
    off = sums[(sums - 1).abs() > 1e-6]
    if len(off):
        raise input_error(path, "column share: shares per old_code do not sum to 1",
                          [f"{k}: {v:g}" for k, v in off.items()], "each old_code's shares summing to 1")
    return df[["old_code", "new_code", "share"]]


def crosswalk_codes(old: pd.Series, crosswalk: pd.DataFrame, seed: int) -> pd.Series:
    """New wijk code per respondent; split wijken drawn with their shares (seeded), unknown codes NA."""
    out = pd.Series(pd.NA, index=old.index, dtype="string")
    rng = np.random.default_rng(seed)
    for code, grp in crosswalk.groupby("old_code", sort=True):
        rows = old.index[old.to_numpy() == code]
        if len(rows) == 0:
            continue
        if len(grp) == 1:
            out.loc[rows] = grp["new_code"].iloc[0]
        else:
            p = grp["share"].to_numpy(float)
            out.loc[rows] = grp["new_code"].to_numpy()[rng.choice(len(grp), size=len(rows), p=p / p.sum())]
    return out


def link(df: pd.DataFrame, lookup: pd.DataFrame, key: str = "pc6", crosswalks: dict[int, pd.DataFrame] | None = None,
         reference_indeling: int | None = None, seed: int = 0) -> tuple[pd.DataFrame, dict[str, int]]:
    """Attach reference codes; returns linked rows and the count of unlinked rows per reason."""
    pc = df[key] if key in df else pd.Series(pd.NA, index=df.index, dtype="string")
    codes = lookup.reindex(pc.to_numpy())
    codes.index = df.index
    counts: dict[str, int] = {}
    has_wijk = df["source_wijk_code"].notna() if "source_wijk_code" in df else pd.Series(False, index=df.index)
    via_wijk = pc.isna() & has_wijk
    if via_wijk.any():
        gm_of = lookup.drop_duplicates("wijk_code").set_index("wijk_code")["gemeente_code"]
        src = df.loc[via_wijk, "source_wijk_code"]
        year = df.loc[via_wijk, "source_indeling"]
        new = pd.Series(pd.NA, index=src.index, dtype="string")
        same = year.isna() | (year == reference_indeling)
        new[same] = src[same]
        for y in sorted(year[~same].dropna().unique()):
            sel = year.index[year.to_numpy() == y]
            if not crosswalks or int(y) not in crosswalks:
                counts[f"no_crosswalk_from_{int(y)}"] = len(sel)
                continue
            wave_seed = seed + zlib.crc32(f"{df['source'].iloc[0]}-{df['wave'].iloc[0]}-{int(y)}".encode())
            new.loc[sel] = crosswalk_codes(src.loc[sel], crosswalks[int(y)], wave_seed)
        codes.loc[via_wijk, "wijk_code"] = new
        codes.loc[via_wijk, "gemeente_code"] = new.map(gm_of).where(new.notna())
        codes.loc[via_wijk, "buurt_code"] = pd.NA
        unknown = via_wijk & codes["wijk_code"].isna()
        not_mapped = unknown.sum() - sum(v for k, v in counts.items() if k.startswith("no_crosswalk"))
        counts["wijk_not_in_crosswalk"] = int(not_mapped)
    no_key = pc.isna() & ~has_wijk
    not_found = pc.notna() & codes["wijk_code"].isna()
    counts[f"{key}_missing"] = int(no_key.sum())
    counts[f"{key}_not_in_lookup"] = int(not_found.sum())
    out = df.drop(columns=[c for c in LOOKUP_COLUMNS if c in df.columns]).join(codes)
    keep = out["wijk_code"].notna()
    assert len(df) == int(keep.sum()) + sum(counts.values())
    return out[keep].reset_index(drop=True), {k: v for k, v in counts.items() if v}


def check_unlinked(counts: dict[str, int], rows: int, max_share: float, wave: str, key: str,
                   lookup_path: Path, examples: list[str]) -> None:
    """Fail when a wave loses more than max_share of its respondents to linking (wrong lookup year?)."""
    lost = sum(counts.values())
    if rows and lost / rows > max_share:
        raise input_error(lookup_path, f"wave {wave}, column {key}: {lost} of {rows} respondents "
                          f"({lost / rows:.0%}) could not be linked ({counts})", examples,
                          f"at most {max_share:.0%} unlinked (max_unlinked_share in the study): is the lookup "
                          "for the same indeling as the wave's postcodes?")


def main(argv: list[str] | None = None) -> int:
    """`python -m wijkeffect.geo crosswalk OLD NEW --out FILE`: an area-overlap crosswalk between indelingen."""
    import argparse

    from wijkeffect.geometry import write_crosswalk

    ap = argparse.ArgumentParser(prog="python -m wijkeffect.geo")
    sub = ap.add_subparsers(dest="command", required=True)
    cw = sub.add_parser("crosswalk", help="old_code,new_code,share from two wijk boundary files (area overlap)")
    cw.add_argument("old")
    cw.add_argument("new")
    cw.add_argument("--out", required=True)
    cw.add_argument("--min-share", type=float, default=0.01, help="drop overlaps below this share (slivers)")
    cw.add_argument("--mode", choices=["split", "dominant"], default="split")
    cw.add_argument("--old-layer")
    cw.add_argument("--new-layer")
    a = ap.parse_args(argv)
    stats = write_crosswalk(a.old, a.new, a.out, a.min_share, a.mode, a.old_layer, a.new_layer)
    print(f"{a.out}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
