"""Problems found in a file's rows, reported all at once or set aside.

Checks collect every bad cell, empty id and repeated station as a
``Problem`` instead of stopping at the first.  ``raise_problems`` turns them
into one ``DataError`` naming the first few (and how many in all);
``on_bad_rows="skip"`` instead sets the offending rows aside, each with its
reason, so one bad cell does not refuse a 90,000-row file.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import DataError

#: problems named in the message of the error
SHOWN = 10
SKIP_HINT = "or load with --skip-bad-rows (on_bad_rows='skip') to set these rows aside, listed with their reasons"


@dataclass(frozen=True)
class Problem:
    """One problem: the spreadsheet row (None: the whole file), the column, what is wrong, what to do."""

    row: int | None
    column: str | None
    message: str
    fix: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message, "fix": self.fix}


def raise_problems(problems, file, skippable: bool = True) -> None:
    """Raise one DataError for all problems (the first ones named, the rest counted); nothing if none."""
    if not problems:
        return
    problems = sorted(problems, key=lambda p: (p.row is None, p.row or 0))
    first = problems[0]
    rows = {p.row for p in problems}
    message = first.message.rstrip(".")
    if len(problems) > 1:
        shown = "; ".join(f"row {p.row}" + (f", column '{p.column}'" if p.column else "") + f": {p.message.rstrip('.')}"
                          for p in problems[1:SHOWN])
        more = len(problems) - SHOWN
        message += (f". {len(problems)} problems in {len(rows)} rows in all; also {shown}"
                    + (f"; and {more} more" if more > 0 else ""))
    fix = first.fix.rstrip(".")
    if skippable:
        fix += "; " + SKIP_HINT
    raise DataError(message, file=file, row=first.row, column=first.column, fix=fix,
                    problems=[p.as_dict() for p in problems])
