"""``forensics load FILE``: read a results file and print what was loaded."""
from __future__ import annotations

import numpy as np

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


def _complete(election, columns):
    """Published stations where every one of ``columns`` is filled (a missing part is never read as 0)."""
    t = election.table
    return election.published & t[[c for c in columns if c in t]].notna().all(axis=1)


def _turnout(election) -> list:
    t = election.table
    if "registered" not in t:
        return []
    parts = [c for c in ("valid", "invalid", "against_all") if c in t] if "valid" in t else list(election.parties)
    ok = _complete(election, ["registered", *parts])
    reg = t.loc[ok, "registered"].sum()
    if not ok.any() or reg <= 0:
        return []
    cast = t.loc[ok, parts].sum(axis=1).sum()
    what = "valid + invalid ballots" if "valid" in t else "party votes"
    left = int(election.published.sum() - ok.sum())
    note = f"; {left:,} stations lacking a figure left out" if left else ""
    return [f"turnout     {cast / reg:.2%} ({what} / voters on the list, published stations{note})"]


def _totals(election) -> list:
    meta, t = election.meta, election.table
    totals = election.totals()
    fields = [f for f in totals.index if f not in election.parties]
    parties = totals[list(election.parties)].sort_values(ascending=False)
    # party shares on the base the election authority uses (the profile's percent_base), over the
    # stations where the base and every party are filled
    cast = meta.get("percent_base") == "cast" and "valid" in t
    base_cols = [c for c in ("valid", "invalid", "against_all") if c in t] if cast else \
        (["valid"] if "valid" in t else list(election.parties))
    ok = _complete(election, [*base_cols, *election.parties])
    base = float(t.loc[ok, base_cols].sum(axis=1).sum())
    votes = t.loc[ok, list(election.parties)].sum()
    base_name = "of ballots cast" if cast else "of valid"
    width = max((len(str(f)) for f in totals.index[:40]), default=0)
    lines = ["", "totals (published stations)"]
    lines += [f"  {f:<{width}}  {_int(totals[f]):>14}" for f in fields]
    for name, value in parties.head(TOP).items():
        share = f"  {votes[name] / base:7.2%} {base_name}" if base > 0 else ""
        lines.append(f"  {name:<{width}}  {_int(value):>14}{share}")
    if len(parties) > TOP:
        lines.append(f"  ... and {len(parties) - TOP} more parties with {_int(parties.iloc[TOP:].sum())} votes")
    left = int(election.published.sum() - ok.sum())
    if left and base > 0:
        lines.append(f"  (shares over the {int(ok.sum()):,} stations where the base and every party are filled)")
    return lines


def _int(value) -> str:
    return f"{int(value):,}" if np.isfinite(value) else "-"


def _format(meta) -> str:
    parts = [meta.get("format", "?")]
    for key, label in (("member", "in zip"), ("sheet", "sheet"), ("encoding", "encoding"), ("delimiter", "delimiter"),
                       ("header_row", "header on row")):
        if key in meta:
            parts.append(f"{label} {meta[key]!r}" if key == "delimiter" else f"{label} {meta[key]}")
    return ", ".join(parts)
