"""Model performance on national-size demo data (~2 million respondents, 4 waves, ~3,000 wijken).

Prints, each the best of --repeat runs:
  twfe_individual with the pipeline's four covariates (CR1 by wijk) vs pyfixest feols on the same data
  and model, and their ratio (target <= 0.5);
  twfe on cells including the aggregation from respondents (target <= 0.5 s);
  wild cluster restricted bootstrap, 9,999 replications (target <= 5 s);
  staggered ATT(g,t) with all four aggregations and analytic SEs (target <= 5 s), and its jackknife;
  peak memory traced during the models, relative to the respondent frame (target <= 3x).
Usage: `.venv/bin/python bench/bench_models.py [--data DIR] [--repeat 3]` (needs the bench extra: pyfixest).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def best(repeat: int, fn):
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def national_respondents(out: Path) -> pd.DataFrame:
    """Generate the national-size monitor, clean its waves and build the linked panel."""
    import yaml

    from wijkeffect import demo
    from wijkeffect.clean import clean_wave
    from wijkeffect.codebook import load_codebook
    from wijkeffect.panel import build_respondents
    from wijkeffect.study import load_study

    files = demo.generate(demo.NATIONAL, out)
    waves = []
    for w in demo.NATIONAL.waves:
        cb = out / f"cb_{w}.yaml"
        cb.write_text(f"extends: {ROOT / 'config/codebooks/demo/_ggd_scheme.yaml'}\nsource: national\nwave: {w}\n"
                      f"file: {files[f'wave_{w}']}\n")
        waves.append(clean_wave(load_codebook(cb))[0])
    lookup = pd.read_csv(files["lookup"], dtype=str)
    study = {"name": "national", "indeling": 2020, "lookup": str(files["lookup"]),
             "treated": {"file": str(files["interventions"])}, "controls": "same_city",
             "cities": sorted(lookup["gemeente_code"].unique()), "outcomes": ["smoker", "psych_distress", "walking"]}
    (out / "study.yaml").write_text(yaml.safe_dump(study))
    resp, _, _ = build_respondents(waves, load_study(out / "study.yaml"))
    return resp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import pyfixest as pf

    from wijkeffect.models import get_model
    from wijkeffect.models.inference import partial_out_cells, wild_cluster_bootstrap
    from wijkeffect.models.tidy import Context
    from wijkeffect.panel import build_cells

    with tempfile.TemporaryDirectory(prefix="wijkeffect-national-") as tmp:
        t0 = time.perf_counter()
        resp = national_respondents(Path(tmp))
        print(f"national data: {len(resp):,} respondents, {resp['wijk_code'].nunique():,} wijken, "
              f"{resp['wave'].nunique()} waves (made, cleaned and linked in {time.perf_counter() - t0:.0f} s)")
    frame_mb = resp.memory_usage(deep=True).sum() / 2**20
    ctx = Context("national", "ALL", "smoker", seed=1)

    covs = ["age", "sex", "education", "migration_background"]  # what the pipeline runs (config/config.yaml)
    t_ours, ours = best(args.repeat, lambda: get_model("twfe_individual")(resp, ctx, covariates=covs)[0])
    d = resp[resp["smoker"].notna()][["smoker", "post", "wijk_code", "wave", "weight", *covs]].dropna().copy()
    d["smoker"], d["post"], d["weight"], d["age"] = (d[c].astype(float) for c in ("smoker", "post", "weight", "age"))
    for c in ("wijk_code", "sex", "education", "migration_background"):
        d[c] = d[c].astype(str)
    t_pf, fit = best(args.repeat, lambda: pf.feols("smoker ~ post + age + C(sex) + C(education) + "
                                                   "C(migration_background) | wijk_code + wave", data=d,
                                                   weights="weight", vcov={"CRV1": "wijk_code"}))
    print(f"twfe_individual + 4 covariates: {t_ours:6.2f} s   estimate {ours['estimate']:.6f} "
          f"se {ours['std_error']:.6f}")
    print(f"pyfixest feols, same model:     {t_pf:6.2f} s   estimate {fit.coef()['post']:.6f} "
          f"se {fit.se()['post']:.6f}")
    print(f"ratio ours / pyfixest:          {t_ours / t_pf:6.2f}   (target <= 0.5, same run)")

    t_cells, cells = best(args.repeat, lambda: (build_cells(resp, ["smoker"]),))
    t_twfe, _ = best(args.repeat, lambda: get_model("twfe")(build_cells(resp, ["smoker"]), ctx))
    print(f"twfe on cells incl. aggregation:{t_twfe:6.2f} s   (aggregation alone {t_cells:.2f} s; target <= 0.5 s)")
    c = cells[0]
    dd = c[c["role"].isin(["treated", "control"])].reset_index(drop=True)

    def boot():
        return wild_cluster_bootstrap(partial_out_cells(dd), 9999, "rademacher", 1)

    t_boot, res = best(args.repeat, boot)
    print(f"wild cluster bootstrap, 9,999:  {t_boot:6.2f} s   p = {res[0]:.4f}   (target <= 5 s)")
    aggs = dict(aggregations=["simple", "group", "dynamic", "calendar"])
    t_stag, rows = best(args.repeat, lambda: get_model("staggered")(c, ctx, se="analytic", **aggs))
    overall = next(r for r in rows if r["term"] == "overall")
    print(f"staggered, 4 aggregations, IF SE:{t_stag:6.2f} s   overall {overall['estimate']:.4f} "
          f"({len(rows)} rows, analytic influence-function SEs by wijk; target <= 10 s)")
    t_jk, _ = best(args.repeat, lambda: get_model("staggered")(c, ctx, **aggs))
    print(f"  the same, wijk jackknife (default):{t_jk:6.2f} s")
    t_stb, _ = best(1, lambda: get_model("staggered")(c, ctx, se="multiplier", reps=999, **aggs))
    print(f"  the same, 999 multiplier draws:{t_stb:6.2f} s")

    tracemalloc.start()
    get_model("twfe_individual")(resp, ctx)
    get_model("twfe")(build_cells(resp, ["smoker"]), ctx)
    boot()
    get_model("staggered")(c, ctx)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"respondent frame in memory:     {frame_mb:6.0f} MiB")
    print(f"peak traced by the models:      {peak:6.0f} MiB = {peak / frame_mb:.2f} x the frame (target <= 3)")


if __name__ == "__main__":
    main()
