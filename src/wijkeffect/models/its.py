"""`its`: interrupted time series without a control group (Lopez Bernal, Cummins & Gasparrini 2017, IJE).

Segmented regression of one series (or the pooled series of a group of areas) on a level, a
pre-existing trend, a step at the start and a change in slope after it (time centred on the last
pre-start period, as in the tutorial), with optional Fourier seasonal terms (sin/cos pairs of
2 pi k season / period). Families: Gaussian (identity), Poisson and quasi-Poisson (log link, with
an offset: log population at risk), fitted by iteratively reweighted least squares; quasi-Poisson
scales the covariance by the Pearson dispersion. Lag-1 residual autocorrelation is reported with
the Durbin-Watson statistic and a Breusch-Godfrey LM test (order 1).

On survey cells the series is one point per wave: cases = mean x n respondents, offset log n, so
the rate ratio is a prevalence ratio. With the demo's six waves that leaves 2 residual degrees
of freedom for step + slope change: the ITS is coarse there; it is meant for monthly registry
or GP counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import chdtrc, ndtri

from wijkeffect.errors import WijkeffectError
from wijkeffect.models.tidy import Context, t_row

FAMILIES = ("gaussian", "poisson", "quasipoisson")


def its_design(time: np.ndarray, start: float, season: np.ndarray | None = None, harmonics: int = 0,
               period: float = 12.0, slope_change: bool = True) -> tuple[np.ndarray, list[str]]:
    """Columns: intercept, time, step (time >= start), slope change ((time - last pre) x step), Fourier pairs."""
    t = np.asarray(time, float)
    step = (t >= start).astype(float)
    last_pre = t[t < start].max() if (t < start).any() else start - 1
    cols, names = [np.ones_like(t), t, step], ["intercept", "time", "step"]
    if slope_change:
        cols.append((t - last_pre) * step)
        names.append("slope_change")
    if harmonics:
        if season is None:
            raise WijkeffectError("its: harmonics requested but no season (e.g. month) column given; expected "
                                  "season values with period")
        s = np.asarray(season, float)
        for k in range(1, harmonics + 1):
            cols.append(np.sin(2 * np.pi * k * s / period))
            names.append(f"sin{k}")
        for k in range(1, harmonics + 1):
            cols.append(np.cos(2 * np.pi * k * s / period))
            names.append(f"cos{k}")
    return np.column_stack(cols), names


@dataclass
class ITSFit:
    """Coefficients, covariance, dispersion and residual diagnostics."""

    names: list[str]
    params: np.ndarray
    vcov: np.ndarray
    dispersion: float
    df_resid: int
    family: str
    fitted: np.ndarray
    resid: np.ndarray  # Pearson residuals (raw residuals for Gaussian)
    durbin_watson: float
    bg_stat: float
    bg_p: float

    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def coef(self, name: str) -> tuple[float, float]:
        i = self.names.index(name)
        return float(self.params[i]), float(self.se()[i])


def _breusch_godfrey(resid: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """LM = n R^2 of resid on X and resid lagged once (first lag set to 0); chi2(1)."""
    lag = np.r_[0.0, resid[:-1]]
    z = np.column_stack([x, lag])
    coef = np.linalg.lstsq(z, resid, rcond=None)[0]
    u = resid - z @ coef
    tss = ((resid - resid.mean()) ** 2).sum()
    r2 = 1 - (u @ u) / tss if tss > 0 else 0.0
    lm = resid.size * r2
    return float(lm), float(chdtrc(1, lm))


def its_fit(y, x: np.ndarray, names: list[str], family: str = "quasipoisson", offset=None, weights=None,
            maxiter: int = 100, tol: float = 1e-10) -> ITSFit:
    """GLM by IRLS (Gaussian identity; Poisson / quasi-Poisson log link with offset)."""
    if family not in FAMILIES:
        raise WijkeffectError(f"its: family {family!r}; expected one of {FAMILIES}")
    y = np.asarray(y, float)
    n, p = x.shape
    if n <= p:
        raise WijkeffectError(f"its: {n} time points for {p} coefficients ({names}); expected more points than "
                              "coefficients")
    off = np.zeros(n) if offset is None else np.asarray(offset, float)
    pw = np.ones(n) if weights is None else np.asarray(weights, float)
    if family == "gaussian":
        xw = x * pw[:, None]
        beta = np.linalg.solve(xw.T @ x, xw.T @ (y - off))
        mu = x @ beta + off
        resid = y - mu
        disp = float((pw * resid**2).sum() / (n - p))
        vcov = disp * np.linalg.inv(xw.T @ x)
        pearson = resid
    else:
        if (y < 0).any():
            raise WijkeffectError(f"its: negative counts {y[y < 0][:3]}; expected counts >= 0 for {family}")
        beta = np.linalg.lstsq(x, np.log(np.maximum(y, 0.5)) - off, rcond=None)[0]
        for _ in range(maxiter):
            eta = x @ beta + off
            mu = np.exp(eta)
            wt = pw * mu
            z = eta - off + (y - mu) / mu
            xw = x * wt[:, None]
            new = np.linalg.solve(xw.T @ x, xw.T @ z)
            done = np.max(np.abs(new - beta)) < tol * (1 + np.max(np.abs(beta)))
            beta = new
            if done:
                break
        mu = np.exp(x @ beta + off)
        xw = x * (pw * mu)[:, None]
        pearson = (y - mu) / np.sqrt(mu)
        disp = float((pw * pearson**2).sum() / (n - p)) if family == "quasipoisson" else 1.0
        vcov = disp * np.linalg.inv(xw.T @ x)
    dw = float((np.diff(pearson) ** 2).sum() / (pearson**2).sum())
    bg, bg_p = _breusch_godfrey(pearson, x)
    return ITSFit(names, beta, vcov, disp, n - p, family, mu, pearson, dw, bg, bg_p)


def rate_ratio(fit: ITSFit, name: str, level: float = 0.95) -> tuple[float, float, float]:
    """(RR, lower, upper) = exp(b +- z se), Wald with the normal quantile as Epi::ci.exp."""
    b, se = fit.coef(name)
    z = float(ndtri(0.5 + level / 2))
    return float(np.exp(b)), float(np.exp(b - z * se)), float(np.exp(b + z * se))


def cells_series(cells: pd.DataFrame, outcome: str, wijken: list[str] | None = None,
                 role: str = "treated") -> pd.DataFrame:
    """One point per wave for a wijk or a group of wijken (summed): cases, at_risk, mean, start, wave index."""
    c = cells[cells["outcome"] == outcome]
    c = c[c["wijk_code"].isin(wijken)] if wijken else c[c["role"] == role]
    if c.empty:
        raise WijkeffectError(f"its: no cells for outcome {outcome!r} and wijken {wijken or role}; expected cells "
                              f"of {sorted(cells['wijk_code'].unique())[:5]}...")
    firsts = c[c["D"] > 0].groupby("wijk_code")["wave"].min()
    if firsts.nunique() > 1:
        raise WijkeffectError(f"its, outcome {outcome}: the wijken start in different waves {firsts.to_dict()}; "
                              "expected one common start for a pooled series (use per_wijk)")
    g = c.assign(cases=c["mean"] * c["n"]).groupby("wave", as_index=False).agg(
        cases=("cases", "sum"), at_risk=("n", "sum"), D=("D", "mean"))
    g["mean"] = g["cases"] / g["at_risk"]
    g["time"] = np.arange(len(g), dtype=float)
    started = g.loc[g["D"] > 0, "time"]
    g["start_time"] = float(started.min()) if len(started) else np.nan
    return g


def its(cells: pd.DataFrame, ctx: Context, wijken: list[str] | None = None, per_wijk: bool = False,
        family: str = "quasipoisson", slope_change: bool = True, level: float = 0.95) -> list[dict]:
    """Tidy rows: step and slope change (log scale; rate ratios as *_rr rows for log-link families) and diagnostics.

    Series: the treated wijken of the earliest start with two waves before it, pooled (or `wijken`,
    sharing one start), or each treated wijk on its own (per_wijk; terms prefixed by the wijk code). Time = wave index; the start is the first wave
    with D > 0. No controls: the counterfactual is the extrapolated pre-start trend.
    """
    c = cells[cells["outcome"] == ctx.outcome]
    groups: list[tuple[str, list[str] | None]]
    if per_wijk:
        ws = sorted(c.loc[c["role"] == "treated", "wijk_code"].unique()) if not wijken else sorted(wijken)
        groups = [(f"{w}:", [w]) for w in ws]
    else:
        if not wijken:  # the treated wijken of the earliest start with at least two waves before it
            tr = c[(c["role"] == "treated") & (c["D"] > 0)].groupby("wijk_code")["wave"].min()
            waves = sorted(c["wave"].unique())
            ok = tr[tr.map(lambda w: waves.index(w) >= 2)] if len(tr) else tr
            wijken = sorted(ok[ok == ok.min()].index) if len(ok) else None
        groups = [("", wijken)]
    rows = []
    for prefix, ws in groups:
        s = cells_series(c, ctx.outcome, ws)
        if not np.isfinite(s["start_time"].iloc[0]) or (s["time"] < s["start_time"]).sum() < 2:
            raise WijkeffectError(f"its, outcome {ctx.outcome}, wijken {ws or 'treated'}: start at wave index "
                                  f"{s['start_time'].iloc[0]}; expected at least two waves before the start and one after")
        x, names = its_design(s["time"].to_numpy(), float(s["start_time"].iloc[0]), slope_change=slope_change)
        if family == "gaussian":
            fit = its_fit(s["mean"], x, names, "gaussian", weights=s["at_risk"] / s["at_risk"].mean())
        else:
            fit = its_fit(s["cases"], x, names, family, offset=np.log(s["at_risk"]))
        common = dict(n_obs=len(s), n_wijken=len(ws) if ws else int(c.loc[c["role"] == "treated", "wijk_code"].nunique()),
                      n_clusters=0, weights="respondents (cases = mean x n)" if family != "gaussian" else "cell n",
                      inference=f"{family} glm{' pearson dispersion' if family == 'quasipoisson' else ''}, wald")
        df = fit.df_resid if family != "poisson" else 10**6
        for term in [t for t in ("step", "slope_change") if t in names]:
            b, se = fit.coef(term)
            rows.append(t_row(ctx, "its", prefix + term, b, se, df, **common))
            if family != "gaussian":
                rr, lo, hi = rate_ratio(fit, term, level)
                r = t_row(ctx, "its", prefix + term + "_rr", rr, se, df, **common)
                r.update(ci_low=lo, ci_high=hi, std_error=se, p_value=rows[-1]["p_value"])
                rows.append(r)
        dw = t_row(ctx, "its", prefix + "durbin_watson", fit.durbin_watson, np.nan, 0, **common)
        bg = t_row(ctx, "its", prefix + "breusch_godfrey_lag1", fit.bg_stat, np.nan, 0, **common)
        bg["p_value"] = fit.bg_p
        rows += [dw, bg]
    return rows
