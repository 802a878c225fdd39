"""Benchmark: ``scan_many`` of several elections in this process, on 1 and on 2 Dask workers.

Simulated elections (``forensics.simulate``, one seed each) are written as
CSV files and scanned with the default battery by ``scan_many``:
sequentially (no Dask), on a ``LocalCluster`` of 1 worker and of 2 workers.
Wall seconds and CPU seconds (this process plus its worker processes,
``RUSAGE_CHILDREN`` once the cluster has closed) per run, and whether
the three runs wrote byte-identical folders.  Writes ``benchmarks/results/many.md``.

    .venv/bin/python benchmarks/bench_many.py [--elections 4] [--stations 5000] [--files F ...]
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
RESULTS = ROOT / "benchmarks" / "results" / "many.md"
RUNS = (("sequential (no Dask)", "sequential", 1), ("LocalCluster, 1 worker", None, 1),
        ("LocalCluster, 2 workers", None, 2))


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _files(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def main(argv=None) -> int:
    import forensics
    from forensics.output import write_csv
    from forensics.many import scan_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elections", type=int, default=4, help="simulated elections (default 4)")
    parser.add_argument("--stations", type=int, default=5000, help="polling stations each (default 5,000)")
    parser.add_argument("--files", nargs="*", type=Path, help="real results files instead of simulated elections")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_many_"))
    if args.files:
        paths, what = args.files, ", ".join(f"`{p.name}`" for p in args.files)
    else:
        paths = [write_csv(forensics.simulate(n_pec=args.stations, n_regions=10, rng=100 + i).table.reset_index(),
                           tmp / f"sim{i + 1}.csv") for i in range(args.elections)]
        what = f"{args.elections} simulated elections of {args.stations:,} stations and 10 regions each"

    rows, outputs = [], []
    for label, executor, workers in RUNS:
        out = tmp / f"out-{len(rows)}"
        wall, cpu = time.perf_counter(), _cpu()
        result = scan_many(paths, out=out, executor=executor, workers=workers, rng=2021, keep=False, progress=False)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        rows.append((label, wall, cpu, len(result.errors)))
        outputs.append(_files(out))
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU", file=sys.stderr)
    identical = all(o == outputs[0] for o in outputs[1:])

    lines = ["# Benchmark: many elections with `scan_many` (sequential, 1 and 2 Dask workers)", "",
             f"Input: {what}; default battery, levels nation + region, seed 2021; tables only (no report).",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"load average at the end {os.getloadavg()[0]:.1f} (other jobs share the cores).", "",
             "| run | wall seconds | CPU seconds (all processes) | failed |", "|---|---|---|---|"]
    lines += [f"| {label} | {wall:.1f} | {cpu:.1f} | {failed} |" for label, wall, cpu, failed in rows]
    lines += ["", f"Speed-up of 2 workers over 1 (wall): {rows[1][1] / rows[2][1]:.2f}x. "
                  f"Outputs of the three runs byte-identical: **{'yes' if identical else 'NO'}**.", "",
              "Each election is one task. The CPU of a Dask run counts every process of the cluster: the "
              "scheduler and nannies in this process, each worker's start-up (it imports the package) and "
              "their heartbeats for as long as the run lasts, so it grows with the wall time on a loaded "
              "machine; the scans themselves are the same work as in the sequential run.", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
