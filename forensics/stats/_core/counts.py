"""Count columns read once and checked: whole numbers >= 0, NaN where missing.

A bad value is a ``DataError`` naming the file, the spreadsheet row the
station came from (``Election.source_rows``, the convention of every
message in the package), the column and the fix.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DataError
from ...model import Election


def source_file(election: Election):
    """The input file's name, for messages (None for an election built in memory)."""
    return next(iter(election.sources), None) if election.sources else None


def count_values(election: Election, column: str, values=None) -> np.ndarray:
    """A count column (or ``values`` derived from it) as float64, checked to hold whole numbers >= 0."""
    series = election.table[column] if values is None else values
    if not pd.api.types.is_numeric_dtype(series):
        raise DataError(f"the count column holds text, not numbers (e.g. {series.dropna().iloc[0]!r})",
                        file=source_file(election), column=column,
                        fix="map the column to numbers in the profile or clean the file")
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):  # nullable: pd.NA becomes NaN
        x = series.to_numpy(dtype=float, na_value=np.nan)
    else:  # numpy-backed: a plain cast, without pandas' search for missing values
        x = np.asarray(series.to_numpy(), dtype=float)
    bad = np.isfinite(x) & ((x < 0) | (x != np.floor(x)))
    bad |= np.isinf(x)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataError(f"{int(bad.sum())} value(s) are not whole non-negative counts (first: {x[pos]!r})",
                        file=source_file(election), row=_row_label(election, pos), column=column,
                        fix="correct the figure from the protocol, or blank it if it is unknown")
    return x


def _row_label(election: Election, pos: int) -> str:
    """The spreadsheet row of the station at position ``pos``, with its id."""
    label = str(int(election.source_rows().iloc[pos]))
    if "pec" in election.table.columns:
        label += f" (station {election.table['pec'].iloc[pos]})"
    return label
