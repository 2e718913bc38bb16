rule stage_params:
    """A stage's config values, written when they change (the file's name is their hash; see common.smk)."""
    output:
        f"{PARAMS}/{{key}}.json",
    localrule: True
    run:
        write_stage_params(output[0], wildcards.key)
