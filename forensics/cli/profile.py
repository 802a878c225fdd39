"""``forensics profile draft FILE``: write a first profile for a new layout."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "profile", help="draft a profile for a new results layout",
        description="Tools for writing a profile. 'draft FILE' reads the header and a sample of rows, guesses "
                    "which column holds each canonical field and which columns are parties (from header words in "
                    "nine languages and from the values), and writes a commented TOML draft saying what it "
                    "guessed, how sure it is and what it could not decide. Edit it, then load with --profile.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    d = sub.add_parser("draft", help="guess a profile from a results file",
                       description="Guess a profile from a results file and write it as commented TOML.")
    d.add_argument("file", metavar="FILE", help="the results file")
    d.add_argument("--out", type=Path, metavar="TOML",
                   help="write the draft here (default: print it); an existing file is not overwritten")
    d.add_argument("--name", help="the profile's name (default: from the file name)")
    d.add_argument("--rows", type=int, default=20_000, help="rows read for the values (default 20000)")
    d.set_defaults(func=run)


def run(args) -> int:
    from ..ingest.draft import draft

    text, _ = draft(args.file, rows=args.rows, name=args.name)
    if args.out is None:
        print(text, end="")
        return 0
    if args.out.exists():
        raise DataError("the output file exists", file=args.out, fix="choose another --out, or delete the file first")
    tmp = args.out.with_name(args.out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.out)
    except OSError as exc:
        raise DataError(f"the draft cannot be written ({exc.strerror})", file=args.out,
                        fix="check that the folder exists and is writable") from None
    print(f"Draft written to {args.out}: check the lines marked 'likely' or 'guess', then "
          f"forensics load {args.file} --profile {args.out}")
    return 0
