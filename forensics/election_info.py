"""The election a report or an evidence sheet is about: its name and date, from the caller or the profile."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import DataError


@dataclass(frozen=True)
class ElectionInfo:
    """The election a report or a sheet is about: its name and date (either may be missing)."""

    title: str = ""
    date: dt.date | None = None

    @classmethod
    def of(cls, election, title: str | None = None, date=None) -> "ElectionInfo":
        """From explicit ``title`` / ``date``, else the profile's ``meta["election"]`` (``title`` or ``name``, ``date``)."""
        given = (election.meta.get("election") or {}) if election is not None else {}
        title = title or given.get("title") or given.get("name") or ""
        return cls(title=str(title), date=parse_date(date or given.get("date"), "the election date"))


def parse_date(value, what: str = "the date") -> dt.date | None:
    """A ``datetime.date`` from a date, a datetime or ISO text (YYYY-MM-DD); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise DataError(f"{what} {value!r} is not a date", fix="write it as YYYY-MM-DD, e.g. 2021-01-10") from None
