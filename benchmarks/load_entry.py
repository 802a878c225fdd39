"""Load test of ``forensics entry``: 50 simulated typists enter 2,000 protocols at once (4,000 entries).

Runs against SQLite, then PostgreSQL (a throw-away cluster of Debian's
``postgresql``, as the tests start it), on localhost only, with the server
in its own process (waitress, 16 threads).  Every protocol is entered by two
typists; one in ten carries an arithmetic error "as written" that the typist
confirms.  Afterwards the database is read back: entries lost, duplicated,
half-written or holding other figures than sent are counted (all must be 0).
Request latencies are written to ``benchmarks/results/entry.md``.

    python benchmarks/load_entry.py [--protocols 2000] [--typists 50]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from entry_support import Server, postgres_cluster  # noqa: E402
from test_entry_concurrency import prepare  # noqa: E402

from forensics.entry.simulate import Typist, latency_table, run_typists, verify  # noqa: E402


def run(backend: str, n: int, k: int, tmp: Path, url=None) -> dict:
    db, form, names, expected = prepare(tmp, n, k, database=url)
    server = Server(tmp / "e", threads=16)
    try:
        typists = [Typist(server.base, name, "typist-pass", expected.get) for name in names]
        seconds = run_typists(typists)
    finally:
        server.stop()
    with db.read() as s:
        counts = verify(s, expected, form.keys)
    db.dispose()
    failures = [f for t in typists for f in t.failures]
    return {"backend": backend, "seconds": seconds, "counts": counts, "failures": failures,
            "latency": latency_table(typists), "saved": sum(len(t.saved) for t in typists)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", type=int, default=2000)
    parser.add_argument("--typists", type=int, default=50)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "entry.md"))
    args = parser.parse_args()
    results = []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "sqlite").mkdir()
        results.append(run("SQLite", args.protocols, args.typists, tmp / "sqlite"))
        print(results[-1]["counts"], f"{results[-1]['seconds']:.0f} s", flush=True)
        (tmp / "pg").mkdir()
        try:
            with postgres_cluster(tmp / "pg") as new_database:
                results.append(run("PostgreSQL", args.protocols, args.typists, tmp / "pg", new_database()))
                print(results[-1]["counts"], f"{results[-1]['seconds']:.0f} s", flush=True)
        except pytest.skip.Exception as exc:
            print(f"PostgreSQL skipped: {exc}")
    lines = [f"# forensics entry: load test ({args.typists} typists, {args.protocols:,} protocols entered twice)", "",
             f"`python benchmarks/load_entry.py` on {platform.platform()}, Python {platform.python_version()}, "
             f"{os.cpu_count()} cores shared with other work (1-minute load average {load_start:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end); server and typists on localhost (waitress, 16 threads).",
             "Each typist signs in, opens each assigned station's form and saves it (a confirmation round when the "
             "protocol breaks a rule: one protocol in ten). The database is then read back.", "",
             "| backend | entries sent | saved (server confirmed) | in the database | lost | duplicated | half-written | "
             "other figures than sent | failures | wall time | entries / s |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c = r["counts"]
        lines.append(f"| {r['backend']} | {2 * args.protocols:,} | {r['saved']:,} | {c['entries']:,} | {c['missing']} | "
                     f"{c['duplicated']} | {c['half_written']} | {c['wrong']} | {len(r['failures'])} | "
                     f"{r['seconds']:.0f} s | {c['entries'] / r['seconds']:.1f} |")
    for r in results:
        lines += ["", f"## Request latency, {r['backend']} (ms)", "", "| request | n | median | 95th percentile | max |",
                  "|---|---|---|---|---|"]
        lines += [f"| {x['request']} | {x['n']:,} | {x['median_ms']:.0f} | {x['p95_ms']:.0f} | {x['max_ms']:.0f} |"
                  for x in r["latency"]]
    reasons = sorted({f"{r['backend']}: {reason}" for r in results for _, reason in r["failures"]})
    if reasons:
        lines += ["", "## Failures", ""] + [f"- {x}" for x in reasons]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    bad = any(r["counts"]["missing"] or r["counts"]["duplicated"] or r["counts"]["half_written"] or r["counts"]["wrong"]
              or r["failures"] for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
