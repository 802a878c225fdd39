"""The observers' transcription layout: one row per protocol copy.

A transcription file is a results table in the profile's own column names
(so rows of a CEC-style table can be pasted in) with three provenance
columns added (``PROVENANCE_COLUMNS``).  It is read through
``forensics.ingest.load``, so the same readers, header matching and cell
checks apply: text in a number cell, a missing id or a station entered twice
is a ``DataError`` naming the row and column.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..errors import DataError
from ..ingest import load, load_profile, source_rows, to_layout
from ..ingest.profiles import norm
from ..model import FIELDS, ID_COLUMNS, Election
from .stations import PROVENANCE

#: provenance columns of the layout and what goes in them
PROVENANCE_COLUMNS = {
    "transcriber": "who typed the row (an observer code, not a name, if the file is shared)",
    "photos": "file name(s) of the protocol photo(s) in the photo folder, separated by ';'",
    "taken_at": "when the photo was taken or the certified copy handed over, "
                "as YYYY-MM-DD HH:MM (local time)",
}


def template(profile, parties=None, official: Election | None = None, n_parties: int = 5) -> pd.DataFrame:
    """An empty transcription table with the profile's own header text.

    Columns: the station ids, the protocol lines (those of ``official`` if
    given, else those the profile names), one column per party (``parties``,
    else the official file's, else the profile's fixed list, else
    ``n_parties`` placeholders, explained in ``attrs["note"]``), then the
    provenance columns.
    """
    prof = load_profile(profile)
    if official is not None:
        lines = official.fields
        parties = list(parties or official.parties)
    else:
        lines = [f for f in FIELDS if f in prof.fields]
        parties = list(parties or prof.parties.get("columns", ()))
    note = ""
    if not parties:
        parties = [f"<party {i}>" for i in range(1, n_parties + 1)]
        note = (f"profile '{prof.name}' does not list the parties: replace the {n_parties} '<party n>' columns "
                "with the names exactly as the official results write them, or pass the official file or the names")
    ids = [c for c in ID_COLUMNS if c not in prof.derived]
    frame = pd.DataFrame(columns=[*ids, *lines, *parties])
    out = pd.concat([to_layout(frame, prof, parties), pd.DataFrame(columns=list(PROVENANCE_COLUMNS))], axis=1)
    out.attrs["note"] = note
    return out


def read_transcriptions(path, profile) -> Election:
    """Read a transcription file (CSV, XLSX, ...) into canonical columns plus provenance.

    Returns an Election whose table adds ``transcriber``, ``photos``,
    ``taken_at`` (text, "" when absent) and ``source_row`` (the spreadsheet
    row), and whose ``sources`` holds the file's SHA-256.
    """
    prof = load_profile(profile)
    rule = dict(prof.parties)
    rule["exclude"] = [*rule.get("exclude", ()), *PROVENANCE]
    el = load(path, profile=replace(prof, parties=rule))
    table = el.table.copy()
    by_norm = {norm(c): c for c in table.columns if isinstance(c, str)}
    for col in PROVENANCE:
        src = by_norm.get(norm(col))
        values = table.pop(src) if src is not None else pd.Series("", index=table.index)
        table[col] = values.astype(object).where(values.notna(), "").map(_text)
    table["source_row"] = source_rows(el)
    return el.with_table(table)


def _text(value) -> str:
    """A provenance cell as text: 17.0 -> '17'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_lines(observed: pd.DataFrame, lines) -> None:
    """Raise a DataError if a protocol line is missing or holds something other than numbers."""
    missing = [c for c in lines if c not in observed.columns]
    if missing:
        raise DataError(f"the transcription lacks the protocol line(s) {', '.join(map(str, missing))}",
                        column=missing[0], fix="start from the template: forensics audit template --profile P")
    for c in lines:
        if not pd.api.types.is_numeric_dtype(observed[c]):
            bad = pd.to_numeric(observed[c], errors="coerce").isna() & observed[c].notna()
            row = observed.index[bad][0] if bad.any() else None
            where = observed["source_row"].get(row) if row is not None and "source_row" in observed else None
            raise DataError(f"the line holds text where a number belongs ('{observed.at[row, c]}')"
                            if row is not None else "the line is not numeric",
                            row=None if where is None or pd.isna(where) else int(where),
                            column=c, fix="write whole numbers only; leave the cell empty if unreadable")
