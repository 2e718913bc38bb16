rule estimate:
    """Fit the configured models for one city (or ALL cities pooled), every outcome in its own section; its figures."""
    input:
        **estimate_inputs(),
        params=estimate_param_file,
    output:
        csv=f"{RES}/estimates/{{city}}.csv",
        nb=f"{RES}/notebooks/estimate/{{city}}.ipynb",
        **estimate_figure_outputs(),
    params:
        p=estimate_params,
    log:
        f"logs/{STUDY.name}/estimate/{{city}}.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"
