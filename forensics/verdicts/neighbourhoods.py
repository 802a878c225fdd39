"""Neighbourhoods: runs of consecutive polling stations of one territorial commission.

Polling stations are numbered street by street in most countries (Russia's
PECs, Canada's polls, Poland's obwody, Germany's Wahlbezirke), so stations
with neighbouring numbers in one TEC serve neighbouring streets: the same
kind of housing, age and income.  Comparing a station only with its run of
neighbours removes most of the demography that makes turnout and party
support move together between districts, without needing any data beyond
the station numbers.  Where numbers are not geographic the runs are just
smaller groups of a TEC, which is still finer than the TEC itself.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..model import combined_codes

__all__ = ["NEIGHBOURHOOD_SIZE", "neighbourhoods", "tec_codes"]

#: stations per neighbourhood (the last run of a TEC joins the one before when shorter than half)
NEIGHBOURHOOD_SIZE = 8
_NUMBER = re.compile(r"(\d+)")


def tec_codes(table: pd.DataFrame) -> np.ndarray:
    """TEC of every row as an integer, in order of first appearance; TEC names repeat across regions, so a TEC is
    a (region, TEC) pair (the region alone without a TEC column)."""
    columns = [c for c in ("region", "tec") if c in table.columns] if "tec" in table.columns else \
        [c for c in ("region",) if c in table.columns]
    return combined_codes([table[c] for c in columns], len(table))


def _station_numbers(pec: pd.Series) -> np.ndarray:
    """The first whole number in each station id ("УИК №1234" -> 1234, "44A" -> 44), else -1."""
    codes, uniques = pd.factorize(pec.astype(str))
    uniques = pd.Series(uniques)
    first = uniques.where(uniques.str.isdecimal())  # an id of digits only is its own first number
    other = first.isna().to_numpy()
    first[other] = uniques[other].str.extract(_NUMBER.pattern, expand=False)
    number = pd.to_numeric(first, errors="coerce").fillna(-1).to_numpy()
    return number[codes] if len(codes) else np.zeros(0)


def _tie_ranks(pec: pd.Series, tec: np.ndarray, number: np.ndarray) -> np.ndarray:
    """Rank of each id as text among the stations that share its TEC and number (equal ids, equal ranks), 0 for
    the others: the text only orders stations that the TEC and the number leave tied."""
    rank = np.zeros(len(pec), dtype=np.int64)
    tied = pd.DataFrame({"tec": tec, "number": number}).duplicated(keep=False).to_numpy()
    if tied.any():
        codes, uniques = pd.factorize(pec.astype(str)[tied])
        order = np.empty(len(uniques), dtype=np.int64)
        order[pd.Series(uniques).argsort().to_numpy()] = np.arange(len(uniques))
        rank[tied] = np.where(codes >= 0, order[codes], -1)
    return rank


def neighbourhoods(table: pd.DataFrame, size: int = NEIGHBOURHOOD_SIZE) -> pd.Series:
    """Neighbourhood of every row of ``table``, as an integer code (equal codes = one neighbourhood).

    Stations are put in order of their number within the TEC (ties and ids
    without a number keep the order of the file) and cut into runs of
    ``size``; a last run shorter than ``size / 2`` joins the run before it.
    """
    if size < 2:
        raise ValueError("a neighbourhood needs at least 2 stations")
    tec = tec_codes(table)
    pec = table["pec"] if "pec" in table.columns else pd.Series("", index=table.index)
    number = _station_numbers(pec)
    order = np.lexsort((np.arange(len(table)), _tie_ranks(pec, tec, number), number, tec))
    sorted_tec = tec[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_tec)) + 1]
    counts = np.diff(np.r_[starts, len(order)])
    position = np.arange(len(order)) - np.repeat(starts, counts)
    count = np.repeat(counts, counts)
    run = position // size
    last_full = count // size - 1
    run = np.where((count % size < size / 2) & (run > last_full) & (last_full >= 0), last_full, run)
    code = np.empty(len(order), dtype=np.int64)
    code[order] = sorted_tec.astype(np.int64) * (int(count.max(initial=1)) // size + 2) + run
    return pd.Series(code, index=table.index)
