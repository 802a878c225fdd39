"""Start-up time: ``import forensics`` and ``forensics --help``, each in a fresh interpreter.

Targets on the shared 2-core machine: ``import forensics`` under 0.4 s and
``forensics --help`` under 0.6 s.  Each is run ``REPEATS`` times in a new
process; the table gives the minimum (the cost itself, least disturbed by
the other jobs on the machine), the median and the maximum, beside a bare
``python -c pass`` for the interpreter's own start.  It also lists the heavy
libraries that ``import forensics`` loads (none is the point).  Writes
benchmarks/results/import.md.

    .venv/bin/python benchmarks/bench_import.py
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 15
TARGETS = {"import forensics": 0.4, "forensics --help": 0.6}
HEAVY = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "jinja2", "pyarrow")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import forensics": [sys.executable, "-c", "import forensics"],
    "forensics --help": [sys.executable, "-m", "forensics", "--help"],
}


def wall(command) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    for command in COMMANDS.values():  # warm the file cache and the bytecode once
        wall(command)
    times = {name: [wall(cmd) for _ in range(REPEATS)] for name, cmd in COMMANDS.items()}
    loaded = subprocess.run([sys.executable, "-c", "import sys, forensics; print(' '.join(sorted("
                             f"m for m in {HEAVY!r} if m in sys.modules)))"],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = ["# Start-up time", "",
             f"`benchmarks/bench_import.py`: each command in a fresh interpreter, {REPEATS} runs after one warm-up; "
             f"Python {platform.python_version()}, {os.cpu_count()} cores shared with other jobs "
             f"(load average {load:.1f} when the runs ended).", "",
             "| command | min (s) | median (s) | max (s) | target (s) | min within target |",
             "|---|---|---|---|---|---|"]
    for name, values in times.items():
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if min(values) < target else "NO")
        lines.append(f"| `{name}` | {min(values):.3f} | {statistics.median(values):.3f} | {max(values):.3f} | "
                     f"{'' if target is None else target} | {ok} |")
    lines += ["", f"Heavy libraries loaded by `import forensics`: {loaded or 'none'} "
                  f"(checked: {', '.join(HEAVY)}).",
              "", "The package face loads its names on first use (`forensics/__init__.py`), the command line "
                  "builds its parser from modules that import nothing heavy, and statsmodels is imported only "
                  "when a test or a correction needs it. The minimum is the cost of start-up itself; the median "
                  "and maximum show how much the other jobs on the shared machine add.", ""]
    out = ROOT / "benchmarks" / "results" / "import.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
