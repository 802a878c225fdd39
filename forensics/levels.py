"""Run any test nationally and per group through one code path.

``by_level`` applies a test function to the whole election (level
``"nation"``) or to each group of a column (``"region"``, ``"tec"`` or any
column name), and ``results_table`` turns the results into one tidy table
with p-values corrected across groups (``forensics.multitest.adjust``,
Benjamini-Hochberg by default).  With ``rng``, each group draws from its own
stream keyed by its name (``forensics.random.seed_sequence``), so a group's
result does not depend on which other groups run, or in which order.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .model import Election
from .multitest import DEFAULT_METHOD, adjust
from .random import base_seed, ensure_rng, seed_sequence

NATIONAL = "National"
RESULT_COLUMNS = ["test", "level", "group", "party", "statistic", "pvalue", "pvalue_adj", "ci_low", "ci_high",
                  "expected", "n_used", "n_excluded", "family", "note"]


def group_labels(election: Election, level: str) -> list[str]:
    """The groups of a level, in the order every table lists them: "National", or the sorted values."""
    if level in (None, "nation"):
        return [NATIONAL]
    if level not in election.table.columns:
        raise KeyError(f"level '{level}' is not a column of the table")
    return [str(name) for name in sorted(election.table[level].dropna().unique(), key=str)]


def group_positions(election: Election, level: str) -> dict:
    """{group name: positions of its rows}, in the order of ``group_labels``; one pass over the column."""
    if level in (None, "nation"):
        return {NATIONAL: np.arange(len(election.table))}
    if level not in election.table.columns:
        raise KeyError(f"level '{level}' is not a column of the table")
    codes, uniques = pd.factorize(election.table[level])
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    found = {name: order[bounds[k]:bounds[k + 1]] for k, name in enumerate(uniques)}
    return {str(name): found[name] for name in sorted(uniques, key=str)}


def groups(election: Election, level: str):
    """Yield (group name, sub-election) for a level; 'nation' is one group."""
    if level in (None, "nation"):
        yield NATIONAL, election
        return
    table = election.table
    for name, positions in group_positions(election, level).items():
        yield name, election.with_table(table.iloc[positions])


def group_rng(rng, group: str, level: str | None = "nation") -> np.random.Generator:
    """The stream of one group: ``rng`` itself nationally, else a stream keyed by the group's name."""
    if level in (None, "nation"):
        return ensure_rng(rng)
    return np.random.default_rng(seed_sequence(base_seed(rng)[0], group))


def by_level(election: Election, test: Callable, level: str = "nation", min_stations: int = 1,
             **params) -> dict:
    """Apply ``test(sub_election, **params)`` to each group of ``level``.

    Groups with fewer than ``min_stations`` rows are returned as the string
    "too few stations" instead of a result, so they are reported, not lost.
    A ``rng`` parameter is split into one stream per group (``group_rng``).
    """
    out = {}
    rng_given = "rng" in params
    rng = params.pop("rng", None)
    if rng_given and level not in (None, "nation"):
        rng = base_seed(rng)[0]  # one seed for all groups: a Generator is drawn from once
    for name, sub in groups(election, level):
        if len(sub) < min_stations:
            out[name] = f"too few stations ({len(sub)} < {min_stations})"
            continue
        extra = {"rng": group_rng(rng, name, level)} if rng_given else {}
        out[name] = test(sub, **params, **extra)
    return out


def tidy_rows(results, level: str = "nation") -> pd.DataFrame:
    """One row per result of {group: result | [results] | note}, without any correction.

    A result is anything with ``to_row()`` (a ``TestResult``); a string is a
    note ("too few stations", "could not run: ...") kept as its own row.
    ``results`` may also be a list of (level, {group: ...}) pairs: their
    rows in one table, built at once.
    """
    steps = list(results) if isinstance(results, list) else [(level, results)]
    rows = []
    for lv, res in steps:
        for group, items in res.items():
            for r in items if isinstance(items, (list, tuple)) else [items]:
                if hasattr(r, "to_row"):
                    row = r.to_row()
                    row["note"] = ""
                else:
                    row = {"test": None, "party": None, "statistic": np.nan, "pvalue": np.nan, "note": str(r)}
                row.update(level=lv or "nation", group=group)
                rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table["pvalue"] = table["pvalue"].astype(float)
    return table


def results_table(results: dict, level: str = "nation", method: str = DEFAULT_METHOD) -> pd.DataFrame:
    """Tidy table of {group: TestResult | [TestResult] | str}, p-values adjusted per test.

    The family for the correction is one test (and party) across the
    groups of one level; the column ``family`` states it.
    """
    table = tidy_rows(results, level)
    if table.empty:
        return table
    table["pvalue_adj"] = np.nan
    table["family"] = ""
    for key, idx in table.groupby(["test", "party"], dropna=False).groups.items():
        table.loc[idx, "pvalue_adj"] = adjust(table.loc[idx, "pvalue"], method)
        table.loc[idx, "family"] = f"{key[0]}" + (f" / {key[1]}" if isinstance(key[1], str) else "") + f" across {level} groups"
    return table[[c for c in RESULT_COLUMNS if c in table.columns]]
