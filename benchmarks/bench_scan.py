"""Benchmark: the full default scan of Russia 2018 (nation + regions) including the report.

Targets (issue 7): under 2 minutes on the 2-core machine, peak memory under
2 GB.  Measures wall time of load, scan and report separately and the peak
resident memory of the process (``ru_maxrss``), and writes
``benchmarks/results/scan.md``.

    .venv/bin/python benchmarks/bench_scan.py [--out DIR]

``--parts`` measures instead the scan's own work, outside its steps, on
Russia 2018 and on 10,000 simulated stations (``simulate(n_pec=10_000,
n_regions=80, rng=10_000)``): CPU seconds of the reconciliation, the
integer verdict, the tests and exclusions tables (best of 3 in one
process), and of a whole scan with 2 workers (the scan's process and its
forked worker).  It writes the section of ``scan.md`` that starts at
``PARTS`` (the full run keeps it).

    .venv/bin/python benchmarks/bench_scan.py --parts
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
PARTS = "## The scan's own work"
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
    parser.add_argument("--parts", action="store_true", help="the scan's own work only (see above)")
    args = parser.parse_args(argv)
    if args.parts:
        _write(RESULTS.read_text(encoding="utf-8").split(PARTS)[0].rstrip("\n") if RESULTS.exists() else "",
               parts())
        return 0
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
    kept = RESULTS.read_text(encoding="utf-8").split(PARTS, 1) if RESULTS.exists() else []
    _write("\n".join(lines), PARTS + kept[1] if len(kept) == 2 else "")
    print("\n".join(lines))
    print(f"report: {out / 'report.html'}")
    return 0 if ok else 1


def _write(head: str, tail: str) -> None:
    """scan.md: the full run's section, then the parts' (atomically)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(head.rstrip("\n") + "\n" + ("\n" + tail.rstrip("\n") + "\n" if tail else ""), encoding="utf-8")
    tmp.replace(RESULTS)


def _cpu(function, *args, repeat: int = 3) -> float:
    """Smallest CPU seconds of ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function(*args)
        best = min(best, time.process_time() - start)
    return best


def _scan_cpu(election) -> dict:
    """Wall and CPU seconds of one scan with 2 workers; "own work" is what no step, the verdicts or the
    reconciliation count (before the workers start, the tables, passing results)."""
    from forensics.scan import run

    wall, cpu = time.perf_counter(), time.process_time()
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = run.scan(election, rng=2018, progress=False, workers=2)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = {"scan wall": time.perf_counter() - wall, "scan process CPU": time.process_time() - cpu,
           "worker CPU": after.ru_utime + after.ru_stime - workers.ru_utime - workers.ru_stime,
           "steps CPU": sum(v for k, v in s.cpu_seconds.items() if "@" in k),
           "verdicts CPU": s.cpu_seconds["verdicts"], "reconciliation CPU": s.cpu_seconds.get("reconciliation", 0.0)}
    row["own work CPU"] = row["scan process CPU"] + row["worker CPU"] - sum(s.cpu_seconds.values())
    return row, s


def _parts_of(name: str, election, scans: int = 2) -> dict:
    from forensics.scan import run
    from forensics.verdicts.integer import integer_verdict

    runs = [_scan_cpu(election) for _ in range(scans)]
    s = runs[0][1]
    row = {"election": name, "stations": len(election.table),
           **{k: min(r[0][k] for r in runs) for k in runs[0][0]}}
    steps = [(name, level, res) for (name, level), res in s.results.items()]
    row["reconciliation alone"] = _cpu(run._reconcile, election)
    row["integer verdict alone"] = _cpu(integer_verdict, election)
    row["tests table"] = _cpu(lambda: run._correct(run._tests_table(steps), 0.01))
    row["exclusions table"] = _cpu(run.excluded_table, election, s.results, s.stations)
    return row


def parts() -> str:
    import forensics
    from forensics.simulate import simulate

    rows = [_parts_of("Russia 2018", forensics.load(DATA))] if DATA.exists() else []
    rows.append(_parts_of("simulated 10,000 stations", simulate(n_pec=10_000, n_regions=80, rng=10_000)))
    columns = [c for c in rows[0] if c not in ("election", "stations")]
    lines = [PARTS, "", "`bench_scan.py --parts`: seconds of a scan with 2 workers, seed 2018 (each the smaller "
             "of two scans), and CPU seconds of its parts outside the steps (best of 3 in one process).  Machine: "
             f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}.", "",
             "| | " + " | ".join(f"{r['election']} ({r['stations']:,})" for r in rows) + " |",
             "|---|" + "---|" * len(rows)]
    lines += [f"| {c} | " + " | ".join(f"{r[c]:.3f}" for r in rows) + " |" for c in columns]
    print("\n".join(lines))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
