"""Reconciliation rules, written as data.

A rule is a relation between protocol fields of one polling station, such as
``ballots_found_mobile + ballots_found_stationary == invalid + valid``.  Each
rule has a stable code (findings, reports and users' scripts refer to it), a
severity, a tolerance and a plain-language explanation.  ``check.py``
evaluates the formulas over the whole table at once; nothing here computes.

Formula language (deliberately tiny)::

    formula := side OP side          OP is one of  ==  <=  >=  !=
    side    := term (+|- term)*
    term    := field | field? | number

``field`` is a canonical column (``forensics.model.FIELDS``) or a derived
quantity (``DERIVED``: ``issued_total``, ``found_total``, ``party_votes``).
``field?`` is optional: it counts as 0 where the data lack the column or the
station left the line blank.  A rule whose required fields are absent is
reported as not checkable, with the missing fields listed.

Severity depends on the rule set (``Election.meta["ruleset"]``): the legal
control relations of that protocol form are errors (the protocol cannot be
right); every other check is a warning (the figures need an explanation).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pandas as pd

from ..i18n.catalog import N_

SEVERITIES = ("error", "warning")
OPERATORS = ("==", "<=", ">=", "!=")

#: Derived quantities usable in formulas: alternatives tried in order; the
#: first whose required fields the data have is used.
DERIVED: dict[str, tuple[str, ...]] = {
    "issued_total": (
        "ballots_issued",
        "ballots_issued_early? + ballots_issued_inside + ballots_issued_outside?",
    ),
    "found_total": (
        "ballots_found",
        "ballots_found_mobile + ballots_found_stationary",
    ),
    # party_votes (the sum of the party columns) is resolved by check.py from Election.parties
    "party_votes": (),
}

_TERM = re.compile(r"^\s*(?:(?P<num>\d+(?:\.\d*)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<opt>\?)?)\s*$")


@dataclass(frozen=True)
class Term:
    """One signed term of a formula side."""

    name: str | None  # a field or derived quantity; None for a constant
    sign: int = 1
    optional: bool = False
    constant: float = 0.0


def parse_side(text: str) -> tuple[Term, ...]:
    """Parse ``a + b? - c`` (or a number) into signed terms."""
    parts = re.split(r"([+-])", text.strip())
    sign, terms = 1, []
    for part in parts:
        if part in ("+", "-"):
            sign = -1 if part == "-" else 1
            continue
        if not part.strip():
            continue
        m = _TERM.match(part)
        if not m:
            raise ValueError(f"cannot read the term {part.strip()!r} in {text!r}")
        if m["num"] is not None:
            terms.append(Term(None, sign, constant=float(m["num"])))
        else:
            terms.append(Term(m["name"], sign, optional=bool(m["opt"])))
        sign = 1
    if not terms:
        raise ValueError(f"empty side in formula {text!r}")
    return tuple(terms)


def parse_formula(formula: str) -> tuple[tuple[Term, ...], str, tuple[Term, ...]]:
    """Split a formula into (left terms, operator, right terms)."""
    m = re.search(r"(==|<=|>=|!=)", formula)
    if not m:
        raise ValueError(f"formula {formula!r} has no comparison ({', '.join(OPERATORS)})")
    return parse_side(formula[: m.start()]), m.group(1), parse_side(formula[m.end():])


@dataclass(frozen=True)
class Tolerance:
    """The smallest gap that is reported.

    With neither limit set, any gap in the wrong direction is reported (the
    exact control relations).  Otherwise a gap is reported once it reaches
    ``absolute`` ballots, or ``relative`` times the value of ``base`` (a
    field or derived quantity), whichever comes first.  A limit may be a
    number or the name of a parameter in ``Rule.params``, so that
    ``reconcile(..., invalid_share=0.05)`` can change it.
    """

    absolute: float | str | None = None
    relative: float | str | None = None
    base: str | None = None

    def __post_init__(self):
        if self.relative is not None and not self.base:
            raise ValueError("a relative tolerance needs a base (the field it is a share of)")

    def resolve(self, params: dict) -> "Tolerance":
        """The same tolerance with parameter names replaced by their values."""
        get = lambda v: float(params[v]) if isinstance(v, str) else v  # noqa: E731
        return replace(self, absolute=get(self.absolute), relative=get(self.relative))

    def describe(self) -> str:
        if self.absolute is None and self.relative is None:
            return "exact"
        bits = []
        if self.absolute is not None:
            bits.append(f"{self.absolute:g} ballots" if isinstance(self.absolute, (int, float)) else self.absolute)
        if self.relative is not None:
            rel = f"{100 * self.relative:g}%" if isinstance(self.relative, (int, float)) else self.relative
            bits.append(f"{rel} of {self.base}")
        return "gap ≥ " + " or ≥ ".join(bits)


@dataclass(frozen=True)
class Rule:
    """One reconciliation rule (see the module docstring for the formula language).

    ``messages`` holds the plain-language finding for a gap upward and
    downward (left side above / below the right side); ``{n}`` is the gap in
    ballots, ``{observed}`` / ``{expected}`` the two sides, ``{share}`` the
    gap as a percentage of the tolerance base.  ``when`` (a formula)
    restricts the rule to the stations where it holds.  ``params`` are the
    named numbers the tolerance refers to.  Two rules are not formulas:
    ``kind="copy"`` compares stations' results blocks with each other, and
    ``kind="totals"`` compares published higher-level totals with the sums.
    """

    code: str
    severity: str
    formula: str
    explanation: str
    messages: tuple[str, str] = ("{n} more than expected", "{n} fewer than expected")
    tolerance: Tolerance = field(default_factory=Tolerance)
    when: str | None = None
    params: dict = field(default_factory=dict)
    kind: str = "relation"
    title: str = ""

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.code}: severity must be one of {SEVERITIES}")
        if self.kind == "relation":
            parse_formula(self.formula)
            if self.when:
                parse_formula(self.when)
        unknown = [v for v in (self.tolerance.absolute, self.tolerance.relative)
                   if isinstance(v, str) and v not in self.params]
        if unknown:
            raise ValueError(f"rule {self.code}: tolerance parameter {unknown[0]!r} is not in params")

    @property
    def parts(self):
        return parse_formula(self.formula)

    def names(self) -> set[str]:
        """Every field or derived quantity the rule reads."""
        sides = [self.formula, self.when or ""] if self.kind == "relation" else []
        out = {t.name for s in sides if s for side in (parse_formula(s)[0], parse_formula(s)[2]) for t in side if t.name}
        if self.tolerance.base:
            out.add(self.tolerance.base)
        return out


_ISSUED = "issued_total"
_FOUND = "found_total"
_CAST = "valid + invalid + against_all?"
#: the rules that compare with the voter list apply only where the station has one: advance-poll and postal
#: stations publish 0 voters on the list
_HAS_LIST = "registered >= 1"

#: Every rule, with its severity in the ``generic`` rule set.
RULES: tuple[Rule, ...] = (
    Rule(
        "R01-ISSUED-LE-REGISTERED", "error", f"{_ISSUED} <= registered",
        "Ballots issued (early + in the room + outside) cannot exceed the voters on the list: "
        "every ballot is issued against a signature on the list (Russia: line 1 ≥ 3+4+5). Not checked where the "
        "station has no list of its own (0 voters on it: advance-poll and postal stations).",
        ("{n} more ballots issued ({observed}) than voters on the list ({expected})", ""),
        when=_HAS_LIST,
        title=N_("more ballots issued than voters on the list"),
    ),
    Rule(
        "R02-BALLOT-BALANCE", "error",
        f"ballots_received == {_ISSUED} + ballots_cancelled + ballots_spoiled? + ballots_lost? - ballots_unaccounted?",
        "Every ballot the station received must be accounted for: issued to voters, cancelled, "
        "spoiled or lost, less any found but not recorded on receipt (Russia 2018: line 2 = 3+4+5+6+11−12; "
        "2011/2012: 2 = 3+4+5+6+17−18).",
        ("{n} more ballots received ({observed}) than accounted for ({expected})",
         "{n} more ballots accounted for ({expected}) than received ({observed})"),
        title=N_("ballot balance does not add up"),
    ),
    Rule(
        "R03-FOUND-EQ-VALID-INVALID", "error", f"{_FOUND} == {_CAST}",
        "Every ballot taken out of the boxes is either valid or invalid (Russia: lines 7+8 = 9+10).",
        ("{n} more ballots in the boxes ({observed}) than valid + invalid ({expected})",
         "{n} fewer ballots in the boxes ({observed}) than valid + invalid ({expected})"),
        title=N_("ballots in the boxes differ from valid + invalid"),
    ),
    Rule(
        "R04-VALID-EQ-PARTIES", "error", "valid == party_votes",
        "The valid ballots are the votes for the parties or candidates added up (Russia: line 10 = sum of "
        "the candidate lines).",
        ("{n} more valid ballots ({observed}) than votes for the parties ({expected})",
         "{n} more votes for the parties ({expected}) than valid ballots ({observed})"),
        title=N_("valid ballots differ from the sum of party votes"),
    ),
    Rule(
        "R05-FOUND-EQ-BOXES", "error", "ballots_found == ballots_found_mobile + ballots_found_stationary",
        "Where the form has a line for all ballots found, it is the mobile and stationary boxes added up.",
        ("{n} more ballots found ({observed}) than in the mobile and stationary boxes ({expected})",
         "{n} fewer ballots found ({observed}) than in the mobile and stationary boxes ({expected})"),
        title=N_("ballots found differ from mobile + stationary boxes"),
    ),
    Rule(
        "R06-ISSUED-EQ-PARTS", "error",
        "ballots_issued == ballots_issued_early? + ballots_issued_inside + ballots_issued_outside",
        "Where the form has a line for all ballots issued, it is early + in the room + outside added up.",
        ("{n} more ballots issued ({observed}) than its parts add up to ({expected})",
         "{n} fewer ballots issued ({observed}) than its parts add up to ({expected})"),
        title=N_("ballots issued differ from the sum of their parts"),
    ),
    Rule(
        "R07-ABSENTEE-BALANCE", "error",
        "absentee_received == absentee_issued + absentee_cancelled + absentee_lost",
        "Absentee certificates received must be issued, cancelled or lost (Russia 2011/2012: line 11 = 12+14+16).",
        ("{n} more absentee certificates received ({observed}) than accounted for ({expected})",
         "{n} more absentee certificates accounted for ({expected}) than received ({observed})"),
        title=N_("absentee certificates do not balance"),
    ),
    Rule(
        "R08-FOUND-LE-ISSUED", "error", f"{_FOUND} <= {_ISSUED}",
        "More ballots in the boxes than were issued to voters is the signature of ballot stuffing: the extra "
        "ballots came from somewhere other than the voters who signed. Not a legal control relation on the "
        "Russian forms (the CEC system accepts such protocols), but the first thing an observer should look at.",
        ("{n} more ballots in the boxes ({observed}) than were issued ({expected})", ""),
        title=N_("more ballots in the boxes than issued"),
    ),
    Rule(
        "R09-MOBILE-LE-OUTSIDE", "warning", "ballots_found_mobile <= ballots_issued_outside + ballots_issued_early?",
        "The mobile boxes can hold only the ballots issued outside the room (and early ballots, where those "
        "go into them).",
        ("{n} more ballots in the mobile boxes ({observed}) than issued outside the room and early ({expected})", ""),
        title=N_("more ballots in the mobile boxes than issued outside"),
    ),
    Rule(
        "R10-STATIONARY-LE-INSIDE", "warning",
        "ballots_found_stationary <= ballots_issued_inside + ballots_issued_early?",
        "The stationary boxes can hold only the ballots issued in the room (and early ballots).",
        ("{n} more ballots in the stationary boxes ({observed}) than issued in the room and early ({expected})", ""),
        title=N_("more ballots in the stationary boxes than issued inside"),
    ),
    Rule(
        "R11-ISSUED-FOUND-GAP", "warning", f"{_FOUND} == {_ISSUED}",
        "A large gap between ballots issued and ballots found, either way: ballots taken away, or added. "
        "A few voters walk off with their ballot; dozens do not.",
        ("{n} more ballots in the boxes ({observed}) than were issued ({expected})",
         "{n} fewer ballots in the boxes ({observed}) than were issued ({expected})"),
        tolerance=Tolerance("gap_ballots", "gap_share", _ISSUED),
        params={"gap_ballots": 15, "gap_share": 0.02},
        title=N_("large gap between ballots issued and found"),
    ),
    Rule(
        "R12-TURNOUT-LE-100", "warning", f"{_CAST} <= registered",
        "More ballots counted than voters on the list: turnout above 100%. Not checked where the station has no "
        "list of its own (0 voters on it: advance-poll and postal stations).",
        ("{n} more ballots counted ({observed}) than voters on the list ({expected}): turnout above 100%", ""),
        when=_HAS_LIST,
        title=N_("turnout above 100%"),
    ),
    Rule(
        "R13-TURNOUT-EXACTLY-100", "warning", f"{_CAST} != registered",
        "Every voter on the list voted. Possible at a tiny station or a closed institution, rare anywhere else.",
        ("turnout exactly 100%: all {expected} voters on the list voted",) * 2,
        when=_HAS_LIST,
        title=N_("turnout exactly 100%"),
    ),
    Rule(
        "R14-SIGNATURES-EQ-ISSUED", "warning", f"signatures == {_ISSUED}",
        "Each ballot is issued against a voter's signature, so the two counts should agree.",
        ("{n} more signatures ({observed}) than ballots issued ({expected})",
         "{n} fewer signatures ({observed}) than ballots issued ({expected})"),
        title=N_("signatures differ from ballots issued"),
    ),
    Rule(
        "R15-FOUND-LE-SIGNATURES", "warning", f"{_FOUND} <= signatures",
        "More ballots in the boxes than voters who signed the list: ballots without voters.",
        ("{n} more ballots in the boxes ({observed}) than voters who signed the list ({expected})", ""),
        title=N_("more ballots in the boxes than signatures"),
    ),
    Rule(
        "R16-TURNOUT-LE-SIGNATURES", "warning", f"{_CAST} <= signatures",
        "The announced turnout (valid + invalid ballots) exceeds the voters who signed the list, as observers "
        "reported in Kazakhstan 2021.",
        ("{n} ballots without a signature: turnout announced from {observed} ballots, {expected} voters signed", ""),
        title=N_("announced turnout above the signatures"),
    ),
    Rule(
        "R17-LOST-BALLOTS", "warning", "ballots_lost <= 0",
        "Ballots lost: each one needs an explanation in the protocol.",
        ("{n} ballots lost", ""),
        title=N_("ballots lost"),
    ),
    Rule(
        "R18-UNACCOUNTED-BALLOTS", "warning", "ballots_unaccounted <= 0",
        "Ballots found that were not recorded on receipt: each one needs an explanation.",
        ("{n} ballots not accounted for on receipt", ""),
        title=N_("ballots not accounted for on receipt"),
    ),
    Rule(
        "R19-INVALID-SHARE", "warning", "invalid <= 0",
        "An unusually high share of invalid ballots (by default 3% of ballots found or more): "
        "protest votes, a confusing ballot, or ballots invalidated on purpose.",
        ("{n} invalid ballots, {share}% of ballots found", ""),
        tolerance=Tolerance(relative="invalid_share", base=_FOUND),
        params={"invalid_share": 0.03},
        title=N_("high share of invalid ballots"),
    ),
    Rule(
        "R20-ADDED-SHARE", "warning", "registered_added <= 0",
        "An unusually high share of voters added to the list on election day (by default 10% of the list "
        "or more): the route of 'carousel' voting.",
        ("{n} voters added on election day, {share}% of the list", ""),
        tolerance=Tolerance(relative="added_share", base="registered"),
        params={"added_share": 0.10},
        title=N_("many voters added on election day"),
    ),
    Rule(
        "R21-COPIED-PROTOCOL", "warning", "results block unique among the stations of a TEC",
        "The results block (ballots in the boxes, invalid, valid and every party's votes) is identical to "
        "another station's of the same territorial commission: a protocol copied rather than counted. Only "
        "stations with at least copy_min_ballots ballots (default 50) and votes for at least copy_min_parties "
        "parties (default 3) are compared: small counts, or everything for one party, match by chance. A "
        "commission copies a protocol of its own territory; among all of a country's stations identical blocks "
        "also turn up by chance, so stations are compared within their TEC (copy_within = \"tec\"; or "
        "\"region\", \"nation\").",
        ("results identical at {stations} stations: {list}", ""),
        params={"copy_min_ballots": 50, "copy_min_parties": 3, "copy_within": "tec"},
        kind="copy",
        title=N_("results identical to another station's"),
    ),
    Rule(
        "R22-PUBLISHED-TOTALS", "error", "published total == sum of the polling-station protocols",
        "A total published for a territorial commission, region or the nation must equal the sum of its "
        "polling stations' protocols; a gap means figures changed on the way up. Checked only when "
        "published totals are given.",
        ("published {field} for {area} is {n} more ({observed}) than its stations add up to ({expected})",
         "published {field} for {area} is {n} less ({observed}) than its stations add up to ({expected})"),
        kind="totals",
        title=N_("published totals differ from the protocols"),
    ),
)

_CORE = frozenset({"R01-ISSUED-LE-REGISTERED", "R02-BALLOT-BALANCE", "R03-FOUND-EQ-VALID-INVALID",
                   "R04-VALID-EQ-PARTIES", "R22-PUBLISHED-TOTALS"})

#: Codes of the legal control relations (errors) of each rule set; other rules are warnings.
#: Russia: the CEC's control relations of the PEC protocol (2011/2012 add the absentee
#: certificates).  Kazakhstan: the same arithmetic of the PEC protocol, plus its sums.
RULESETS: dict[str, frozenset[str]] = {
    "ru_2018": _CORE,
    "ru_2011": _CORE | {"R07-ABSENTEE-BALANCE"},
    "kz": _CORE | {"R05-FOUND-EQ-BOXES", "R06-ISSUED-EQ-PARTS"},
    "generic": frozenset(r.code for r in RULES if r.severity == "error"),
}


def ruleset(name: str = "generic") -> tuple[Rule, ...]:
    """Every rule, with the severities of rule set ``name``."""
    if name not in RULESETS:
        raise KeyError(f"unknown rule set {name!r}; known: {', '.join(RULESETS)}")
    errors = RULESETS[name]
    return tuple(replace(r, severity="error" if r.code in errors else "warning") for r in RULES)


def _describe_tolerance(rule: Rule) -> str:
    if rule.kind == "copy":
        return ("stations with ≥ {copy_min_ballots:g} ballots and ≥ {copy_min_parties:g} parties, within the same "
                "{copy_within}").format(**{"copy_within": "tec", **rule.params})
    if rule.kind == "totals":
        return "exact"
    return rule.tolerance.resolve(rule.params).describe()


def rule_table(rules=RULES) -> pd.DataFrame:
    """The rules as a table: code, severity, title, formula, fields read, tolerance, params, explanation."""
    return pd.DataFrame(
        [{"code": r.code, "severity": r.severity, "title": r.title or r.code, "formula": r.formula + (f"  (where {r.when})" if r.when else ""),
          "fields": ", ".join(sorted(r.names())), "tolerance": _describe_tolerance(r), "params": dict(r.params), "explanation": r.explanation}
         for r in rules]
    )
