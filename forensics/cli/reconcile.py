"""``forensics reconcile FILE``: check every protocol's arithmetic and write the findings."""
from __future__ import annotations

from pathlib import Path

from . import add_input_options


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
    p.set_defaults(func=run)


def run(args) -> int:
    from ..ingest import load
    from ..reconcile import compare_totals, reconcile
    from ..reconcile.seats import election_seats

    election = load(args.file, profile=args.profile)
    findings = reconcile(election, published=args.published, rules=args.ruleset)
    out = Path(args.out) if args.out else Path("reports") / f"{Path(args.file).name.split('.')[0]}-reconcile"
    out.mkdir(parents=True, exist_ok=True)
    findings.table.to_csv(out / "findings.csv")
    findings.not_checkable.to_csv(out / "not_checkable.csv")
    findings.by_rule().to_csv(out / "rules.csv")
    findings.by_area("region").to_csv(out / "by_region.csv", index=False)
    text = findings.summary()
    if args.published:
        totals = compare_totals(election, args.published)
        totals.to_csv(out / "totals.csv", index=False)
        differ = int((totals["status"] == "differs").sum())
        text += (f"\nPublished totals: {len(totals):,} figures compared, {differ:,} differ from the sum of the "
                 "polling-station protocols (totals.csv).")
    seats = election_seats(election)
    if seats is not None:
        text += "\nSeats from these protocols (" + election.meta.get("seat_method", "hare") + "): " + ", ".join(
            f"{party} {n}" for party, n in seats.items() if n) + "."
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"\nWritten to {out}/: findings.csv ({len(findings.table):,} findings), not_checkable.csv, rules.csv, "
          "by_region.csv, summary.txt" + (", totals.csv" if args.published else ""))
    return 0
