"""Strict parsing of count cells: a count is a whole number written with the digits 0-9.

Anything else is a ``Problem`` naming the cell and the fix: a sign, a value
of 2^53 or more, a separator that makes the value ambiguous ('1.000' is one
thousand or one), scientific notation, a boolean, a date, a percentage,
text.  A profile may declare the thousands separator its files use
(``[read] thousands = "."``), and then '1.413' reads as 1413.  A whole
number written with decimal zeros ('1523.0', as programs write a column with
gaps) is accepted unless it could be a thousands group ('1.000').  Empty
cells (and NA, N/A, null, ...) stay missing, never 0.
"""
from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .problems import Problem

#: cell texts read as missing in count columns (id columns keep them: "NA" may be a code)
NA_TEXT = ("", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None", "<NA>")
#: counts are exact in a float64 and in every consumer below this
LIMIT = 2**53
EMPTY_IS_UNPUBLISHED = "leave the cell empty if the figure was not published"
WHOLE = "write the count as a whole number with the digits 0-9 only; " + EMPTY_IS_UNPUBLISHED
SEPARATORS = ".,' \u00a0\u202f"

_DIGITS = re.compile(r"\d+", re.ASCII)
_SIGNED = re.compile(r"([+-])(\d+)", re.ASCII)
_GROUPED = re.compile(r"\d{1,3}(?P<sep>[.,' \u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*", re.ASCII)
_DECIMAL = re.compile(r"-?(?P<int>\d*)(?P<sep>[.,])(?P<frac>\d+)", re.ASCII)
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[ T].*)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}:\d{2}(?::\d{2})?",
                   re.ASCII)
_BOOLEAN = {"true", "false", "истина", "ложь", "wahr", "falsch", "vrai", "faux", "verdadero", "falso",
            "verdadeiro", "prawda", "fałsz"}
_INFINITE = {"inf", "-inf", "+inf", "infinity", "-infinity", "∞"}


def parse_counts(arr, rows: np.ndarray, column: str, thousands: str | None = None):
    """(float64 values with NaN for missing, [Problem]) for one count column."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _text(arr, rows, column, thousands)
    if pa.types.is_null(t):
        return np.full(len(arr), np.nan), []
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _numbers(arr, rows, column)
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
    what = ("boolean values (True/False)" if pa.types.is_boolean(t) else
            "dates or times" if pa.types.is_temporal(t) else f"values of type {t}")
    values = arr.to_pylist()
    problems = [Problem(int(rows[i]), column, f"{what} are not counts ('{values[i]}')",
                        "store the count as a whole number; if this column is a flag, not votes, leave it out of "
                        "the counts (exclude it in the profile's [parties])")
                for i in np.flatnonzero(valid)]
    return np.full(len(arr), np.nan), problems


def _numbers(arr, rows, column):
    values = np.array(arr.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=float)
    if pa.types.is_integer(arr.type):  # checked on the integers themselves (a float64 rounds past 2^53)
        limit = pa.scalar(LIMIT, arr.type) if pa.types.is_uint64(arr.type) or pa.types.is_int64(arr.type) else None
        big = (np.asarray(pc.fill_null(pc.greater_equal(pc.abs(arr) if pa.types.is_int64(arr.type) else arr, limit),
                                       False).to_numpy(zero_copy_only=False)) if limit is not None
               else np.zeros(len(arr), bool))
    else:
        big = np.isfinite(values) & (np.abs(values) >= LIMIT)
    bad = ~np.isnan(values) & ((values < 0) | ~np.isfinite(values) | big | (values != np.floor(values)))
    problems = [_value_problem(values[i], str(arr[int(i)].as_py()), int(rows[i]), column, big[i])
                for i in np.flatnonzero(bad)]
    values[bad] = np.nan
    return values, problems


def _value_problem(v: float, text: str, row: int, column: str, big: bool = False) -> Problem:
    if big:
        return Problem(row, column, f"{text} is too large for a count (2^53 or more)",
                       "check the cell: no polling station counts this many; " + WHOLE)
    if not np.isfinite(v):
        return Problem(row, column, "infinite count", "correct the figure from the protocol")
    if v < 0:
        return Problem(row, column, f"negative count {v:g}",
                       "counts of voters, ballots and votes cannot be negative; correct the figure from the protocol")
    return Problem(row, column, f"fractional count {v:g}",
                   "counts must be whole numbers; check whether the column holds percentages or shares instead of "
                   "counts, or correct the figure")


def _text(arr, rows, column, thousands):
    fast = _plain_digits(arr)
    if fast is not None:
        return fast, []
    trimmed = pc.utf8_trim_whitespace(arr)
    missing = np.asarray(pc.fill_null(pc.is_in(trimmed, value_set=pa.array(NA_TEXT)), True)
                         .to_numpy(zero_copy_only=False))
    plain = np.asarray(pc.fill_null(pc.match_substring_regex(trimmed, r"^[0-9]{1,15}$"), False)
                       .to_numpy(zero_copy_only=False))
    values = np.full(len(arr), np.nan)
    if plain.any():
        ints = pc.cast(pc.if_else(pa.array(plain), trimmed, "0"), pa.int64())
        values[plain] = np.asarray(ints.to_numpy(zero_copy_only=False), dtype=float)[plain]
    problems = []
    for i in np.flatnonzero(~plain & ~missing):
        text = trimmed[int(i)].as_py()
        value, problem = read_count(text, int(rows[i]), column, thousands)
        if problem is None:
            values[i] = value
        else:
            problems.append(problem)
    return values, problems


def _plain_digits(arr):
    """Values of a column holding only ASCII digits (at most 15, so below 2^53) or nulls; else None."""
    if not len(arr) or not pc.all(pc.utf8_is_digit(arr), skip_nulls=True).as_py():
        return None
    nbytes = pc.binary_length(arr)
    if (pc.max(nbytes).as_py() or 0) > 15 or pc.sum(nbytes).as_py() != pc.sum(pc.utf8_length(arr)).as_py():
        return None
    return np.asarray(pc.cast(arr, pa.int64()).cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)


def read_count(text: str, row: int, column: str, thousands: str | None = None):
    """(value, None) for a count written acceptably, else (None, Problem) saying what it is and the fix."""
    if _DIGITS.fullmatch(text):
        value = int(text)
        if value >= LIMIT:
            return None, _value_problem(float(value), text, row, column, big=True)
        return float(value), None
    if thousands:
        grouped = _GROUPED.fullmatch(text)
        if grouped and grouped["sep"] == thousands:
            return read_count(text.replace(thousands, ""), row, column)
    signed = _SIGNED.fullmatch(text)
    if signed:
        if signed[1] == "-":
            return None, _value_problem(-float(signed[2]), text, row, column)
        return None, Problem(row, column, f"'{text}' carries a plus sign", WHOLE)
    grouped = _GROUPED.fullmatch(text)
    if grouped:
        sep = grouped["sep"]
        name = {" ": "a space", "\u00a0": "a no-break space", "\u202f": "a thin space", "'": "an apostrophe"}.get(
            sep, f"'{sep}'")
        if sep in ".," and text.count(sep) == 1:
            return None, Problem(row, column, f"'{text}' is ambiguous: {name} may separate thousands "
                                              f"({text.replace(sep, '')}) or decimals ({float(text.replace(sep, '.')):g})",
                                 f"if the file writes thousands with {name}, declare it in the profile "
                                 f"([read] thousands = \"{sep}\"); otherwise {WHOLE}")
        return None, Problem(row, column, f"'{text}' is not a number: it holds thousands separators ({name})",
                             f"declare the separator in the profile ([read] thousands = \"{sep}\") or {WHOLE}")
    decimal = _DECIMAL.fullmatch(text)
    if decimal and decimal["int"]:
        if set(decimal["frac"]) == {"0"} and len(decimal["frac"]) != 3:
            return read_count(decimal["int"], row, column)  # '1523.0': a whole number with decimal zeros
        return None, Problem(row, column, f"fractional count {text}",
                             "counts must be whole numbers; check whether the column holds percentages or shares "
                             "instead of counts, or correct the figure")
    if _SCIENTIFIC.fullmatch(text):
        return None, Problem(row, column, f"'{text}' is in scientific notation, which can hide rounding",
                             "format the column as whole numbers before exporting (a spreadsheet writes large "
                             "numbers as 2.3E+03 in narrow or 'General' columns)")
    if text.casefold() in _BOOLEAN:
        return None, Problem(row, column, f"'{text}' is a boolean, not a count",
                             "if this column is a flag, not votes, leave it out of the counts (exclude it in the "
                             "profile's [parties]); otherwise " + WHOLE)
    if _DATE.fullmatch(text):
        return None, Problem(row, column, f"'{text}' is a date or time, not a count",
                             "a spreadsheet turned the number into a date: format the column as numbers and "
                             "export again; otherwise " + WHOLE)
    if text.casefold() in _INFINITE:
        return None, Problem(row, column, "infinite count", "correct the figure from the protocol")
    if text.isdigit():
        return None, Problem(row, column, f"'{text}' uses digits other than 0-9", WHOLE)
    return None, Problem(row, column, f"'{text}' is not a number", WHOLE)
