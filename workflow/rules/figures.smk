rule figures:
    """Trend figure per intervention wijk and outcome, and the city's change map."""
    input:
        nb="notebooks/figures.ipynb",
        cells=f"{PROC}/wijk_period.parquet",
        geometry=STUDY.spec.get("geometry", []),
    output:
        index=f"{RES}/figures/{{city}}/index.csv",
        nb=f"{RES}/notebooks/figures/{{city}}.ipynb",
    params:
        p=figures_params,
    log:
        f"logs/{STUDY.name}/figures/{{city}}.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} > {log} 2>&1"
