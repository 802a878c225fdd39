"""Profiles: TOML files that map a national layout onto the canonical fields.

A profile matches source columns by their header TEXT (ignoring case,
repeated spaces and ё/е), never by position, so reordered or extra columns
do not matter.  Each canonical field lists one or more header texts; the
canonical name itself always matches too.  A field may instead be derived
from another column (``{column = "ed_number", prefix = 2, values = {...}}``).
The ``[parties]`` table says which remaining columns are parties.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..errors import DataError
from ..model import FIELDS, ID_COLUMNS, UNPUBLISHED

CANONICAL = (*ID_COLUMNS, *FIELDS)
RULESETS = ("ru_2018", "ru_2011", "kz", "generic")
PARTY_RULES = ("columns", "prefix", "pattern", "rest")


def norm(header) -> str:
    """Header text as compared: case-folded, single spaces, ё read as е."""
    text = str(header).replace("ё", "е").replace("Ё", "Е")
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Mapping:
    """How one file's headers map onto a profile."""

    fields: dict  # canonical -> source header
    derived: dict  # canonical -> derivation spec (column, prefix, values)
    parties: dict  # source header -> party name
    unmapped: list  # source headers kept unchanged
    pending: list  # headers that are parties if they hold numbers (the "rest" rule)
    own: int = 0  # fields found by this profile's own header texts (not the canonical name)


@dataclass(frozen=True)
class Profile:
    """A layout: canonical field -> header texts, a party rule, key and metadata."""

    name: str
    description: str = ""
    fields: dict = field(default_factory=dict)  # canonical -> tuple of header texts
    derived: dict = field(default_factory=dict)  # canonical -> {column, prefix, values}
    parties: dict = field(default_factory=lambda: {"rest": True})
    key: tuple = ID_COLUMNS
    required: tuple = ("registered",)
    detect: tuple = ()  # fields that must also be present for auto-detection to pick it
    meta: dict = field(default_factory=dict)
    path: str | None = None

    @property
    def ruleset(self) -> str:
        return self.meta.get("ruleset", "generic")

    def header(self, canonical: str) -> str:
        """The header text this layout writes for a canonical field."""
        return self.fields.get(canonical, (canonical,))[0]

    # -- matching --------------------------------------------------------------
    def match(self, headers) -> Mapping:
        """Map the file's headers; fields not found are simply absent."""
        by_norm = {}
        for h in headers:
            by_norm.setdefault(norm(h), h)
        derived = {c: spec for c, spec in self.derived.items() if spec["column"] in set(headers)}
        fields, used, own = {}, set(), 0
        for canon in CANONICAL:
            if canon in derived:
                continue
            texts = self.fields.get(canon, ())
            for text in (*texts, canon):
                h = by_norm.get(norm(text))
                if h is not None and h not in used:
                    fields[canon] = h
                    used.add(h)
                    own += text in texts
                    break
        rest = [h for h in headers if h not in used]
        parties, pending = self._parties(rest)
        unmapped = [h for h in rest if h not in parties and h not in pending]
        return Mapping(fields, derived, parties, unmapped, pending, own + len(derived))

    def _parties(self, headers):
        rule = self.parties
        exclude = {norm(x) for x in rule.get("exclude", ())}
        pattern = re.compile(rule["exclude_pattern"], re.I) if rule.get("exclude_pattern") else None
        cand = [h for h in headers if h not in self.key and norm(h) not in exclude
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
        return parties, pending

    def party_header(self, party: str) -> str:
        """The header text this layout writes for a party column."""
        if "prefix" in self.parties and self.parties.get("strip_prefix", True):
            return self.parties["prefix"] + party
        return party

    def missing(self, mapping: Mapping, headers=()) -> list:
        """Required fields and key columns the mapping (or, for a source key column, the headers) lack."""
        found = set(mapping.fields) | set(mapping.derived)
        return [c for c in (*self.key, *self.required)
                if c not in found and not (c not in CANONICAL and c in headers)]

    def describe_field(self, canonical: str) -> str:
        if canonical in self.derived:
            return f"derived from '{self.derived[canonical]['column']}'"
        texts = (*self.fields.get(canonical, ()), canonical)
        return " or ".join(f"'{t}'" for t in dict.fromkeys(texts))


# -- loading profiles -------------------------------------------------------------
def _profile_dir():
    return resources.files("forensics") / "profiles"


def available_profiles() -> dict:
    """Shipped profiles: name -> one-line description."""
    out = {}
    for entry in sorted(_profile_dir().iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            prof = _parse(entry.read_text(encoding="utf-8"), entry.name)
            out[prof.name] = prof.description
    return out


def load_profile(name_or_path) -> Profile:
    """A shipped profile by name, or a user's TOML file by path."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or path.exists():
        if not path.is_file():
            raise DataError("profile file not found", file=path,
                            fix="give the path of a TOML profile, or a shipped profile name "
                                f"({', '.join(available_profiles())})")
        return _parse(path.read_text(encoding="utf-8"), str(path))
    entry = _profile_dir() / f"{text}.toml"
    if not entry.is_file():
        raise DataError(f"unknown profile '{text}'",
                        fix=f"use one of {', '.join(available_profiles())}, or the path of your own TOML profile "
                            "(see 'forensics profiles')")
    return _parse(entry.read_text(encoding="utf-8"), entry.name)


def _parse(text: str, source: str) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"the profile is not valid TOML ({exc})", file=source,
                        fix="correct the TOML syntax; see docs/profiles.md for an example") from None

    def bad(msg):
        return DataError(f"bad profile: {msg}", file=source, fix="see docs/profiles.md for the profile format")

    name = data.get("name") or Path(source).stem
    fields, derived = {}, {}
    for canon, spec in data.get("fields", {}).items():
        if canon not in CANONICAL:
            raise bad(f"'{canon}' is not a canonical field (known: {', '.join(CANONICAL)})")
        if isinstance(spec, str):
            fields[canon] = (spec,)
        elif isinstance(spec, list) and spec and all(isinstance(s, str) for s in spec):
            fields[canon] = tuple(spec)
        elif isinstance(spec, dict) and isinstance(spec.get("column"), str):
            derived[canon] = {"column": spec["column"], "prefix": spec.get("prefix"),
                              "values": {str(k): str(v) for k, v in spec.get("values", {}).items()}}
        else:
            raise bad(f"field '{canon}' must be a header text, a list of them, or {{column = ...}}")
    parties = data.get("parties", {"rest": True})
    if not any(k in parties for k in PARTY_RULES):
        raise bad(f"[parties] needs one of {', '.join(PARTY_RULES)}")
    key = tuple(data.get("key", ID_COLUMNS))
    required = tuple(data.get("required", ("registered",)))
    if not all(isinstance(c, str) for c in (*key, *required)):
        raise bad("'key' and 'required' must be lists of column names")
    ruleset = data.get("reconcile", {}).get("ruleset", "generic")
    if ruleset not in RULESETS:
        raise bad(f"[reconcile] ruleset must be one of {', '.join(RULESETS)}")
    meta = {"ruleset": ruleset, "percent_base": "valid", **data.get("meta", {})}
    detect = tuple(data.get("detect", {}).get("require", ()))
    return Profile(name=name, description=data.get("description", ""), fields=fields, derived=derived,
                   parties=parties, key=key, required=required, detect=detect, meta=meta, path=source)


def _shipped() -> list:
    return [load_profile(n) for n in available_profiles()]


def detect_profile(headers, file=None) -> tuple[Profile, str]:
    """The shipped profile that fits the headers best, and a sentence saying why.

    A profile fits when its key and required fields are all present; among
    those the one recognising the most columns by its own header texts wins,
    ``generic`` on a tie.  When none fits, the error names the closest one
    and the columns it lacks.
    """
    headers = list(headers)
    ranked = []
    for prof in _shipped():
        m = prof.match(headers)
        missing = prof.missing(m, headers) + [f for f in prof.detect if f not in m.fields]
        ranked.append((not missing, m.own, prof.name == "generic", prof, m, missing))
    fits, own, _, prof, m, missing = max(ranked, key=lambda r: r[:3])
    if fits:
        return prof, (f"profile '{prof.name}' chosen automatically: it recognised "
                      f"{len(m.fields) + len(m.derived)} of the {len(headers)} columns")
    shown = ", ".join(f"'{h}'" for h in headers[:8]) + (" ..." if len(headers) > 8 else "")
    fix = ("pass --profile with a shipped profile (see 'forensics profiles') or your own TOML file mapping "
           "your headers onto region, tec, pec and registered (docs/profiles.md); or rename the columns to those names")
    if own == 0:
        hint = (". Only one column was found: the file may use a delimiter other than , ; tab or |"
                if len(headers) == 1 else "")
        raise DataError(f"no shipped profile recognises the header row ({shown}){hint}", file=file, row=1, fix=fix)
    lacks = "; ".join(f"{c}: {prof.describe_field(c)}" if c in CANONICAL else f"key column '{c}'" for c in missing)
    raise DataError(f"the header row looks like profile '{prof.name}' but lacks required columns ({lacks})",
                    file=file, row=1, column=missing[0], fix=fix)


def to_layout(table, profile, parties=None) -> "pd.DataFrame":
    """Rename a canonical table's columns to a profile's own header text.

    ``table`` is an Election or a canonical DataFrame (then ``parties`` names
    its party columns when the profile writes them with a prefix).  The
    inverse of loading: derived columns and the ``unpublished`` flag are
    dropped (loading recreates them), every other column keeps its name.
    """
    prof = load_profile(profile)
    if hasattr(table, "table"):  # an Election
        parties, table = table.parties, table.table
    parties = parties or ()
    drop = [c for c in (*prof.derived, UNPUBLISHED) if c in table.columns]
    names = {c: prof.header(c) for c in CANONICAL if c in table.columns and c not in prof.derived}
    names.update({p: prof.party_header(p) for p in parties})
    return table.drop(columns=drop).rename(columns=names)
