"""Match observers' rows to the official stations by their ids.

Observers may know a station by its full id (region, TEC, PEC) or by a code
that is unique on its own; the match uses the id columns the transcription
has, checks that they identify one official station each, and lists every
row it cannot place instead of dropping it.
"""
from __future__ import annotations

import pandas as pd

from ..errors import DataError
from ..model import ID_COLUMNS, Election

#: provenance columns of a transcription (see ``transcription.LAYOUT``)
PROVENANCE = ("transcriber", "photos", "taken_at")


def as_table(obj) -> pd.DataFrame:
    """The table of an Election, or the DataFrame itself."""
    return obj.table if isinstance(obj, Election) else obj


def protocol_lines(election: Election) -> list[str]:
    """The protocol lines an observer's copy is compared on: fields, then parties."""
    return election.fields + list(election.parties)


def _ids(table: pd.DataFrame, keys) -> list[tuple]:
    """Each row's ids as a tuple of stripped strings (blank cells as "")."""
    cols = [table[k].where(table[k].notna(), "").astype(str).str.strip().tolist() for k in keys]
    return list(zip(*cols))


def station_key(table: pd.DataFrame, keys) -> pd.Series:
    """One string per row joining the id columns."""
    return pd.Series(["\x1f".join(t) for t in _ids(table, keys)], index=table.index, dtype=object)


def group_key(table: pd.DataFrame, level: str) -> pd.Series:
    """Group labels for a level; a TEC is named within its region, so 'tec' means (region, tec)."""
    if level in ID_COLUMNS:
        keys = [k for k in ID_COLUMNS[:ID_COLUMNS.index(level) + 1] if k in table.columns]
        return station_key(table, keys)
    return table[level].astype(str)


def id_columns(official: Election, observed: pd.DataFrame) -> list[str]:
    """The id columns used for matching: the columns of the official key (``Election.key``) the transcription has.

    The key's last column (the station's own id, ``pec`` in the shipped
    profiles) is required; the others narrow the match when present.
    """
    key = list(official.key)
    keys = [k for k in key if k in observed.columns]
    if not key or key[-1] not in keys:
        last = key[-1] if key else "pec"
        raise DataError(f"the transcription has no polling-station column '{last}'", column=last,
                        fix="add the station number in a column named as in the template")
    return keys


def match_stations(official: Election, observed: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Official row label for each observed row, and the reasons rows cannot be placed.

    Returns ``(target, excluded)``: ``target`` maps observed row -> official
    index label (None when unknown); ``excluded`` maps observed row -> reason.
    """
    observed = as_table(observed)
    keys = id_columns(official, observed)
    ids = _ids(official.table, keys)
    lookup = dict(zip(ids, official.table.index))
    if len(lookup) != len(ids):
        raise DataError(f"the columns {', '.join(keys)} do not identify one official station each",
                        column=keys[-1], fix="add the region and TEC columns to the transcription")
    target = pd.Series([lookup.get(k) for k in _ids(observed, keys)], index=observed.index, dtype=object)
    excluded = pd.Series("station not in the official results", index=observed.index)[target.isna()]
    return target, excluded
