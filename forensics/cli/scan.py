"""``forensics scan FILE --out DIR``: run the anomaly scan and write the report."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DataError
from ..i18n import LANGUAGES
from . import add_input_options, add_raw_csv_option, load_input


def add_scan_options(parser, out_default=None) -> None:
    """Options shared by ``scan`` and ``demo``."""
    parser.add_argument("--out", metavar="DIR", required=out_default is None, default=out_default, type=Path,
                        help="directory for report.html, the CSV/JSON tables and figures/"
                        + (f" (default {out_default})" if out_default else ""))
    parser.add_argument("--seed", type=int, default=2021, help="seed for all randomness (default 2021)")
    parser.add_argument("--levels", default=None,
                        help="comma-separated levels: nation, region, tec or any id column (default nation,region; "
                             "nation alone when the table has no region)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars (the summary and where the report is are still printed)")
    parser.add_argument("--lang", default="en", choices=LANGUAGES,
                        help="language of the report and of the summary printed here (default: en)")
    parser.add_argument("--title", metavar="TEXT",
                        help="the election's name for the report's first screen (default: the profile's metadata)")
    parser.add_argument("--date", metavar="YYYY-MM-DD", help="the election day (default: the profile's metadata)")
    parser.add_argument("--workers", type=_positive, default=None, metavar="N",
                        help="processes for the scan's steps (default: the available cores; 1 = this process "
                             "only); the outputs are the same for any number")
    add_raw_csv_option(parser)


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def check_out(args) -> None:
    """Test the output folder before any computation (a file in the way, a read-only folder)."""
    from ..output import check_folder

    check_folder(args.out)


def parse_levels(text: str | None, election) -> tuple[str, ...] | None:
    """The ``--levels`` list, checked against the election's columns before anything is computed.

    None (no ``--levels``) lets the scan choose: nation and region, or nation
    alone when the table has no region.
    """
    if text is None:
        return None
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
    from ..election_info import ElectionInfo
    from ..i18n import Formats, translations
    from ..report import write_report
    from ..report.first_screen import summary_text
    from ..report.html import report_notes
    from ..scan import scan

    info = ElectionInfo.of(election, args.title, args.date)  # a bad --date fails before the scan runs
    levels = parse_levels(args.levels, election)
    result = scan(election, levels=levels, rng=args.seed, progress=not args.quiet, workers=args.workers)
    verdicts = result.verdicts
    path = write_report(result, args.out, title=info.title, date=info.date, lang=args.lang,
                        progress=not args.quiet, raw_csv=args.raw_csv)
    t = translations(args.lang)
    date = Formats(args.lang).date(info.date) if info.date else ""
    print(summary_text(result, verdicts, args.lang, info.title, date))
    print()
    for note in report_notes(path):
        print(t.gettext("forensics: note: a figure could not be drawn (%(note)s)") % {"note": note}, file=sys.stderr)
    print(t.gettext("Report: %(path)s") % {"path": path.resolve()})
    tables = ", ".join(str((args.out / n).resolve()) for n in ("verdicts.csv", "stations.csv", "findings.csv", "summary.json", "tests.csv"))
    print(t.gettext("Tables: %(paths)s") % {"paths": tables})
    return 0


def _main(args) -> int:
    check_out(args)
    return run_scan(load_input(args), args)


def register(subparsers) -> None:
    p = subparsers.add_parser("scan", help="run the anomaly scan and write an HTML report with CSV/JSON tables",
                              description="Run protocol arithmetic and the statistical battery nationally and per "
                              "region, decide the calibrated headlines, flag polling stations on their own evidence, "
                              "and write report.html, verdicts.csv, context.csv, tests.csv, findings.csv, "
                              "stations.csv, excluded.csv, summary.json and figures/ into --out. "
                              "A headline or a flag is a reason to look, not proof of fraud.")
    add_input_options(p)
    add_scan_options(p)
    p.set_defaults(func=_main)
