rule panel:
    """Link waves to the reference indeling, attach treatment, build wijk x wave cells."""
    input:
        **panel_inputs(),
    output:
        respondents=directory(f"{PROC}/respondents"),
        cells=f"{PROC}/wijk_period.parquet",
        accounting=f"{RES}/panel_accounting.csv",
        balance=f"{RES}/balance.csv",
        nb=f"{RES}/notebooks/panel/panel.ipynb",
    params:
        p=panel_params,
    log:
        f"logs/{STUDY.name}/panel.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"
