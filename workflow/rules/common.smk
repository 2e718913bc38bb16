# Helpers shared by the rules: the study, the wildcards' values, and notebook parameters.
import json
import shlex
import sys

from wijkeffect.codebook import load_codebook
from wijkeffect.errors import WijkeffectError
from wijkeffect.study import load_study

STUDY = load_study(config["study"])
RES = f"results/{STUDY.name}"
PROC = f"data/processed/{STUDY.name}"
PYTHON = sys.executable
NOTEBOOK = f"{PYTHON} -m wijkeffect.notebook"


def _subset(key, allowed):
    chosen = config.get(key) or allowed
    bad = [x for x in chosen if x not in allowed]
    if bad:
        raise WijkeffectError(f"config: key {key}: {bad} not in study {STUDY.name} ({STUDY.path}); expected a subset of {allowed}")
    return list(chosen)


CITIES = _subset("cities", STUDY.cities)
OUTCOMES = _subset("outcomes", STUDY.outcomes)
CITY_IDS = (["ALL"] if config.get("pooled", True) else []) + CITIES
WAVES = {f"{w['source']}_{w['wave']}": w for w in config["waves"]}
CODEBOOKS = {key: load_codebook(w["codebook"]) for key, w in WAVES.items()}


wildcard_constraints:
    source="[A-Za-z0-9_-]+",
    wave="[0-9]{4}",
    city="ALL|GM[0-9]{4}",
    outcome="|".join(OUTCOMES),


def params_json(**kw):
    """Notebook parameters as one shell-quoted JSON object."""
    return shlex.quote(json.dumps(kw))


def wave_codebook(wildcards):
    cb = CODEBOOKS[f"{wildcards.source}_{wildcards.wave}"]
    return [str(cb.path), str(cb.file)]


def clean_params(wildcards, output):
    w = WAVES[f"{wildcards.source}_{wildcards.wave}"]
    return params_json(codebook=w["codebook"], thresholds=config["thresholds"], out_parquet=output.parquet,
                       out_log=output.log_json)


def cleaned_waves():
    return [f"data/processed/waves/{w['source']}/{w['wave']}.parquet" for w in config["waves"]]


def study_inputs():
    files = [str(STUDY.path), STUDY.spec["lookup"]]
    if isinstance(STUDY.spec["treated"], dict):
        files.append(STUDY.spec["treated"]["file"])
    return files


def estimate_outputs():
    return [f"{RES}/estimates/{c}/{o}.csv" for c in CITY_IDS for o in OUTCOMES]


STAGE_NOTEBOOKS = {
    "clean": [f"{RES}/notebooks/clean/{k}.ipynb" for k in WAVES],
    "panel": [f"{RES}/notebooks/panel/panel.ipynb"],
    "estimate": [f"{RES}/notebooks/estimate/{c}_{o}.ipynb" for c in CITY_IDS for o in OUTCOMES],
    "summary": [f"{RES}/notebooks/summary/summary.ipynb"],
    "figures": [f"{RES}/notebooks/figures/{c}.ipynb" for c in CITIES],
}
STAGES = list(STAGE_NOTEBOOKS)


wildcard_constraints:
    stage="|".join(STAGES),


def stage_notebooks(wildcards):
    return STAGE_NOTEBOOKS[wildcards.stage]


def all_results():
    """Everything the workflow publishes under results/<study> (the audit's input)."""
    return [f"{RES}/estimates.csv", f"{RES}/figures/overview.png", f"{RES}/notebooks/index.html",
            *[f"{RES}/figures/{c}/index.csv" for c in CITIES]]


def effect_report_outputs():
    """The summary's event-study and forest PNGs, one report category per city (ALL first)."""
    out = {}
    for c in CITY_IDS:
        out[f"event_{c}"] = report([f"{RES}/figures/{c}/event_{o}.png" for o in OUTCOMES],
                                   caption="../report/event.rst", category=c, subcategory="Event study")
        out[f"forest_{c}"] = report([f"{RES}/figures/{c}/forest_{o}.png" for o in OUTCOMES],
                                    caption="../report/forest.rst", category=c, subcategory="Estimators")
    return out


def all_outputs():
    return [*all_results(), f"{RES}/audit.txt"]


def panel_params(wildcards, input, output):
    return params_json(study_file=config["study"], waves=list(input.waves), out_respondents=output.respondents,
                       out_cells=output.cells, out_accounting=output.accounting, out_balance=output.balance)


def estimate_params(wildcards, input, output):
    return params_json(study=STUDY.name, city=wildcards.city, outcome=wildcards.outcome, cells_file=input.cells,
                       respondents_file=input.respondents, models=config["models"],
                       model_options=config["model_options"], inference=config["inference"], seed=config["seed"],
                       out_csv=output.csv)


def figures_params(wildcards, input, output):
    return params_json(study_file=config["study"], city=wildcards.city, cells_file=input.cells, outcomes=OUTCOMES,
                       min_cell_n=config["min_cell_n"], breaks=config["map_breaks"], language=config["language"],
                       out_dir=f"{RES}/figures/{wildcards.city}", out_index=output.index,
                       width=config["figure_width"])


def summary_params(wildcards, input, output, threads):
    truth = config.get("truth", "")
    return params_json(inputs=list(input.estimates), out_estimates=output.estimates, tables_dir=f"{RES}/tables",
                       language=config["language"], truth_file=truth, cells_file=input.cells,
                       study_file=config["study"], min_cell_n=config["min_cell_n"],
                       figures_dir=f"{RES}/figures", workers=threads)
