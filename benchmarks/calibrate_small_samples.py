"""How small a sample still gives an honest interval: coverage of ``pvt`` by sample size.

For simple random samples of 5 to 50 stations (of 1,000) and cluster samples
of 3 to 30 TECs (of 100), draws clean simulated elections and samples and
records how often the 95% interval covers the true national figure.  This is
what ``forensics.audit.sample.MIN_STATIONS`` and ``MIN_CLUSTERS`` rest on:
below them coverage falls under the 99% binomial band of a correct interval,
and the audit calls the estimate not informative.

Writes benchmarks/results/audit_small_samples.md.  Takes about ten minutes.

    .venv/bin/python benchmarks/calibrate_small_samples.py [--runs 300]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from scipy import stats

from forensics.audit.sample import MIN_CLUSTERS, MIN_STATIONS
from forensics.audit.simulate import pvt_coverage

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "audit_small_samples.md"
#: design, sampled share, what the share amounts to, simulate options
CASES = [("srs", k / 1000, f"{k} stations of 1,000", {"n_pec": 1000}) for k in (5, 10, 20, 30, 50)] + \
        [("cluster", m / 100, f"{m} TECs of 100 (about {20 * m} stations)", {"n_pec": 2000, "n_tec": 100})
         for m in (3, 5, 10, 20, 30)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    start = time.perf_counter()
    low, high = (x / args.runs for x in stats.binom.interval(0.99, args.runs, 0.95))
    lines = ["# Observer audit: coverage of the sample estimate by sample size", "",
             f"Machine: {platform.machine()}, Python {platform.python_version()}. Produced by "
             "`benchmarks/calibrate_small_samples.py`.", "",
             f"{args.runs} runs per row (a new clean simulated election every 5 runs); the share of runs whose 95% "
             f"interval covers the true national figure. A correct interval lies in the 99% binomial band "
             f"[{low:.3f}, {high:.3f}]. Estimates below {MIN_STATIONS} stations, or below {MIN_CLUSTERS} clusters "
             "in a cluster sample, are reported as not informative.", "",
             "| design | sample | turnout | leader share | all party shares | informative |", "|---|---|---|---|---|---|"]
    for design, share, label, options in CASES:
        cov = pvt_coverage(args.runs, design, sample=share, per_population=5, rng=11, **options)
        turnout = cov.loc[cov["quantity"] == "turnout", "inside"].mean()
        leader = cov.loc[cov["party"] == "Party A", "inside"].mean()
        shares = cov.loc[cov["quantity"] == "share", "inside"].mean()
        n = round(share * 1000) if design == "srs" else round(share * 100)
        informative = n >= (MIN_STATIONS if design == "srs" else MIN_CLUSTERS)
        lines.append(f"| {design} | {label} | {turnout:.3f} | {leader:.3f} | {shares:.3f} | "
                     f"{'yes' if informative else 'no'} |")
        print(lines[-1], flush=True)
    lines += ["", f"Total time: {time.perf_counter() - start:.0f} s.", ""]
    OUT.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
