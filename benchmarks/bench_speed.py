"""Speed at any size: each step's wall and CPU seconds and peak memory, one table.

Cases, each in a fresh process (so its peak memory is its own):

* ``russia2018``: load, the default scan of Russia 2018 (nation + region)
  step by step, and the report, each step with the imports it needs (the
  process starts with only ``import forensics``, which imports nothing heavy);
* ``synthetic-N``: the same for a simulated election of N stations (80
  regions; the simulation itself is timed but not counted in the total);
* ``integer``: the integer-percentage test on Russia 2018, nation and every
  region, beside the reference: a straightforward per-station loop over
  each station's binomial probabilities of every whole percentage, as in
  Kobak et al.'s notebook (re-implemented here from its description; it
  lives in this benchmark, not in the package).  Both give each station's
  null probability; the table gives the ratio of their costs, measured in
  the same run, and checks that they agree.
* ``startup``: ``import forensics`` and ``forensics --help`` in a new interpreter.

The machine is shared, so CPU seconds stand beside wall seconds and the
load average is printed.  Every case but the start-up and the elections of
``ONCE_FROM`` stations or more runs ``--repeat`` times (default 3); the
table shows the run whose figure held against the target is the median,
every run's figure beside it; one more run, not timed, samples the memory (sampling competes with the
case for the cores).  The package is byte-compiled first, as installing it does.  Writes
``benchmarks/results/speed.md``.

    .venv/bin/python benchmarks/bench_speed.py [--sizes 10000,100000,1000000] [--reference-stations N] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FORENSICS_SHARED_DATA", ROOT.parent / "shared" / "data"))
RUSSIA = DATA / "ru_2018_president.csv.zip"
RESULTS = ROOT / "benchmarks" / "results" / "speed.md"
PUBLISHED_EXCESS = {"ru_2011_duma": 1003.5, "ru_2012_president": 1159.6, "ru_2018_president": 1708.8}
#: the targets: case -> (wall seconds, peak MB, what the seconds cover): Russia 2018 is held to its whole run
#: (load, scan, report); the synthetic elections to their scan, as the targets measure them ("a 10,000-station
#: election takes 40 s to scan"; "the same scan of 1M stations"), their report beside it
#: synthetic elections of at least this many stations run once (a run takes over a minute), and scan once per run
ONCE_FROM = 1_000_000
#: the step of a second scan in the case's process (not counted in its total)
AGAIN = "(the scan again in the same process, its modules imported; not counted)"
TARGETS = {"russia2018": (12.0, 1024.0, "total"), "synthetic-10000": (3.0, None, "scan"),
           "synthetic-1000000": (90.0, 3072.0, "scan"), "integer": (1.0, None, "total")}


def peak_mb() -> float:
    """Peak resident memory of this process plus that of its largest worker (forked workers share pages with
    this process, so the sum is an upper bound)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers) / 1024  # kilobytes on Linux


def cpu_seconds() -> float:
    """CPU seconds of this process (every thread) and of its finished worker processes."""
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


class Steps:
    """Wall and CPU seconds of named steps (CPU of every thread of the process and of its workers)."""

    def __init__(self):
        self.rows = []

    def time(self, name, func, *args, **kwargs):
        wall, cpu = time.perf_counter(), cpu_seconds()
        out = func(*args, **kwargs)
        self.rows.append({"step": name, "wall": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu})
        return out


def _scan(election, **options):
    """``forensics.scan``, the import of the scan's modules included (as a fresh process pays it)."""
    from forensics.scan import run

    return run.scan(election, **options)


def _timed_scan(steps: Steps, election, **options):
    """The default scan on every core, and each of its steps (wall and CPU in the process that ran it) as detail."""
    # the scan's default (``forensics.scan.run.default_workers``), without importing the scan before its step
    workers = options.pop("workers", None) or len(os.sched_getaffinity(0))
    result = steps.time(f"scan ({workers} workers)", _scan, election, rng=2018, progress=False, workers=workers,
                        **options)
    total = steps.rows[-1]
    for name, wall in result.timings.items():
        steps.rows.append({"step": f"scan: {name}", "wall": wall, "cpu": result.cpu_seconds[name], "detail": True})
    steps.rows.append({"step": "scan: its own work (imports, corrections, exclusions, workers)",
                       "wall": float("nan"), "cpu": total["cpu"] - sum(result.cpu_seconds.values()),
                       "detail": True})
    return result


def _report(result, out: Path):
    """The report, the import of its modules included (as a fresh process running a scan pays it)."""
    from forensics.report import write_report

    return write_report(result, out, progress=False)


def case_scan(name: str) -> dict:
    import forensics

    steps = Steps()
    if name == "russia2018":
        election = steps.time("load", forensics.load, RUSSIA)
    else:
        from forensics.simulate import simulate

        n = int(name.split("-")[1])
        election = steps.time("(simulating the election, not counted)", simulate, n_pec=n, n_regions=80, rng=n)
    result = _timed_scan(steps, election)
    with tempfile.TemporaryDirectory(prefix="bench_speed_") as out:
        steps.time("report (HTML, tables, figures)", _report, result, Path(out))
    if len(election.table) < ONCE_FROM:  # as in a session that has scanned before: every module imported
        steps.time(AGAIN, _scan, election, rng=2018, progress=False, workers=len(os.sched_getaffinity(0)))
    return {"case": name, "stations": len(election.table), "steps": steps.rows, "peak_mb": peak_mb()}


def reference_probabilities(N, B, R, W, tolerance=0.05):
    """Each station's null probability of a whole-number turnout or result, one station at a time.

    For every station and every whole percentage k, the binomial probability
    that the redrawn count lands within ``tolerance`` pp of k (turnout:
    Bin(N, B/N); result: Bin(R, W/R)); "either" combines the two as
    independent.  The straightforward loop of the original notebook.
    """
    import numpy as np
    from scipy import stats

    out = np.empty(len(N))
    for i in range(len(N)):
        probs = []
        for total, count in ((N[i], B[i]), (R[i], W[i])):
            k = np.arange(101)
            lo = np.ceil(total * (k - tolerance) / 100 - 1e-9)
            hi = np.floor(total * (k + tolerance) / 100 + 1e-9)
            ok = hi >= lo
            p = stats.binom.cdf(hi[ok], total, count / total) - stats.binom.cdf(lo[ok] - 1, total, count / total)
            probs.append(min(1.0, p.sum()))
        out[i] = 1 - (1 - probs[0]) * (1 - probs[1])
    return out


def case_integer(reference_stations: int) -> dict:
    import numpy as np

    import forensics
    from forensics.scan.battery import battery
    from forensics.stats.spikes import integer_percentages, integer_probabilities, kobak_counts

    steps = Steps()
    election = forensics.load(RUSSIA)
    result = _timed_scan(steps, election, tests=battery(["integer_percentages"]), workers=1)
    steps.rows = [r for r in steps.rows if "integer_percentages" in r["step"]]
    steps.rows.append({"step": "integer_percentages @ nation + region (sum of the steps)",
                       "wall": sum(r["wall"] for r in steps.rows), "cpu": sum(r["cpu"] for r in steps.rows),
                       "total": True})
    rows = result.tests
    excess = {}
    for stem, published in PUBLISHED_EXCESS.items():
        e = forensics.load(DATA / f"{stem}.csv.zip")
        res = integer_percentages(e, rng=2018, breakdown=None)
        excess[stem] = (res.details["excess"], published)
    frame, _ = kobak_counts(election)
    sample = frame.sample(n=min(reference_stations, len(frame)), random_state=0)
    fast = steps.time(f"null probabilities, {len(sample):,} stations: package", integer_probabilities, sample)
    cols = [sample[c].to_numpy() for c in ("N", "B", "R", "W")]
    slow = steps.time(f"null probabilities, {len(sample):,} stations: reference loop", reference_probabilities, *cols)
    return {"case": "integer", "stations": len(election.table), "steps": steps.rows, "peak_mb": peak_mb(),
            "excess": excess, "regions": int((rows["level"] == "region").sum()),
            "max_abs_difference": float(np.max(np.abs(fast["either"].to_numpy() - slow)))}


def case_startup() -> dict:
    commands = {"import forensics": [sys.executable, "-c", "import forensics"],
                "forensics --help": [sys.executable, "-m", "forensics", "--help"]}
    rows = []
    for name, command in commands.items():
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)  # warm the caches
        walls = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            walls.append(time.perf_counter() - start)
        rows.append({"step": name, "wall": statistics.median(walls), "cpu": float("nan"), "min": min(walls)})
    return {"case": "startup", "stations": 0, "steps": rows, "peak_mb": float("nan")}


def child(case: str, reference_stations: int) -> dict:
    if case == "integer":
        return case_integer(reference_stations)
    if case == "startup":
        return case_startup()
    return case_scan(case)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux ``/proc/<pid>/task/<tid>/children``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` in kB: its private pages plus its share of pages it shares (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_case(case: str, reference_stations: int, memory: bool = True, interval: float = 0.1) -> dict:
    """Run ``case`` in a fresh process.  With ``memory``, sample from outside, every ``interval``, the memory of
    that process and of every process it forks (the sum of their Pss, so pages a forked worker shares with its
    parent count once); without, only wait for it: reading a large process's Pss costs the kernel several
    milliseconds, CPU the case's steps would otherwise have."""
    before = _cpu_ticks()
    proc = subprocess.Popen([sys.executable, __file__, "--child", case, "--reference-stations", str(reference_stations)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    peak = 0
    while memory and proc.poll() is None:
        peak = max(peak, sum(_pss_kb(p) for p in _descendants(proc.pid)))
        time.sleep(interval)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        return {"case": case, "error": stderr.strip().splitlines()[-1] if stderr.strip() else "failed"}
    res = json.loads(stdout.strip().splitlines()[-1])
    res["tree_mb"] = peak / 1024 if peak else float("nan")
    res["steal"] = _steal(before, _cpu_ticks())
    return res


def _cpu_ticks() -> list[int]:
    """The machine's CPU time by state (the first line of Linux's /proc/stat), or [] where there is none."""
    try:
        return [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return []


def _steal(before: list[int], after: list[int]) -> float:
    """The share of the machine's CPU time the hypervisor gave to other guests between two ``_cpu_ticks``
    (the eighth field, "steal"): time this machine's cores were wanted but ran someone else's work."""
    if len(before) < 8 or len(after) < 8:
        return float("nan")
    spent = [b - a for a, b in zip(before, after)]
    return spent[7] / sum(spent) if sum(spent) else float("nan")


def _total(res: dict) -> tuple[float, float]:
    totals = [r for r in res["steps"] if r.get("total")]
    rows = totals or [r for r in res["steps"] if not r["step"].startswith("(") and not r.get("detail")
                      and "null probabilities" not in r["step"]]
    return sum(r["wall"] for r in rows), sum(r["cpu"] for r in rows)


def _again_wall(res: dict) -> float:
    """Wall seconds of the case's second scan (NaN where there is none)."""
    rows = [r for r in res["steps"] if r["step"] == AGAIN]
    return rows[0]["wall"] if rows else float("nan")


def _scan_wall(res: dict) -> float:
    """Wall seconds of the case's scan step (NaN for a case without one)."""
    rows = [r for r in res["steps"] if r["step"].startswith("scan (")]
    return rows[0]["wall"] if rows else float("nan")


def _held(res: dict) -> float:
    """The figure a case's target holds (its scan's wall for the synthetic elections, else the whole case's)."""
    target = TARGETS.get(res["case"], (None, None, "scan" if res["case"].startswith("synthetic") else "total"))
    return _scan_wall(res) if target[2] == "scan" else _total(res)[0]


def run_repeated(case: str, reference_stations: int, repeat: int) -> dict:
    """``run_case`` ``repeat`` times, unobserved, and once more sampling its memory (a single run does both):
    the timed run whose held figure is the median, with every timed run's figure (``runs``) and the memory
    of the sampled run."""
    timed = [run_case(case, reference_stations, memory=False) for _ in range(repeat)] if repeat > 1 else []
    sampled = run_case(case, reference_stations)
    runs = timed or [sampled]
    failed = [r for r in [*runs, sampled] if "error" in r]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=_held)
    res = dict(ordered[(len(ordered) - 1) // 2])
    res["runs"] = [_held(r) for r in runs]
    res["tree_mb"] = sampled["tree_mb"]
    res["steal"] = max(r.get("steal", float("nan")) for r in runs)
    res["peak_mb"] = max(r["peak_mb"] for r in [*runs, sampled])
    return res


def byte_compile() -> None:
    """Byte-compile the package, as installing it does, so that no case pays for compiling its sources (an
    environment with PYTHONDONTWRITEBYTECODE set would otherwise compile them in every fresh process)."""
    import compileall
    compileall.compile_dir(ROOT / "forensics", quiet=1)


def _when(res: dict) -> str:
    load, steal = res.get("load"), res.get("steal", float("nan"))
    text = f"{res.get('when', '')} ({load[0]:.1f} / {load[1]:.1f})" if load else res.get("when", "")
    return text + ("" if steal != steal else f", steal {100 * steal:.0f}%")


def render(results: list[dict], load: tuple) -> str:
    lines = ["# Speed at any size", "",
             "`benchmarks/bench_speed.py` (`make benchmarks`): every case in a fresh process; wall and CPU seconds "
             "of each step (CPU of every thread and of the scan's worker processes, so CPU above wall means both cores "
             "worked; indented rows are the scan's steps, in the process that ran each, not added to the total) and "
             "two peaks of memory: `memory MB`, the largest sum, sampled every 0.1 s from outside in one more run of "
             "the case, of the proportional set size (Pss) of the case's process and every process it forks (a page "
             "a forked worker shares with its parent counts once; this is the figure held against the targets), and "
             "`maxrss MB`, the peak resident memory of the process plus that of its largest worker, the largest of "
             "any run (an upper bound: shared pages count twice). The timed runs are not sampled: reading a large "
             "process's Pss costs the kernel several milliseconds, and sampled runs of Russia 2018 lost 2.5 s of "
             "wall to it (4.9 s of CPU). A case that runs once is both timed and sampled. The package is "
             "byte-compiled first, as installing it does. "
             f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
             f"Python {platform.python_version()}; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
             "(1 / 5 / 15 min) when the run ended.", "",
             "## Totals against the targets", "",
             "`scan wall` is the scan alone, `wall` the whole case (load or simulation excluded, scan, report), "
             "each with the imports it makes in a fresh process; `target` says which of the two it holds; `runs` "
             "gives that figure in every run of the case, in the order they ran, and the row is the run with the "
             "median one; `scan again` is a second scan in the same process, every module already imported (as in "
             "a session that has scanned before), not held against the target.", "",
             "| case | stations | scan wall (s) | scan again (s) | wall (s) | CPU (s) | runs (s) | memory MB | "
             "maxrss MB | target | within | measured (load 1 / 5 min; steal: the largest share of the machine's CPU "
             "time another guest took during a run) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        if "error" in res:
            lines.append(f"| {res['case']} | | | | | | | | | | failed: {res['error']} | {_when(res)} |")
            continue
        if res["case"] == "startup":
            for r in res["steps"]:
                target = {"import forensics": 0.4, "forensics --help": 0.6}[r["step"]]
                lines.append(f"| `{r['step']}` (median of 7; min {r['min']:.2f}) | | | | {r['wall']:.2f} | | | | | "
                             f"{target} s | {'yes' if r['wall'] <= target else 'NO'} | {_when(res)} |")
            continue
        wall, cpu = _total(res)
        scan = _scan_wall(res)
        target = TARGETS.get(res["case"])
        within = ""
        if target:
            memory = res.get("tree_mb", res["peak_mb"])
            held = scan if target[2] == "scan" else wall
            within = "yes" if held <= target[0] and (target[1] is None or memory <= target[1]) else "NO"
        text = "" if not target else (f"{target[0]:g} s" + (" scan" if target[2] == "scan" else "")
                                      + (f", {target[1]:,.0f} MB" if target[1] else ""))
        tree = res.get("tree_mb", float("nan"))
        again = _again_wall(res)
        lines.append(f"| {res['case']} | {res['stations']:,} | {'' if scan != scan else f'{scan:.1f}'} | "
                     f"{'' if again != again else f'{again:.1f}'} | "
                     f"{wall:.1f} | {cpu:.1f} | {', '.join(f'{x:.1f}' for x in res.get('runs', []))} | "
                     f"{'' if tree != tree else f'{tree:,.0f}'} | {res['peak_mb']:,.0f} | "
                     f"{text} | {within} | {_when(res)} |")
    for res in results:
        if "error" in res or res["case"] == "startup":
            continue
        lines += ["", f"## {res['case']}: steps", "", "| step | wall (s) | CPU (s) |", "|---|---|---|"]
        for r in sorted(res["steps"], key=lambda r: (bool(r.get("detail")), -r["cpu"])):
            wall = "" if r["wall"] != r["wall"] else f"{r['wall']:.2f}"  # no wall of its own: the steps overlap
            lines.append(f"| {'&nbsp;&nbsp;' if r.get('detail') else ''}{r['step']} | {wall} | {r['cpu']:.2f} |")
        if res["case"] == "integer":
            ref = [r for r in res["steps"] if "reference" in r["step"]][0]
            fast = [r for r in res["steps"] if r["step"].endswith("package")][0]
            lines += ["", f"Reference loop against the package on the same stations: {ref['wall'] / fast['wall']:,.0f}x "
                          f"the wall time, {ref['cpu'] / max(fast['cpu'], 1e-9):,.0f}x the CPU; largest difference "
                          f"of a station's probability {res['max_abs_difference']:.1e}.", "",
                      "Published excesses (Kobak et al., Monte Carlo) against the package's, seed 2018:", "",
                      "| election | package | published |", "|---|---|---|",
                      *(f"| {k} | {v[0]:.1f} | {v[1]:.1f} |" for k, v in res["excess"].items())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="synthetic sizes, comma-separated")
    parser.add_argument("--reference-stations", type=int, default=10_000,
                        help="stations of Russia 2018 the reference loop runs on (all: 100000)")
    parser.add_argument("--cases", default=None, help="only these cases (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each case but the start-up and a million stations (the median shown)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.reference_stations)))
        return 0
    cases = ["startup", "integer", "russia2018", *(f"synthetic-{int(n)}" for n in args.sizes.split(",") if n)]
    if args.cases:
        cases = [c for c in cases if c in args.cases.split(",")]
    stored = RESULTS.with_suffix(".json")
    # a run of some cases keeps the others' last figures (each case says when it ran)
    results = json.loads(stored.read_text()) if args.cases and stored.exists() else []
    byte_compile()
    for case in cases:
        once = case == "startup" or (case.startswith("synthetic-") and int(case.split("-")[1]) >= ONCE_FROM)
        res = run_repeated(case, args.reference_stations, 1 if once else max(1, args.repeat))
        res["load"] = os.getloadavg()[:2]
        res["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results = [r for r in results if r["case"] != case] + [res]
        print(json.dumps(res)[:300], flush=True)
    order = {c: k for k, c in enumerate(["startup", "integer", "russia2018"])}
    results.sort(key=lambda r: (order.get(r["case"], 3), int(r["case"].split("-")[1]) if "-" in r["case"] else 0))
    stored.write_text(json.dumps(results, indent=1), encoding="utf-8")
    text = render(results, os.getloadavg())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
