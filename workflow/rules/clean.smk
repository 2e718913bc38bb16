rule clean_wave:
    """Harmonise one wave to the respondent schema via its codebook; counts every exclusion."""
    input:
        nb="notebooks/clean_wave.ipynb",
        codebook=wave_codebook,
    output:
        parquet="data/processed/waves/{source}/{wave}.parquet",
        log_json=f"{RES}/clean/{{source}}_{{wave}}.json",
        nb=f"{RES}/notebooks/clean/{{source}}_{{wave}}.ipynb",
    params:
        p=clean_params,
    log:
        f"logs/{STUDY.name}/clean/{{source}}_{{wave}}.log",
    shell:
        "{NOTEBOOK} {input.nb} {output.nb} -p {params.p} --log {log}"
