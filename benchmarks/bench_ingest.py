"""Speed and memory of ingest: ``forensics.load`` of the Russian 2018 file.

Targets: under 3 s and under 1 GB on the shared 2-core machine.  Times the
zipped CSV (97,699 stations, 32 MB unzipped; median of 5 runs in one process)
and the same table as Parquet and in a long layout (one row per station and
candidate, widened by the profile's ``[long]`` table), plus the 2004 (lines
found by their meaning words), 2011, Germany (91,753 districts, row rules)
and Canada files.
Memory is measured in a fresh process per file: the peak resident set size
(``VmHWM``, or ``resource.getrusage`` off Linux) of the whole process, and the peak of Python-level
allocations during ``load`` (``tracemalloc``, which also sees numpy and
pandas buffers).  Writes benchmarks/results/ingest.md.

    .venv/bin/python benchmarks/bench_ingest.py
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RU2018 = DATA / "ru_2018_president.csv.zip"
OTHERS = [(DATA / "ru_2004_president.csv.zip", None), (DATA / "ru_2011_duma.csv.zip", None),
          (DATA / "de_2024_ep_wbz.csv.zip", None), (DATA / "canada_2011_polls.csv.zip", "canada_2011")]
REPEATS = 5
TARGET_SECONDS = 3.0
TARGET_MB = 1024

#: run in a child process: peak RSS and tracemalloc peak of one load
CHILD = """
import json, resource, sys, time, tracemalloc
import forensics, forensics.ingest

def hwm_kb():
    # VmHWM belongs to this process image; ru_maxrss would include the parent's peak before exec
    try:
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

path, profile = sys.argv[1], (sys.argv[2] or None)
base = hwm_kb()
tracemalloc.start()
start = time.perf_counter()
e = forensics.load(path, profile=profile)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = hwm_kb()
print(json.dumps({"rows": len(e), "rss_mb": peak / 1024, "rss_before_mb": base / 1024,
                  "traced_mb": traced / 2**20, "traced_seconds": seconds}))
"""


def timed(fn, repeats=REPEATS):
    """(median wall s, best wall s, median CPU s, result); CPU time is what other jobs on a shared machine
    do not inflate."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), min(times), statistics.median(cpu), out


def memory(path, profile=None) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), profile or ""], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def _long_copy(e, folder: Path):
    """Russia 2018 as a long file (each station's columns repeated on one row per candidate) and its profile."""
    import pandas as pd
    import forensics

    wide = forensics.ingest.to_layout(e, "ru_cik_2018")
    stations = wide.drop(columns=list(e.parties))
    long = pd.concat([stations.assign(Кандидат=p, Голоса=wide[p]) for p in e.parties])
    path, profile = folder / "ru_2018_long.csv", folder / "ru_2018_long.toml"
    long.sort_index(kind="stable").to_csv(path, index=False)
    profile.write_text('extends = "ru_cik_2018"\n[long]\noption = "Кандидат"\ncount = "Голоса"\n', encoding="utf-8")
    return path, profile


def main() -> None:
    import forensics

    if not RU2018.exists():
        raise SystemExit(f"{RU2018} is missing: the benchmark needs ../shared/data")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        forensics.load(RU2018)  # warm up: imports and the file cache
        median, best, cpu, e = timed(lambda: forensics.load(RU2018))
        rows.append(("Russia 2018, zipped CSV", RU2018, None, len(e), median, best, cpu))
        parquet = Path(tmp) / "ru_2018.parquet"
        forensics.ingest.to_layout(e, "ru_cik_2018").to_parquet(parquet, index=False)
        median, best, cpu, e = timed(lambda: forensics.load(parquet))
        rows.append(("Russia 2018, Parquet", parquet, None, len(e), median, best, cpu))
        long, profile = _long_copy(e, Path(tmp))
        median, best, cpu, got = timed(lambda: forensics.load(long, profile=str(profile)), repeats=3)
        assert got.table.equals(e.table), "the long layout must load to the same table"
        rows.append((f"Russia 2018, long layout ({got.meta['long_rows']:,} rows: one per station and candidate)",
                     long, str(profile), len(got), median, best, cpu))
        for path, profile in OTHERS:
            median, best, cpu, e = timed(lambda: forensics.load(path, profile=profile), repeats=3)
            rows.append((path.name, path, profile, len(e), median, best, cpu))
        mem = [memory(path, profile) for _, path, profile, *_ in rows]

    lines = [
        "# Ingest speed and memory",
        "",
        f"`forensics.load` (read, detect the profile, map, apply row rules, parse every cell strictly, mark "
        f"unpublished stations, check the key); median and best of {REPEATS} runs in one process (3 for the "
        f"other files). Memory in a fresh process per file: peak RSS of the whole process (Python, pandas "
        f"and the package imported) and the peak of allocations traced during `load`. Targets for the 2018 "
        f"file: under {TARGET_SECONDS:g} s and under {TARGET_MB / 1024:g} GB.",
        "",
        "| file | stations | median wall (s) | best wall (s) | median CPU (s) | peak RSS (MB) | RSS before load (MB) "
        "| traced peak (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (name, _, _, n, med, b, cpu), m in zip(rows, mem):
        lines.append(f"| {name} | {n:,} | {med:.2f} | {b:.2f} | {cpu:.2f} | {m['rss_mb']:.0f} | "
                     f"{m['rss_before_mb']:.0f} | {m['traced_mb']:.0f} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += ["", f"Machine: {platform.machine()}, Python {platform.python_version()}, "
              f"{platform.system()} (shared, 2 cores; load average {load:.1f} when the run ended: wall times grow "
              f"with the other jobs, CPU times much less). Produced by `benchmarks/bench_ingest.py`."]
    out = ROOT / "benchmarks" / "results" / "ingest.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if min(rows[0][4], rows[0][6]) >= TARGET_SECONDS or mem[0]["rss_mb"] >= TARGET_MB:
        raise SystemExit("the 2018 file misses its target")


if __name__ == "__main__":
    main()
