# wijkeffect workflow: raw monitor waves -> cleaned waves -> panel -> estimates -> figures and tables.
# The rules are thin: each runs one papermill notebook template from notebooks/ (see README).
from snakemake.utils import min_version, validate

from wijkeffect.codebook import refuse_todo
from wijkeffect.config import coerce_config
from wijkeffect.paths import skip_unused_optional_imports

min_version("9.0")
skip_unused_optional_imports()  # validate() imports jsonschema; its IRI checker (unused here) costs ~1.3 s per run


# The demo's config only when the user gives none: a user's --configfile stands alone (DESIGN §3).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


coerce_config(config)  # --config pooled=false, min_cell_n=5, ... typed as users write them
refuse_todo(config, ", ".join(map(str, workflow.overwrite_configfiles)) or "config/config.yaml")
validate(config, "workflow/schemas/config.schema.yaml", set_default=True)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


if IS_STATLINE:  # published small-area estimates: a wijk x year panel, no respondent waves

    include: "workflow/rules/statline.smk"

else:

    include: "workflow/rules/clean.smk"
    include: "workflow/rules/panel.smk"


include: "workflow/rules/estimate.smk"


if config.get("sweep"):

    include: "workflow/rules/sweep.smk"



include: "workflow/rules/figures.smk"
include: "workflow/rules/summary.smk"


onstart:
    # the notebook jobs' fork server (wijkeffect.forkserver) starts importing while the first jobs are
    # scheduled; jobs run on this machine only (a cluster's jobs each run in a process of their own)
    if workflow.local_exec:
        from wijkeffect import forkserver

        if forkserver.enabled():
            forkserver.start_server(forkserver.job_env(threads=1))  # the notebook rules' threads


rule all:
    input:
        all_outputs(),
    default_target: True
