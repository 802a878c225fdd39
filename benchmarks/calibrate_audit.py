"""Calibration of the observer audit on simulated elections with known truth.

1. Parallel vote tabulation: coverage of the 95% interval for turnout and the
   leader's share over 500 runs per design (simple random, stratified by
   region, clustered by TEC), a new election every run.
2. Observer effect: false-positive rate at 5% on clean elections with
   randomly placed observers (300 runs), and coverage of the interval for an
   injected effect (100 runs).
3. Classification of copy-vs-official differences: confusion matrix over 50
   simulated audits (moved, added, redrawn, slips, identical).
4. Speed: ``compare`` and ``pvt`` on 100,000 stations with 10,000 observed.

Writes benchmarks/results/audit.md.  Takes several minutes.

    .venv/bin/python benchmarks/calibrate_audit.py [--runs 500]
"""
from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from forensics.audit import compare, observer_copies, observer_effect, pvt
from forensics.audit.simulate import pvt_coverage
from forensics.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "audit.md"
#: design, sample share, simulate options (cluster: 100 TECs of ~20 stations, 20 drawn)
DESIGNS = (("srs", 0.1, {"n_pec": 1000}), ("stratified", 0.1, {"n_pec": 1000}),
           ("cluster", 0.2, {"n_pec": 2000, "n_tec": 100}))
RU2018 = ROOT.parent / "shared" / "data" / "ru_2018_president.csv.zip"


def band(runs, p):
    low, high = stats.binom.interval(0.99, runs, p)
    return f"[{low / runs:.3f}, {high / runs:.3f}]"


def pvt_section(runs: int) -> list[str]:
    lines = ["## 1. Parallel vote tabulation: coverage of the 95% interval", "",
             f"{runs} runs per design; each run draws a new clean election (10 regions; 1,000 stations in "
             "about 23 TECs, or for the cluster design 2,000 stations in 100 TECs of which 20 are drawn) and a "
             "sample; the interval is compared with the true national figure. "
             "The last column is the 99% binomial band for a correct 95% interval.", "",
             "| design | sample | turnout | leader share | all party shares | 99% band | seconds |",
             "|---|---|---|---|---|---|---|"]
    for design, sample, options in DESIGNS:
        t = time.perf_counter()
        cov = pvt_coverage(runs, design, sample=sample, per_population=1, rng=2024, **options)
        sec = time.perf_counter() - t
        turnout = cov.loc[cov["quantity"] == "turnout", "inside"].mean()
        leader = cov.loc[cov["party"] == "Party A", "inside"].mean()
        shares = cov.loc[cov["quantity"] == "share", "inside"].mean()
        lines.append(f"| {design} | {sample:.0%} | {turnout:.3f} | {leader:.3f} | {shares:.3f} | "
                     f"{band(runs, 0.95)} | {sec:.0f} |")
        print(lines[-1], flush=True)
    return lines + [""]


def real_section(runs: int) -> list[str]:
    """Random samples of the official Russian 2018 file: does the interval cover the official figures?"""
    if not RU2018.exists():
        return ["## 1b. Real data", "", f"Skipped: {RU2018} is absent.", ""]
    import forensics

    e = forensics.load(RU2018)
    rng = np.random.default_rng(2018)
    tables = [pvt(e, e.table.loc[rng.choice(e.table.index.to_numpy(), 1000, replace=False)]).table
              for _ in range(runs)]
    cov = pd.concat(tables).assign(what=lambda t: t["party"].fillna("turnout"))
    rate = cov.groupby("what", sort=False)["inside"].mean()
    official = cov.groupby("what", sort=False)["official"].first()
    print("real", rate.to_dict(), flush=True)
    rows = [f"| {w} | {official[w]:.4f} | {rate[w]:.3f} |" for w in rate.index]
    return ["## 1b. Real data: random samples of the official Russian 2018 results", "",
            f"{runs} simple random samples of 1,000 of the {len(e):,} stations; the official figures play the "
            "signed protocols, so the 95% interval should cover the official national figure 95% of the time "
            f"(99% band {band(runs, 0.95)}). Candidates under 1% have skewed station counts, and at n = 1,000 "
            "their interval is somewhat too narrow.", "",
            "| quantity | official | coverage |", "|---|---|---|", *rows, ""]


def effect_section(null_runs: int, effect_runs: int) -> list[str]:
    rng = np.random.default_rng(7)
    rejected = 0
    for _ in range(null_runs):
        e = simulate(n_pec=1000, rng=rng)
        mask = pd.Series(rng.random(len(e.table)) < 0.2, index=e.table.index)
        rejected += observer_effect(e, mask)[0].pvalue < 0.05
    covered, errors = 0, []
    for _ in range(effect_runs):
        s = observer_copies(simulate(n_pec=1000, rng=rng), sample=0.2, alterations={}, slips=0,
                            observer_effect=0.03, rng=rng)
        t = s.official.table
        truth = -(t["true_observer_ballots"] / t["registered"])[~t["observed"]].mean()
        est = observer_effect(s.official, t["observed"])[0]
        covered += est.ci[0] <= truth <= est.ci[1]
        errors.append(est.statistic - truth)
    print("observer effect", rejected / null_runs, covered / effect_runs, flush=True)
    return ["## 2. Observer effect (turnout, region fixed effects, errors clustered by TEC)", "",
            "| check | runs | result | 99% band |", "|---|---|---|---|",
            f"| false-positive rate at 5%, observers placed at random, no effect | {null_runs} | "
            f"{rejected / null_runs:.3f} | {band(null_runs, 0.05)} |",
            f"| coverage of the 95% interval, injected effect −3 points at unobserved stations | {effect_runs} | "
            f"{covered / effect_runs:.3f} | {band(effect_runs, 0.95)} |",
            f"| mean error of the estimate (points) | {effect_runs} | {100 * np.mean(errors):+.3f} | |", ""]


def classification_section(runs: int) -> list[str]:
    rng = np.random.default_rng(11)
    frames = []
    for i in range(runs):
        s = observer_copies(simulate(n_pec=1000, rng=rng), sample=0.2, design=("srs", "stratified", "cluster")[i % 3],
                            alterations={"moved": 0.05, "added": 0.05, "redrawn": 0.05}, slips=0.05, rng=rng)
        c = compare(s.official, s.observed)
        frames.append(c.stations.merge(s.truth, on=["region", "tec", "pec"])[["true_class", "classification"]])
    m = pd.concat(frames)
    table = pd.crosstab(m["true_class"], m["classification"])
    accuracy = (m["true_class"] == m["classification"]).mean()
    print("classification accuracy", accuracy, flush=True)
    header = "| truth \\ classified | " + " | ".join(table.columns) + " |"
    rows = [f"| {idx} | " + " | ".join(str(v) for v in r) + " |" for idx, r in table.iterrows()]
    return ["## 3. Classification of copy-vs-official differences", "",
            f"{runs} simulated audits (1,000 stations, 20% observed; 5% each moved / added / redrawn after "
            f"signing, 5% transcription slips). Accuracy {accuracy:.4f}.", "",
            header, "|---|" + "---|" * len(table.columns), *rows, ""]


def speed_section() -> list[str]:
    e = simulate(n_pec=100_000, rng=1)
    s = observer_copies(e, sample=0.1, rng=2)
    t = time.perf_counter()
    c = compare(s.official, s.observed)
    t_compare = time.perf_counter() - t
    t = time.perf_counter()
    pvt(s.official, s.observed, design="stratified")
    t_pvt = time.perf_counter() - t
    print("speed", t_compare, t_pvt, flush=True)
    return ["## 4. Speed", "", "| step | stations | seconds |", "|---|---|---|",
            f"| compare (incl. reconcile of both sides), {len(c.discrepant)} discrepant | "
            f"{len(s.observed):,} observed of 100,000 | {t_compare:.2f} |",
            f"| pvt, stratified | {len(s.observed):,} of 100,000 | {t_pvt:.2f} |", ""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    parts = ["# Observer audit: calibration", "",
             f"Machine: {platform.machine()}, Python {platform.python_version()}. "
             "Produced by `benchmarks/calibrate_audit.py`.", ""]
    parts += pvt_section(args.runs)
    parts += real_section(200)
    parts += effect_section(300, 100)
    parts += classification_section(50)
    parts += speed_section()
    parts.append(f"Total time: {time.perf_counter() - started:.0f} s.")
    OUT.write_text("\n".join(parts) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
