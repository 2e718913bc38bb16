"""Clean one 500,000-respondent wave from parquet and from SPSS .sav; compare with pyreadstat's own read.

Targets (issue 3): parquet <= 10 s; .sav <= 1.5 x the time pyreadstat takes to read the same file.
Usage: `.venv/bin/python bench/bench_clean.py [--respondents 500000] [--repeat 3]`
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--respondents", type=int, default=500_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import pyreadstat

    from wijkeffect import demo
    from wijkeffect.clean import clean_wave
    from wijkeffect.codebook import load_codebook

    with tempfile.TemporaryDirectory(prefix="wijkeffect-bench-clean-") as tmp:
        out = Path(tmp)
        n_wijken = 3000
        spec = replace(demo.NATIONAL, waves=(2016,), formats=("parquet", "sav"),
                       respondents_per_wijk=args.respondents / n_wijken / 1.1, geometry=False)
        t0 = time.perf_counter()
        files = demo.generate(spec, out)
        print(f"generated in {time.perf_counter() - t0:.1f} s")
        for fmt in ("parquet", "sav"):
            cb = out / f"codebook_{fmt}.yaml"
            cb.write_text(f"extends: {ROOT / 'config/codebooks/demo/_ggd_scheme.yaml'}\nsource: bench\nwave: 2016\n"
                          f"file: {files[f'wave_2016_{fmt}']}\n")
        sav = files["wave_2016_sav"]
        n_rows = pyreadstat.read_sav(str(sav), metadataonly=True)[1].number_rows
        t_read = best_of(args.repeat, lambda: pyreadstat.read_sav(str(sav)))
        t_sav = best_of(args.repeat, lambda: clean_wave(load_codebook(out / "codebook_sav.yaml")))
        t_pq = best_of(args.repeat, lambda: clean_wave(load_codebook(out / "codebook_parquet.yaml")))
        print(f"respondents in the wave:          {n_rows:,}")
        print(f"pyreadstat.read_sav (all columns): {t_read:6.2f} s")
        print(f"clean from .sav:                   {t_sav:6.2f} s   ratio {t_sav / t_read:.2f} (target <= 1.5)")
        print(f"clean from parquet:                {t_pq:6.2f} s   (target <= 10 s)")


if __name__ == "__main__":
    main()
