"""Stage functions for studies whose source is statline (published small-area estimates per wijk).

Called from notebooks/statline_panel.ipynb (rule statline_panel in workflow/rules/statline.smk); the
cells parquet it writes has the same columns as the survey panel's, so the estimate and figure stages
read it unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from wijkeffect.paths import relative, resolve


def _out(path: str | Path) -> Path:
    p = resolve(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def accounting_table(built: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per outcome x year: indicator, wijken in the files, missing estimates, status, cells per role."""
    miss = built["missing"].rename(columns={"year": "wave", "wijken": "wijken_in_files",
                                            "missing": "wijken_missing"})
    acc = built["accounting"].rename(columns={"treated": "treated_cells", "control": "control_cells"})
    out = miss.merge(acc, on=["outcome", "wave"], how="left")
    for c in ("treated_cells", "control_cells", "treated_wijken_not_in_files", "wijken_without_inhabitants"):
        out[c] = out.get(c, pd.Series(0, index=out.index)).fillna(0).astype(int)
    return out.sort_values(["outcome", "wave"]).reset_index(drop=True)


def statline_panel(study_file: str, out_cells: str, out_accounting: str, out_balance: str = "",
                   out_mapping: str = "", out_verdict: str = "", out_sources: str = "", out_map: str = "",
                   models: Iterable[str] = (), language: str = "en",
                   map_breaks: tuple[float, ...] = (-0.1, -0.05, -0.02, 0.02, 0.05, 0.1)) -> dict[str, pd.DataFrame]:
    """Build a statline study's cells and write them with the accounting (missing indicators per year).

    Optional outputs: the matching balance table, the policy-wijk mapping report, the verdict (whether
    any wave follows the start), the source files with checksums (and the online table's provenance),
    and a national map (out_map: a path stem; .pdf/.svg/.png) of each outcome's change per wijk.
    Respondent-level models in `models` are refused with the reason.
    """
    from wijkeffect.provenance import sha256
    from wijkeffect.statline import build_study
    from wijkeffect.study import load_study

    study = load_study(study_file)
    built = build_study(study, models=models)
    built["cells"].to_parquet(_out(out_cells), index=False)
    acc = accounting_table(built)
    acc.to_csv(_out(out_accounting), index=False, lineterminator="\n")
    built["accounting_table"] = acc
    if out_balance:
        built["balance"].to_csv(_out(out_balance), lineterminator="\n", float_format="%.6g")
    if out_mapping:  # written even without a mapping file, so a workflow rule can always declare it
        built.get("mapping", pd.DataFrame(columns=["gemeente", "policy_wijk", "status"])).to_csv(
            _out(out_mapping), index=False, lineterminator="\n")
    if out_verdict:
        built["verdict"].to_csv(_out(out_verdict), index=False, lineterminator="\n")
    files = [Path(f) for f in built["files"]["file"]]
    src = pd.DataFrame({"file": [relative(f) for f in files], "sha256": [sha256(f) for f in files]})
    spec = study.spec["statline"]
    if spec.get("table_id") and not spec.get("files"):
        prov_file = files[0].with_name(f"{spec['table_id']}.provenance.json")
        if prov_file.exists():
            for k, v in json.loads(prov_file.read_text(encoding="utf-8")).items():
                src[k] = json.dumps(v) if isinstance(v, list) else v
    built["sources"] = src
    if out_sources:
        src.to_csv(_out(out_sources), index=False, lineterminator="\n")
    if out_map:
        built["map"] = pd.DataFrame({"file": [str(p) for p in national_change_map(study, built, out_map, language,
                                                                                   list(map_breaks))]})
    return built


def national_change_map(study, built: dict[str, pd.DataFrame], stem: str, language: str,
                        breaks: list[float]) -> list[Path]:
    """Every wijk's change from its first to its last wave, per outcome; treated wijken outlined."""
    from wijkeffect.figures.maps import national_map
    from wijkeffect.geometry import read_boundaries
    from wijkeffect.labels import label
    from wijkeffect.statline import change_between

    panel = built["panel"]
    geo = read_boundaries(study.path_of("geometry"), study.spec.get("geometry_layer"),
                          expected=sorted(panel["wijk_code"].unique()))
    ch = change_between(panel)
    spans = ch.groupby("outcome")[["first", "last"]].first()
    treated = set(built["cells"].loc[built["cells"]["role"] == "treated", "wijk_code"])
    age = study.spec["statline"].get("age_group", "18+")
    title = f"{study.name}: change per wijk, adults {age}"
    panels = {o: f"{label(o, language)}\n{r['first']}\u2013{r['last']}" for o, r in spans.iterrows()}
    return national_map(geo.frame, ch, [o for o in study.outcomes if o in spans.index], breaks, title, resolve(stem),
                        language, highlight=treated, legend=label("change_first_last", language),
                        note=label("model_based", language), panel_titles=panels)
