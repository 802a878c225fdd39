"""Small result frames built cheaply: the column labels made once per set of names.

A scan builds thousands of small frames (a digit table per group, a
histogram per group and test); with text labels, making the label index
costs more than the frame's numbers, so the labels of a set of names are
made once and shared (a pandas ``Index`` cannot change, so sharing it is
safe; a pickled batch of results then holds it once).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd


@functools.lru_cache(maxsize=256)
def columns(names: tuple) -> pd.Index:
    """The column labels ``names``, made once."""
    return pd.Index(names)


def frame(data: dict) -> pd.DataFrame:
    """``pd.DataFrame(data)`` for a dict of equal-length arrays or lists (and scalars, repeated): the same
    frame, with the labels from ``columns`` and the row labels 0..n-1 given, not inferred."""
    lengths = {len(v) for v in data.values() if np.ndim(v)}
    if len(lengths) != 1 or any(isinstance(v, (pd.Series, pd.Index)) for v in data.values()):
        return pd.DataFrame(data)  # scalars only, unequal lengths or labelled values: pandas decides
    out = pd.DataFrame(dict(enumerate(data.values())), index=pd.RangeIndex(lengths.pop()))
    out.columns = columns(tuple(data))
    return out
