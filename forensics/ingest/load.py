"""``load``: one results file -> the canonical Election.

Read the file, choose or apply a profile, map headers onto canonical fields,
validate, and mark stations whose figures were never published.  Rows keep
their position among the file's data rows as index until the end, so every
error names the row a spreadsheet shows.
"""
from __future__ import annotations

import pandas as pd

from ..errors import DataError
from ..model import FIELDS, ID_COLUMNS, UNPUBLISHED, Election
from . import validate
from .profiles import CANONICAL, Profile, detect_profile, load_profile
from .read import Source


def load(path, profile=None) -> Election:
    """Load a polling-station results file as an Election.

    ``profile`` is a shipped profile name, a path to a TOML profile, a
    Profile, or None to pick the shipped profile that fits the headers
    (``meta["profile_note"]`` says which and why).
    """
    src = Source(path)
    if profile is None:
        prof, note = detect_profile(src.headers, src.file)
    else:
        prof = load_profile(profile)
        note = f"profile '{prof.name}' given by the user"
    mapping = prof.match(src.headers)
    _require(prof, mapping, src)

    id_headers = {c: mapping.fields[c] for c in ID_COLUMNS if c in mapping.fields}
    text_cols = [*id_headers.values(), *(s["column"] for s in mapping.derived.values()),
                 *(k for k in prof.key if k in src.headers)]
    raw = src.frame(list(dict.fromkeys(text_cols)))
    blank = _blank(raw)
    raw = raw[~blank]  # blank lines are not stations; the index keeps file positions
    if raw.empty:
        raise DataError("the file has a header row but no data rows", file=src.file, row=src.first_row,
                        fix="check that you exported the whole table, with one row per polling station")

    parties = {**mapping.parties, **_numeric_parties(raw, mapping.pending)}
    fields = {f: mapping.fields[f] for f in FIELDS if f in mapping.fields}
    numbers = {h: validate.counts(raw[h], h, src.file, src.first_row) for h in (*fields.values(), *parties)}

    columns = {}
    for c in ID_COLUMNS:
        if c in mapping.derived:
            columns[c] = _derive(raw, mapping.derived[c])
        elif c in id_headers:
            columns[c] = validate.ids(raw[id_headers[c]], id_headers[c], src.file, src.first_row)
        else:
            columns[c] = pd.Series("", index=raw.index)
    columns.update({f: numbers[h] for f, h in fields.items()})
    columns.update({name: numbers[h] for h, name in parties.items()})
    counts = pd.DataFrame(numbers, index=raw.index)
    unpublished = counts.isna().all(axis=1) if numbers else pd.Series(False, index=raw.index)
    columns[UNPUBLISHED] = unpublished
    kept = [h for h in src.headers if h in mapping.unmapped or (h in mapping.pending and h not in parties)]
    for h in kept:  # a source column named like a canonical one it does not fill keeps a suffix
        columns[h if h not in columns else f"{h} (source)"] = raw[h]
    table = pd.DataFrame(columns, index=raw.index)

    key = [k for k in prof.key if k in table.columns]
    validate.unique(table, key, src.file, src.first_row,
                    {c: mapping.derived[c]["column"] if c in mapping.derived else id_headers.get(c, c) for c in key})
    missing = counts[~unpublished].isna().sum()
    names = {**{h: f for f, h in fields.items()}, **parties}
    meta = {
        **prof.meta,
        "mapping": {**id_headers, **fields,
                    **{c: f"derived from '{s['column']}'" for c, s in mapping.derived.items()},
                    **{p: h for h, p in parties.items() if p != h}},
        "unmapped": kept,
        "n_unpublished": int(unpublished.sum()),
        "missing_cells": {names[h]: int(n) for h, n in missing.items() if n},
        "key": key,
        "detected": profile is None,
        "profile_note": note,
        "first_data_row": src.first_row,
        "blank_rows": [int(i) + src.first_row for i in blank.index[blank]],
        **src.info,
    }
    return Election(table=table.reset_index(drop=True), parties=tuple(parties.values()), profile=prof.name,
                    sources={str(path): src.sha256}, meta=meta)


def source_rows(election: Election) -> pd.Series:
    """The spreadsheet row (header = row 1) each station was read from (``Election.source_rows``)."""
    return election.source_rows()


def _blank(raw: pd.DataFrame) -> pd.Series:
    """Rows with no value at all (blank lines, empty spreadsheet rows)."""
    empty = raw.isna()
    for c in raw.columns[raw.dtypes.eq(object).to_numpy()]:
        empty[c] |= raw[c].astype(str).str.strip().eq("")
    return empty.all(axis=1)


def _require(prof: Profile, mapping, src: Source) -> None:
    """Every key column and required field must be found, else say what was looked for."""
    missing = prof.missing(mapping, src.headers)
    if not missing:
        return
    wanted = "; ".join(f"{c}: {prof.describe_field(c)}" if c in CANONICAL else f"key column '{c}'"
                       for c in missing)
    shown = ", ".join(f"'{h}'" for h in src.headers[:6]) + (" ..." if len(src.headers) > 6 else "")
    hint = (" Only one column was found: the file may use a delimiter other than , ; tab or |."
            if len(src.headers) == 1 else "")
    raise DataError(f"required columns are missing for profile '{prof.name}' ({wanted}); the header row has "
                    f"{shown}.{hint}", file=src.file, row=src.first_row - 1, column=missing[0],
                    fix="rename the columns, choose another profile with --profile (see 'forensics profiles'), "
                        "or write a profile for this layout (docs/profiles.md)")


def _derive(raw, spec) -> pd.Series:
    """An id derived from another column: its first ``prefix`` characters, looked up in ``values``."""
    col = raw[spec["column"]]
    text = col.astype(object).where(col.notna(), "").astype(str).str.strip()
    if spec.get("prefix"):
        text = text.str[: int(spec["prefix"])]
    if spec.get("values"):
        text = text.map(lambda v: spec["values"].get(v, v))
    return text


def _numeric_parties(raw, pending) -> dict:
    """Under the 'rest' rule: remaining columns whose filled cells are mostly numbers are parties.

    A count column with a stray word in it is still a party (and its bad
    cell a DataError); a column of names or notes is kept as it is.
    """
    parties = {}
    for h in pending:
        col = raw[h]
        if pd.api.types.is_bool_dtype(col):
            continue
        if pd.api.types.is_numeric_dtype(col):
            parties[h] = h
            continue
        filled = col.dropna().astype(str).str.strip()
        filled = filled[filled != ""]
        if len(filled) and pd.to_numeric(filled, errors="coerce").notna().mean() > 0.5:
            parties[h] = h
    return parties
