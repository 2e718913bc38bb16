# Specification sweep (config `sweep:`): every point of the grid is a named spec, with outputs under
# results/<study>/sweep/<spec>/ (Paramspace-style). Specs that agree on the panel's choices share one
# panel; the default spec's panel is the main one. Jobs are plain processes; the sweep's summary notebook
# shows every specification curve. Adding a spec or a city runs only the new jobs.
from wijkeffect import sweep as _sweep

SWEEP_SPECS = {s.id: s for s in _sweep.expand(config, STUDY.spec)}
SWEEP_PANELS = _sweep.representatives(list(SWEEP_SPECS.values()), "panel")
SWEEP_CITIES = list(next(iter(SWEEP_SPECS.values())).cities or ["ALL"])
SWEEP = f"{RES}/sweep"
# the inferential specification curve: every spec's estimate job also refits its curve models in `reps`
# null draws (treatment relabelled among wijken, the same relabelling for every spec of a draw)
SWEEP_PERM = _sweep.permutations(config)
# said in the sweep notebook when the test does not run (a published small-area panel has no respondents
# to rebuild the panel from: sweep.permutations is then off)
SWEEP_NULL_OFF = ("the study's panel is published small-area estimates (source: statline), with no respondent "
                  "waves to rebuild it from under permuted treatment" if IS_STATLINE and SWEEP_PERM["reps"]
                  else "config sweep.permutations.reps is 0" if not SWEEP_PERM["reps"] else "")
SWEEP_NULL = not SWEEP_NULL_OFF


wildcard_constraints:
    spec=_sweep.SPEC_ID,
    pkey=_sweep.SPEC_ID,


def _sweep_config(spec_id):
    return _sweep.apply(SWEEP_SPECS[spec_id], config, STUDY.spec)


def sweep_panel_params(pkey):
    cfg, study = _sweep_config(SWEEP_PANELS[pkey].id)
    return param_file(f"sweep_panel_{pkey}", study=study, thresholds=cfg["thresholds"],
                      base_thresholds=config["thresholds"], waves=cleaned_waves())


def sweep_panel_param_file(wildcards):
    return sweep_panel_params(wildcards.pkey)


def sweep_summary_params(wildcards, input, output):
    return params_json(inputs=list(input.estimates), out_estimates=output.estimates, out_specs=output.specs,
                       tables_dir=output.tables, figures_dir=f"{SWEEP}/figures", study_file=config["study"],
                       language=config["language"], formats=FORMATS,
                       specs=_sweep.specs_table(list(SWEEP_SPECS.values())).to_dict("list"),
                       null_inputs=list(input.nulls), permutations=SWEEP_PERM if SWEEP_NULL else {},
                       permutations_off=SWEEP_NULL_OFF)


def sweep_summary_param_file(wildcards):
    return param_file("sweep_summary", specs=_sweep.specs_table(list(SWEEP_SPECS.values())).to_dict("list"),
                      cities=SWEEP_CITIES, language=config["language"], formats=FORMATS,
                      permutations=SWEEP_PERM if SWEEP_NULL else {}, permutations_off=SWEEP_NULL_OFF)


def sweep_panel_dir(spec_id):
    """The panel a spec needs: the main one for the default choices, else its own under the sweep."""
    pkey = _sweep.panel_key(SWEEP_SPECS[spec_id])
    return PROC if pkey == "default" else f"{PROC}/sweep/{pkey}"


def sweep_estimate_params(wildcards):
    s = SWEEP_SPECS[wildcards.spec]
    cfg, study = _sweep_config(s.id)
    null = {}
    if SWEEP_NULL:  # what the null draws rebuild the spec's panel from (sweep_stages.null_estimates)
        null = dict(permutations=SWEEP_PERM, null=dict(study=study, study_file=config["study"],
                                                       thresholds=cfg["thresholds"],
                                                       base_thresholds=config["thresholds"]))
    return param_file(f"sweep_estimate_{s.id}_{wildcards.city}", study=STUDY.name, models=cfg["models"],
                      model_options=cfg["model_options"], inference=cfg["inference"], seed=cfg["seed"],
                      outcomes=_sweep.outcomes_for(s, OUTCOMES), **null)


def sweep_estimate_inputs(wildcards):
    d = sweep_panel_dir(wildcards.spec)
    out = dict(cells=f"{d}/wijk_period.parquet", respondents=f"{d}/respondents",
               params=sweep_estimate_params(wildcards))
    if SWEEP_NULL:
        out.update(waves=cleaned_waves(), study=study_inputs())
    return out


def sweep_estimate_outputs():
    out = dict(estimates=f"{SWEEP}/{{spec}}/estimates/{{city}}.csv")
    if SWEEP_NULL:
        out["null"] = f"{SWEEP}/{{spec}}/null/{{city}}.csv"
    return out


def sweep_null_args(wildcards, input, output):
    """The estimate job's extra arguments when the permutation test is on: where its null draws go, and the
    cleaned waves the spec's panel is rebuilt from in each draw."""
    return f"--null-out {output.null} {' '.join(input.waves)}" if SWEEP_NULL else ""


def sweep_estimates():
    return [f"{SWEEP}/{s}/estimates/{c}.csv" for s in SWEEP_SPECS for c in SWEEP_CITIES]


def sweep_nulls():
    return [f"{SWEEP}/{s}/null/{c}.csv" for s in SWEEP_SPECS for c in SWEEP_CITIES] if SWEEP_NULL else []


def sweep_figures():
    return [f"{SWEEP}/figures/{c}/speccurve_{o}.png" for c in SWEEP_CITIES for o in OUTCOMES]


def _register_sweep_params():
    from types import SimpleNamespace as W

    for pkey in SWEEP_PANELS:
        if pkey != "default":
            sweep_panel_params(pkey)
    for s in SWEEP_SPECS:
        for c in SWEEP_CITIES:
            sweep_estimate_params(W(spec=s, city=c))


_register_sweep_params()
sweep_summary_param_file(None)


rule sweep_panel:
    """One panel per distinct set of panel choices (thresholds, controls, starts) of the sweep."""
    input:
        waves=cleaned_waves(),
        study=study_inputs(),
        params=sweep_panel_param_file,
    output:
        cells=f"{PROC}/sweep/{{pkey}}/wijk_period.parquet",
        respondents=directory(f"{PROC}/sweep/{{pkey}}/respondents"),
    log:
        f"logs/{STUDY.name}/sweep/panel_{{pkey}}.log",
    shell:
        "{PYTHON} -m wijkeffect.sweep_stages panel --params {input.params} --out {PROC}/sweep/{wildcards.pkey} "
        "{input.waves} > {log} 2>&1 || (tail -5 {log} >&2; exit 1)"


rule sweep_estimate:
    """One spec x city: the spec's models and options (tidy rows carry the spec id); with the permutation test
    on, also the spec's curve models in every null draw (one job per spec: adding a spec adds one job)."""
    input:
        unpack(sweep_estimate_inputs),
    output:
        **sweep_estimate_outputs(),
    params:
        null=sweep_null_args,
    log:
        f"logs/{STUDY.name}/sweep/estimate_{{spec}}_{{city}}.log",
    shell:
        "{PYTHON} -m wijkeffect.sweep_stages estimate --params {input.params} --spec {wildcards.spec} "
        "--city {wildcards.city} --cells {input.cells} --respondents {input.respondents} "
        "--out {output.estimates} {params.null} > {log} 2>&1 || (tail -5 {log} >&2; exit 1)"


rule sweep_summary:
    """Every spec's rows (with the values that define each spec), specification curves, tables, notebook."""
    input:
        nb="notebooks/sweep.ipynb",
        estimates=sweep_estimates(),
        nulls=sweep_nulls(),
        params=sweep_summary_param_file,
    output:
        estimates=f"{SWEEP}/estimates.csv",
        specs=f"{SWEEP}/specs.csv",
        tables=directory(f"{SWEEP}/tables"),
        figures=report(sweep_figures(), caption="../report/speccurve.rst", category="Sweep",
                       subcategory="Specification curves"),
        nb=f"{RES}/notebooks/sweep/sweep.ipynb",
    params:
        p=sweep_summary_params,
    log:
        f"logs/{STUDY.name}/sweep/summary.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"
