"""Calibrate the digit tests and time the EFToolkit battery; writes benchmarks/results/digits.md.

1. False-positive rates at the 5% level over clean simulated elections, per
   test, for the default ("smoothed") and the textbook ("uniform") nulls, and
   the flag rates of the EFToolkit battery.
2. Power against hand-written digits (``fraud={"digits": ...}``) as the
   share of manipulated stations grows.
3. Speed: the battery and every digit test on 100,000 stations in 85
   regions (as many as Russia has), every party, nationally and per region,
   1,000 bootstrap replicates each; the target is under 10 s in all.

Each simulated election is a task with its own random stream
(``calibration_runs``), on a local Dask cluster of ``--workers`` processes
or a ``--scheduler``: the tables are the same on any number of workers.

    python benchmarks/calibrate_digits.py            # full run (a few minutes)
    python benchmarks/calibrate_digits.py --quick    # a smoke run
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

import forensics  # noqa: E402
from calibration_runs import add_run_options, map_runs, run_streams  # noqa: E402
from forensics.stats import basic_battery  # noqa: E402
from forensics.stats import digits as D  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "digits.md"
FAVOUR = (0, 5, 7)
REGIONS = 85
SPEED_HEADING = "## Speed"


def markdown(frame: pd.DataFrame, index: bool = True, digits: int = 3) -> str:
    """A pipe table (pandas' to_markdown needs the optional tabulate package)."""
    frame = frame.reset_index() if index else frame
    cells = [[f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row] for row in frame.to_numpy()]
    head = [str(c) for c in frame.columns]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                     + ["| " + " | ".join(r) + " |" for r in cells])


def pvalues(e, rng) -> dict:
    """p-value of every digit test on one election."""
    row = {}
    for null in ("smoothed", "uniform"):
        row[f"last digit X² ({null})"] = D.last_digit_test(e, null=null, n_sim=2000, rng=rng).pvalue
        row[f"LastC mean ({null})"] = D.last_digit_mean(e, null=null, n_sim=200, rng=rng).pvalue
        row[f"C05s ({null})"] = D.zero_five_share(e, null=null, n_sim=200, rng=rng).pvalue
        row[f"P05s ({null})"] = D.percent_zero_five(e, null=null, n_sim=200, rng=rng).pvalue
        for r in (D.digit_pairs_test(e, kind=kind, null=null) for kind in D.DIGIT_PAIRS):
            row[f"{r.name} ({null})"] = r.pvalue
    row["2BL X² (Benford)"] = D.second_digit_test(e, rng=rng).pvalue
    row["2BL mean (Benford)"] = D.second_digit_mean(e, n_sim=200, rng=rng).pvalue
    row["first digit X² (Benford)"] = D.first_digit_test(e, rng=rng).pvalue
    return row


def rate_table(p: pd.DataFrame, alpha=0.05) -> pd.DataFrame:
    """Rejection rate per column with a Clopper-Pearson 95% interval."""
    rows = []
    for col in p.columns:
        k, n = int((p[col] < alpha).sum()), int(p[col].notna().sum())
        ci = stats.binomtest(k, n).proportion_ci() if n else None
        rows.append({"test": col, "runs": n, "rejected": k, "rate": k / n if n else np.nan,
                     "ci_low": ci.low if ci else np.nan, "ci_high": ci.high if ci else np.nan})
    return pd.DataFrame(rows)


def simulated_pvalues(n_pec, fraud, stream) -> dict:
    """One run: an election simulated (with ``fraud``, or clean) and every digit test's p-value, on its own stream."""
    rng = np.random.default_rng(stream)
    return pvalues(forensics.simulate(n_pec=n_pec, fraud=fraud, rng=rng), rng)


def battery_run(n_pec, stream) -> pd.Series:
    """One clean run of the battery: whether it flags each statistic (share over the parties)."""
    rng = np.random.default_rng(stream)
    t = basic_battery(forensics.simulate(n_pec=n_pec, rng=rng), rng=rng).table
    return t.assign(key=t.subject.where(t.subject == "turnout", "party") + " " + t.test).groupby("key").flagged.mean()


def calibrate(runs, n_pec, stream, workers=1, scheduler=None):
    calls = [(n_pec, None, s) for s in run_streams(stream, runs)]
    return pd.DataFrame(map_runs(simulated_pvalues, calls, workers, scheduler))


def battery_flags(runs, n_pec, stream, workers=1, scheduler=None):
    flags = map_runs(battery_run, [(n_pec, s) for s in run_streams(stream, runs)], workers, scheduler)
    return pd.DataFrame(flags).mean().rename("flag rate").to_frame()


def power(fractions, runs, n_pec, stream, workers=1, scheduler=None):
    frauds = [{"digits": {"fraction": f, "favour": FAVOUR, "strength": 0.8}} for f in fractions]
    calls = [(n_pec, fraud, s) for fraud, child in zip(frauds, run_streams(stream, len(fractions)))
             for s in run_streams(child, runs)]
    p = pd.DataFrame(map_runs(simulated_pvalues, calls, workers, scheduler))
    rows = [(p.iloc[i * runs:(i + 1) * runs] < 0.05).mean().rename(f) for i, f in enumerate(fractions)]
    return pd.DataFrame(rows).T


def speed(n_pec, n_regions, parties, seed):
    """Wall-clock and CPU seconds (all threads) of the battery and of every digit test."""
    e = forensics.simulate(n_pec=n_pec, n_regions=n_regions, parties=parties, rng=seed)
    jobs = {"basic_battery": lambda level: basic_battery(e, level=level, n_sim=1000, rng=seed),
            "digit_tests": lambda level: D.digit_tests(e, level, rng=seed, n_sim=1000)}
    rows = []
    for name, job in jobs.items():
        for level in ("nation", "region"):
            wall, cpu = time.perf_counter(), time.process_time()
            job(level)
            rows.append((n_regions, name, level, time.perf_counter() - wall, time.process_time() - cpu))
    return pd.DataFrame(rows, columns=["regions", "function", "level", "wall s", "cpu s"])


def speed_section(sp: pd.DataFrame) -> list:
    """The speed section of the results file (its last section)."""
    wall, cpu = sp["wall s"].sum(), sp["cpu s"].sum()
    return [
        f"{SPEED_HEADING} (100,000 stations, 8 parties, {REGIONS} regions, 1,000 bootstrap replicates)",
        "",
        f"Target: under 10 s for both functions at both levels. Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} when measured (the machine is shared: "
        "wall-clock time depends on what else runs; CPU time counts every thread).",
        "",
        markdown(sp, index=False, digits=1),
        "",
        f"Total, both functions at both levels: {wall:.1f} s wall-clock, {cpu:.1f} s CPU.",
        "",
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500, help="clean simulations for false-positive rates")
    ap.add_argument("--battery-runs", type=int, default=100, help="clean simulations for the battery's flags")
    ap.add_argument("--power-runs", type=int, default=100, help="simulations per fraud fraction")
    ap.add_argument("--n-pec", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--quick", action="store_true", help="a few runs of everything")
    ap.add_argument("--speed-only", action="store_true",
                    help="only the speed benchmark: rewrites the speed section of the results file")
    add_run_options(ap)
    args = ap.parse_args(argv)
    if args.quick:
        args.runs, args.battery_runs, args.power_runs = 20, 3, 10
    if args.speed_only:
        text = OUT.read_text(encoding="utf-8")
        head = text[:text.index(SPEED_HEADING)] if SPEED_HEADING in text else text
        section = "\n".join(speed_section(speed(100_000, REGIONS, 8, args.seed)))
        OUT.write_text(head + section, encoding="utf-8")
        print(section)
        return
    clean, battery, manipulated = run_streams(args.seed, 3)
    on = {"workers": args.workers, "scheduler": args.scheduler}

    t0 = time.perf_counter()
    fp = rate_table(calibrate(args.runs, args.n_pec, clean, **on))
    flags = battery_flags(args.battery_runs, args.n_pec, battery, **on)
    pw = power((0.02, 0.05, 0.1, 0.2, 0.4), args.power_runs, args.n_pec, manipulated, **on)
    sp = speed(100_000, REGIONS, 8, args.seed)
    total = time.perf_counter() - t0

    band = stats.binom.ppf([0.025, 0.975], args.runs, 0.05) / args.runs
    lines = [
        "# Digit tests: calibration, power and speed",
        "",
        f"Written by `benchmarks/calibrate_digits.py` (seed {args.seed}, {args.n_pec} stations per simulated "
        f"election, default parties; each run its own stream, "
        f"{'on the Dask scheduler ' + args.scheduler if args.scheduler else f'{args.workers} worker(s)'}). "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end; {total / 60:.1f} minutes in all.",
        "",
        f"## False-positive rate at the 5% level ({args.runs} clean simulations)",
        "",
        f"A calibrated test rejects about 5% of clean elections: between {band[0]:.3f} and {band[1]:.3f} in 95% "
        "of batches of this size. `smoothed` is the default null (digit shares implied by the smoothed count "
        "distribution), `uniform` the textbook one.",
        "",
        markdown(fp, index=False),
        "",
        f"## EFToolkit battery on clean simulations ({args.battery_runs} runs, national level)",
        "",
        "Share of runs in which the battery flags each statistic (its own rule: the 95% bootstrap interval "
        "excludes the reference value; DipT p < 0.05; |Sobyanin| > 1.645; |r| > 0.4).",
        "",
        markdown(flags),
        "",
        f"## Power against hand-written digits ({args.power_runs} runs per column)",
        "",
        f"Rejection rate at 5% when a share of stations (columns) has party counts re-written, each with "
        f"probability 0.8, to the nearest number ending in {', '.join(map(str, FAVOUR))}.",
        "",
        markdown(pw, digits=2),
        "",
        *speed_section(sp),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
