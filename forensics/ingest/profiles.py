"""Profiles: TOML files that map a national layout onto the canonical fields.

A profile matches source columns by their header TEXT, never by position:
exactly (ignoring case, spaces and ё/е), then by the same words (ignoring
punctuation, line numbers, plural/singular and filler words), then by a
field's meaning ``words`` (``[fields.registered] words = ["избиратель
список"]``), so a new wording of the same protocol line is still found.  A
field may instead be derived from another column (a prefix, a value map),
computed (a sum or difference of columns), or numbered by the source row.
``[[rows]]`` rules drop or mark rows by a simple condition; ``[parties]``
says which remaining columns are parties.  Parsing the TOML is in
``profile_toml``; this module holds the model and the matching.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import DataError
from ..model import FIELDS, ID_COLUMNS, UNPUBLISHED
from .words import WordRule, plain, stems

CANONICAL = (*ID_COLUMNS, *FIELDS)
RULESETS = ("ru_2018", "ru_2011", "kz", "generic")
PARTY_RULES = ("columns", "prefix", "pattern", "rest")
#: the source row number, usable in ``key`` and row rules
SOURCE_ROW = "source_row"


def norm(header) -> str:
    """Header text as compared exactly: case-folded, single spaces, ё read as е."""
    return plain(header)


@dataclass(frozen=True)
class Mapping:
    """How one file's headers map onto a profile."""

    fields: dict  # canonical -> source header (a column read as it is)
    derived: dict  # canonical id -> spec (column header, prefix, values) or {"row_number": True}
    computed: dict  # canonical count -> [(sign, source)], source = ("header", h) | ("field", f) | ("parties",)
    parties: dict  # source header -> party name
    unmapped: list  # source headers kept unchanged
    pending: list  # headers that are parties if they hold numbers (the "rest" rule)
    own: int = 0  # fields found by this profile's own texts or words (not the canonical name)
    how: dict = field(default_factory=dict)  # canonical -> "text", "wording", "words", "name", ...


@dataclass(frozen=True)
class Condition:
    """One test on a row's cell: ``column`` (a header or canonical field) and one operator."""

    column: str
    op: str  # equals, not_equals, in, not_in, matches, empty, not_empty, below, above
    value: object = None

    def describe(self) -> str:
        if self.op in ("empty", "not_empty"):
            return f"'{self.column}' is {'empty' if self.op == 'empty' else 'not empty'}"
        return f"'{self.column}' {self.op.replace('_', ' ')} {self.value!r}"


@dataclass(frozen=True)
class RowRule:
    """Drop (set aside) or mark the rows meeting every condition, with a reason."""

    action: str  # "drop" or "mark"
    reason: str
    conditions: tuple
    id_from_row: bool = False  # empty ids of these rows become "row N" (the source row)
    missing: tuple = ()  # count fields read as missing in these rows (e.g. no electorate of their own)


@dataclass(frozen=True)
class LongLayout:
    """A file with one row per station and party (or protocol line): ``option`` names it, ``count`` holds its
    number; ``ignore``: columns that describe the option, not the station (a candidate's party or list
    number); ``absent``: what an option with no row at a station means, ``"missing"`` or ``"zero"``."""

    option: str
    count: str
    ignore: tuple = ()
    absent: str = "missing"


@dataclass(frozen=True)
class Profile:
    """A layout: canonical field -> header texts or rules, a party rule, key, row rules and metadata."""

    name: str
    description: str = ""
    fields: dict = field(default_factory=dict)  # canonical -> tuple of header texts
    words: dict = field(default_factory=dict)  # canonical -> WordRule
    derived: dict = field(default_factory=dict)  # canonical id -> {column, prefix, values} | {row_number}
    computed: dict = field(default_factory=dict)  # canonical count -> {"sum": [...]} or {"difference": [...]}
    parties: dict = field(default_factory=lambda: {"rest": True})
    key: tuple = ID_COLUMNS
    required: tuple = ("registered",)
    detect: tuple = ()  # fields that must also be present for auto-detection to pick it
    rows: tuple = ()  # RowRule
    read: dict = field(default_factory=dict)  # thousands, delimiter, encoding, sheet, header_rows
    labels: dict = field(default_factory=dict)  # canonical -> protocol line as printed
    meta: dict = field(default_factory=dict)
    path: str | None = None
    long: LongLayout | None = None  # rows per station and option, widened to one row per station

    @property
    def ruleset(self) -> str:
        return self.meta.get("ruleset", "generic")

    def header(self, canonical: str) -> str:
        """The header text this layout writes for a canonical field."""
        return self.fields.get(canonical, (canonical,))[0] if self.fields.get(canonical) else canonical

    # -- matching --------------------------------------------------------------
    def match(self, headers) -> Mapping:
        """Map the file's headers; fields not found are simply absent.

        A header matched by the words of two fields, or a field whose words
        match two headers, is a DataError: a guess there could be silently wrong.
        """
        headers = list(headers)
        by_plain, by_stems = {}, {}
        for h in headers:
            by_plain.setdefault(norm(h), h)
            by_stems.setdefault(stems(h), h)
        derived = {}
        for c, spec in self.derived.items():
            if spec.get("row_number"):
                derived[c] = spec
            else:
                h = self._find(spec["column"], by_plain, by_stems)
                if h is not None:
                    derived[c] = {**spec, "header": h}
        fields, used, how = {}, set(), {}  # a derived id reads its column without taking it

        def take(canon, h, kind):
            fields[canon] = h
            used.add(h)
            how[canon] = kind

        todo = [c for c in CANONICAL if c not in derived and c not in self.computed]
        for canon in todo:  # 1. the profile's own texts, exactly
            h = next((by_plain[norm(t)] for t in self.fields.get(canon, ()) if norm(t) in by_plain
                      and by_plain[norm(t)] not in used), None)
            if h is not None:
                take(canon, h, "text")
        for canon in todo:  # 2. the same words in another wording (case, punctuation, number, line numbers)
            if canon in fields:
                continue
            h = next((by_stems[stems(t)] for t in self.fields.get(canon, ()) if stems(t) and stems(t) in by_stems
                      and by_stems[stems(t)] not in used), None)
            if h is not None:
                take(canon, h, "wording")
        self._match_words(todo, headers, fields, used, how)
        for canon in todo:  # 4. the canonical name itself
            if canon not in fields and norm(canon) in by_plain and by_plain[norm(canon)] not in used:
                take(canon, by_plain[norm(canon)], "name")
        computed = {}
        for canon, spec in self.computed.items():
            resolved = self._resolve_sources(canon, spec, {**fields, **computed}, by_plain, by_stems)
            if resolved is not None:
                computed[canon] = resolved
                used.update(h for _, (kind, *rest) in resolved for h in rest if kind == "header")
        rest = [h for h in headers if h not in used]
        parties, pending = self._parties(rest)
        unmapped = [h for h in rest if h not in parties and h not in pending]
        own = (sum(k in ("text", "wording", "words") for k in how.values()) + len(derived)
               + sum(any(src[0] == "header" for _, src in c) for c in computed.values()))
        return Mapping(fields, derived, computed, parties, unmapped, pending, own, how)

    @staticmethod
    def _find(texts, by_plain, by_stems):
        texts = (texts,) if isinstance(texts, str) else tuple(texts)
        for t in texts:
            if norm(t) in by_plain:
                return by_plain[norm(t)]
        for t in texts:
            if stems(t) and stems(t) in by_stems:
                return by_stems[stems(t)]
        return None

    def _match_words(self, todo, headers, fields, used, how):
        """3. Fields not found by text: the one header holding their meaning words."""
        free = [h for h in headers if h not in used]
        hits = {c: [h for h in free if self.words[c].matches(h)] for c in todo
                if c not in fields and c in self.words}
        for canon, found in hits.items():
            if len(found) > 1:
                raise DataError(f"profile '{self.name}': the columns {', '.join(repr(h) for h in found[:4])} all "
                                f"match the words for '{canon}' ({self.words[canon].describe()})", column=found[0],
                                fix=f"name the column in the profile ([fields] {canon} = \"...\") or rename the others")
        by_header = {}
        for canon, found in hits.items():
            for h in found:
                by_header.setdefault(h, []).append(canon)
        for h, canons in by_header.items():
            if len(canons) > 1:
                raise DataError(f"profile '{self.name}': the column '{h}' matches the words of several fields "
                                f"({', '.join(canons)})", column=h,
                                fix="name the column for one of them in the profile ([fields] FIELD = \"...\")")
            fields[canons[0]] = h
            used.add(h)
            how[canons[0]] = "words"

    def _resolve_sources(self, canon, spec, fields, by_plain, by_stems):
        """[(sign, source)] for a computed field, or None when a source column is absent."""
        op = "sum" if "sum" in spec else "difference"
        out = []
        for i, item in enumerate(spec[op]):
            sign = -1 if op == "difference" and i > 0 else 1
            if item == "parties":
                out.append((sign, ("parties",)))
            elif item in FIELDS and item in fields:  # a field read or computed (earlier in the profile)
                out.append((sign, ("field", item)))
            else:
                h = self._find(item, by_plain, by_stems)
                if h is None:
                    return None
                out.append((sign, ("header", h)))
        return out

    def _parties(self, headers):
        rule = self.parties
        exclude = {norm(x) for x in rule.get("exclude", ())}
        pattern = re.compile(rule["exclude_pattern"], re.I) if rule.get("exclude_pattern") else None
        key = {norm(k) for k in self.key}
        cand = [h for h in headers if norm(h) not in key and norm(h) not in exclude
                and not (pattern and pattern.search(str(h)))]
        parties, pending = {}, []
        if "columns" in rule:
            wanted = {norm(c) for c in rule["columns"]}
            parties = {h: str(h) for h in cand if norm(h) in wanted}
        elif "prefix" in rule:
            pre = rule["prefix"]
            strip = rule.get("strip_prefix", True)
            parties = {h: (str(h)[len(pre):] if strip else str(h)) for h in cand if str(h).startswith(pre)}
        elif "pattern" in rule:
            rx = re.compile(rule["pattern"])
            parties = {h: str(h) for h in cand if rx.search(str(h))}
        else:  # rest: decided on the values
            pending = cand
        names = rule.get("names") or {}
        if names:
            parties = {h: names.get(p, p) for h, p in parties.items()}
        return parties, pending

    def party_name(self, party: str) -> str:
        """A party's name after the profile's value map (``[parties] names``)."""
        return (self.parties.get("names") or {}).get(party, party)

    def party_header(self, party: str) -> str:
        """The header text this layout writes for a party column."""
        codes = {v: k for k, v in (self.parties.get("names") or {}).items()}
        party = codes.get(party, party)
        if "prefix" in self.parties and self.parties.get("strip_prefix", True):
            return self.parties["prefix"] + party
        return party

    def missing(self, mapping: Mapping, headers=()) -> list:
        """Required fields and key columns the mapping (or, for a source key column, the headers) lack."""
        found = set(mapping.fields) | set(mapping.derived) | set(mapping.computed)
        plain_headers = {norm(h) for h in headers}
        return [c for c in (*self.key, *self.required)
                if c not in found and c != SOURCE_ROW and not (c not in CANONICAL and norm(c) in plain_headers)]

    def describe_field(self, canonical: str) -> str:
        if canonical in self.derived:
            spec = self.derived[canonical]
            return "the source row number" if spec.get("row_number") else f"derived from '{_first(spec['column'])}'"
        if canonical in self.computed:
            spec = self.computed[canonical]
            op = "sum" if "sum" in spec else "difference"
            return f"the {op} of " + ", ".join(f"'{s}'" for s in spec[op])
        texts = (*self.fields.get(canonical, ()), canonical)
        text = " or ".join(f"'{t}'" for t in dict.fromkeys(texts))
        if canonical in self.words:
            text += f", or a header with {self.words[canonical].describe()}"
        return text


def _first(texts):
    return texts if isinstance(texts, str) else texts[0]


def word_rule(spec, language) -> WordRule:
    return WordRule(spec.get("words", ()), spec.get("without", ()), language)


def to_layout(table, profile, parties=None):
    """Rename a canonical table's columns to a profile's own header text.

    ``table`` is an Election or a canonical DataFrame (then ``parties`` names
    its party columns when the profile writes them with a prefix).  The
    inverse of loading: derived and computed columns and the ``unpublished``
    flag are dropped (loading recreates them), every other column keeps its name.
    """
    from .profile_toml import load_profile

    prof = load_profile(profile)
    if hasattr(table, "table"):  # an Election
        parties, table = table.parties, table.table
    parties = parties or ()
    drop = [c for c in (*prof.derived, *prof.computed, UNPUBLISHED, "marked") if c in table.columns]
    names = {c: prof.header(c) for c in CANONICAL if c in table.columns and c not in prof.derived}
    names.update({p: prof.party_header(p) for p in parties})
    return table.drop(columns=drop).rename(columns=names)
