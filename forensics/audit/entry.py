"""Double data entry: two independent transcriptions of each protocol, compared field by field.

As in double-entry election software, a protocol goes forward only when two
different people typed the same figures from the same copy.  Each station is
``agreed`` (both entries, every field equal), ``pending`` (one entry only,
or both by the same person) or ``disputed`` (the fields that differ are
listed for a third look).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import ID_COLUMNS
from .stations import PROVENANCE, as_table, station_key
from .transcription import check_lines

STATUSES = ("agreed", "pending", "disputed")


@dataclass(frozen=True)
class DoubleEntry:
    """``status``: one row per station (ids, status, fields that differ, transcribers, note);
    ``disputes``: one row per differing field (ids, field, first, second);
    ``agreed``: the first entry's rows of agreed stations, provenance of both merged."""

    status: pd.DataFrame
    disputes: pd.DataFrame
    agreed: pd.DataFrame

    @property
    def counts(self) -> dict:
        c = self.status["status"].value_counts()
        return {s: int(c.get(s, 0)) for s in STATUSES}


def _join(a, b) -> str:
    parts = [str(x) for x in (a, b) if isinstance(x, str) and x]
    return ";".join(dict.fromkeys(";".join(parts).split(";"))) if parts else ""


def double_entry(first: pd.DataFrame, second: pd.DataFrame, lines=None) -> DoubleEntry:
    """Compare two transcriptions (canonical columns) station by station.

    ``lines`` are the fields compared (default: every numeric column the two
    share besides ids and provenance).  A station entered twice in the same
    file counts as disputed: which row is meant cannot be told.
    """
    first, second = as_table(first), as_table(second)
    keys = [k for k in ID_COLUMNS if k in first.columns and k in second.columns]
    if lines is None:
        skip = {*ID_COLUMNS, *PROVENANCE, "source_row"}
        lines = [c for c in first.columns if c in second.columns and c not in skip
                 and pd.api.types.is_numeric_dtype(first[c])]
    check_lines(first, lines)
    check_lines(second, lines)
    a = first.assign(_key=station_key(first, keys).to_numpy())
    b = second.assign(_key=station_key(second, keys).to_numpy())
    twice = set(a["_key"][a["_key"].duplicated()]) | set(b["_key"][b["_key"].duplicated()])
    a1 = a.drop_duplicates("_key").set_index("_key")
    b1 = b.drop_duplicates("_key").set_index("_key")
    both = a1.index.intersection(b1.index)
    va = a1.loc[both, lines].astype(float).to_numpy()
    vb = b1.loc[both, lines].astype(float).to_numpy()
    differ = ~((va == vb) | (np.isnan(va) & np.isnan(vb)))
    differ = pd.DataFrame(differ, index=both, columns=lines)

    allkeys = a1.index.union(b1.index, sort=False)
    ids = pd.concat([a1[keys], b1[keys]]).loc[lambda t: ~t.index.duplicated()].reindex(allkeys)
    status = ids.copy()
    t1 = a1["transcriber"].reindex(allkeys) if "transcriber" in a1 else pd.Series(pd.NA, index=allkeys)
    t2 = b1["transcriber"].reindex(allkeys) if "transcriber" in b1 else pd.Series(pd.NA, index=allkeys)
    status["status"] = "pending"
    status["note"] = np.where(allkeys.isin(a1.index), "second entry missing", "first entry missing")
    ndiff = differ.sum(axis=1).reindex(allkeys)
    status["fields_differing"] = differ.apply(lambda r: ";".join(r.index[r]), axis=1).reindex(allkeys).fillna("")
    status.loc[ndiff == 0, ["status", "note"]] = ["agreed", ""]
    status.loc[ndiff > 0, ["status", "note"]] = ["disputed", "fields differ: a third person checks the photo"]
    same = (ndiff == 0) & t1.notna() & (t1.astype("string") == t2.astype("string")).fillna(False)
    status.loc[same, ["status", "note"]] = ["pending", "both entries by the same transcriber: a second person must enter it"]
    dup = allkeys.isin(list(twice))
    status.loc[dup, ["status", "note"]] = ["disputed", "station entered more than once in one file"]
    status["transcriber_1"], status["transcriber_2"] = t1, t2

    rows = []
    for key, r in differ[differ.any(axis=1)].iterrows():
        for line in r.index[r]:
            rows.append({**ids.loc[key].to_dict(), "field": line,
                         "first": a1.at[key, line], "second": b1.at[key, line]})
    disputes = pd.DataFrame(rows, columns=[*keys, "field", "first", "second"])

    ok = status.index[status["status"] == "agreed"]
    agreed = a1.loc[ok].copy()
    for col in ("transcriber", "photos"):
        if col in a1.columns or col in b1.columns:
            agreed[col] = [_join(a1[col].get(k) if col in a1 else None, b1[col].get(k) if col in b1 else None)
                           for k in ok]
    return DoubleEntry(status=status.reset_index(drop=True), disputes=disputes,
                       agreed=agreed.reset_index(drop=True))
