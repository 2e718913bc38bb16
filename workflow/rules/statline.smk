# Draft (issue 9): the panel of a study whose source is statline (published small-area estimates per
# wijk, RIVM/CBS StatLine 50090NED/50120NED). Include from the Snakefile after common.smk; when
# STUDY.spec.get("source") == "statline", the cells (f"{PROC}/wijk_period.parquet") come from
# rule statline_panel instead of rule panel, and no clean rules run (no respondent waves).
# Uses from common.smk: STUDY, RES, PROC, NOTEBOOK, params_json.
from wijkeffect.statline import refuse_respondent_models

STATLINE = STUDY.spec.get("statline", {})
STATLINE_MODELS = list(config.get("models", ["twfe", "naive", "event_study", "staggered"]))
refuse_respondent_models(STATLINE_MODELS, STUDY.name)  # fails at parse time, with the reason
STATLINE_CACHE = STATLINE.get("cache_dir", "data/raw/statline")
STATLINE_MAP = f"{RES}/figures/national_map" if STUDY.spec.get("geometry") else ""


def statline_files():
    """The exports the study lists, or the cached online table (fetched by rule statline_fetch)."""
    if STATLINE.get("files"):
        from wijkeffect.statline import study_files

        return [str(p) for p in study_files(STUDY)]
    return [f"{STATLINE_CACHE}/{STATLINE['table_id']}.parquet"]


def statline_inputs():
    files = [config["study"], *statline_files()]
    if isinstance(STUDY.spec["treated"], dict):
        files.append(STUDY.spec["treated"]["file"])
    files += [STATLINE[k] for k in ("mapping_report", "population") if STATLINE.get(k)]
    if STUDY.spec.get("geometry"):
        files.append(STUDY.spec["geometry"])
    return files


def statline_outputs():
    out = dict(cells=f"{PROC}/wijk_period.parquet", accounting=f"{RES}/panel_accounting.csv",
               balance=f"{RES}/balance.csv", mapping=f"{RES}/mapping_report.csv",
               verdict=f"{RES}/statline_verdict.csv", sources=f"{RES}/statline_sources.csv",
               nb=f"{RES}/notebooks/panel/statline_panel.ipynb")
    if STATLINE_MAP:
        out.update(map_pdf=f"{STATLINE_MAP}.pdf", map_svg=f"{STATLINE_MAP}.svg", map_png=f"{STATLINE_MAP}.png")
    return out


def statline_params(wildcards, output):
    return params_json(study_file=config["study"], out_cells=output.cells, out_accounting=output.accounting,
                       out_balance=output.balance, out_mapping=output.mapping, out_verdict=output.verdict,
                       out_sources=output.sources, out_map=STATLINE_MAP, models=STATLINE_MODELS,
                       language=config.get("language", "en"),
                       map_breaks=config.get("map_breaks", [-0.1, -0.05, -0.02, 0.02, 0.05, 0.1]))


rule statline_fetch:
    """Download a StatLine table once (cbsodata, RIVM catalog); table id, periods and date in provenance."""
    output:
        data=f"{STATLINE_CACHE}/{{table}}.parquet",
        provenance=f"{STATLINE_CACHE}/{{table}}.provenance.json",
    wildcard_constraints:
        table="[0-9]{5}NED",
    params:
        catalog=STATLINE.get("catalog_url", "dataderden.cbs.nl"),
    run:
        from wijkeffect.statline import fetch_table

        fetch_table(wildcards.table, STATLINE_CACHE, params.catalog, refresh=True)


rule statline_panel:
    """StatLine exports -> wijk x year cells, missing indicators per year, controls, verdict, national map."""
    input:
        nb="notebooks/statline_panel.ipynb",
        study=statline_inputs(),
    output:
        **statline_outputs(),
    params:
        p=statline_params,
    log:
        f"logs/{STUDY.name}/statline_panel.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"
