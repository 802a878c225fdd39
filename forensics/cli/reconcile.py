"""``forensics reconcile FILE``: check every protocol's arithmetic and write the findings."""
from __future__ import annotations

from pathlib import Path

from . import add_input_options, add_raw_csv_option, load_input


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reconcile", help="check each polling station's protocol arithmetic (control relations)",
        description="Check every polling station's protocol against the control relations of its form "
                    "(errors: the protocol cannot be right) and the observers' warning checks (more "
                    "ballots in the boxes than issued, lost ballots, exactly 100% turnout, copied "
                    "protocols, ...). Writes findings.csv, not_checkable.csv, rules.csv, by_region.csv "
                    "and summary.txt into DIR and prints the summary. With --published, also compares "
                    "published higher-level totals with the sum of the protocols (totals.csv).")
    add_input_options(p)
    p.add_argument("--published", metavar="TOTALS",
                   help="published totals, CSV with columns level,region,tec,field,value "
                        "(level: nation, region or tec)")
    p.add_argument("--ruleset", choices=("ru_2018", "ru_2011", "kz", "generic"),
                   help="rule set to apply (default: the profile's)")
    p.add_argument("--out", metavar="DIR",
                   help="output directory (default: reports/<file name>-reconcile)")
    add_raw_csv_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..output import OutputFolder, check_folder
    from ..reconcile import compare_totals, reconcile
    from ..reconcile.seats import election_seats

    out = Path(args.out) if args.out else Path("reports") / f"{Path(args.file).name.split('.')[0]}-reconcile"
    if not args.out:
        out.parent.mkdir(parents=True, exist_ok=True)
    check_folder(out)
    election = load_input(args)
    findings = reconcile(election, published=args.published, rules=args.ruleset)
    tables = {"findings.csv": findings.table.reset_index(), "not_checkable.csv": findings.not_checkable.reset_index(),
              "rules.csv": findings.by_rule().reset_index(), "by_region.csv": findings.by_area("region")}
    text = findings.summary()
    if args.published:
        totals = compare_totals(election, args.published)
        tables["totals.csv"] = totals
        differ = int((totals["status"] == "differs").sum())
        text += (f"\nPublished totals: {len(totals):,} figures compared, {differ:,} differ from the sum of the "
                 "polling-station protocols (totals.csv).")
    seats = election_seats(election)
    if seats is not None:
        text += "\nSeats from these protocols (" + election.meta.get("seat_method", "hare") + "): " + ", ".join(
            f"{party} {n}" for party, n in seats.items() if n) + "."
    with OutputFolder(out, raw_csv=args.raw_csv) as folder:
        for name, frame in tables.items():
            folder.csv(name, frame)
        folder.text("summary.txt", text + "\n")
    print(text)
    print(f"\nWritten to {out}/: findings.csv ({len(findings.table):,} findings), not_checkable.csv, rules.csv, "
          "by_region.csv, summary.txt" + (", totals.csv" if args.published else ""))
    return 0
