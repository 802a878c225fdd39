"""``forensics demo``: scan the bundled demo election and print where the report is (opens nothing)."""
from __future__ import annotations

from pathlib import Path

from ..data import DEMO_FILE
from .scan import add_scan_options, check_out, run_scan

DEMO_PROFILE = "kz_cec"


def demo_election(path: Path = DEMO_FILE):
    """The packaged demo election, or the same simulation regenerated when the file is absent."""
    if path.exists():
        from ..ingest import load

        return load(path, profile=DEMO_PROFILE)
    from ..simulate import simulate_preset

    print(f"{path} not found: regenerating the demo election (simulate preset 'kz-demo', seed 2021).")
    return simulate_preset("kz-demo", rng=2021)


def _main(args) -> int:
    check_out(args)
    return run_scan(demo_election(), args)


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="scan the bundled demo election and write its report",
                              description="Scan the simulated demo election shipped with the package (forensics/data/"
                              "demo_kz.csv, with known, injected anomalies) and write the report; prints "
                              "where it is.")
    add_scan_options(p, out_default=Path("reports/demo"))
    p.set_defaults(func=_main)
