"""Errors raised for bad input.

A ``DataError`` always says where the problem is (file, 1-based row as a
spreadsheet shows it, column) and what the user can do about it, so the CLI
can print it as one paragraph and exit with status 2.
"""
from __future__ import annotations


class DataError(ValueError):
    """Bad input data: names the file, row, column and the fix."""

    def __init__(self, message: str, *, file=None, row=None, column=None, fix=None, problems=()):
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.fix = fix
        self.problem = message
        #: every problem found when several were (each with row, column, message, fix); the
        #: message above names the first few
        self.problems = list(problems)
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = (", ".join(where) + ": " if where else "") + self.problem.rstrip(".") + "."
        if self.fix:
            text += " Fix: " + self.fix.rstrip(".") + "."
        return text
