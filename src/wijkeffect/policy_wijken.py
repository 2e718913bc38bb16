"""Policy wijken (e.g. the 40 krachtwijken) mapped to CBS wijk codes, with the ambiguities reported.

A policy wijk is not a CBS wijk: one may span several CBS wijken (composite), lie inside a larger one
(part_of: the CBS estimate dilutes the policy area), share a CBS wijk with another policy wijk
(shared), or have no identifiable CBS wijk (unmapped). The mapping file records each link with its
type and a note; the report says, per policy wijk, what the study can and cannot measure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from wijkeffect.errors import WijkeffectError, input_error

MATCH_TYPES = ("exact", "composite", "part_of", "shared", "unmapped")
COLUMNS = ("policy_wijk", "gemeente", "gemeente_code", "wijk_code", "wijk_name_2020", "match_type", "note")


def read_mapping(path: str | Path) -> pd.DataFrame:
    """The mapping file, checked: columns, match types, CBS codes (empty only for unmapped), gemeente prefix."""
    path = Path(path)
    if not path.exists():
        raise WijkeffectError(f"{path}: policy wijk mapping not found")
    m = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in COLUMNS if c not in m.columns]
    if missing:
        raise input_error(path, f"columns {missing} missing", None, f"columns {list(COLUMNS)}")
    bad = ~m["match_type"].isin(MATCH_TYPES)
    if bad.any():
        raise input_error(path, "column match_type", m.loc[bad, "match_type"], f"one of {MATCH_TYPES}")
    code = m["wijk_code"].fillna("")
    unm = m["match_type"] == "unmapped"
    bad = (~unm & ~code.str.fullmatch(r"WK\d{6}")) | (unm & (code != ""))
    if bad.any():
        raise input_error(path, "column wijk_code", m.loc[bad, "wijk_code"].fillna("<empty>"),
                          "CBS wijk codes WK###### (empty only where match_type is unmapped)")
    bad = ~unm & (code.str[2:6] != m["gemeente_code"].str[2:6])
    if bad.any():
        raise input_error(path, "column wijk_code: wijk outside its gemeente", m.loc[bad, "wijk_code"],
                          "wijk codes starting with the gemeente's digits")
    return m


def mapping_report(m: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per policy wijk: CBS wijken, match types, other policy wijken on the same CBS wijk, and a status.

    reference (gemeente, wijk as in the policy list): policy wijken absent from the mapping are reported too.
    """
    mapped = m[m["wijk_code"].notna()]
    owners = mapped.groupby("wijk_code")["policy_wijk"].agg(lambda s: set(s))
    rows = []
    for (gm, pw), g in m.groupby(["gemeente", "policy_wijk"], sort=False):
        codes = sorted(g["wijk_code"].dropna())
        others = sorted({o for c in codes for o in owners.get(c, set())} - {pw})
        types = sorted(set(g["match_type"]))
        if codes == []:
            status = "unmapped"
        elif others or {"part_of", "shared"} & set(types):
            status = "ambiguous"
        else:
            status = "mapped"
        rows.append({"gemeente": gm, "policy_wijk": pw, "n_cbs_wijken": len(codes), "wijk_codes": ";".join(codes),
                     "match_types": ";".join(types), "shares_cbs_wijk_with": ";".join(others), "status": status,
                     "note": "; ".join(n for n in g["note"].dropna().unique() if not n.startswith("see "))})
    rep = pd.DataFrame(rows)
    if reference is not None:
        ref = reference.rename(columns={"wijk": "policy_wijk"})
        key = set(zip(rep["gemeente"], rep["policy_wijk"]))
        absent = ref[[(g, w) not in key for g, w in zip(ref["gemeente"], ref["policy_wijk"])]]
        extra = pd.DataFrame({"gemeente": absent["gemeente"], "policy_wijk": absent["policy_wijk"], "n_cbs_wijken": 0,
                              "wijk_codes": "", "match_types": "", "shares_cbs_wijk_with": "",
                              "status": "not_in_mapping", "note": "listed in the reference, absent from the mapping"})
        rep = pd.concat([rep, extra], ignore_index=True)
    return rep


def treated_from_mapping(m: pd.DataFrame, start: str, group: str = "krachtwijk") -> pd.DataFrame:
    """One row per CBS wijk (wijk_code, start, group, policy_wijken): the study's treated file."""
    mapped = m[m["wijk_code"].notna()]
    t = mapped.groupby("wijk_code").agg(gemeente=("gemeente", "first"),
                                        policy_wijken=("policy_wijk", lambda s: ";".join(sorted(set(s)))))
    t = t.reset_index()
    t["start"], t["group"] = start, group
    return t[["wijk_code", "start", "group", "gemeente", "policy_wijken"]]
