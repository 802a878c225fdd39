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

__all__ = ["NEIGHBOURHOOD_SIZE", "neighbourhoods", "tec_codes"]

#: stations per neighbourhood (the last run of a TEC joins the one before when shorter than half)
NEIGHBOURHOOD_SIZE = 8
_NUMBER = re.compile(r"(\d+)")


def tec_codes(table: pd.DataFrame) -> np.ndarray:
    """TEC of every row as an integer, in order of first appearance; TEC names repeat across regions, so a TEC is
    a (region, TEC) pair (the region alone without a TEC column)."""
    columns = [c for c in ("region", "tec") if c in table.columns] if "tec" in table.columns else \
        [c for c in ("region",) if c in table.columns]
    code = np.zeros(len(table), dtype=np.int64)
    for c in columns:
        part = pd.factorize(table[c], use_na_sentinel=False)[0]
        code = code * (int(part.max(initial=0)) + 1) + part
    return pd.factorize(code)[0] if columns else code


def _numbers_and_ranks(pec: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each station id's first whole number ("УИК №1234" -> 1234, "44A" -> 44; -1 without one) and the rank
    of the id as text (equal ids, equal ranks)."""
    codes, uniques = pd.factorize(pec.astype(str))
    uniques = pd.Series(uniques)
    first = uniques.where(uniques.str.isdecimal())  # an id of digits only is its own first number
    other = first.isna().to_numpy()
    first[other] = uniques[other].str.extract(_NUMBER.pattern, expand=False)
    number = pd.to_numeric(first, errors="coerce").fillna(-1).to_numpy()
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[np.argsort(uniques.to_numpy(object), kind="stable")] = np.arange(len(uniques))
    return (number[codes], rank[codes]) if len(codes) else (np.zeros(0), np.zeros(0, dtype=np.int64))


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
    number, text = _numbers_and_ranks(pec)
    order = np.lexsort((np.arange(len(table)), text, number, tec))
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
