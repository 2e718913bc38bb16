rule figures:
    """Per city: a trend figure per intervention wijk, and the change map."""
    input:
        nb="notebooks/figures.ipynb",
        cells=f"{PROC}/wijk_period.parquet",
        geometry=STUDY.spec.get("geometry", []),
        params=figures_param_file,
    output:
        **figures_outputs(),
    params:
        p=figures_params,
    log:
        f"logs/{STUDY.name}/figures/{{city}}.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"


rule notebooks_html:
    """HTML copies (with and without code) of one stage's executed notebooks and their index page."""
    input:
        stage_notebooks,
    output:
        f"{RES}/notebooks/{{stage}}/index.html",
    log:
        f"logs/{STUDY.name}/notebooks_html_{{stage}}.log",
    shell:
        "{PYTHON} -m wijkeffect.notebook html {output} {input} > {log} 2>&1"


rule notebooks_index:
    """One page linking every stage's notebooks, for reviewers."""
    input:
        [f"{RES}/notebooks/{s}/index.html" for s in STAGES],
    output:
        f"{RES}/notebooks/index.html",
    shell:
        "{PYTHON} -m wijkeffect.notebook index {output} {input}"
