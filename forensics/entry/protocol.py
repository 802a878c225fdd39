"""The protocol form of an election, generated from its profile, and its live arithmetic checks.

``ProtocolForm`` lists the lines of the paper form, numbered in order and
worded as the profile's own header text (the form's language), then one line
per party.  Its rules are the profile's rule set from ``forensics.reconcile``
restricted to the relations one protocol can be checked against.  The
browser evaluates those same rule objects, exported as data by
``rules_data`` (terms, operator, tolerance), and ``check`` evaluates them on
the server through ``forensics.reconcile`` itself: there is no second copy
of the arithmetic to drift apart.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ingest import load_profile
from ..model import FIELDS, Election
from ..reconcile import reconcile, ruleset
from ..reconcile.rules import DERIVED, parse_formula, parse_side

_SPACES = re.compile(r"[\s\u00a0\u202f'’]")


@dataclass(frozen=True)
class Line:
    """One line of the form: ``key`` is the canonical field or the party name."""

    number: int
    key: str
    label: str
    hint: str
    party: bool


def _terms(side) -> list[dict]:
    return [{"name": t.name, "sign": t.sign, "optional": t.optional, "constant": t.constant} for t in side]


class ProtocolForm:
    """The lines and rules of one election's protocol (see the module docstring)."""

    def __init__(self, profile, fields, parties):
        self.profile = load_profile(profile)
        self.fields = [f for f in fields if f in FIELDS]
        self.parties = list(parties)
        unknown = [f for f in fields if f not in FIELDS]
        if unknown:
            raise ValueError(f"not protocol fields: {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        keys = [*self.fields, *self.parties]
        self.lines = tuple(Line(i, key, self.profile.header(key) if key in FIELDS else key,
                                FIELDS.get(key, "votes for this party or candidate"), key not in FIELDS)
                           for i, key in enumerate(keys, start=1))
        self.ruleset = self.profile.ruleset
        probe = self._election({k: 0 for k in keys})
        whole = reconcile(probe, rules=self._relations()).not_checkable
        unchecked = set(whole.loc[whole["pec"] == "", "code"])
        self.rules = tuple(r for r in self._relations() if r.code not in unchecked)

    @classmethod
    def from_settings(cls, settings: dict) -> "ProtocolForm":
        return cls(settings["profile"], settings["lines"], settings["parties"])

    def _relations(self):
        return tuple(r for r in ruleset(self.ruleset) if r.kind == "relation")

    @property
    def keys(self) -> list[str]:
        return [line.key for line in self.lines]

    def _election(self, values: dict) -> Election:
        table = pd.DataFrame({"region": [""], "tec": [""], "pec": ["1"],
                              **{k: np.array([np.nan if values.get(k) is None else values[k]], dtype="float64")
                                 for k in self.keys}})
        return Election(table=table, parties=tuple(self.parties), profile=self.profile.name,
                        meta={"ruleset": self.ruleset})

    # -- figures in, findings out ---------------------------------------------------
    def parse(self, form) -> tuple[dict, dict]:
        """Values from submitted text (``line_<number>``) and a problem per line that is not a whole number.

        Spaces and apostrophes used as thousands separators are ignored; an
        empty line is None (unreadable on the photo).
        """
        values, problems = {}, {}
        for line in self.lines:
            raw = _SPACES.sub("", str(form.get(f"line_{line.number}", "") or ""))
            if raw == "":
                values[line.key] = None
            elif raw.isdigit() and raw.isascii():
                values[line.key] = int(raw)
            else:
                values[line.key] = None
                problems[line.key] = f"line {line.number}: '{form.get(f'line_{line.number}')}' is not a whole number"
        return values, problems

    def check(self, values: dict) -> list[dict]:
        """The rules these figures break, through ``forensics.reconcile``: code, severity, title, explanation, message."""
        found = reconcile(self._election(values), rules=self.rules).table
        by_code = {r.code: r for r in self.rules}
        return [{"code": f.code, "severity": f.severity, "title": by_code[f.code].title,
                 "explanation": by_code[f.code].explanation, "message": f.message}
                for f in found.itertuples()]

    def needs_confirmation(self, values: dict, findings: list[dict]) -> list[str]:
        """What the typist must confirm as written on the protocol: error codes and blank lines."""
        codes = [f["code"] for f in findings if f["severity"] == "error"]
        blank = [f"blank:{line.number}" for line in self.lines if values.get(line.key) is None]
        return codes + blank

    # -- the same rules for the browser ------------------------------------------------
    @functools.cache  # noqa: B019 - one form per election, kept for the server's lifetime
    def rules_data(self) -> dict:
        """The form's rules as data for the live check in the browser (``static/entry.js``)."""
        columns = set(self.keys)
        derived = {}
        for name, alternatives in DERIVED.items():
            for alternative in alternatives:
                terms = parse_side(alternative)
                if all(t.optional or t.name is None or t.name in columns for t in terms):
                    derived[name] = _terms(terms)
                    break
        rules = []
        for r in self.rules:
            lhs, op, rhs = parse_formula(r.formula)
            tol = r.tolerance.resolve(r.params)
            when = None
            if r.when:
                wl, wop, wr = parse_formula(r.when)
                when = {"lhs": _terms(wl), "op": wop, "rhs": _terms(wr)}
            rules.append({"code": r.code, "severity": r.severity, "title": r.title, "explanation": r.explanation,
                          "formula": r.formula, "lhs": _terms(lhs), "op": op, "rhs": _terms(rhs), "when": when,
                          "tolerance": {"absolute": tol.absolute, "relative": tol.relative, "base": tol.base}})
        return {"lines": {line.key: line.number for line in self.lines}, "parties": self.parties,
                "derived": derived, "rules": rules}
