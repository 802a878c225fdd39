"""``forensics load FILE``: read a results file and print what was loaded."""
from __future__ import annotations

from . import add_input_options

#: parties listed by name in the summary; the rest are summed
TOP = 20


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "load", help="load a results file and summarise it",
        description="Read a polling-station results file (CSV with any delimiter, UTF-8 or cp1251, "
                    "XLSX, Parquet, zipped CSV), map it onto the canonical table with a profile and "
                    "print a summary: stations, unpublished stations, parties, totals, turnout, the "
                    "profile used and which columns it mapped or kept unmapped.")
    add_input_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..ingest import load

    election = load(args.file, profile=args.profile)
    print(summary(election))
    return 0


def summary(election) -> str:
    """A plain-text summary of a loaded election."""
    meta, t = election.meta, election.table
    sha = next(iter(election.sources.values()), "")
    how = "detected from the headers" if meta.get("detected") else "given"
    lines = [
        f"file        {next(iter(election.sources), '')}  (sha256 {sha[:16]}...)",
        f"format      {_format(meta)}",
        f"profile     {election.profile} ({how}; rule set '{meta.get('ruleset')}')",
        f"stations    {len(t):,}  (unpublished: {meta.get('n_unpublished', 0):,}; key: {' + '.join(meta.get('key', []))})",
        f"regions     {t['region'].nunique():,}   commissions (tec): {t[['region', 'tec']].drop_duplicates().shape[0]:,}",
    ]
    if meta.get("missing_cells"):
        lines.append("empty cells " + ", ".join(f"{c}: {n}" for c, n in meta["missing_cells"].items())
                     + " (in published stations)")
    if "registered" in t:
        pub = election.published
        turnout = election.ballots("cast")[pub].sum() / t.loc[pub, "registered"].sum()
        what = "valid + invalid ballots" if "valid" in t else "party votes"
        lines.append(f"turnout     {turnout:.2%} ({what} / voters on the list, published stations)")
    totals = election.totals()
    fields = [f for f in totals.index if f not in election.parties]
    parties = totals[list(election.parties)].sort_values(ascending=False)
    # party shares on the base the election authority uses (the profile's percent_base)
    base_name = "of ballots cast" if election.percent_base == "cast" else "of valid"
    base = float(election.ballots(election.percent_base)[election.published].sum())
    width = max((len(f) for f in totals.index[:40]), default=0)
    lines += ["", "totals (published stations)"]
    lines += [f"  {f:<{width}}  {int(totals[f]):>14,}" for f in fields]
    for name, value in parties.head(TOP).items():
        share = f"  {value / base:7.2%} {base_name}" if base > 0 else ""
        lines.append(f"  {name:<{width}}  {int(value):>14,}{share}")
    if len(parties) > TOP:
        lines.append(f"  ... and {len(parties) - TOP} more parties with {int(parties.iloc[TOP:].sum()):,} votes")
    lines += ["", f"mapped by profile '{election.profile}' (canonical field <- source column)"]
    mapping = meta.get("mapping", {})
    lines += [f"  {c:<26} <- {h}" for c, h in mapping.items() if c not in election.parties]
    renamed = [p for p in election.parties if p in mapping]
    lines.append(f"  {len(election.parties)} parties" + (f" (renamed from e.g. '{mapping[renamed[0]]}')" if renamed else ""))
    unmapped = meta.get("unmapped", [])
    lines.append("kept unmapped: " + (", ".join(unmapped) if unmapped else "(none)"))
    return "\n".join(lines)


def _format(meta) -> str:
    parts = [meta.get("format", "?")]
    for key, label in (("member", "in zip"), ("encoding", "encoding"), ("delimiter", "delimiter"),
                       ("header_row", "header on row")):
        if key in meta:
            parts.append(f"{label} {meta[key]!r}" if key == "delimiter" else f"{label} {meta[key]}")
    return ", ".join(parts)
