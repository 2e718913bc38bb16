rule summary:
    """Collect all tidy rows into estimates.csv; tables; the overview figure, the power stage, the first page."""
    input:
        **summary_inputs(),
    output:
        estimates=report(f"{RES}/estimates.csv", caption="../report/tables.rst", category="Tables"),
        tables=multiext(f"{RES}/tables/estimates", ".csv", ".md", ".tex"),
        prevalence=report(f"{RES}/tables/prevalence.csv", caption="../report/tables.rst", category="Tables"),
        overview=report(f"{RES}/figures/overview.png", caption="../report/overview.rst",
                        category="ALL", subcategory="Overview"),
        effects_index=f"{RES}/figures/effects_index.csv",
        first_page=FIRST_PAGE,
        **referee_outputs(),
        **regression_outputs(),
        nb=f"{RES}/notebooks/summary/summary.ipynb",
    params:
        p=summary_params,
    threads: 1  # the effect figures are drawn by the estimate jobs; 2 made it wait for a free core pair
    priority: 10  # as the estimate jobs: before the figures jobs that are still waiting
    log:
        f"logs/{STUDY.name}/summary.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"


rule audit:
    """Disclosure audit of everything under results/<study>: the last rule of the workflow."""
    input:
        all_results(),
        param_file("audit", min_cell_n=config["min_cell_n"]),
    output:
        f"{RES}/audit.txt",
    params:
        min_cell_n=config["min_cell_n"],
    log:
        f"logs/{STUDY.name}/audit.log",
    shell:
        "{PYTHON} -m wijkeffect.audit {RES} --min-cell-n {params.min_cell_n} --out {output} 2>&1 | tee {log}"
