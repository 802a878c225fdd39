"""The canonical election: one row per polling station, plus metadata.

Every reader maps its source onto the same column names (``FIELDS`` and the
party columns listed in ``Election.parties``), so analyses never need to know
which country or form the data came from.  Derived quantities that several
analyses share (ballots issued, ballots found, turnout, the leader) are
defined here once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .i18n.catalog import N_

ID_COLUMNS = ("region", "tec", "pec")

#: Protocol fields of the canonical table, with a plain-English meaning (translated where shown).
FIELDS: dict[str, str] = {
    "registered": N_("voters on the list (including those added on election day)"),
    "registered_added": N_("voters added to the list on election day"),
    "signatures": N_("voters who signed the list for a ballot"),
    "ballots_received": N_("ballots received by the polling station"),
    "ballots_issued": N_("ballots issued to voters (when the form has one line for it)"),
    "ballots_issued_early": N_("ballots issued to early voters"),
    "ballots_issued_inside": N_("ballots issued in the polling room"),
    "ballots_issued_outside": N_("ballots issued outside the polling room (mobile voting)"),
    "ballots_cancelled": N_("cancelled (unused) ballots"),
    "ballots_spoiled": N_("spoiled ballots"),
    "ballots_lost": N_("lost ballots"),
    "ballots_unaccounted": N_("ballots not accounted for on receipt"),
    "ballots_found": N_("ballots found in the boxes (when the form has one line for it)"),
    "ballots_found_mobile": N_("ballots found in mobile boxes"),
    "ballots_found_stationary": N_("ballots found in stationary boxes"),
    "invalid": N_("invalid ballots"),
    "valid": N_("valid ballots"),
    "against_all": N_("votes against all, where the form counts them beside the valid ballots (where 'against "
                      "all' is an option counted among the valid votes, it is a party column)"),
    "absentee_received": N_("absentee certificates received by the polling station"),
    "absentee_issued": N_("absentee certificates issued by the polling station"),
    "absentee_voted": N_("voters who voted with an absentee certificate"),
    "absentee_cancelled": N_("absentee certificates cancelled"),
    "absentee_issued_tec": N_("absentee certificates issued by the territorial commission"),
    "absentee_lost": N_("absentee certificates lost"),
}

#: Column marking stations whose figures were never published (all counts empty).
UNPUBLISHED = "unpublished"

ISSUED_PARTS = ("ballots_issued_early", "ballots_issued_inside", "ballots_issued_outside")
FOUND_PARTS = ("ballots_found_mobile", "ballots_found_stationary")


@dataclass(frozen=True)
class Election:
    """A canonical election table with its metadata.

    ``table`` has one row per polling station: the id columns ``region``,
    ``tec``, ``pec``; the protocol fields present in the source (see
    ``FIELDS``); one column per party in ``parties``; the boolean column
    ``unpublished``; and every other source column, unchanged.
    """

    table: pd.DataFrame
    parties: tuple[str, ...]
    profile: str = "generic"
    sources: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    # -- construction -------------------------------------------------------
    def subset(self, rows) -> "Election":
        """The same election restricted to some rows (a mask or an index)."""
        table = self.table.loc[rows] if not isinstance(rows, slice) else self.table.iloc[rows]
        return replace(self, table=table)

    def with_table(self, table: pd.DataFrame) -> "Election":
        return replace(self, table=table)

    # -- shape ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    @property
    def fields(self) -> list[str]:
        """Canonical protocol fields present in the table."""
        return [f for f in FIELDS if f in self.table.columns]

    def has(self, *names: str) -> bool:
        return all(n in self.table.columns for n in names)

    @property
    def published(self) -> pd.Series:
        """True for stations whose figures were published."""
        if UNPUBLISHED in self.table.columns:
            return ~self.table[UNPUBLISHED].astype(bool)
        return pd.Series(True, index=self.table.index)

    # -- derived quantities ------------------------------------------------------
    def _sum(self, names) -> pd.Series:
        present = [n for n in names if n in self.table.columns]
        if not present:
            raise KeyError(f"none of {', '.join(names)} is in the table")
        return self.table[present].sum(axis=1, min_count=1)

    def ballots_issued(self) -> pd.Series:
        """Ballots issued to voters: the single line, the sum of its parts, or signatures."""
        if "ballots_issued" in self.table.columns:
            return self.table["ballots_issued"]
        if any(p in self.table.columns for p in ISSUED_PARTS):
            return self._sum(ISSUED_PARTS)
        if "signatures" in self.table.columns:
            return self.table["signatures"]
        return self.ballots_cast()

    def ballots_found(self) -> pd.Series:
        """Ballots found in the boxes: the single line, mobile + stationary, or valid + invalid."""
        if "ballots_found" in self.table.columns:
            return self.table["ballots_found"]
        if any(p in self.table.columns for p in FOUND_PARTS):
            return self._sum(FOUND_PARTS)
        return self.ballots_cast()

    def ballots_cast(self) -> pd.Series:
        """Ballots counted: valid + invalid (+ against all), or the sum of party votes."""
        if "valid" in self.table.columns:
            return self._sum(("valid", "invalid", "against_all"))
        return self.table[list(self.parties)].sum(axis=1, min_count=1)

    def valid(self) -> pd.Series:
        if "valid" in self.table.columns:
            return self.table["valid"]
        return self.table[list(self.parties)].sum(axis=1, min_count=1)

    def turnout(self, numerator: str = "cast") -> pd.Series:
        """Turnout per station; numerator 'cast' (valid+invalid), 'issued' or 'found'."""
        num = {"cast": self.ballots_cast, "issued": self.ballots_issued, "found": self.ballots_found}[numerator]()
        reg = self.table["registered"].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return num.astype(float) / reg.where(reg > 0)

    def totals(self) -> pd.Series:
        """National totals of every protocol field and party."""
        cols = self.fields + list(self.parties)
        return self.table.loc[self.published, cols].sum()

    @property
    def leader(self) -> str:
        """The party with the most votes overall."""
        if not self.parties:
            raise KeyError("the election has no party columns")
        return str(self.table[list(self.parties)].sum().idxmax())


def as_election(obj, parties=None) -> Election:
    """Accept an Election, or a DataFrame in canonical column names."""
    if isinstance(obj, Election):
        return obj
    if isinstance(obj, pd.DataFrame):
        known = set(FIELDS) | set(ID_COLUMNS) | {UNPUBLISHED}
        if parties is None:
            parties = [c for c in obj.columns if c not in known and pd.api.types.is_numeric_dtype(obj[c])]
        return Election(table=obj, parties=tuple(parties))
    raise TypeError(f"expected an Election or a DataFrame, got {type(obj).__name__}")
