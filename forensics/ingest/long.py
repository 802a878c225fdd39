"""Long layouts: one row per station and party (or protocol line), widened to one row per station.

Many authorities publish results "long": a station's ids and protocol lines
repeat on every row, one column names the party, candidate or line of the
row (``[long] option``) and one holds its count (``[long] count``).  The rows
of a station (the same key) become one row with a column per option, in the
order the options first appear, so the profile then maps the widened file as
any other: an option named like a protocol line ('Registered voters') is that
field, the others are parties.

Checked on the way, each problem naming its row and column: every row names
an option; no option appears twice at one station; every count is a whole
number; and every other column is the same on each of a station's rows (a
column that describes the option, such as a candidate's party or list
number, belongs in ``[long] ignore``).  With ``on_bad_rows="skip"`` a station
with a problem is set aside whole, every one of its rows listed: a station
missing one party's row would be silently wrong.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError
from ..model import combined_codes
from .cells import parse_counts
from .problems import Problem, raise_problems
from .profiles import CANONICAL, LongLayout, Profile, norm
from .read import Cells
from .rows import TEXT, column_text

IGNORE_FIX = ("if '{column}' describes the party or line of the row (its code, list or number), add it to "
              "[long] ignore; otherwise correct the cell")


def station_columns(prof: Profile, headers, file=None) -> tuple[list, list]:
    """(the headers of the station key, the other station columns): every header but the option, the count
    and the ignored columns."""
    spec = prof.long
    named = {norm(h): h for h in headers}
    own = [spec.option, spec.count, *spec.ignore]
    absent = [c for c in own if norm(c) not in named]
    if absent:
        raise DataError(f"the long layout's column '{absent[0]}' is not in the file", file=file, row=1,
                        column=absent[0],
                        fix="name the file's columns in [long] option, count and ignore "
                            f"(its columns: {', '.join(repr(h) for h in list(headers)[:12])})")
    dropped = {named[norm(c)] for c in own}
    rest = [h for h in headers if h not in dropped]
    try:
        mapping = prof.match(rest)
    except DataError as exc:  # an ambiguous header: named with the file
        raise DataError(exc.problem, file=file, row=1, column=exc.column, fix=exc.fix) from None
    key = []
    for k in prof.key:
        h = (mapping.fields.get(k) or mapping.derived.get(k, {}).get("header")
             or (named.get(norm(k)) if k not in CANONICAL else None))
        if h is None:
            raise DataError(f"the long layout needs the station key's column '{k}' to group the rows of a station, "
                            "and the file has none", file=file, row=1, column=k,
                            fix=f"map '{k}' in [fields] or leave it out of the profile's key")
        key.append(h)
    return key, [h for h in rest if h not in key]


def widen(cells: Cells, headers: list, prof: Profile, file, thousands=None, skip: bool = False):
    """(headers, Cells, rows set aside as Problems, info, blank rows) of the file with one row per station."""
    spec: LongLayout = prof.long
    key, others = station_columns(prof, headers, file)
    named = {norm(h): h for h in headers}
    option, count = named[norm(spec.option)], named[norm(spec.count)]
    blank = np.ones(len(cells), bool)  # empty lines: no station's
    for h in headers:
        blank &= _is(pc.equal(_text(cells.columns[h]), ""))
    blank_rows = [int(r) for r in cells.rows[blank]]
    if blank.any():
        cells = cells.take(~blank)
    rows = cells.rows
    station = combined_codes([pd.Series(_text(cells.columns[h]), dtype=TEXT) for h in key])
    first = _first_row(station)
    heads = first[station]  # each row's station's first row
    values, problems = parse_counts(cells.columns[count], rows, count, thousands)
    codes, names = pd.factorize(pd.Series(_text(cells.columns[option]), dtype=TEXT))
    unnamed = names == ""
    problems += [Problem(int(rows[i]), option, "the row names no party or line",
                         f"write the party, candidate or protocol line of the row in '{option}'")
                 for i in np.flatnonzero(unnamed[codes])]
    again = pd.Series(station * (len(names) + 1) + codes).duplicated().to_numpy() & ~unnamed[codes]
    problems += [Problem(int(rows[i]), option, f"a second row for '{names[codes[i]]}' at the station of row "
                         f"{rows[heads[i]]}", "delete the repeated row, or correct its station id")
                 for i in np.flatnonzero(again)]
    for h in others:  # one column's text at a time: a long file is large
        column = _text(cells.columns[h])
        problems += [Problem(int(rows[i]), h, f"'{h}' is '{column[int(i)]}' here but '{column[int(heads[i])]}' at "
                             f"row {rows[heads[i]]} of the same station", IGNORE_FIX.format(column=h))
                     for i in np.flatnonzero(_is(pc.not_equal(column, column.take(pa.array(heads)))))]
    set_aside = []
    if problems and not skip:
        raise_problems(problems, file)
    keep = np.ones(len(rows), bool)
    if problems:
        keep, set_aside = _set_aside(problems, rows, station)
    kept = np.flatnonzero(keep)
    which, used = pd.factorize(codes[kept])  # the options in the order they first appear
    options = [str(names[u]) for u in used]
    station_headers = {norm(h) for h in (*key, *others)}
    if clash := [o for o in options if norm(o) in station_headers]:
        raise DataError(f"the option '{clash[0]}' has the name of a column of the file", file=file, column=option,
                        fix="rename the column or the option: a widened file cannot hold both")
    seen = {}
    for o in options:
        if (twin := seen.setdefault(norm(o), o)) != o:
            raise DataError(f"the options '{twin}' and '{o}' differ only by case, spaces or ё/е", file=file,
                            column=option, fix="write each party, candidate or line the same way on every row")
    stations, where = np.unique(station[kept], return_inverse=True)  # numbered in order of appearance
    grid = np.full((len(stations), len(options)), np.nan)
    grid[where, which] = values[kept]
    if spec.absent == "zero":
        present = np.zeros(grid.shape, bool)
        present[where, which] = True
        grid[~present] = 0.0
    tops = pa.array(first[stations])
    columns = {h: cells.columns[h].take(tops) for h in (*key, *others)}
    columns.update({o: pa.array(grid[:, j], type=pa.float64(), from_pandas=True) for j, o in enumerate(options)})
    info = {"layout": "long", "long_rows": int(len(rows)), "long_option": option, "long_count": count,
            "long_stations": int(len(stations))}
    return list(columns), Cells(columns, rows[first[stations]]), set_aside, info, blank_rows


def _text(arr):
    """A column's cells as stripped text, "" for empty (as ids and messages read them)."""
    return pa.array(column_text(arr))


def _is(mask) -> np.ndarray:
    """An Arrow boolean result as a numpy mask (null: False)."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _first_row(station: np.ndarray) -> np.ndarray:
    """The position of each station's first row (stations numbered 0.. in order of appearance)."""
    first = np.full(int(station.max()) + 1 if len(station) else 0, -1)
    order = np.arange(len(station))[::-1]
    first[station[order]] = order  # later writes win: the smallest position
    return first


def _set_aside(problems, rows, station):
    """Every row of a station with a problem, each with its reason (its own, or the station's first)."""
    position = {int(r): i for i, r in enumerate(rows)}
    own = {}
    for p in problems:
        own.setdefault(position[p.row], p)
    bad_stations = np.unique(station[list(own)])
    drop = np.isin(station, bad_stations)
    reason = {s: own[i].message for i, s in sorted((i, station[i]) for i in own)[::-1]}
    set_aside = [Problem(int(rows[i]), own[i].column if i in own else None,
                         own[i].message if i in own else f"another row of this station: {reason[station[i]]}", "")
                 for i in np.flatnonzero(drop)]
    return ~drop, set_aside
