rule summary:
    """Collect all tidy rows into estimates.csv and write CSV, LaTeX and Markdown tables."""
    input:
        nb="notebooks/summary.ipynb",
        estimates=estimate_outputs(),
    output:
        estimates=f"{RES}/estimates.csv",
        tables=multiext(f"{RES}/tables/estimates", ".csv", ".md", ".tex"),
        nb=f"{RES}/notebooks/summary.ipynb",
    params:
        p=summary_params,
    log:
        f"logs/{STUDY.name}/summary.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} > {log} 2>&1"
