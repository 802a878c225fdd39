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

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError
from .profiles import SOURCE_ROW, norm


def column_text(arr) -> np.ndarray:
    """A column's cells as stripped text ("" for empty); whole floats without '.0' (ids from spreadsheets)."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return np.asarray(pc.fill_null(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False),
                          dtype=object)
    if pa.types.is_floating(arr.type):
        values = arr.to_pylist()
        return np.array(["" if v is None or v != v else str(int(v)) if float(v).is_integer() else repr(v)
                         for v in values], dtype=object)
    return np.array(["" if v is None else str(v).strip() for v in arr.to_pylist()], dtype=object)


def _column(cond, mapping, cells, file):
    if cond.column == SOURCE_ROW:
        return cells.rows.astype(str).astype(object)
    header = mapping.fields.get(cond.column) or mapping.derived.get(cond.column, {}).get("header")
    if header is None:
        header = next((h for h in cells.columns if norm(h) == norm(cond.column)), None)
    if header is None:
        raise DataError(f"a row rule of the profile names the column '{cond.column}', which the file does not have",
                        file=file, row=1, column=cond.column,
                        fix="correct the column in the profile's [[rows]] rule (a header text or a canonical field)")
    return column_text(cells.columns[header])


def _holds(cond, text: np.ndarray) -> np.ndarray:
    op, value = cond.op, cond.value
    if op == "empty":
        return text == ""
    if op == "not_empty":
        return text != ""
    if op in ("equals", "not_equals"):
        hit = (text == value) | _same_number(text, value)
        return hit if op == "equals" else ~hit
    if op in ("in", "not_in"):
        hit = np.isin(text, list(value))
        for v in value:
            hit |= _same_number(text, v)
        return hit if op == "in" else ~hit
    if op == "matches":
        rx = re.compile(value)
        return np.array([bool(rx.search(t)) for t in text], dtype=bool)
    numbers = _numbers(text)
    with np.errstate(invalid="ignore"):
        return (numbers < value) if op == "below" else (numbers > value)


def _numbers(text):
    out = np.full(len(text), np.nan)
    for i, t in enumerate(text):
        try:
            out[i] = float(t)
        except ValueError:
            pass
    return out


def _same_number(text, value):
    try:
        v = float(value)
    except ValueError:
        return np.zeros(len(text), bool)
    return _numbers(text) == v


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
