"""``forensics load FILE``: read a results file and print what was loaded."""
from __future__ import annotations

import math

from . import add_input_options, load_input

#: parties listed by name in the summary; the rest are summed
TOP = 20
#: rows set aside listed by the summary
SHOWN_ROWS = 10


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "load", help="load a results file and summarise it",
        description="Read a polling-station results file (CSV with any delimiter, UTF-8 or cp1251, "
                    "XLSX, Parquet, zipped or gzipped CSV), map it onto the canonical table with a profile and "
                    "print a summary: the profile and why it was chosen, stations, unpublished and set-aside "
                    "rows, parties, totals, turnout, and which columns it mapped or kept unmapped.")
    add_input_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    election = load_input(args)
    print(summary(election))
    return 0


def summary(election) -> str:
    """A plain-text summary of a loaded election."""
    meta, t = election.meta, election.table
    sha = next(iter(election.sources.values()), "")
    how = "detected from the headers" if meta.get("detected") else "given"
    key = meta.get("key", [])
    lines = [f"file        {next(iter(election.sources), '')}  (sha256 {sha[:16]}...)",
             f"format      {_format(meta)}"]
    if meta.get("sheet_note"):
        lines.append(f"            {meta['sheet_note']}")
    if meta.get("layout") == "long":
        lines.append(f"layout      long: {meta['long_rows']:,} rows, one per station and '{meta['long_option']}' "
                     f"(its count in '{meta['long_count']}'), widened to {meta['long_stations']:,} stations")
    if meta.get("election"):
        lines.append("election    " + ", ".join(str(v) for v in meta["election"].values()))
    lines += [f"profile     {election.profile} ({how}; rule set '{meta.get('ruleset')}')"]
    if meta.get("detected") and meta.get("profile_note"):
        lines.append(f"            {meta['profile_note']}")
    lines.append(f"stations    {len(t):,}  (unpublished: {meta.get('n_unpublished', 0):,}; key: {' + '.join(key)})")
    ids = [c for c in ("region", "tec") if c in t]
    if ids:
        lines.append("ids         " + "   ".join(f"{c}: {t[ids[:i + 1]].drop_duplicates().shape[0]:,}"
                                                 for i, c in enumerate(ids)))
    for reason, n in meta.get("marked_counts", {}).items():
        lines.append(f"marked      {n:,} rows: {reason} (kept; column 'marked')")
    lines += _set_aside(meta)
    if meta.get("missing_cells"):
        lines.append("empty cells " + ", ".join(f"{c}: {n}" for c, n in meta["missing_cells"].items())
                     + " (in published stations; kept missing, never read as 0)")
    lines += _turnout(election)
    lines += _totals(election)
    lines += ["", f"mapped by profile '{election.profile}' (canonical field <- source column)"]
    mapping = meta.get("mapping", {})
    lines += [f"  {c:<26} <- {h}" for c, h in mapping.items() if c not in election.parties]
    renamed = [p for p in election.parties if p in mapping]
    lines.append(f"  {len(election.parties)} parties" + (f" (renamed from e.g. '{mapping[renamed[0]]}')" if renamed else ""))
    unmapped = meta.get("unmapped", [])
    lines.append("kept unmapped: " + (", ".join(unmapped) if unmapped else "(none)"))
    return "\n".join(lines)


def _set_aside(meta) -> list:
    rows = meta.get("excluded_rows", [])
    if not rows:
        return []
    out = [f"set aside   {len(rows):,} rows (not in the table): "
           + "; ".join(f"{reason}: {n:,}" for reason, n in meta.get("excluded_counts", {}).items())]
    out += [f"              row {r['row']}: {r['reason']}" for r in rows[:SHOWN_ROWS]]
    if len(rows) > SHOWN_ROWS:
        out.append(f"              ... and {len(rows) - SHOWN_ROWS:,} more (forensics.ingest.excluded_rows)")
    return out


def _turnout(election) -> list:
    """National turnout over the published stations whose count and list are both filled."""
    if "registered" not in election.table:
        return []
    cast, reg = election.ballots("cast"), election.table["registered"]
    ok = election.published & cast.notna() & reg.notna()
    if not ok.any() or reg[ok].sum() <= 0:
        return []
    what = "valid + invalid ballots" if "valid" in election.table else "party votes"
    left = int(election.published.sum() - ok.sum())
    note = f"; {left:,} stations lacking a figure left out" if left else ""
    return [f"turnout     {cast[ok].sum() / reg[ok].sum():.2%} ({what} / voters on the list, published stations{note})"]


def _totals(election) -> list:
    """Totals of every field and party; party shares on the authority's percent base."""
    totals = election.totals()
    fields = [f for f in totals.index if f not in election.parties]
    parties = totals[list(election.parties)].sort_values(ascending=False)
    # shares over the stations where the base and every party are filled
    base = election.ballots(election.percent_base)
    votes = election.table[list(election.parties)]
    ok = election.published & base.notna() & votes.notna().all(axis=1)
    base_total = float(base[ok].sum())
    base_name = "of ballots cast" if election.percent_base == "cast" else "of valid"
    width = max((len(str(f)) for f in totals.index[:40]), default=0)
    lines = ["", "totals (published stations)"]
    lines += [f"  {f:<{width}}  {_int(totals[f]):>14}" for f in fields]
    for name, value in parties.head(TOP).items():
        share = f"  {votes.loc[ok, name].sum() / base_total:7.2%} {base_name}" if base_total > 0 else ""
        lines.append(f"  {name:<{width}}  {_int(value):>14}{share}")
    if len(parties) > TOP:
        lines.append(f"  ... and {len(parties) - TOP} more parties with {_int(parties.iloc[TOP:].sum())} votes")
    left = int(election.published.sum() - ok.sum())
    if left and base_total > 0:
        lines.append(f"  (shares over the {int(ok.sum()):,} stations where the base and every party are filled)")
    return lines


def _int(value) -> str:
    return f"{int(value):,}" if math.isfinite(value) else "-"


def _format(meta) -> str:
    parts = [meta.get("format", "?")]
    for key, label in (("member", "in zip"), ("sheet", "sheet"), ("encoding", "encoding"), ("delimiter", "delimiter"),
                       ("header_row", "header on row")):
        if key in meta:
            parts.append(f"{label} {meta[key]!r}" if key == "delimiter" else f"{label} {meta[key]}")
    return ", ".join(parts)
