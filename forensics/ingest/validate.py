"""Checks that turn a badly formed file into a DataError naming row, column and fix.

Only problems with the FILE are errors here: text or negative or fractional
numbers in a count column, missing ids, duplicate stations.  Facts about the
election (zero voters on the list, turnout above 100%) load normally and
surface later as findings.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError

EMPTY_IS_UNPUBLISHED = "leave the cell empty if the figure was not published"


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _row(series, pos: int, first_row: int) -> int:
    """Spreadsheet row of a position: the index holds the row's place among the file's data rows."""
    return first_row + int(series.index[pos])


def _more(mask: np.ndarray) -> str:
    extra = int(mask.sum()) - 1
    return f" ({extra} more row{'s' if extra > 1 else ''} like it)" if extra else ""


def counts(series: pd.Series, column: str, file: str, first_row: int) -> pd.Series:
    """A count column as numbers (int64, or float64 when cells are empty); raises on bad cells.

    The index of ``series`` is the row's position among the file's data rows.
    """
    if pd.api.types.is_bool_dtype(series):
        series = series.astype("int64")
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        text = series.astype(object).where(series.notna(), "").astype(str).str.strip()
        empty = (text == "").to_numpy()
        values = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float)
        bad = ~empty & ~np.isfinite(values)
        if bad.any():
            i = _first(bad)
            raise DataError(f"'{text.iloc[i]}' is not a number{_more(bad)}", file=file, row=_row(series, i, first_row),
                            column=column, fix="write a whole number without spaces or thousands separators; "
                                               + EMPTY_IS_UNPUBLISHED)
    finite = np.isfinite(values)
    neg = finite & (values < 0)
    if neg.any():
        i = _first(neg)
        raise DataError(f"negative count {values[i]:g}{_more(neg)}", file=file, row=_row(series, i, first_row), column=column,
                        fix="counts of voters, ballots and votes cannot be negative; correct the figure from the protocol")
    frac = finite & (values != np.floor(values))
    if frac.any():
        i = _first(frac)
        raise DataError(f"fractional count {values[i]:g}{_more(frac)}", file=file, row=_row(series, i, first_row), column=column,
                        fix="counts must be whole numbers; check whether the column holds percentages or shares "
                            "instead of counts, or correct the figure")
    if np.isinf(values).any():
        i = _first(np.isinf(values))
        raise DataError("infinite count", file=file, row=_row(series, i, first_row), column=column,
                        fix="correct the figure from the protocol")
    out = pd.Series(values, index=series.index, name=series.name)
    return out.astype("int64") if finite.all() else out


def ids(series: pd.Series, column: str, file: str, first_row: int) -> pd.Series:
    """An id column as stripped text; an empty id is an error."""
    text = series.fillna("").astype(str).str.strip()
    empty = (text == "").to_numpy()
    if empty.any():
        i = _first(empty)
        raise DataError(f"the station id is empty{_more(empty)}", file=file, row=_row(series, i, first_row), column=column,
                        fix="fill in the id (every polling station needs its region, commission and number), "
                            "or delete the row if it is not a polling station")
    return text


def unique(table: pd.DataFrame, key: list, file: str, first_row: int, headers: dict) -> None:
    """No two stations may share the key; names both rows of the first clash."""
    dup = table.duplicated(key, keep=False).to_numpy()
    if not dup.any():
        return
    later = table.duplicated(key, keep="first").to_numpy()
    j = _first(later)
    same = (table[key] == table[key].iloc[j]).all(axis=1).to_numpy()
    i = _first(same)
    shown = ", ".join(f"{headers.get(k, k)}={table[k].iloc[j]}" for k in key)
    n = int(later.sum())
    ri, rj = _row(table, i, first_row), _row(table, j, first_row)
    raise DataError(f"rows {ri} and {rj} are the same polling station ({shown})"
                    + (f"; {n - 1} more duplicates follow" if n > 1 else ""),
                    file=file, row=rj, column=headers.get(key[-1], key[-1]),
                    fix="delete the repeated row, or correct its id; if station numbers legitimately repeat, "
                        "give the profile a 'key' that tells them apart (docs/profiles.md)")
