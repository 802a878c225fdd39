"""``forensics scan FILE --out DIR``: run the anomaly scan and write the report."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from . import add_input_options


def add_scan_options(parser, out_default=None) -> None:
    """Options shared by ``scan`` and ``demo``."""
    parser.add_argument("--out", metavar="DIR", required=out_default is None, default=out_default, type=Path,
                        help="directory for report.html, the CSV/JSON tables and figures/"
                        + (f" (default {out_default})" if out_default else ""))
    parser.add_argument("--seed", type=int, default=2021, help="seed for all randomness (default 2021)")
    parser.add_argument("--levels", default="nation,region",
                        help="comma-separated levels: nation, region, tec or any id column (default nation,region)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars (the summary and where the report is are still printed)")


def parse_levels(text: str, election) -> tuple[str, ...]:
    """The ``--levels`` list, checked against the election's columns before anything is computed."""
    levels = tuple(dict.fromkeys(level.strip() for level in text.split(",") if level.strip()))
    table = election.table
    counts = {*election.fields, *election.parties, "unpublished"}
    available = ["nation", *(str(c) for c in table.columns
                             if c not in counts and table[c].dtype.kind not in "biufc")]
    unknown = [level for level in levels if level != "nation" and level not in table.columns]
    if levels and not unknown:
        return levels
    problem = f"no such column in this election: {', '.join(map(repr, unknown))}" if unknown else "no level given"
    raise DataError(f"--levels {text!r}: {problem}",
                    fix=f"pass a comma-separated list of the available levels: {', '.join(available)}")


def run_scan(election, args) -> int:
    """Scan ``election`` with the CLI options, write the report, print where it is."""
    from ..report import write_report
    from ..scan import scan

    levels = parse_levels(args.levels, election)
    result = scan(election, levels=levels, rng=args.seed, progress=not args.quiet)
    path = write_report(result, args.out, progress=not args.quiet)
    print(result.summary())
    print()
    print(f"Report: {path.resolve()}")
    print(f"Tables: {', '.join(str((args.out / n).resolve()) for n in ('tests.csv', 'findings.csv', 'stations.csv', 'summary.json'))}")
    return 0


def _main(args) -> int:
    from .. import load

    return run_scan(load(args.file, profile=args.profile), args)


def register(subparsers) -> None:
    p = subparsers.add_parser("scan", help="run the anomaly scan and write an HTML report with CSV/JSON tables",
                              description="Run protocol arithmetic and the statistical battery nationally and per "
                              "region, flag polling stations for review, and write report.html, tests.csv, "
                              "findings.csv, stations.csv, excluded.csv, summary.json and figures/ into --out. "
                              "A flag is a reason to look, not proof of fraud.")
    add_input_options(p)
    add_scan_options(p)
    p.set_defaults(func=_main)
