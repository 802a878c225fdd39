"""The canonical election: one row per polling station, plus metadata.

Every reader maps its source onto the same column names (``FIELDS`` and the
party columns listed in ``Election.parties``), so analyses never need to know
which country or form the data came from.  Derived quantities that several
analyses share (ballots issued, found, cast; turnout; vote shares; the
leader; the key that identifies a station) are defined here once, and every
analysis, plot, command and audit takes them from here.

A derived quantity never counts a missing component as 0: a station with a
blank component gets NaN, and each analysis leaves it out with its reason.
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

#: The ballot counts a turnout or a vote share is built on (``Election.ballots``).  The
#: default turnout is "cast"; each analysis names the alternative it follows.
BALLOTS: dict[str, str] = {
    "cast": "ballots counted: valid + invalid (+ against all where it is a line), else the sum of the party "
            "votes; the default turnout, and the CEC's percent base 'cast'",
    "issued": "ballots issued to voters: the single line, else early + inside + outside, else signatures; the "
              "turnout of the Russian CEC and of Kobak et al.",
    "found": "ballots found in the boxes: the single line, else mobile + stationary; EFToolkit's turnout",
    "valid": "valid ballots, else the sum of the party votes; Klimek's turnout and the usual base of a share",
}


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
    def key(self) -> tuple[str, ...]:
        """The columns that identify a station: the profile's ``meta["key"]``, else the id columns present.

        Every join on stations (findings to station flags, exclusions,
        observers' copies to official rows) uses this key, so a profile
        whose key lacks ``tec`` or adds a column of its own works throughout.
        """
        given = self.meta.get("key")
        if given:
            return tuple(str(k) for k in given)
        return tuple(c for c in ID_COLUMNS if c in self.table.columns)

    def source_rows(self) -> pd.Series:
        """The spreadsheet row (header = row 1) each station was read from.

        The loader records the rows it kept as runs (``meta["source_rows"]``: (first row,
        length) pairs), so rows dropped by a profile rule or set aside as bad are accounted
        for; an election not made by the loader numbers its rows from
        ``meta["first_data_row"]`` (default 2).  Works on a subset too, because the loaded
        table's index labels are the stations' positions.
        """
        labels = self.table.index.to_numpy(dtype="int64")
        runs = self.meta.get("source_rows")
        if runs is None:
            first = int(self.meta.get("first_data_row", 2))
            return pd.Series(labels + first, index=self.table.index, name="source_row")
        rows = np.concatenate([np.arange(a, a + n) for a, n in runs]) if runs else np.zeros(0, np.int64)
        return pd.Series(rows[labels], index=self.table.index, name="source_row")

    @property
    def published(self) -> pd.Series:
        """True for stations whose figures were published."""
        if UNPUBLISHED in self.table.columns:
            return ~self.table[UNPUBLISHED].astype(bool)
        return pd.Series(True, index=self.table.index)

    # -- derived quantities ------------------------------------------------------
    def _sum(self, names) -> pd.Series:
        """Sum of the present columns among ``names``; NaN where any of them is blank."""
        present = [n for n in names if n in self.table.columns]
        if not present:
            raise KeyError(f"none of {', '.join(names)} is in the table")
        return self.table[present].sum(axis=1, skipna=False)

    def _party_votes(self) -> pd.Series:
        if not self.parties:
            raise KeyError("the election has no party columns")
        return self._sum(self.parties)

    def ballots_issued(self) -> pd.Series:
        """Ballots issued to voters: the single line, the sum of its parts, or signatures (``BALLOTS``)."""
        if "ballots_issued" in self.table.columns:
            return self.table["ballots_issued"]
        if any(p in self.table.columns for p in ISSUED_PARTS):
            return self._sum(ISSUED_PARTS)
        if "signatures" in self.table.columns:
            return self.table["signatures"]
        return self.ballots_cast()

    def ballots_found(self) -> pd.Series:
        """Ballots found in the boxes: the single line, mobile + stationary, or ballots cast (``BALLOTS``)."""
        if "ballots_found" in self.table.columns:
            return self.table["ballots_found"]
        if any(p in self.table.columns for p in FOUND_PARTS):
            return self._sum(FOUND_PARTS)
        return self.ballots_cast()

    def ballots_cast(self) -> pd.Series:
        """Ballots counted: valid + invalid (+ against all), or the sum of party votes (``BALLOTS``)."""
        if "valid" in self.table.columns:
            return self._sum(("valid", "invalid", "against_all"))
        return self._party_votes()

    def valid(self) -> pd.Series:
        """Valid ballots: the line, or the sum of party votes."""
        if "valid" in self.table.columns:
            return self.table["valid"]
        return self._party_votes()

    def ballots(self, which: str = "cast") -> pd.Series:
        """One of the ballot counts of ``BALLOTS``: "cast", "issued", "found" or "valid"."""
        counts = {"cast": self.ballots_cast, "issued": self.ballots_issued, "found": self.ballots_found,
                  "valid": self.valid}
        if which not in counts:
            raise ValueError(f"unknown ballot count {which!r}; choose one of {', '.join(BALLOTS)}")
        return counts[which]()

    @property
    def percent_base(self) -> str:
        """The base the election authority divides votes by: ``meta["percent_base"]`` ("valid" or "cast")."""
        return str(self.meta.get("percent_base") or "valid")

    def turnout(self, numerator: str = "cast") -> pd.Series:
        """Turnout per station: ``ballots(numerator)`` / voters on the list.

        The default numerator is "cast" (valid + invalid); the alternatives
        are "issued" (the Russian CEC, Kobak et al.), "found" (EFToolkit) and
        "valid" (Klimek et al.); see ``BALLOTS``.  NaN where the list is
        empty or a count is missing.
        """
        num = self.ballots(numerator).astype(float)
        reg = self.table["registered"].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / reg.where(reg > 0)

    def share(self, party: str | None = None, base: str = "valid") -> pd.Series:
        """A party's share per station: its votes / ``ballots(base)``; the leader by default.

        ``base`` is "valid" (default), "cast", "found", "issued" or
        "percent_base" (the authority's base, ``percent_base``).  NaN where
        the base is 0 or a count is missing.
        """
        party = self.leader if party is None else party
        if base == "percent_base":
            base = self.percent_base
        denominator = self.ballots(base).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.table[party].astype(float) / denominator.where(denominator > 0)

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


def combined_codes(columns, length: int | None = None) -> np.ndarray:
    """One integer per distinct combination of the columns' values (missing is a value), numbered in order of
    first appearance: the station, TEC or key of every row as one number."""
    code = np.zeros(len(columns[0]) if columns else int(length or 0), dtype=np.int64)
    for column in columns:
        part, uniques = pd.factorize(column, use_na_sentinel=False)
        code = pd.factorize(code * max(len(uniques), 1) + part)[0]
    return code
