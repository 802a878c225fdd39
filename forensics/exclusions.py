"""Row filters that remember why each left-out row was left out.

Every analysis that drops rows goes through ``Exclusions`` so that the
report can list each excluded station with its reason; nothing is dropped
silently.  Reasons are applied in order and a row is charged to the first
reason that excludes it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .model import Election


class Exclusions:
    """Accumulate keep-masks with reasons over one table."""

    def __init__(self, index: pd.Index):
        self.index = index
        self.keep = pd.Series(True, index=index)
        self.reasons = pd.Series(pd.NA, index=index, dtype="object")

    @classmethod
    def for_election(cls, election: Election) -> "Exclusions":
        """Start with the stations whose figures were never published excluded."""
        ex = cls(election.table.index)
        ex.require(election.published, "figures not published")
        return ex

    def copy(self) -> "Exclusions":
        """An independent copy (requiring more of it leaves this one unchanged)."""
        part = Exclusions.__new__(Exclusions)
        part.index, part.keep, part.reasons = self.index, self.keep.copy(), self.reasons.copy()
        return part

    def take(self, positions) -> "Exclusions":
        """The exclusions of the rows at 0-based ``positions``, as if those rows had been filtered alone."""
        part = Exclusions.__new__(Exclusions)
        part.keep, part.reasons = self.keep.iloc[positions], self.reasons.iloc[positions]
        part.index = part.keep.index
        return part

    def require(self, condition, reason: str) -> "Exclusions":
        """Keep only rows where ``condition`` is True; charge the others to ``reason``."""
        cond = pd.Series(condition, index=self.index).fillna(False).astype(bool)
        newly = self.keep & ~cond
        self.reasons[newly] = reason
        self.keep &= cond
        return self

    def split(self, parts: list) -> list["Excluded"]:
        """What was left out of each array of 0-based row positions in ``parts``, as if filtered alone.

        Each row's reason is its own, so a part's are those of its rows
        (counted in the order they first appear, as ``counts``).  The
        excluded rows of all parts are listed in one series, of which each
        part's list is a slice: one pass for many groups.
        """
        codes, names = pd.factorize(self.reasons)
        positions = np.concatenate([np.zeros(0, np.int64), *parts])
        bounds = np.concatenate([[0], np.cumsum([len(p) for p in parts], dtype=np.int64)])
        used = np.concatenate([[0], np.cumsum(self.keep.to_numpy()[positions], dtype=np.int64)])[bounds]
        part_codes = codes[positions]
        dropped = np.flatnonzero(part_codes >= 0)
        rows = positions[dropped]
        listed = pd.Series(self.reasons.to_numpy(dtype=object)[rows], index=self.index[rows], dtype=object)
        cuts = np.searchsorted(dropped, bounds)
        out = []
        for j in range(len(parts)):
            found, first, count = np.unique(part_codes[dropped[cuts[j]:cuts[j + 1]]], return_index=True,
                                            return_counts=True)
            counts = {str(names[found[i]]): int(count[i]) for i in np.argsort(first, kind="stable")}
            out.append(Excluded(int(used[j + 1] - used[j]), counts, listed.iloc[cuts[j]:cuts[j + 1]]))
        return out

    @property
    def counts(self) -> dict:
        """Excluded rows per reason, in the order the reasons were applied."""
        dropped = self.reasons.dropna()
        return {str(k): int(v) for k, v in dropped.value_counts(sort=False).items()}

    @property
    def rows(self) -> pd.Series:
        """Station index -> reason, for every excluded row."""
        return self.reasons.dropna()

    @property
    def n_used(self) -> int:
        return int(self.keep.sum())


@dataclass(frozen=True)
class Excluded:
    """What ``TestResult.from_exclusions`` reads of an ``Exclusions``, for a part of its rows (``Exclusions.split``):
    rows used, excluded rows per reason, and station index -> reason of every excluded row."""

    n_used: int
    counts: dict
    rows: pd.Series
