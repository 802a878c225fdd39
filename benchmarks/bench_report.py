"""The report's cost: ``write_report`` on Russia 2018 and a simulated 10,000-station election, and each figure's.

For each election the default scan is run once (not timed here), then
``write_report`` is timed ``--repeat`` times with the figures drawn in two
forked processes (the default) and once with ``workers=1`` (everything in
this process), beside the process's first report (fonts, text layout and
the page's template set up: what a command-line run pays).  CPU seconds
stand beside wall seconds: the calling process's and its figure
processes' (reaped before the next run, so ``RUSAGE_CHILDREN`` counts
them), because the machine is shared; the load average is printed.  A
second table gives each figure's CPU seconds, to build it and to draw and
encode its PNG, in this process (the least of three runs).  Writes
``benchmarks/results/report_speed.md``.

    .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORENSICS_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "benchmarks" / "results" / "report_speed.md"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _elections() -> dict:
    import forensics
    from forensics.simulate import simulate

    cases = {}
    if (DATA / "ru_2018_president.csv.zip").exists():
        cases["Russia 2018 (97,699 stations)"] = lambda: forensics.load(DATA / "ru_2018_president.csv.zip")
    cases["simulated, 10,000 stations"] = lambda: simulate(n_pec=10_000, n_regions=80, rng=10_000)
    return cases


def time_report(scan, workers: int | None) -> dict:
    """Wall seconds and CPU seconds (this process, the figure processes) of one ``write_report``."""
    from forensics.report import write_report

    with tempfile.TemporaryDirectory() as out:
        wall, own, children = time.perf_counter(), time.process_time(), _children_cpu()
        write_report(scan, Path(out) / "report", progress=False, workers=workers)
        return {"wall": time.perf_counter() - wall, "own": time.process_time() - own,
                "children": _children_cpu() - children}


def figure_costs(scan, repeat: int = 3) -> list:
    """(figure, CPU seconds to build it, CPU seconds to draw and encode its PNG), the least of ``repeat`` runs, in the
    page's order; each PNG drawn with the report canvas' text caches empty, as a figure process's first figure."""
    from forensics.plots.canvas import forget
    from forensics.report import figures

    best: dict = {}
    for _ in range(repeat):
        for fid, _, _, draw in figures._jobs(scan, "en"):
            start = time.process_time()
            try:
                fig = draw()
            except LookupError:
                continue
            fig = fig[0] if isinstance(fig, tuple) else fig
            forget()
            built = time.process_time()
            figures._png(fig)
            cost = (built - start, time.process_time() - built)
            best[fid] = tuple(min(a, b) for a, b in zip(best.get(fid, cost), cost))
    return [(fid, *cost) for fid, cost in best.items()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results file (default: %(default)s)")
    args = parser.parse_args(argv)
    import forensics

    lines = ["# The report's cost: `python benchmarks/bench_report.py`", "",
             f"Load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} "
             "cores (shared: CPU seconds are the steadier measure). Medians of "
             f"{args.repeat} runs with two figure processes, one run with `workers=1`.", "",
             "| election | figures drawn in | wall (s) | CPU, calling process (s) | CPU, figure processes (s) | "
             "CPU, total (s) |", "|---|---|---|---|---|---|"]
    costs = {}
    for name, load in _elections().items():
        scan = forensics.scan(load(), progress=False)
        first = time_report(scan, None)  # imports, fonts and the template, once
        cases = [("2 forked processes", None, args.repeat), ("this process", 1, 1)]
        if not costs:  # the process's first report: what a command-line run pays
            cases.insert(0, ("2 forked processes, the process's first report", first, 1))
        for label, workers, repeat in cases:
            runs = [workers] if isinstance(workers, dict) else [time_report(scan, workers) for _ in range(repeat)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            lines.append(f"| {name} | {label} | {med['wall']:.2f} | {med['own']:.2f} | {med['children']:.2f} | "
                         f"{med['own'] + med['children']:.2f} |")
            print(lines[-1], flush=True)
        costs[name] = figure_costs(scan)
    lines += ["", f"Load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.", "",
              "Each figure's CPU seconds in this process: building it, then drawing and encoding its PNG (the least of "
              "three runs).", "",
              "| figure | " + " | ".join(f"{n}: build, PNG" for n in costs) + " |",
              "|---|" + "---|" * len(costs)]
    ids = [fid for fid, _, _ in next(iter(costs.values()))]
    for fid in ids:
        cells = []
        for rows in costs.values():
            row = next((r for r in rows if r[0] == fid), None)
            cells.append(f"{row[1]:.2f}, {row[2]:.2f}" if row else "not drawn")
        lines.append(f"| {fid} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"{sum(r[1] for r in rows):.2f}, {sum(r[2] for r in rows):.2f}"
                                              for rows in costs.values()) + " |")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
