"""``load``: one results file -> the canonical Election.

Read the file, choose or apply a profile, map headers onto canonical fields,
apply the profile's row rules, parse every id and count strictly, compute
the computed fields, check the key, and mark stations whose figures were
never published.  Problems are collected over the whole file and reported
together, or (``on_bad_rows="skip"``) the offending rows are set aside, each
listed with its reason in ``meta["excluded_rows"]`` (``excluded_rows(e)``
gives them as a table).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError
from ..model import FIELDS, ID_COLUMNS, UNPUBLISHED, Election
from .cells import parse_counts
from .detect import detect_profile
from .problems import Problem, raise_problems
from .profile_toml import load_profile
from .profiles import CANONICAL, SOURCE_ROW, Profile, norm
from .read import Source
from .rows import TEXT, apply_rules, as_numbers, column_text

#: the table column holding the reason a ``mark`` row rule gave ("" for rows not marked)
MARKED = "marked"
BAD_ROWS = ("error", "skip")


def load(path, profile=None, *, on_bad_rows: str = "error", sheet=None) -> Election:
    """Load a polling-station results file as an Election.

    ``profile`` is a shipped profile name, a path to a TOML profile, a
    Profile, or None to pick the shipped profile that fits the headers
    (``meta["profile_note"]`` says which and why).  ``on_bad_rows="skip"``
    sets rows with bad cells, empty ids or a repeated key aside (listed in
    ``meta["excluded_rows"]``) instead of refusing the file; ``sheet``
    chooses an XLSX sheet by name or 0-based position.
    """
    if on_bad_rows not in BAD_ROWS:
        raise ValueError(f"on_bad_rows must be one of {BAD_ROWS}, not {on_bad_rows!r}")
    prof = load_profile(profile) if profile is not None else None
    options = {**(prof.read if prof else {}), "on_bad_rows": on_bad_rows}
    if sheet is not None:
        options["sheet"] = sheet
    src = Source(path, **options)
    if prof is None:
        prof, note = detect_profile(src.headers, src.file)
        reread = {k: v for k, v in prof.read.items() if k != "thousands" and v != options.get(k)}
        if reread:
            src = Source(path, **options, **reread)
    else:
        note = f"profile '{prof.name}' given by the user"
    src.check_duplicates()
    if prof.long is not None:
        src.widen(prof, skip=on_bad_rows == "skip")
    try:
        mapping = prof.match(src.headers)
    except DataError as exc:
        raise DataError(exc.problem, file=src.file, row=src.header_row if hasattr(src, "header_row") else 1,
                        column=exc.column, fix=exc.fix) from None
    _require(prof, mapping, src)
    return _Build(src, prof, mapping, on_bad_rows).election(path, note, detected=profile is None)


class _Build:
    """The steps from a file's cells to the canonical table, collecting problems on the way."""

    def __init__(self, src: Source, prof: Profile, mapping, on_bad_rows: str):
        self.src, self.prof, self.m, self.mode = src, prof, mapping, on_bad_rows
        self.file = src.file
        self.problems = []
        self.set_aside = []

    # -- the steps -------------------------------------------------------------------
    def election(self, path, note, detected) -> Election:
        cells = self.src.cells()
        self.set_aside += [{"row": p.row, "action": "skipped", "reason": p.message} for p in self.src.skipped]
        cells, blank_rows = self._drop_blank(cells)
        blank_rows = sorted([*self.src.blank_rows, *blank_rows])
        if not len(cells):
            raise DataError("the file has a header row but no data rows", file=self.file, row=self.src.first_row,
                            fix="check that you exported the whole table, with one row per polling station")
        cells, marks, fill_ids, missing = apply_rules(self.prof, self.m, cells, self.set_aside, self.file)
        self.cells, self.rows = cells, cells.rows
        ids = self._ids(fill_ids)
        numbers, parties = self._counts(missing)
        self._check_party_names(parties)
        columns = dict(ids)
        for f, h in self.m.fields.items():
            if f in FIELDS:
                columns[f] = numbers[h]
        for f, sources in self.m.computed.items():
            columns[f] = self._compute(f, sources, numbers, parties, columns)
        table = {c: columns[c] for c in ID_COLUMNS if c in columns}
        table.update({f: columns[f] for f in FIELDS if f in columns})  # canonical order
        table.update({name: numbers[h] for h, name in parties.items()})
        counts = [c for c in (*FIELDS, *parties.values()) if c in table]
        table[UNPUBLISHED] = (np.isnan(np.column_stack([table[c] for c in counts])).all(axis=1) if counts
                              else np.zeros(len(cells), bool))
        if (marks != "").any():
            table[MARKED] = marks
        key_headers = {norm(k) for k in self.prof.key}
        kept = [h for h in self.src.headers if h in self.m.unmapped or (h in self.m.pending and h not in parties)]
        for h in kept:  # a source column named like a canonical one it does not fill keeps a suffix
            name = h if h not in table else f"{h} (source)"
            table[name] = _kept(cells.columns[h], as_text=norm(h) in key_headers)
        if SOURCE_ROW in self.prof.key:
            table[SOURCE_ROW] = self.rows
        table = pd.DataFrame(table, index=pd.RangeIndex(len(cells)))
        key = self._key(table)
        self._check_unique(table, key)
        keep = self._settle()
        rows = self.rows
        if keep is not None:
            table, rows = table[keep].reset_index(drop=True), rows[keep]
        table = _as_counts(table, [c for c in (*FIELDS, *parties.values()) if c in table])
        meta = self._meta(table, parties, key, kept, note, detected, blank_rows, rows)
        return Election(table=table, parties=tuple(parties.values()), profile=self.prof.name,
                        sources={str(path): self.src.sha256}, meta=meta)

    def _drop_blank(self, cells):
        """Records with no value at all (blank lines, empty spreadsheet rows) are not stations."""
        empty = np.ones(len(cells), bool)
        for arr in cells.columns.values():
            idx = pa.array(np.flatnonzero(empty))
            part = arr.take(idx)  # only rows still blank so far are looked at
            if pa.types.is_string(part.type) or pa.types.is_large_string(part.type):
                filled = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(part), ""), False)
            else:
                filled = pc.is_valid(part)
            empty[np.asarray(idx)[np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)]] = False
            if not empty.any():
                return cells, []
        return (cells.take(~empty) if empty.any() else cells), [int(r) for r in cells.rows[empty]]

    def _ids(self, fill_ids) -> dict:
        out = {}
        for c in ID_COLUMNS:
            if c in self.m.derived:
                spec = self.m.derived[c]
                if spec.get("row_number"):
                    out[c] = pd.Series(self.rows.astype(str), dtype=TEXT)
                    continue
                text = column_text(self.cells.columns[spec["header"]])
                if spec.get("prefix"):
                    text = text.str.slice(0, int(spec["prefix"]))
                if spec.get("values"):  # codes not in the map stay as they are
                    named = text.map(spec["values"])
                    text = named.where(named.notna(), text).astype(TEXT)
                out[c] = self._no_empty(text, c, spec["header"], fill_ids)
            elif c in self.m.fields:
                h = self.m.fields[c]
                out[c] = self._no_empty(column_text(self.cells.columns[h]), c, h, fill_ids)
        return out

    def _no_empty(self, text, canon, header, fill_ids):
        empty = (text == "").to_numpy(dtype=bool)
        if not empty.any():
            return text
        fill = empty & fill_ids
        if fill.any():
            text = text.copy()
            text[fill] = [f"row {r}" for r in self.rows[fill]]
        for i in np.flatnonzero(empty & ~fill_ids):
            self.problems.append(Problem(int(self.rows[i]), header, "the station id is empty",
                                         "fill in the id (every polling station needs its region, commission and "
                                         "number), or delete the row if it is not a polling station"))
        return text

    def _counts(self, missing):
        """Every count column parsed strictly: {header: float64 values}, and the party columns."""
        cols = self.cells.columns
        parties = dict(self.m.parties)
        parties.update({h: h for h in self.m.pending if _mostly_numbers(cols[h])})
        parties = {h: self.prof.party_name(p) for h, p in parties.items()}
        headers = [h for f, h in self.m.fields.items() if f in FIELDS]
        headers += [s[1] for sources in self.m.computed.values() for _, s in sources if s[0] == "header"]
        headers += list(parties)
        thousands = self.prof.read.get("thousands")
        numbers = {}
        for h in dict.fromkeys(headers):
            values, problems = parse_counts(cols[h], self.rows, h, thousands)
            numbers[h] = values
            self.problems += problems
        for field_name, mask in missing.items():  # rows a rule says have no such figure
            h = self.m.fields.get(field_name)
            if h is not None:
                numbers[h] = np.where(mask, np.nan, numbers[h])
                blanked = set(self.rows[mask].tolist())
                self.problems = [p for p in self.problems if not (p.column == h and p.row in blanked)]
        return numbers, parties

    def _compute(self, name, sources, numbers, parties, table):
        """A sum or difference of columns; missing if any part is missing (never counted as 0)."""
        total = np.zeros(len(self.rows))
        for sign, src in sources:
            if src[0] == "parties":
                part = np.sum([numbers[h] for h in parties], axis=0) if parties else np.full(len(table), np.nan)
            elif src[0] == "field":
                part = np.asarray(table[src[1]], dtype=float)
            else:
                part = numbers[src[1]]
            total = total + sign * part
        for i in np.flatnonzero(total < 0):
            self.problems.append(Problem(int(self.rows[i]), name,
                                         f"the computed {name} ({self.prof.describe_field(name)}) is negative "
                                         f"({total[i]:g})", "check the cells it is computed from"))
        return np.where(total < 0, np.nan, total)

    def _check_party_names(self, parties) -> None:
        reserved = {norm(c): c for c in (*CANONICAL, UNPUBLISHED, MARKED, SOURCE_ROW)}
        for h, name in parties.items():
            if norm(name) in reserved:
                raise DataError(f"the column '{h}' would be a party named like the field '{reserved[norm(name)]}'",
                                file=self.file, row=getattr(self.src, "header_row", 1), column=h,
                                fix=f"map it in the profile ([fields] {reserved[norm(name)]} = \"{h}\"), exclude it "
                                    "from the parties, or rename it")
        seen = {}
        for h, name in parties.items():
            if norm(name) in seen:
                raise DataError(f"the columns '{seen[norm(name)]}' and '{h}' give the same party name '{name}'",
                                file=self.file, row=getattr(self.src, "header_row", 1), column=h,
                                fix="rename one of them, or correct the profile's [parties] names")
            seen[norm(name)] = h

    def _key(self, table) -> list:
        """The key's columns as the table names them (a source column keeps its header)."""
        key = []
        for k in self.prof.key:
            if k not in table.columns:
                k = next(c for c in table.columns if norm(c) == norm(k))
            key.append(k)
        return key

    def _check_unique(self, table, key) -> None:
        """No two stations may share the key: each later copy is a problem naming the first."""
        dup = table.duplicated(key, keep=False).to_numpy()
        if not dup.any():
            return
        first = {}
        labels = {k: self.m.fields.get(k) or self.m.derived.get(k, {}).get("header", k) for k in key}
        fix = _long_hint(table, key) or ("delete the repeated row, or correct its id; if station numbers "
                                          "legitimately repeat, give the profile a 'key' that tells them apart "
                                          "(docs/profiles.md)")
        for i in np.flatnonzero(dup):
            ident = tuple(table[k].iat[i] for k in key)
            if ident not in first:
                first[ident] = i
                continue
            j = first[ident]
            shown = ", ".join(f"{labels[k]}={v}" for k, v in zip(key, ident))
            self.problems.append(Problem(int(self.rows[i]), labels[key[-1]],
                                         f"rows {self.rows[j]} and {self.rows[i]} are the same polling station "
                                         f"({shown})", fix))
            if self.mode == "skip":  # neither copy can be trusted: the first is set aside too
                self.problems.append(Problem(int(self.rows[j]), labels[key[-1]],
                                             f"rows {self.rows[j]} and {self.rows[i]} are the same polling station "
                                             f"({shown})", ""))

    def _settle(self):
        """Raise every problem at once, or set the offending rows aside (a keep-mask, or None)."""
        if not self.problems:
            return None
        if self.mode != "skip":
            raise_problems(self.problems, self.file)
        reasons = {}
        for p in sorted(self.problems, key=lambda p: p.row):
            text = f"column '{p.column}': {p.message}" if p.column and p.column not in p.message else p.message
            reasons.setdefault(p.row, [])
            if text not in reasons[p.row]:
                reasons[p.row].append(text)
        self.set_aside += [{"row": r, "action": "skipped", "reason": "; ".join(t)} for r, t in reasons.items()]
        return ~np.isin(self.rows, list(reasons))

    # -- metadata ----------------------------------------------------------------------
    def _meta(self, table, parties, key, kept, note, detected, blank_rows, rows) -> dict:
        m, prof, src = self.m, self.prof, self.src
        counts = [c for c in (*FIELDS, *parties.values()) if c in table]
        missing = table.loc[~table[UNPUBLISHED], counts].isna().sum()
        labels = {**{f: h for f, h in m.fields.items()},
                  **{f: prof.describe_field(f) for f in m.computed}, **prof.labels}
        excluded = sorted(self.set_aside, key=lambda e: e["row"])
        marked = table[MARKED].value_counts().drop("", errors="ignore") if MARKED in table else pd.Series(dtype=int)
        return {
            **prof.meta,
            "mapping": {**{f: h for f, h in m.fields.items()},
                        **{c: ("the source row number" if s.get("row_number") else f"derived from '{s['header']}'")
                           for c, s in m.derived.items()},
                        **{c: prof.describe_field(c) for c in m.computed},
                        **{p: h for h, p in parties.items() if p != h}},
            "labels": {f: labels[f] for f in CANONICAL if f in labels and (f in table or f in m.fields)},
            "unmapped": kept,
            "n_unpublished": int(table[UNPUBLISHED].sum()),
            "missing_cells": {c: int(n) for c, n in missing.items() if n},
            "key": key,
            "detected": detected,
            "profile_note": note,
            "first_data_row": src.first_row,
            "blank_rows": blank_rows,
            "source_rows": _runs(rows),
            "excluded_rows": excluded,
            "excluded_counts": _count_reasons(excluded),
            "marked_counts": {str(k): int(v) for k, v in marked.items()},
            **src.info,
        }


def _long_hint(table, key) -> str | None:
    """The fix for repeated stations in a long layout: a text column that tells each station's rows apart."""
    for c in table.columns:
        col = table[c]
        if c in key or not (pd.api.types.is_string_dtype(col) or col.dtype == object):
            continue
        if 1 < col.nunique() <= 1000 and not table.duplicated([*key, c]).any():
            return (f"the file looks long, one row per station and '{c}': give the profile a [long] table "
                    f"(option = \"{c}\", count = the column of its counts; docs/profiles.md), or let "
                    "'forensics profile draft' write one")
    return None


def _count_reasons(entries) -> dict:
    out = {}
    for e in entries:
        reason = e["reason"] if e["action"] == "dropped" else "bad row: " + e["reason"].split(":")[0]
        out[reason] = out.get(reason, 0) + 1
    return out


def _runs(rows) -> list:
    """Spreadsheet rows as [first, count] runs of consecutive rows (one run for most files)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [len(rows)]])
    return [[int(rows[s]), int(e - s)] for s, e in zip(starts, ends)]


def source_rows(election: Election) -> pd.Series:
    """The spreadsheet row (header = row 1) each station was read from (``Election.source_rows``)."""
    return election.source_rows()


def excluded_rows(election: Election) -> pd.DataFrame:
    """Rows of the file left out of the table: source row, action (dropped by a rule, skipped as bad), reason.

    Marked rows stay in the table (column ``marked`` holds their reason) and
    are not listed here.  Empty when nothing was left out.
    """
    entries = election.meta.get("excluded_rows", [])
    return pd.DataFrame(entries, columns=["row", "action", "reason"]).rename(columns={"row": "source_row"})


def _mostly_numbers(arr) -> bool:
    """Under the 'rest' rule: a column whose filled cells are mostly whole numbers is a party.

    A count column with a stray word in it is still a party (and its bad cell
    a problem); a column of names, notes or flags (booleans) is kept as it is.
    An empty column is a party too (its votes were not published).
    """
    if pa.types.is_boolean(arr.type):
        return False
    if _numeric(arr):
        return True
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return False
    if pc.all(pc.utf8_is_digit(arr), skip_nulls=True).as_py():
        return True
    text = pc.utf8_trim_whitespace(arr)
    filled = pc.sum(pc.not_equal(text, "")).as_py() or 0
    digits = pc.sum(pc.match_substring_regex(text, r"^[0-9]+([.,]0+)?$")).as_py() or 0
    return digits > 0.5 * filled or filled == 0  # an empty column: a party with no published votes


def _numeric(arr) -> bool:
    return pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type)


def _kept(arr, as_text: bool):
    """A column kept as it is: numbers where every filled cell is a whole number, else text (empty -> missing)."""
    if _numeric(arr) and not as_text:
        return arr.to_pandas().to_numpy()
    text = column_text(arr)
    if as_text:
        return text
    filled = text[text != ""]
    whole = r"-?\d{1,15}"
    if len(filled) and filled.iloc[:100].str.fullmatch(whole).all() and filled.str.fullmatch(whole).all():
        values = as_numbers(text)
        return values.astype(np.int64) if len(filled) == len(text) else values
    return text.where(text != "")


def _as_counts(table, columns):
    """int64 where every cell is filled, float64 (whole numbers, NaN for the gaps) otherwise."""
    for c in columns:
        values = table[c].to_numpy(dtype=float)
        table[c] = values.astype(np.int64) if not np.isnan(values).any() else values
    return table


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
                        "or write a profile for this layout (docs/profiles.md; 'forensics profile draft FILE')")
