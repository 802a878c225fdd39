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

__all__ = ["NEIGHBOURHOOD_SIZE", "neighbourhoods", "tec_key"]

#: stations per neighbourhood (the last run of a TEC joins the one before when shorter than half)
NEIGHBOURHOOD_SIZE = 8
_NUMBER = re.compile(r"(\d+)")


def tec_key(table: pd.DataFrame) -> pd.Series:
    """TEC labels qualified by region (TEC names repeat across regions); region alone without a TEC column."""
    if "tec" in table.columns:
        region = table["region"].astype(str) if "region" in table.columns else ""
        return region + " / " + table["tec"].astype(str)
    if "region" in table.columns:
        return table["region"].astype(str)
    return pd.Series("all", index=table.index)


def _station_number(pec: pd.Series) -> pd.Series:
    """The first whole number in a station id ("УИК №1234" -> 1234, "44A" -> 44), else -1."""
    codes, uniques = pd.factorize(pec.astype(str))
    first = pd.Series(uniques).str.extract(_NUMBER.pattern, expand=False)
    number = pd.to_numeric(first, errors="coerce").fillna(-1).to_numpy()
    return pd.Series(number[codes] if len(codes) else np.zeros(0), index=pec.index)


def neighbourhoods(table: pd.DataFrame, size: int = NEIGHBOURHOOD_SIZE) -> pd.Series:
    """Neighbourhood of every row of ``table``, as an integer code (equal codes = one neighbourhood).

    Stations are put in order of their number within the TEC (ties and ids
    without a number keep the order of the file) and cut into runs of
    ``size``; a last run shorter than ``size / 2`` joins the run before it.
    """
    if size < 2:
        raise ValueError("a neighbourhood needs at least 2 stations")
    tec = pd.factorize(tec_key(table))[0]
    pec = table["pec"] if "pec" in table.columns else pd.Series("", index=table.index)
    number = _station_number(pec).to_numpy()
    order = np.lexsort((np.arange(len(table)), pec.astype(str).to_numpy(), number, tec))
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
