rule estimate:
    """Fit the configured models for one city (or ALL cities pooled) and one outcome."""
    input:
        nb="notebooks/estimate.ipynb",
        cells=f"{PROC}/wijk_period.parquet",
        respondents=f"{PROC}/respondents.parquet",
    output:
        csv=f"{RES}/estimates/{{city}}/{{outcome}}.csv",
        nb=f"{RES}/notebooks/estimate/{{city}}_{{outcome}}.ipynb",
    params:
        p=estimate_params,
    log:
        f"logs/{STUDY.name}/estimate/{{city}}_{{outcome}}.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} > {log} 2>&1"
