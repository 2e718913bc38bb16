# Helpers shared by the rules: the study, the wildcards' values, notebook parameters and parameter files.
import json
import shlex
import sys
from pathlib import Path

from wijkeffect.codebook import load_codebook
from wijkeffect.config import params_key, write_params
from wijkeffect.errors import WijkeffectError
from wijkeffect.paths import relative
from wijkeffect.yamlio import safe_load
from wijkeffect.study import load_study, validate_tables

STUDY = load_study(config["study"])
IS_STATLINE = STUDY.spec.get("source") == "statline"
if not IS_STATLINE:
    validate_tables(STUDY)  # lookup, intervention list and crosswalks are checked before any wave is cleaned
    if len(config.get("waves") or []) < 2:
        raise WijkeffectError(f"config: key waves: {len(config.get('waves') or [])} waves for survey study "
                              f"{STUDY.name}; expected at least 2 entries {{source, wave, codebook}}")
RES = f"results/{STUDY.name}"
PROC = f"data/processed/{STUDY.name}"
PARAMS = f"{PROC}/params"
PYTHON = sys.executable
# --html: each job writes its notebook's HTML copies (0.3 s), so a stage's notebooks_html only links them
NOTEBOOK = f"{PYTHON} -m wijkeffect.notebook --html"
FIRST_PAGE = f"{RES}/report/first_page.html"
# the report's first page (workflow/report/workflow.rst) includes it, once the summary has written it
config["report_first_page"] = FIRST_PAGE if Path(FIRST_PAGE).exists() else "workflow/report/no_verdict.html"
HAS_GEOMETRY = "geometry" in STUDY.spec
# png is always written: the report and the notebooks show it
FORMATS = list(dict.fromkeys([*config.get("figure_formats", ["pdf", "svg", "png"]), "png"]))


def _subset(key, allowed):
    chosen = config.get(key) or allowed
    bad = [x for x in chosen if x not in allowed]
    if bad:
        raise WijkeffectError(f"config: key {key}: {bad} not in study {STUDY.name} ({STUDY.path}); expected a subset of {allowed}")
    return list(chosen)


CITIES = _subset("cities", STUDY.cities)
OUTCOMES = _subset("outcomes", STUDY.outcomes)
CITY_IDS = (["ALL"] if config.get("pooled", True) else []) + CITIES


def _batches(cities, size):
    """Cities per notebook job: one each by default (the job id is the city); groups of `size` (ids B001...)
    when the fixed cost of a notebook per city would dominate (national scale, config batch_cities)."""
    if size <= 1:
        return {c: [c] for c in cities}
    return {f"B{i // size + 1:03d}": cities[i:i + size] for i in range(0, len(cities), size)}


BATCH_SIZE = int(config.get("batch_cities", 1))
FIGURE_JOBS = _batches(CITIES, BATCH_SIZE)
ESTIMATE_JOBS = ({"ALL": ["ALL"]} if config.get("pooled", True) else {}) | _batches(CITIES, BATCH_SIZE)
WAVES = {} if IS_STATLINE else {f"{w['source']}_{w['wave']}": w for w in config["waves"]}
CODEBOOKS = {key: load_codebook(w["codebook"]) for key, w in WAVES.items()}


wildcard_constraints:
    source="[A-Za-z0-9_-]+",
    wave="[0-9]{4}",
    city="ALL|GM[0-9]{4}|B[0-9]{3}",


def params_json(**kw):
    """Notebook parameters as one shell-quoted JSON object."""
    return shlex.quote(json.dumps(kw))


def param_file(name, **values):
    """A stage's config values as an input file named by their hash (wijkeffect.config.params_key).

    The file is written when the workflow names it (at parse time, before any job), and only when it is
    missing or its content differs: a config edit names a new file, so exactly the dependent jobs rerun,
    and no job is spent on staging values (a job per file cost a Snakemake subprocess, about 5 s each).
    A dry run (-n) writes only the parameter files of values not seen before; no output changes.
    """
    key = params_key(name, values)
    path = f"{PARAMS}/{key}.json"
    write_params(path, values)
    return path


def codebook_chain(path):
    """A codebook and every base it extends: editing any of them reruns the wave."""
    files, here = [str(path)], Path(path)
    while True:
        data = safe_load(here.read_text(encoding="utf-8")) or {}
        if "extends" not in data:
            return files
        here = (here.parent / str(data["extends"])).resolve()
        files.append(str(here))


def wave_codebook(wildcards):
    key = f"{wildcards.source}_{wildcards.wave}"
    cb = CODEBOOKS[key]
    return [*codebook_chain(cb.path), str(cb.file),
            param_file(f"clean_{key}", thresholds=config["thresholds"], codebook=WAVES[key]["codebook"])]


def clean_params(wildcards, output):
    w = WAVES[f"{wildcards.source}_{wildcards.wave}"]
    return params_json(codebook=w["codebook"], thresholds=config["thresholds"], out_parquet=output.parquet,
                       out_log=output.log_json)


def cleaned_waves():
    return [f"data/processed/waves/{w['source']}/{w['wave']}.parquet" for w in config["waves"]]


def study_inputs():
    geometry = STUDY.path_of("geometry") if HAS_GEOMETRY else None
    return [config["study"], *(relative(p) for p in STUDY.table_files() if p != geometry)]


def estimate_outputs():
    return [f"{RES}/estimates/{c}.csv" for c in ESTIMATE_JOBS]


STAGE_NOTEBOOKS = {
    "clean": [f"{RES}/notebooks/clean/{k}.ipynb" for k in WAVES],
    "panel": [f"{RES}/notebooks/panel/{'statline_panel' if IS_STATLINE else 'panel'}.ipynb"],
    "estimate": [f"{RES}/notebooks/estimate/{c}.ipynb" for c in ESTIMATE_JOBS],
    "summary": [f"{RES}/notebooks/summary/summary.ipynb"],
    "figures": [f"{RES}/notebooks/figures/{c}.ipynb" for c in FIGURE_JOBS],
}
if config.get("sweep"):
    STAGE_NOTEBOOKS["sweep"] = [f"{RES}/notebooks/sweep/sweep.ipynb"]
STAGE_NOTEBOOKS = {k: v for k, v in STAGE_NOTEBOOKS.items() if v}  # a statline study has no clean stage
STAGES = list(STAGE_NOTEBOOKS)


wildcard_constraints:
    stage="|".join(STAGES),


def stage_notebooks(wildcards):
    return STAGE_NOTEBOOKS[wildcards.stage]


def all_results():
    """Everything the workflow publishes under results/<study> (the audit's input)."""
    out = [f"{RES}/estimates.csv", f"{RES}/figures/overview.png", f"{RES}/notebooks/index.html",
           *[f"{RES}/figures/{c}/index.csv" for c in FIGURE_JOBS]]
    if config.get("sweep"):
        out.append(f"{RES}/sweep/estimates.csv")
    return out


def estimate_figure_outputs():
    """The estimate job's event-study, forest (and sensitivity) figures: their index, and per outcome the
    PNGs in the report under the city's category (in batches, listed in the batch's index only, as maps)."""
    out = dict(figures_index=f"{RES}/figures/effects/{{city}}.csv")
    if BATCH_SIZE <= 1:
        kinds = [("event", "event", "Event study"), ("forest", "forest", "Estimators")]
        if "sensitivity" in config["models"]:
            kinds.append(("sensitivity", "sensitivity", "Sensitivity"))
        for stem, caption, sub in kinds:
            out[stem] = report([f"{RES}/figures/{{city}}/{stem}_{o}.png" for o in OUTCOMES],
                               caption=f"../report/{caption}.rst", category="{city}", subcategory=sub)
    return out


def figures_outputs():
    """Per city: the figure index and notebook, and the change map when the study has wijk geometry."""
    out = dict(index=f"{RES}/figures/{{city}}/index.csv", nb=f"{RES}/notebooks/figures/{{city}}.ipynb")
    if HAS_GEOMETRY and BATCH_SIZE <= 1:  # in batches, maps are listed in each batch's index.csv
        out["map"] = report(f"{RES}/figures/{{city}}/map_{{city}}.png", caption="../report/map.rst",
                            category="{city}", subcategory="Map", labels={"city": "{city}", "figure": "change map"})
    return out


def regression_outputs():
    """Per outcome: the regression table (models as columns) in LaTeX and Markdown, and in HTML for the report."""
    out = {"regression": [f"{RES}/tables/regression_{o}.{e}" for o in OUTCOMES for e in ("tex", "md")]}
    for o in OUTCOMES:
        out[f"regression_{o}"] = report(f"{RES}/tables/regression_{o}.html", caption="../report/regression.rst",
                                        category="Tables", subcategory="Regression tables",
                                        labels={"outcome": o, "table": "regression"})
    return out


def referee_outputs():
    """Power: the MDE table and figure per outcome (sensitivity figures are the estimate jobs')."""
    out = {}
    if not IS_STATLINE:  # the MDE needs respondent-level variance; published estimates have none
        out["mde"] = [f"{RES}/power/mde_{o}.csv" for o in OUTCOMES]
        out["mde_figures"] = report([f"{RES}/power/mde_{o}.png" for o in OUTCOMES], caption="../report/power.rst",
                                    category="ALL", subcategory="Power")
    return out


def all_outputs():
    return [*all_results(), f"{RES}/audit.txt"]


def panel_inputs():
    return dict(nb="notebooks/panel.ipynb", waves=cleaned_waves(), study=study_inputs(),
                params=param_file("panel", waves=cleaned_waves(), study=config["study"]))


def panel_params(wildcards, input, output):
    return params_json(study_file=config["study"], waves=list(input.waves), out_respondents=output.respondents,
                       out_cells=output.cells, out_accounting=output.accounting, out_balance=output.balance)


def estimate_inputs():
    """Cells always; respondents and the balance table for survey studies (a statline study has no respondents)."""
    out = dict(nb="notebooks/estimate.ipynb", cells=f"{PROC}/wijk_period.parquet", balance=f"{RES}/balance.csv")
    if not IS_STATLINE:
        out["respondents"] = f"{PROC}/respondents"
    return out


def estimate_param_file(wildcards):
    return param_file(f"estimate_{wildcards.city}", models=config["models"], model_options=config["model_options"],
                      inference=config["inference"], seed=config["seed"], outcomes=OUTCOMES,
                      cities=ESTIMATE_JOBS[wildcards.city], min_cell_n=config["min_cell_n"],
                      language=config["language"], formats=FORMATS)  # shown: suppressed cells, labels, figures


def estimate_params(wildcards, input, output):
    return params_json(study=STUDY.name, cities=ESTIMATE_JOBS[wildcards.city], outcomes=OUTCOMES,
                       cells_file=input.cells,
                       respondents_dir=input.get("respondents", ""), models=config["models"],
                       model_options=config["model_options"], inference=config["inference"], seed=config["seed"],
                       balance_file=f"{RES}/balance.csv", min_cell_n=config["min_cell_n"],
                       language=config["language"], out_csv=output.csv, study_file=config["study"],
                       figures_dir=f"{RES}/figures", formats=FORMATS, out_figures_index=output.figures_index)


def figures_param_file(wildcards):
    return param_file(f"figures_{wildcards.city}", cities=FIGURE_JOBS[wildcards.city], outcomes=OUTCOMES,
                      min_cell_n=config["min_cell_n"],
                      breaks=config["map_breaks"], language=config["language"], width=config["figure_width"],
                      formats=FORMATS, geometry=STUDY.spec.get("geometry"))


def figures_params(wildcards, input, output):
    return params_json(study_file=config["study"], cities=FIGURE_JOBS[wildcards.city], cells_file=input.cells,
                       outcomes=OUTCOMES,
                       min_cell_n=config["min_cell_n"], breaks=config["map_breaks"], language=config["language"],
                       out_dir=f"{RES}/figures", out_index=output.index,
                       width=config["figure_width"], formats=FORMATS)


def summary_inputs():
    truth = [config["truth"]] if config.get("truth") else []
    return dict(nb="notebooks/summary.ipynb", estimates=estimate_outputs(), cells=f"{PROC}/wijk_period.parquet",
                figure_indexes=[f"{RES}/figures/effects/{c}.csv" for c in ESTIMATE_JOBS],
                truth=truth, params=param_file("summary", language=config["language"], truth=config.get("truth", ""),
                                               min_cell_n=config["min_cell_n"], formats=FORMATS, cities=CITIES,
                                               outcomes=OUTCOMES))


def summary_params(wildcards, input, output, threads):
    return params_json(inputs=list(input.estimates), out_estimates=output.estimates, tables_dir=f"{RES}/tables",
                       language=config["language"], truth_file=config.get("truth", ""), cells_file=input.cells,
                       study_file=config["study"], min_cell_n=config["min_cell_n"],
                       figures_dir=f"{RES}/figures", workers=threads, formats=FORMATS, first_page=output.first_page,
                       power_dir="" if IS_STATLINE else f"{RES}/power", figure_indexes=list(input.figure_indexes))


def _register_stage_params():
    """Write every stage's parameter file at parse time (input functions name the same files again)."""
    from types import SimpleNamespace as W

    for w in config.get("waves", []) if not IS_STATLINE else []:
        wave_codebook(W(source=w["source"], wave=str(w["wave"])))
    for c in ESTIMATE_JOBS:
        estimate_param_file(W(city=c))
    for c in FIGURE_JOBS:
        figures_param_file(W(city=c))


_register_stage_params()
