"""`naive`: post-period treated-vs-control difference, the comparison a DiD exists to avoid.

Reported beside `twfe` so readers see how much the level difference between deprived treated
wijken and their controls would bias a cross-sectional comparison (models.api.post_difference).
"""

from __future__ import annotations

import pandas as pd

from wijkeffect.models import api
from wijkeffect.models.tidy import Context
from wijkeffect.models.twfe import cluster_column, study_cells, where


def naive_post_difference(cells: pd.DataFrame, ctx: Context, cluster: str = "wijk", ssc: str = "fixest",
                          few_clusters: int = 10) -> list[dict]:
    """Weighted mean of treated post-start cells minus control cells of the same waves, clustered."""
    d = study_cells(cells, ctx)
    fit = api.post_difference(d, "mean", "wave", "wijk_code", "D", clustervar=cluster_column(cluster),
                              weightsname="n", ssc=ssc, few=few_clusters, where=where(ctx), cluster_label=cluster,
                              weights_label="cell_n (survey-weighted cell means)")
    return fit.rows(ctx, "naive")
