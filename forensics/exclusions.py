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
    """Accumulate keep-masks with reasons over one table.

    Held as arrays (a keep mask and each row's reason as a code into the
    reasons applied), so that a filter costs one pass over the rows; ``keep``,
    ``reasons``, ``counts`` and ``rows`` give them as pandas objects.
    """

    def __init__(self, index: pd.Index):
        self.index = index
        self._keep = np.ones(len(index), dtype=bool)
        self._codes = np.full(len(index), -1, dtype=np.int32)  # -1: kept, else a position in ``_names``
        self._names = []
        self._series = {}  # ``keep`` and ``reasons`` as made, until the next filter

    @classmethod
    def for_election(cls, election: Election) -> "Exclusions":
        """Start with the stations whose figures were never published excluded."""
        ex = cls(election.table.index)
        ex.require(election.published, "figures not published")
        return ex

    @property
    def keep(self) -> pd.Series:
        """True for the rows kept, by index label."""
        if "keep" not in self._series:
            self._series["keep"] = pd.Series(self._keep, index=self.index)
        return self._series["keep"]

    @keep.setter
    def keep(self, value) -> None:
        self._keep, self._series = np.asarray(value, dtype=bool).copy(), {}

    @property
    def reasons(self) -> pd.Series:
        """Each row's reason (NA where kept), by index label."""
        if "reasons" not in self._series:
            self._series["reasons"] = pd.Series(self._texts()[self._codes], index=self.index, dtype=object)
        return self._series["reasons"]

    @reasons.setter
    def reasons(self, value) -> None:
        codes, names = pd.factorize(np.asarray(value, dtype=object))
        self._codes, self._names, self._series = codes.astype(np.int32), [str(n) for n in names], {}

    def _texts(self) -> np.ndarray:
        """The reasons, then NA (code -1)."""
        return np.array([*self._names, pd.NA], dtype=object)

    def copy(self) -> "Exclusions":
        """An independent copy (requiring more of it leaves this one unchanged)."""
        part = Exclusions.__new__(Exclusions)
        part.index, part._series = self.index, {}
        part._keep, part._codes, part._names = self._keep.copy(), self._codes.copy(), self._names
        return part

    def take(self, positions) -> "Exclusions":
        """The exclusions of the rows at 0-based ``positions``, as if those rows had been filtered alone."""
        part = Exclusions.__new__(Exclusions)
        part.index, part._series = self.index[positions], {}
        part._keep, part._codes, part._names = self._keep[positions], self._codes[positions], self._names
        if isinstance(positions, slice):  # a view: the part's own filters must not reach these rows
            part._keep, part._codes = part._keep.copy(), part._codes.copy()
        return part

    def require(self, condition, reason: str) -> "Exclusions":
        """Keep only rows where ``condition`` is True (by label when a Series; missing is False); charge the
        others to ``reason``."""
        cond = self._mask(condition)
        self._series = {}
        newly = self._keep & ~cond
        if newly.any():
            if reason not in self._names:
                self._names = [*self._names, reason]
            self._codes[newly] = self._names.index(reason)
        self._keep &= cond
        return self

    def split(self, parts: list) -> list["Excluded"]:
        """What was left out of each array of 0-based row positions in ``parts``, as if filtered alone.

        Each row's reason is its own, so a part's are those of its rows
        (counted in the order they first appear, as ``counts``).  The
        excluded rows of all parts are listed in one series, of which each
        part's list is a slice: one pass for many groups.
        """
        positions = np.concatenate([np.zeros(0, np.int64), *parts])
        bounds = np.concatenate([[0], np.cumsum([len(p) for p in parts], dtype=np.int64)])
        used = np.concatenate([[0], np.cumsum(self._keep[positions], dtype=np.int64)])[bounds]
        part_codes = self._codes[positions]
        dropped = np.flatnonzero(part_codes >= 0)
        listed = pd.Series(self._texts()[part_codes[dropped]], index=self.index[positions[dropped]], dtype=object)
        cuts = np.searchsorted(dropped, bounds)
        out = []
        for j in range(len(parts)):
            found, first, count = np.unique(part_codes[dropped[cuts[j]:cuts[j + 1]]], return_index=True,
                                            return_counts=True)
            counts = {self._names[found[i]]: int(count[i]) for i in np.argsort(first, kind="stable")}
            out.append(Excluded(int(used[j + 1] - used[j]), counts, listed.iloc[cuts[j]:cuts[j + 1]]))
        return out

    def _mask(self, condition) -> np.ndarray:
        """``condition`` as a bool array over the rows: a Series aligned by label, NA as False."""
        if isinstance(condition, pd.Series):
            if not (condition.index is self.index or condition.index.equals(self.index)):
                condition = condition.reindex(self.index)
            if condition.dtype != bool:
                condition = condition.fillna(False).astype(bool)
            return condition.to_numpy(dtype=bool)
        values = np.asarray(condition)
        if values.dtype == bool and values.shape == self._keep.shape:
            return values
        return pd.Series(condition, index=self.index).fillna(False).astype(bool).to_numpy()

    @property
    def counts(self) -> dict:
        """Excluded rows per reason, in the order the reasons first occur in the rows."""
        codes = self._codes[self._codes >= 0]
        if not codes.size:
            return {}
        found, first = np.unique(codes, return_index=True)
        counts = np.bincount(codes, minlength=len(self._names))
        return {self._names[c]: int(counts[c]) for c in found[np.argsort(first)]}

    @property
    def rows(self) -> pd.Series:
        """Station index -> reason, for every excluded row."""
        at = np.flatnonzero(self._codes >= 0)
        return pd.Series(self._texts()[self._codes[at]], index=self.index[at], dtype=object)

    @property
    def n_used(self) -> int:
        return int(self._keep.sum())


@dataclass(frozen=True)
class Excluded:
    """What ``TestResult.from_exclusions`` reads of an ``Exclusions``, for a part of its rows (``Exclusions.split``):
    rows used, excluded rows per reason, and station index -> reason of every excluded row."""

    n_used: int
    counts: dict
    rows: pd.Series
