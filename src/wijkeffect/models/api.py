"""Estimators on any panel or repeated cross-section, named as in R `did`: the pipeline's wijk models are one use.

Columns: `yname` outcome, `tname` period, `idname` the unit whose effect is absorbed (a panel's
unit, or a repeated cross-section's group: wijk, county, school), `gname` the first treated
period (0 or missing = never treated), or `dname` a treatment indicator or share; `clustervar`
(default idname), `weightsname` (default equal weights), `covariates` (numbers as they are, text
or category columns as dummies). Every fit absorbs idname and tname effects and clusters with the
small-sample convention `ssc` (models.fe: "fixest" default, "reghdfe", "g_only"), t(G-1).

    >>> fit = twfe(df, yname="score", tname="year", idname="school", gname="first_year")
    >>> fit.tidy()
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import fdtrc, stdtr, stdtrit

from wijkeffect.errors import TooFewClusters, WijkeffectError
from wijkeffect.models.design import covariate_matrix
from wijkeffect.models.fe import check_ssc, codes, wls_absorb
from wijkeffect.models.inference import few_clusters

METHODS = ("dummies", "sunab")


@dataclass
class Result:
    """Coefficients of interest with their covariance, counts, and the labels a tidy row carries."""

    terms: list[str]
    estimate: np.ndarray
    vcov: np.ndarray
    n_obs: int
    n_units: int
    n_clusters: int
    n_treated_clusters: int
    inference: str
    weights: str
    covariates: list[str]
    tests: list[dict] = field(default_factory=list)  # joint tests: term, statistic, p_value, df1, df2
    detail: pd.DataFrame | None = None  # e.g. Sun-Abraham cohort x event-time effects and weights

    @property
    def df(self) -> int:
        """t degrees of freedom, G - 1."""
        return self.n_clusters - 1

    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """One row per term: estimate, std_error, t(G-1) CI and p-value, counts and the inference label."""
        se = self.se()
        crit = stdtrit(self.df, 0.5 + level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(se > 0, 2 * stdtr(self.df, -np.abs(self.estimate / se)), np.nan)
        return pd.DataFrame({"term": self.terms, "estimate": self.estimate, "std_error": se,
                             "ci_low": self.estimate - crit * se, "ci_high": self.estimate + crit * se,
                             "p_value": p, "n_obs": self.n_obs, "n_units": self.n_units,
                             "n_clusters": self.n_clusters, "inference": self.inference})

    def rows(self, ctx, model: str, *, weights: str | None = None, covariates: str | None = None) -> list[dict]:
        """Tidy rows of the results contract (models.tidy), joint tests last."""
        from wijkeffect.models.tidy import t_row

        common = dict(n_obs=self.n_obs, n_wijken=self.n_units, n_clusters=self.n_clusters,
                      inference=self.inference, weights=self.weights if weights is None else weights,
                      covariates="+".join(self.covariates) if covariates is None else covariates)
        out = [t_row(ctx, model, t, b, s, self.df, **common) for t, b, s in zip(self.terms, self.estimate, self.se())]
        for test in self.tests:
            row = t_row(ctx, model, test["term"], test["statistic"], np.nan, self.df, **common)
            row.update(std_error=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=test["p_value"],
                       inference=f"{self.inference} joint F({test['df1']},{test['df2']}) of leads")
            out.append(row)
        return out


# ----------------------------------------------------------------------------- shared steps
def _need(data: pd.DataFrame, **cols: str | None) -> None:
    """Every named column exists, or an error naming the argument and the column."""
    for arg, col in cols.items():
        if col is not None and col not in data:
            raise WijkeffectError(f"{arg}={col!r}: no such column; expected one of "
                                  f"{sorted(map(str, data.columns))[:20]}")


def _cohort(data: pd.DataFrame, gname: str) -> pd.Series:
    """First treated period per row, NaN for the never treated (gname 0 or missing)."""
    g = pd.to_numeric(data[gname], errors="coerce").astype(float)
    return g.where(g > 0)


def _weights(data: pd.DataFrame, weightsname: str | None) -> np.ndarray:
    return np.ones(len(data)) if weightsname is None else pd.to_numeric(data[weightsname]).to_numpy(float)


def cluster_counts(treated_unit: np.ndarray, clusters) -> tuple[int, int]:
    """(clusters holding a treated unit's rows, clusters holding a never-treated unit's rows)."""
    cl = codes(clusters)
    g = int(cl.max(initial=-1)) + 1
    return (int((np.bincount(cl[treated_unit], minlength=g) > 0).sum()),
            int((np.bincount(cl[~treated_unit], minlength=g) > 0).sum()))


def _levels(d: pd.DataFrame, idname: str, tname: str, clustervar: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense codes of unit, period and cluster (factorised once: Arrow strings are slow to convert)."""
    unit, period = codes(d[idname]), codes(d[tname])
    return unit, period, unit if clustervar == idname else codes(d[clustervar])


def _n_units(unit: np.ndarray, keep: np.ndarray | None) -> int:
    u = unit if keep is None else unit[keep]
    return int((np.bincount(u) > 0).sum()) if u.size else 0


def check_clusters(n_treated: int, n_control: int, clustervar: str, where: str) -> None:
    """Refuse cluster-robust inference that cannot exist: fewer than 2 treated or 2 control clusters."""
    if n_treated < 2 or n_control < 2:
        raise TooFewClusters(f"{where + ': ' if where else ''}{n_treated} treated and {n_control} control clusters "
                              f"({clustervar}); expected at least 2 of each for cluster-robust inference (with so few, "
                              "report a design-based comparison instead, or cluster at a level with more units)")


def _label(cluster_label: str, ssc: str, n_treated: int, few: int) -> str:
    return f"cluster_{cluster_label}_cr1_{ssc}{few_clusters(n_treated, few)}"


def _prepare(data, yname, tname, idname, clustervar, weightsname, covariates, extra):
    """Complete rows, outcome, weights, the covariate matrix, and the cluster column."""
    covariates = list(covariates or [])
    _need(data, yname=yname, tname=tname, idname=idname, clustervar=clustervar, weightsname=weightsname, **extra)
    d = data[data[yname].notna()].reset_index(drop=True)
    xc, names, ok = covariate_matrix(d, covariates)
    if not ok.all():
        d, xc = d[ok].reset_index(drop=True), xc[ok]
    return d, xc, names, covariates


# ----------------------------------------------------------------------------- estimators
def twfe(data: pd.DataFrame, yname: str, tname: str, idname: str, dname: str | None = None,
         gname: str | None = None, clustervar: str | None = None, weightsname: str | None = None,
         covariates: list[str] | tuple[str, ...] = (), ssc: str = "fixest", few: int = 10, where: str = "",
         cluster_label: str | None = None, weights_label: str | None = None) -> Result:
    """Two-way fixed effects DiD: y on D (dname, or t >= gname) and covariates, idname and tname absorbed."""
    check_ssc(ssc)
    if (dname is None) == (gname is None):
        raise WijkeffectError(f"twfe: give exactly one of dname (treatment column) or gname (first treated period); "
                              f"got dname={dname!r}, gname={gname!r}")
    clustervar = clustervar or idname
    d, xc, names, covariates = _prepare(data, yname, tname, idname, clustervar, weightsname, covariates,
                                        dict(dname=dname, gname=gname))
    if dname is not None:
        treat = pd.to_numeric(d[dname]).to_numpy(float)
        ever = d.groupby(idname, observed=True)[dname].transform("max").to_numpy(float) > 0
    else:
        g = _cohort(d, gname)
        t = pd.to_numeric(d[tname]).to_numpy(float)
        treat = (g.notna().to_numpy() & (t >= g.fillna(np.inf).to_numpy())).astype(float)
        ever = g.notna().to_numpy()
    if treat.max(initial=0) == 0:
        raise WijkeffectError(f"{where + ': ' if where else ''}no treated observation after the start; expected "
                              "treated units observed after their first treated period")
    unit, period, cl = _levels(d, idname, tname, clustervar)
    nt, nc = cluster_counts(ever, cl)
    check_clusters(nt, nc, clustervar, where)
    x = np.column_stack([treat, xc])
    fit = wls_absorb(d[yname].to_numpy(float), x, _weights(d, weightsname), [unit, period], cl, ssc=ssc)
    return Result(["D", *names], fit.params, fit.vcov, fit.n_obs, _n_units(unit, fit.keep), fit.n_clusters,
                  nt, _label(cluster_label or clustervar, ssc, nt, few),
                  weights_label or (weightsname or "none"), covariates)


def twfe_individual(data: pd.DataFrame, yname: str, tname: str, idname: str, dname: str | None = None,
                    gname: str | None = None, **kwargs) -> Result:
    """twfe on unit-level rows (respondents, pupils) of a repeated cross-section: the same estimator."""
    return twfe(data, yname, tname, idname, dname=dname, gname=gname, **kwargs)


def event_time(data: pd.DataFrame, tname: str, gname: str) -> pd.Series:
    """Periods since the first treated period, counted in observed periods (NaN for the never treated)."""
    periods = np.sort(pd.to_numeric(data[tname]).unique().astype(float))
    pos_t = np.searchsorted(periods, pd.to_numeric(data[tname]).to_numpy(float))
    g = _cohort(data, gname)
    pos_g = np.searchsorted(periods, g.fillna(0).to_numpy(), side="left").astype(float)
    return pd.Series(np.where(g.notna(), pos_t - pos_g, np.nan), index=data.index)


def event_study(data: pd.DataFrame, yname: str, tname: str, idname: str, gname: str,
                clustervar: str | None = None, weightsname: str | None = None,
                covariates: list[str] | tuple[str, ...] = (), ssc: str = "fixest", ref: int = -1,
                method: str = "dummies", pooled_post: bool = False, few: int = 10, where: str = "",
                cluster_label: str | None = None, weights_label: str | None = None) -> Result:
    """Leads and lags around each unit's first treated period, reference `ref`; joint F test of the leads.

    method "dummies": one coefficient per event time (pooled_post=True: one for all e >= 0).
    method "sunab": Sun and Abraham (2021) interaction-weighted: cohort x event-time coefficients
    against the never treated, averaged per event time with the cohorts' shares of weight at that
    event time; term "att" averages all post cells (e >= 0) the same way. Always-treated cohorts
    (no period before the first treated one) are dropped, as Sun and Abraham require.
    """
    check_ssc(ssc)
    if method not in METHODS:
        raise WijkeffectError(f"event_study: method {method!r}; expected one of {list(METHODS)}")
    if method == "sunab" and pooled_post:
        raise WijkeffectError("event_study: pooled_post=True with method 'sunab'; expected one of them (the "
                              "interaction-weighted pooled effect is the 'att' row)")
    clustervar = clustervar or idname
    d, xc, names, covariates = _prepare(data, yname, tname, idname, clustervar, weightsname, covariates,
                                        dict(gname=gname))
    k = event_time(d, tname, gname)
    if method == "sunab":
        periods = np.sort(pd.to_numeric(d[tname]).unique().astype(float))
        always = (_cohort(d, gname) <= periods[0]).to_numpy()  # treated from the first period on: no pre period
        keep = ~always
        d, xc, k = d[keep].reset_index(drop=True), xc[keep], k[keep].reset_index(drop=True)
    if not (k >= 0).any():
        raise WijkeffectError(f"{where + ': ' if where else ''}no treated unit is observed after its start; "
                              "expected at least one post-start period")
    ever = k.notna().to_numpy()
    unit, period, cl = _levels(d, idname, tname, clustervar)
    nt, nc = cluster_counts(ever, cl)
    check_clusters(nt, nc, clustervar, where)
    w = _weights(d, weightsname)
    g = _cohort(d, gname)
    if method == "sunab":
        cells = pd.DataFrame({"g": g, "e": k, "w": w})[ever & (k != ref).to_numpy()]
        combos = cells.groupby(["g", "e"]).agg(weight=("w", "sum")).reset_index()
        cols = [((g == c) & (k == e)).to_numpy(float) for c, e in zip(combos["g"], combos["e"])]
    elif pooled_post:
        evs, cols = [0], [(k >= 0).to_numpy(float)]
    else:
        evs = sorted(int(v) for v in k.dropna().unique() if v != ref)
        cols = [(k == v).to_numpy(float) for v in evs]
    x = np.column_stack([*cols, xc])
    fit = wls_absorb(d[yname].to_numpy(float), x, w, [unit, period], cl, ssc=ssc)
    nk = len(cols)
    beta, vcov = fit.params[:nk], fit.vcov[:nk, :nk]
    detail = None
    if method == "sunab":
        combos["estimate"], combos["std_error"] = beta, np.sqrt(np.maximum(np.diag(vcov), 0))
        combos["share"] = combos["weight"] / combos.groupby("e")["weight"].transform("sum")
        evs = sorted(int(v) for v in combos["e"].unique())
        r = np.array([np.where(combos["e"] == e, combos["share"], 0.0) for e in evs])
        post = (combos["e"] >= 0).to_numpy()
        att = np.where(post, combos["weight"], 0.0) / combos.loc[post, "weight"].sum()
        r = np.vstack([r, att])
        terms = [f"k={e}" for e in evs] + ["att"]
        beta, vcov, detail = r @ beta, r @ vcov @ r.T, combos
    else:
        terms = ["post"] if pooled_post else [f"k={e}" for e in evs]
    tests = []
    leads = [i for i, t in enumerate(terms) if t.startswith("k=-")]
    if leads:
        b, v = beta[leads], vcov[np.ix_(leads, leads)]
        f_stat = float(b @ np.linalg.pinv(v) @ b) / len(leads)
        tests.append(dict(term="pretrend_wald", statistic=f_stat, p_value=float(fdtrc(len(leads), fit.df, f_stat)),
                          df1=len(leads), df2=fit.df))
    label = _label(cluster_label or clustervar, ssc, nt, few)
    return Result(terms, np.asarray(beta), np.asarray(vcov), fit.n_obs, _n_units(unit, fit.keep),
                  fit.n_clusters, nt, label, weights_label or (weightsname or "none"), covariates, tests, detail)


def post_difference(data: pd.DataFrame, yname: str, tname: str, idname: str, dname: str,
                    clustervar: str | None = None, weightsname: str | None = None, ssc: str = "fixest",
                    few: int = 10, where: str = "", cluster_label: str | None = None,
                    weights_label: str | None = None) -> Result:
    """Treated-after-start minus never-treated rows of the same periods (no effects absorbed), clustered."""
    check_ssc(ssc)
    clustervar = clustervar or idname
    d, _, _, _ = _prepare(data, yname, tname, idname, clustervar, weightsname, [], dict(dname=dname))
    dv = pd.to_numeric(d[dname]).to_numpy(float)
    ever = d.groupby(idname, observed=True)[dname].transform("max").to_numpy(float) > 0
    post_t = d.loc[dv > 0, tname].unique()
    keep = d[tname].isin(post_t).to_numpy() & (~ever | (dv > 0))
    d, ever = d[keep].reset_index(drop=True), ever[keep]
    if not ever.any():
        raise WijkeffectError(f"{where + ': ' if where else ''}no treated observation after the start")
    nt, nc = cluster_counts(ever, d[clustervar].to_numpy())
    check_clusters(nt, nc, clustervar, where)
    fit = wls_absorb(d[yname].to_numpy(float), ever.astype(float)[:, None], _weights(d, weightsname), [],
                     d[clustervar].to_numpy(), ssc=ssc)
    return Result(["treated"], fit.params, fit.vcov, fit.n_obs, int(d[idname].nunique()), fit.n_clusters, nt,
                  _label(cluster_label or clustervar, ssc, nt, few), weights_label or (weightsname or "none"), [])
