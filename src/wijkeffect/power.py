"""Minimum detectable effects for a wijk DiD design, allowing arbitrary serial correlation (BPW 2020).

Burlig, Preonas and Woerman (2020, J. Dev. Econ. 144, 102458) show that with unit and period
effects, m pre- and r post-periods and a share P of J units treated, the DiD estimator has

    Var(beta) = [ (m+r)/(m r) s2 + (m-1)/m psi_B + (r-1)/r psi_A - 2 psi_X ] / (P (1-P) J)

where s2 is the variance of a unit-period error and psi_B, psi_A, psi_X the average covariances
between distinct pre-periods, distinct post-periods, and pre x post periods: no single serial
correlation is assumed. Here a unit is a wijk and its period error a wijk-wave cell mean, the sum of
a wijk-wave effect (covariance matrix Sigma_u over waves, any pattern) and the sampling error of
n respondents (variance (1 - icc) var_y * deff / n, deff the weighting design effect). The bracket
equals a' Sigma a with a = (-1/m, ..., 1/r, ...), which is how it is computed; MDE = (t_{power} +
t_{1-alpha/2}) sqrt(Var), t with J - 1 degrees of freedom (CR1 cluster-robust inference, G - 1).

Inputs can be estimated from a study's untreated cells (`design_from_cells`): the wave-demeaned
cell means' covariance across wijken gives Sigma_u (sampling error is independent across waves,
so it only enters the diagonal, where it is subtracted).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from wijkeffect.errors import WijkeffectError


@dataclass(frozen=True)
class Design:
    """A DiD design and its variance components (outcome units; proportions for binary outcomes)."""

    n_treated: int
    n_control: int
    n_per_cell: float  # respondents per wijk-wave
    pre: int  # waves before the start
    post: int  # waves after
    var_y: float  # individual-level outcome variance
    icc: float  # share of var_y between wijk-wave cells
    lag_corr: tuple[float, ...] = ()  # correlation of wijk-wave effects at lags 1, 2, ... (last value repeats)
    deff: float = 1.0  # weighting design effect n / n_eff
    sigma_u: np.ndarray | None = field(default=None, compare=False)  # full (pre+post) covariance; overrides icc/lag_corr

    def cell_cov(self) -> np.ndarray:
        """Covariance over the pre + post waves of one wijk's cell means."""
        t = self.pre + self.post
        if self.sigma_u is not None:
            su = np.asarray(self.sigma_u, float)
            if su.shape != (t, t):
                raise WijkeffectError(f"power design: sigma_u has shape {su.shape}; expected ({t}, {t}) "
                                      f"for pre={self.pre}, post={self.post}")
        else:
            lags = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
            rho = np.r_[1.0, self.lag_corr] if self.lag_corr else np.r_[1.0, 0.0]
            r = rho[np.minimum(lags, rho.size - 1)]
            su = self.icc * self.var_y * r
        return su + np.eye(t) * (1 - self.icc) * self.var_y * self.deff / self.n_per_cell


def _check(d: Design) -> None:
    bad = {k: v for k, v in dict(n_treated=d.n_treated, n_control=d.n_control, pre=d.pre, post=d.post).items()
           if v < 1}
    if bad or d.n_per_cell <= 0 or not 0 <= d.icc < 1 or d.var_y <= 0:
        raise WijkeffectError(f"power design: {bad or d}; expected at least one treated and control wijk and one "
                              "wave before and after, n_per_cell > 0, 0 <= icc < 1, var_y > 0")


def did_variance(d: Design) -> float:
    """Var of the DiD estimate: a' Sigma a (1/J_T + 1/J_C), the BPW formula written with the full covariance."""
    _check(d)
    a = np.r_[np.full(d.pre, -1 / d.pre), np.full(d.post, 1 / d.post)]
    return float(a @ d.cell_cov() @ a) * (1 / d.n_treated + 1 / d.n_control)


def bpw_components(d: Design) -> dict[str, float]:
    """s2, psi_B, psi_A, psi_X of BPW's formula (averages of the cell-mean covariance), for reporting."""
    s = d.cell_cov()
    m, r = d.pre, d.post
    pre, post = s[:m, :m], s[m:, m:]
    off = lambda x: (x.sum() - np.trace(x)) / (x.shape[0] * (x.shape[0] - 1)) if x.shape[0] > 1 else 0.0  # noqa: E731
    return dict(s2=float(np.trace(s) / s.shape[0]), psi_B=float(off(pre)), psi_A=float(off(post)),
                psi_X=float(s[:m, m:].mean()))


def mde(d: Design, power: float = 0.8, alpha: float = 0.05) -> float:
    """Minimum detectable effect (two-sided test of size alpha, t with J - 1 df)."""
    df = d.n_treated + d.n_control - 1
    return float((stdtrit(df, power) + stdtrit(df, 1 - alpha / 2)) * np.sqrt(did_variance(d)))


def design_from_cells(cells: pd.DataFrame, outcome: str, n_treated: int | None = None,
                      pre: int | None = None, post: int | None = None) -> Design:
    """Variance components from a study's untreated cells (D == 0) of one outcome; design sizes from the study.

    Sigma_u: covariance across wijken of wave-demeaned cell means (pairs of waves where both are
    observed), diagonal minus the mean sampling variance se^2; averaged by lag into lag_corr.
    """
    c = cells[(cells["outcome"] == outcome)]
    if c.empty:
        raise WijkeffectError(f"power: no cells for outcome {outcome!r}; expected one of "
                              f"{sorted(cells['outcome'].unique())}")
    u = c[c["D"] == 0]
    wide = u.pivot_table(index="wijk_code", columns="wave", values="mean")
    waves = list(wide.columns)
    if len(waves) < 2:
        raise WijkeffectError(f"power, outcome {outcome}: untreated cells in waves {waves}; expected at least two")
    e = wide - wide.mean(axis=0)
    samp = float((u["se"] ** 2).mean())
    cov = e.cov(min_periods=3).to_numpy()
    var_u = float(np.nanmean(np.diag(cov)) - samp)
    within = float((u["se"] ** 2 * u["n_eff"]).mean())
    deff = float(u["n"].sum() / u["n_eff"].sum())
    var_u = max(var_u, 1e-12)
    idx = np.arange(len(waves))
    lag = np.abs(np.subtract.outer(idx, idx))
    corr = [float(np.clip(np.nanmean(cov[lag == k]) / var_u, -1, 1)) for k in range(1, len(waves))]
    corr = [v for v in corr if np.isfinite(v)]
    tr = c[c["role"] == "treated"]
    n_tr = n_treated or int(tr["wijk_code"].nunique()) or 1
    n_co = int(c.loc[c["role"] == "control", "wijk_code"].nunique()) or 1
    first = tr[tr["D"] > 0].groupby("wijk_code")["wave"].min()
    all_waves = sorted(c["wave"].unique())
    if pre is None or post is None:
        if len(first):
            start = first.min()
            pre_n, post_n = sum(w < start for w in all_waves), sum(w >= start for w in all_waves)
        else:
            pre_n, post_n = len(all_waves) - 1, 1
        pre, post = int(pre or max(pre_n, 1)), int(post or max(post_n, 1))
    return Design(n_treated=n_tr, n_control=n_co, n_per_cell=float(c["n"].mean()), pre=pre, post=post,
                  var_y=within + var_u, icc=var_u / (within + var_u), lag_corr=tuple(corr), deff=deff)


def mde_table(cells: pd.DataFrame, outcomes: list[str] | None = None, power: float = 0.8, alpha: float = 0.05,
              treated: tuple[int, ...] = (1, 3, 5, 10, 20), n_per_cell: tuple[float, ...] | None = None
              ) -> pd.DataFrame:
    """MDE per outcome for the study's own design and for other numbers of treated wijken / respondents."""
    rows = []
    for outcome in outcomes or sorted(cells["outcome"].unique()):
        base = design_from_cells(cells, outcome)
        ns = n_per_cell or tuple(sorted({round(base.n_per_cell), 50, 100, 200}))
        for j in sorted(set(treated) | {base.n_treated}):
            for n in sorted(set(ns) | {base.n_per_cell}):
                d = replace(base, n_treated=j, n_per_cell=float(n))
                rows.append(dict(outcome=outcome, n_treated=j, n_control=d.n_control, n_per_cell=float(n),
                                 pre=d.pre, post=d.post, icc=d.icc, lag1_corr=(d.lag_corr or (np.nan,))[0],
                                 deff=d.deff, var_y=d.var_y, se=np.sqrt(did_variance(d)),
                                 mde=mde(d, power, alpha), power=power, alpha=alpha,
                                 study_design=(j == base.n_treated and n == base.n_per_cell)))
    return pd.DataFrame(rows)


def write_outputs(cells: pd.DataFrame, out_dir: str | Path, language: str = "en", power: float = 0.8,
                  alpha: float = 0.05) -> list[Path]:
    """The power stage: mde_<outcome>.csv and figure mde_<outcome>.pdf/.svg/.png per outcome in out_dir."""
    from wijkeffect.figures.power import mde_plot

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = mde_table(cells, power=power, alpha=alpha)
    paths = []
    for outcome, t in table.groupby("outcome", sort=True):
        path = out / f"mde_{outcome}.csv"
        t.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
        paths += [path, *mde_plot(t, str(outcome), out / f"mde_{outcome}", language)]
    return paths


def simulate_power(d: Design, effect: float, reps: int = 500, seed: int = 0, alpha: float = 0.05) -> float:
    """Share of seeded replications in which the cell DiD (wijk + wave effects, CR1, t(G-1)) rejects beta = 0."""
    from scipy.special import stdtr

    from wijkeffect.models.fe import wls_absorb

    rng = np.random.default_rng(seed)
    j, t = d.n_treated + d.n_control, d.pre + d.post
    chol = np.linalg.cholesky(d.cell_cov() + 1e-15 * np.eye(t))
    wijk = np.repeat(np.arange(j), t)
    wave = np.tile(np.arange(t), j)
    dvec = ((wijk < d.n_treated) & (wave >= d.pre)).astype(float)
    w = np.ones(j * t)
    hits = 0
    for _ in range(reps):
        y = (rng.standard_normal((j, t)) @ chol.T).ravel() + effect * dvec
        fit = wls_absorb(y, dvec[:, None], w, [wijk, wave], wijk)
        tstat = fit.params[0] / fit.se()[0]
        hits += 2 * stdtr(j - 1, -abs(tstat)) < alpha
    return hits / reps


def main(argv: list[str] | None = None) -> None:
    """CLI: an MDE table (CSV) per outcome from a study's cells, or for a design given by its parameters."""
    p = argparse.ArgumentParser(prog="python -m wijkeffect.power", description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=Path, help="wijk_period.parquet of a study (estimates the inputs)")
    p.add_argument("--outcome", action="append", help="outcome(s) (default: all in the cells)")
    p.add_argument("--treated", type=int, default=3)
    p.add_argument("--controls", type=int, default=30)
    p.add_argument("--n", type=float, default=36.0, help="respondents per wijk-wave")
    p.add_argument("--pre", type=int, default=3)
    p.add_argument("--post", type=int, default=3)
    p.add_argument("--prevalence", type=float, default=0.25, help="binary outcome: var_y = p (1 - p)")
    p.add_argument("--icc", type=float, default=0.02)
    p.add_argument("--lag-corr", type=float, nargs="*", default=[0.5], help="correlation at lags 1, 2, ...")
    p.add_argument("--deff", type=float, default=1.0)
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--out", type=Path, help="CSV path (default: print)")
    p.add_argument("--figure", type=Path, help="figure stem (PDF/SVG/PNG) of MDE against treated wijken and n")
    p.add_argument("--language", choices=["en", "nl"], default="en")
    a = p.parse_args(argv)
    if a.cells:
        table = mde_table(pd.read_parquet(a.cells), a.outcome, a.power, a.alpha)
    else:
        d = Design(a.treated, a.controls, a.n, a.pre, a.post, a.prevalence * (1 - a.prevalence), a.icc,
                   tuple(a.lag_corr), a.deff)
        table = pd.DataFrame([dict(n_treated=d.n_treated, n_control=d.n_control, n_per_cell=d.n_per_cell,
                                   pre=d.pre, post=d.post, se=np.sqrt(did_variance(d)), mde=mde(d, a.power, a.alpha),
                                   **bpw_components(d))])
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(a.out, index=False)
    else:
        print(table.to_string(index=False))
    if a.figure is not None:
        from wijkeffect.figures.power import mde_plot

        if "outcome" not in table:
            table = table.assign(outcome="design")
        for outcome in table["outcome"].unique():
            mde_plot(table[table["outcome"] == outcome], str(outcome), f"{a.figure}_{outcome}", a.language)


if __name__ == "__main__":
    main()
