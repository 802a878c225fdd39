"""``forensics profiles``: list the shipped profiles."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "profiles", help="list the shipped layout profiles",
        description="List the profiles that map national result layouts onto the canonical table. "
                    "Pass one to 'forensics load --profile', or write your own TOML file "
                    "(see docs/profiles.md; 'forensics profile draft FILE' writes a first draft).")
    p.add_argument("--fields", metavar="P", help="also show which header text each canonical field reads in profile P")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..ingest import available_profiles, load_profile

    shipped = available_profiles()
    width = max(map(len, shipped))
    for name, description in shipped.items():
        print(f"{name:<{width}}  {description}")
    if args.fields:
        prof = load_profile(args.fields)
        print(f"\n{prof.name}: rule set '{prof.ruleset}', key {' + '.join(prof.key)}, parties {prof.parties}")
        for canon in dict.fromkeys((*prof.fields, *prof.words, *prof.derived, *prof.computed)):
            print(f"  {canon:<26} {prof.describe_field(canon)}")
        for rule in prof.rows:
            print(f"  [{rule.action}] {rule.reason}: where " + " and ".join(c.describe() for c in rule.conditions))
    return 0
