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
    # the summary waits on every estimate job and nothing waits on figures but the end: estimates first,
    # so the summary runs beside the last figures jobs instead of after them
    priority: 10
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"
