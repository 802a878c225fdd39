"""The speed targets on this machine against the code as the speed work began, measured in the same run.

The targets of ``bench_speed.py`` are seconds on the machine that runs it.
The issue that set them measured, on another machine, the code as it was
before the speed work (commit ``BASELINE``, the last before the work began:
the integer test through a thread pool per call, statsmodels fits per
region, one process): Russia 2018's ``forensics scan`` (load, scan, report)
80 s for a target of 12 s, a 10,000-station scan 40 s for a target of 3 s.  A faster
machine meets seconds more easily, so this script runs that commit (checked
out into a temporary git worktree, imported by ``PYTHONPATH``, with the
packages of this checkout's environment) and this checkout's code in turn on
this machine, and sets the ratio against the one the targets ask for
(80 / 12 = 6.7 times faster, 40 / 3 = 13.3 times).

Cases, each a fresh process, ``--repeat`` runs of each version alternating:

* ``forensics scan`` of Russia 2018 into a temporary folder (wall and CPU of
  the whole process, its workers included);
* the default scan of a simulated election of 10,000 stations and 80
  regions (written once as CSV by this checkout; each version loads it and
  times its scan, imports included).

Writes ``benchmarks/results/speed_baseline.md``.  Without git or the
commit (a shallow clone), it says so and writes nothing.

    .venv/bin/python benchmarks/bench_baseline.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
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
RESULTS = ROOT / "benchmarks" / "results" / "speed_baseline.md"
#: the last commit before the speed work (its scan: one process, every step in turn)
BASELINE = "6089652"
#: case -> (the baseline's seconds on the issue's machine, the target there)
ASKED = {"russia2018": (80.0, 12.0), "synthetic-10000": (40.0, 3.0)}

#: run in a child process with one version on PYTHONPATH: seconds of the scan of a CSV, imports included
SCAN_CHILD = """
import json, sys, time
import forensics
election = forensics.load(sys.argv[1])
start = time.perf_counter()
try:
    from forensics.scan.run import scan
except ImportError:
    from forensics.scan import scan
scan(election, rng=2018, progress=False)
print(json.dumps({"scan": time.perf_counter() - start}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(tree: Path, args: list) -> dict:
    """Wall and CPU seconds of one child process running ``args`` with ``tree``'s package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    cpu, wall = _children_cpu(), time.perf_counter()
    out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=tree)
    if out.returncode:
        raise SystemExit(f"{' '.join(args[:3])} failed in {tree}:\n{out.stderr[-2000:]}")
    result = {"wall": time.perf_counter() - wall, "cpu": _children_cpu() - cpu}
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if last.startswith("{"):
        result.update(json.loads(last))
    return result


def _worktree(folder: Path) -> Path | None:
    tree = folder / "baseline"
    out = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), BASELINE],
                         capture_output=True, text=True)
    if out.returncode:
        print(f"bench_baseline: commit {BASELINE} cannot be checked out ({out.stderr.strip()}); nothing written")
        return None
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "forensics"), str(ROOT / "forensics")],
                   check=True, capture_output=True)
    return tree


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each version and case (the median shown)")
    args = parser.parse_args(argv)
    if not RUSSIA.exists():
        raise SystemExit(f"{RUSSIA} is missing: the benchmark needs ../shared/data")
    from forensics.simulate import simulate

    runs = {case: {"baseline": [], "now": []} for case in ASKED}
    with tempfile.TemporaryDirectory(prefix="bench_baseline_") as tmp:
        folder = Path(tmp)
        tree = _worktree(folder)
        if tree is None:
            return 0
        try:
            small = folder / "synthetic-10000.csv"
            simulate(n_pec=10_000, n_regions=80, rng=10_000).table.to_csv(small, index=False)
            for _ in range(args.repeat):
                for version, where in (("baseline", tree), ("now", ROOT)):
                    runs["russia2018"][version].append(_run(where, [
                        "-m", "forensics", "scan", str(RUSSIA), "--out", str(folder / f"out_{version}")]))
                    runs["synthetic-10000"][version].append(_run(where, ["-c", SCAN_CHILD, str(small)]))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
    _write(runs, args.repeat)
    return 0


def _write(runs: dict, repeat: int) -> None:
    figure = {"russia2018": "wall", "synthetic-10000": "scan"}
    lines = [
        "# Speed against the code as the speed work began (same machine, same run)",
        "",
        f"`benchmarks/bench_baseline.py`: commit `{BASELINE}` (the last before the speed work, the code the speed "
        "issue measured) and this "
        f"checkout, {repeat} runs of each in turn, each a fresh process with the same installed packages; the "
        "median run. Russia 2018: `forensics scan` as a whole process (load, scan, report). 10,000 stations: "
        "the scan of the same simulated election (80 regions), imports included. `asked` is the ratio the "
        "targets set against the issue's own measurement of that code on its machine (80 s to 12 s, 40 s to 3 s).",
        "",
        "| case | baseline wall (s) | baseline CPU (s) | now wall (s) | now CPU (s) | times faster (wall) | asked |"
        " met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case, (before, target) in ASKED.items():
        key = figure[case]
        base = {k: statistics.median(r[k] for r in runs[case]["baseline"]) for k in ("wall", "cpu", key)}
        now = {k: statistics.median(r[k] for r in runs[case]["now"]) for k in ("wall", "cpu", key)}
        ratio, asked = base[key] / now[key], before / target
        shown = f"{base[key]:.1f}" if key == "wall" else f"{base[key]:.1f} (scan; process {base['wall']:.1f})"
        now_shown = f"{now[key]:.2f}" if key == "wall" else f"{now[key]:.2f} (scan; process {now['wall']:.2f})"
        lines.append(f"| {case} | {shown} | {base['cpu']:.1f} | {now_shown} | {now['cpu']:.1f} | {ratio:.1f} | "
                     f"{asked:.1f} | {'yes' if ratio >= asked else 'no'} |")
    lines += ["", "Every run (wall seconds of the figure compared):", ""]
    for case in ASKED:
        for version in ("baseline", "now"):
            values = ", ".join(f"{r[figure[case]]:.2f}" for r in runs[case][version])
            lines.append(f"- {case}, {version}: {values}")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
