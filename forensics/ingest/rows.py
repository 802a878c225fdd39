"""Row rules of a profile: drop or mark rows by a simple condition on their cells.

``[[rows]]`` entries name a column (a header, a canonical field or
``source_row``) and one test (equals, not_equals, in, not_in, matches,
empty, not_empty, below, above); a rule applies where all its conditions
hold.  ``drop`` sets the rows aside before any cell is checked (listed in
``meta["excluded_rows"]`` with the rule's reason); ``mark`` keeps them and
writes the reason in the table's ``marked`` column.  A rule may also give
empty ids the source row (``id_from_row``) or read some counts as missing
in its rows (``missing``: e.g. districts with no electorate of their own).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError
from .profiles import SOURCE_ROW, norm

#: pandas' text dtype backed by Arrow (what pandas 3 reads text as)
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def column_text(arr) -> pd.Series:
    """A column's cells as stripped text ("" for empty) in an Arrow-backed Series; whole floats without '.0'."""
    if pa.types.is_floating(arr.type):
        whole = pc.fill_null(pc.equal(pc.floor(arr), arr), False)
        arr = pc.if_else(whole, pc.cast(pc.cast(arr, pa.int64(), safe=False), pa.string()),
                         pc.cast(arr, pa.string()))
    elif not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    text = pc.fill_null(pc.utf8_trim_whitespace(arr), "")
    return pd.Series(pd.array(text, dtype=TEXT))


def as_numbers(text: pd.Series) -> np.ndarray:
    """Decimal numbers written in text cells ('7', '-3', '7.0'), NaN for anything else."""
    arr = pa.array(text.astype(TEXT)).cast(pa.string())
    ok = pc.fill_null(pc.match_substring_regex(arr, r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"), False)
    values = pc.cast(pc.utf8_trim_whitespace(pc.if_else(ok, arr, pa.scalar(None, pa.string()))), pa.float64())
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=float)


def _column(cond, mapping, cells, file):
    if cond.column == SOURCE_ROW:
        return pd.Series(cells.rows.astype(str), dtype=TEXT)
    header = mapping.fields.get(cond.column) or mapping.derived.get(cond.column, {}).get("header")
    if header is None:
        header = next((h for h in cells.columns if norm(h) == norm(cond.column)), None)
    if header is None:
        raise DataError(f"a row rule of the profile names the column '{cond.column}', which the file does not have",
                        file=file, row=1, column=cond.column,
                        fix="correct the column in the profile's [[rows]] rule (a header text or a canonical field)")
    return column_text(cells.columns[header])


def _holds(cond, text: pd.Series) -> np.ndarray:
    op, value = cond.op, cond.value
    if op in ("empty", "not_empty"):
        hit = (text == "").to_numpy(dtype=bool)
        return hit if op == "empty" else ~hit
    if op in ("equals", "not_equals", "in", "not_in"):
        values = [value] if op in ("equals", "not_equals") else list(value)
        hit = np.array(text.isin(values).to_numpy(dtype=bool))
        wanted = as_numbers(pd.Series(values, dtype=object))
        if not np.isnan(wanted).all():  # numbers compare as numbers: '7' equals '7.0'
            hit |= np.isin(as_numbers(text), wanted[~np.isnan(wanted)])
        return hit if op in ("equals", "in") else ~hit
    if op == "matches":
        return text.str.contains(value, regex=True).to_numpy(dtype=bool)
    numbers = as_numbers(text)
    with np.errstate(invalid="ignore"):
        return (numbers < value) if op == "below" else (numbers > value)


def apply_rules(prof, mapping, cells, set_aside: list, file):
    """(cells without dropped rows, mark reason per row, ids to fill from the row, {field: rows blanked})."""
    marks = np.full(len(cells), "", dtype=object)
    drop = np.zeros(len(cells), bool)
    fill = np.zeros(len(cells), bool)
    missing = {}
    for rule in prof.rows:
        hit = ~drop
        for cond in rule.conditions:
            hit &= _holds(cond, _column(cond, mapping, cells, file))
        if rule.action == "drop":
            set_aside += [{"row": int(r), "action": "dropped", "reason": rule.reason} for r in cells.rows[hit]]
            drop |= hit
            continue
        marks[hit & (marks == "")] = rule.reason
        fill |= hit & rule.id_from_row
        for f in rule.missing:
            missing[f] = missing.get(f, np.zeros(len(cells), bool)) | hit
    if drop.any():
        keep = ~drop
        return (cells.take(keep), marks[keep], fill[keep], {f: m[keep] for f, m in missing.items()})
    return cells, marks, fill, missing
