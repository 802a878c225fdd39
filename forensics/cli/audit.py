"""``forensics audit``: observers' protocol copies against the official results.

``forensics audit template --profile P`` prints the blank transcription
template; ``forensics audit --official F --observed G --profile P --out DIR``
runs the audit and writes its tables, evidence sheets and summary.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DataError
from ..i18n import LANGUAGES
from . import add_raw_csv_option


#: Two ways to call it; neither needs a positional argument, so ``template`` is not shown as one.
USAGE = """forensics audit --official F --observed G --out DIR [--profile P] [--second-entry H]
                       [--photos DIR] [--design {srs,stratified,cluster,convenience}]
                       [--lang {en,ru,kk}] [--title TEXT] [--date YYYY-MM-DD] [--raw-csv]
       forensics audit template --profile P [--official F] [--parties NAME [NAME ...]]
                                [--out FILE]"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "audit", help="compare observers' protocol copies with the official results", usage=USAGE,
        description="Compare observers' transcriptions of PEC protocols with the official results: "
                    "classify each difference, add up its impact, write evidence sheets, estimate the "
                    "result from the sample. 'forensics audit template --profile P' prints the blank "
                    "transcription template.")
    p.add_argument("--official", metavar="F", help="official results file (CSV, XLSX, Parquet, zipped)")
    p.add_argument("--observed", metavar="G", help="observers' transcriptions (layout of the template)")
    p.add_argument("--profile", metavar="P", help="layout of both files (shipped name or TOML path)")
    p.add_argument("--second-entry", metavar="H", help="second, independent transcription of the same copies")
    p.add_argument("--photos", metavar="DIR", help="folder of protocol photos (never read outside it)")
    p.add_argument("--design", default="convenience", choices=("srs", "stratified", "cluster", "convenience"),
                   help="how the observed stations were chosen (default: convenience, i.e. not at random)")
    p.add_argument("--out", metavar="DIR", help="output folder")
    p.add_argument("--lang", default="en", choices=LANGUAGES,
                   help="language of the evidence sheets and the summary (default: en)")
    p.add_argument("--title", metavar="TEXT", help="the election's name, as the sheets should print it "
                                                    "(default: the profile's metadata, if any)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the election day (default: the profile's metadata)")
    add_raw_csv_option(p)
    p.set_defaults(func=_run)
    sub = p.add_subparsers(dest="audit_command", help=argparse.SUPPRESS, prog=p.prog)
    t = sub.add_parser("template", help="print the blank transcription template (CSV header)",
                       description="Print the transcription template: the profile's own column names for the "
                                   "station ids, protocol lines and parties, then transcriber, photos, taken_at.")
    t.add_argument("--profile", metavar="P", required=True, help="shipped profile name or TOML path")
    t.add_argument("--official", metavar="F", help="take the lines and party names from this results file")
    t.add_argument("--parties", nargs="+", metavar="NAME", help="party or candidate names, in ballot order")
    t.add_argument("--out", metavar="FILE", help="write the template to FILE (.csv or .xlsx) instead of printing")
    t.set_defaults(func=_template)


def _template(args) -> int:
    from ..audit import template
    from ..ingest import load

    from ..output import check_file, csv_bytes, write_csv, write_file

    if args.out:
        check_file(args.out)
    official = load(args.official, profile=args.profile) if args.official else None
    frame = template(args.profile, parties=args.parties, official=official)
    if frame.attrs.get("note"):
        print(f"forensics: note: {frame.attrs['note']}.", file=sys.stderr)
    if args.out and str(args.out).lower().endswith(".xlsx"):
        write_file(args.out, lambda tmp: frame.to_excel(tmp, index=False))
    elif args.out:
        write_csv(frame, args.out)
    else:
        sys.stdout.write(csv_bytes(frame).decode("utf-8"))
    return 0


def _run(args) -> int:
    from ..audit import run_audit

    missing = [f"--{n.replace('_', '-')}" for n in ("official", "observed", "out") if not getattr(args, n)]
    if missing:
        raise DataError(f"forensics audit needs {', '.join(missing)}",
                        fix="run 'forensics audit --official F --observed G --profile P --out DIR', "
                            "or 'forensics audit template --profile P' for the blank template")
    summary = run_audit(args.official, args.observed, args.out, profile=args.profile, second=args.second_entry,
                        photos=args.photos, design=args.design, lang=args.lang, title=args.title, date=args.date,
                        raw_csv=args.raw_csv)
    print((Path(args.out) / "summary.txt").read_text(encoding="utf-8"), end="")
    from ..i18n import Formats, translations

    n = summary["evidence_sheets"]
    print(translations(args.lang).ngettext(
        "Wrote %(num)s evidence sheet and the tables to %(out)s", "Wrote %(num)s evidence sheets and the tables to "
        "%(out)s", n) % {"num": Formats(args.lang).number(n), "out": args.out})
    return 0
