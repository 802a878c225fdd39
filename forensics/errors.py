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


class OutputError(OSError):
    """An output could not be written: a full disk, a file size limit, a permission, a file in the way.

    Raised by ``forensics.output`` with the path and a fix; the CLI prints
    it as one paragraph and exits with status 2.
    """

    def __init__(self, problem: str, path=None, fix: str | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.fix = fix or ("check that the folder exists and is writable, that the disk has room and that no file "
                           "size limit applies, then run the command again")
        where = f"cannot write {self.path}: " if self.path else "cannot write the output: "
        super().__init__(where + problem.rstrip(".") + ". Fix: " + self.fix.rstrip(".") + ".")

    def __str__(self) -> str:
        return self.args[0]
