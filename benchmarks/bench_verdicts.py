"""CPU seconds of the scan's verdict step; writes benchmarks/results/verdicts_speed.md.

The step is the verdicts' worker (integer, stuffing, 100% cluster and arithmetic headlines, the
station evidence) plus the part decided in the scan's own process from the battery's results
(the digits headline and the context measures), as ``Scan.cpu_seconds["verdicts"]`` counts it.
Each election is scanned once in a fresh state, seed 2018, nation and region level, 2 workers.

    python benchmarks/bench_verdicts.py [--million]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import forensics
from forensics.scan import scan
from forensics.simulate import simulate, simulate_preset

OUT = Path(__file__).parent / "results" / "verdicts_speed.md"
RUSSIA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ru_2018_president.csv.zip"


def elections(million: bool) -> list:
    """(name, loader) of the elections measured."""
    out = [("Russia 2018", lambda: forensics.load(RUSSIA))] if RUSSIA.exists() else []
    out += [("simulated 10,000 stations, 80 regions", lambda: simulate(n_pec=10_000, n_regions=80, rng=10_000)),
            ("clean-confounded 20,000 stations", lambda: simulate_preset("clean-confounded", rng=7))]
    if million:
        out.append(("simulated 1,000,000 stations, 80 regions",
                    lambda: simulate(n_pec=1_000_000, n_regions=80, rng=1_000_000)))
    return out


def measure(name: str, load) -> dict:
    e = load()
    wall = time.perf_counter()
    s = scan(e, rng=2018, progress=False, workers=2)
    return {"name": name, "stations": len(e.table), "verdicts_cpu": s.cpu_seconds["verdicts"],
            "verdicts_wall": s.timings["verdicts"], "scan_wall": time.perf_counter() - wall}


def section(rows: list) -> str:
    lines = ["# Speed of the verdicts", "",
             "`python benchmarks/bench_verdicts.py` (`--million` adds 1,000,000 stations): "
             "`forensics.scan(election, rng=2018, workers=2)`, the verdict step's CPU seconds as "
             "`Scan.cpu_seconds[\"verdicts\"]` counts them (the verdicts' worker plus the digits headline and the "
             "context measures taken from the battery's results in the scan's process). Shared 2-core machine: "
             "CPU seconds are the comparable figure.", "",
             "| election | stations | verdicts CPU s | verdicts wall s | whole scan wall s |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['name']} | {r['stations']:,} | {r['verdicts_cpu']:.2f} | {r['verdicts_wall']:.2f} | "
              f"{r['scan_wall']:.1f} |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 stations (minutes, ~3 GB)")
    args = parser.parse_args(argv)
    rows = []
    for name, load in elections(args.million):
        rows.append(measure(name, load))
        print(rows[-1], flush=True)
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text(section(rows), encoding="utf-8")
    tmp.replace(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
