"""Row filters that remember why each left-out row was left out.

Every analysis that drops rows goes through ``Exclusions`` so that the
report can list each excluded station with its reason; nothing is dropped
silently.  Reasons are applied in order and a row is charged to the first
reason that excludes it.
"""
from __future__ import annotations

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
