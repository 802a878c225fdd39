"""Benchmark: the full default scan of Russia 2018 (nation + regions) including the report.

Targets (issue 7): under 2 minutes on the 2-core machine, peak memory under
2 GB.  Measures wall time of load, scan and report separately and the peak
resident memory of the process (``ru_maxrss``), and writes
``benchmarks/results/scan.md``.

    .venv/bin/python benchmarks/bench_scan.py [--out DIR]
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ru_2018_president.csv.zip"
RESULTS = ROOT / "benchmarks" / "results" / "scan.md"
TIME_LIMIT = 120.0
MEMORY_LIMIT_MB = 2048.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(argv=None) -> int:
    import forensics
    from forensics.report import write_report
    from forensics.scan import scan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="report directory (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_scan_"))

    t0 = time.perf_counter()
    election = forensics.load(DATA)
    t1 = time.perf_counter()
    result = scan(election, rng=2018, progress=False)
    t2 = time.perf_counter()
    write_report(result, out, progress=False)
    t3 = time.perf_counter()
    memory = peak_mb()

    total = t3 - t0
    tests = result.tests
    per_test = tests.groupby("test", sort=False)["note"].apply(lambda s: (s == "").sum())
    ok = total < TIME_LIMIT and memory < MEMORY_LIMIT_MB
    headlines = "; ".join(f"{h['code']} ({h['scope']}; regions: {', '.join(h['driving_regions'][:3])})"
                          for h in result.headlines)
    lines = [
        "# Benchmark: full default scan of Russia 2018 with the report",
        "",
        f"Input: `ru_2018_president.csv.zip`, {len(election.table):,} polling stations; levels nation + region "
        f"({tests.loc[tests['level'] == 'region', 'group'].nunique()} regions); default battery "
        f"({tests['test'].nunique()} tests); seed 2018.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average at the end {os.getloadavg()[0]:.1f} (other jobs share the cores).",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| load | {t1 - t0:.1f} |",
        f"| scan (reconciliation, battery at nation and region level, verdicts and station evidence) | {t2 - t1:.1f} |",
        f"| report (HTML, CSV/JSON, figures PNG + SVG) | {t3 - t2:.1f} |",
        f"| **total** | **{total:.1f}** (target < {TIME_LIMIT:.0f}) |",
        "",
        f"Peak resident memory: **{memory:,.0f} MB** (target < {MEMORY_LIMIT_MB:,.0f}).",
        "",
        f"Result: {'within' if ok else 'OUTSIDE'} both targets.",
        "",
        f"Test rows: {len(tests):,}; groups run per test: "
        + ", ".join(f"{name} {int(n)}" for name, n in per_test.items()) + ".",
        f"Headlines: {headlines or 'none'}.",
        "",
        "Slowest steps of the scan (seconds):",
        "",
        "| test @ level | seconds |",
        "|---|---|",
        *(f"| {step} | {sec:.1f} |" for step, sec in sorted(result.timings.items(), key=lambda kv: -kv[1])[:8]),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"report: {out / 'report.html'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
