"""Read profiles from TOML: shipped ones by name, a user's by path, ``extends`` another.

Every key is checked and a mistake is a DataError naming the profile file
and the key; docs/profiles.md documents the language.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..errors import DataError
from ..model import FIELDS, ID_COLUMNS
from .profiles import (CANONICAL, PARTY_RULES, RULESETS, SOURCE_ROW, Condition, LongLayout, Profile, RowRule,
                       word_rule)

TOP_KEYS = {"name", "description", "country", "language", "extends", "key", "required", "fields", "parties",
            "rows", "read", "election", "labels", "detect", "reconcile", "meta", "long"}
READ_KEYS = {"thousands", "delimiter", "encoding", "sheet", "header_rows", "duplicate_headers"}
OPERATORS = ("equals", "not_equals", "in", "not_in", "matches", "empty", "not_empty", "below", "above")
LONG_KEYS = {"option", "count", "ignore", "absent"}
FIELD_KEYS = {"column", "columns", "words", "without", "prefix", "values", "values_file", "sum", "difference",
              "row_number", "texts"}


def _profile_dir():
    return resources.files("forensics") / "profiles"


def available_profiles() -> dict:
    """Shipped profiles: name -> one-line description."""
    out = {}
    for entry in sorted(_profile_dir().iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            prof = load_profile(entry.name[:-5])
            out[prof.name] = prof.description
    return out


def load_profile(name_or_path) -> Profile:
    """A shipped profile by name, or a user's TOML file by path."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    text = str(name_or_path)
    if not text.endswith(".toml") and not Path(text).exists() and text in _shipped_names():
        return _shipped(text)
    data, source, base = _raw(name_or_path)
    return _build(data, source, base)


@lru_cache(maxsize=None)
def _shipped(name: str) -> Profile:
    data, source, base = _raw(name)
    return _build(data, source, base)


def _raw(name_or_path, seen=()):
    """(merged TOML data after ``extends``, source name, folder for relative files)."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith(".toml") or path.exists():
        if not path.is_file():
            raise DataError("profile file not found", file=path,
                            fix="give the path of a TOML profile, or a shipped profile name "
                                f"({', '.join(_shipped_names())})")
        body, source, base = path.read_text(encoding="utf-8"), str(path), path.parent
    else:
        entry = _profile_dir() / f"{text}.toml"
        if not entry.is_file():
            raise DataError(f"unknown profile '{text}'",
                            fix=f"use one of {', '.join(_shipped_names())}, or the path of your own TOML profile "
                                "(see 'forensics profiles')")
        body, source, base = entry.read_text(encoding="utf-8"), entry.name, _profile_dir()
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"the profile is not valid TOML ({exc})", file=source,
                        fix="correct the TOML syntax; see docs/profiles.md for an example") from None
    parent = data.pop("extends", None)
    if parent:
        if parent in seen:
            raise DataError(f"the profile extends itself through '{parent}'", file=source,
                            fix="remove the loop of 'extends'")
        local = Path(base) / str(parent)
        pdata, _, _ = _raw(local if local.is_file() else parent, (*seen, parent))
        data = _merge(pdata, data)
    return data, source, base


@lru_cache(maxsize=None)
def _shipped_names():
    return tuple(sorted(e.name[:-5] for e in _profile_dir().iterdir() if e.name.endswith(".toml")))


def _merge(base: dict, over: dict) -> dict:
    """The child's values replace the parent's; tables merge key by key (``rows`` are added)."""
    out = dict(base)
    for k, v in over.items():
        if k == "rows":
            out[k] = [*base.get(k, []), *v]
        elif isinstance(v, dict) and isinstance(base.get(k), dict) and k not in ("parties",):
            out[k] = _merge(base[k], v)
        else:
            out[k] = v
    for k in ("name", "description"):
        if k in over:
            out[k] = over[k]
    return out


def _build(data: dict, source: str, base) -> Profile:
    def bad(msg):
        return DataError(f"bad profile: {msg}", file=source, fix="see docs/profiles.md for the profile format")

    unknown = set(data) - TOP_KEYS
    if unknown:
        raise bad(f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(TOP_KEYS))})")
    name = data.get("name") or Path(source).stem
    language = data.get("language", "en")
    fields, words, derived, computed = {}, {}, {}, {}
    for canon, spec in data.get("fields", {}).items():
        if canon not in CANONICAL:
            raise bad(f"'{canon}' is not a canonical field (known: {', '.join(CANONICAL)})")
        if isinstance(spec, str):
            fields[canon] = (spec,)
        elif isinstance(spec, list) and spec and all(isinstance(s, str) for s in spec):
            fields[canon] = tuple(spec)
        elif isinstance(spec, dict):
            _field_table(canon, spec, fields, words, derived, computed, language, base, bad)
        else:
            raise bad(f"field '{canon}' must be a header text, a list of them, or a table (docs/profiles.md)")
    parties = dict(data.get("parties", {"rest": True}))
    if not any(k in parties for k in PARTY_RULES):
        raise bad(f"[parties] needs one of {', '.join(PARTY_RULES)}")
    names = {str(k): str(v) for k, v in parties.get("names", {}).items()}
    if parties.get("names_file"):
        names.update(_value_file(parties.pop("names_file"), base, bad))
    if names:
        parties["names"] = names
    key = tuple(data.get("key", ID_COLUMNS))
    required = tuple(data.get("required", ("registered",)))
    if not all(isinstance(c, str) for c in (*key, *required)) or not key:
        raise bad("'key' and 'required' must be lists of column names (the key not empty)")
    ruleset = data.get("reconcile", {}).get("ruleset", "generic")
    if ruleset not in RULESETS:
        raise bad(f"[reconcile] ruleset must be one of {', '.join(RULESETS)}")
    read = dict(data.get("read", {}))
    if set(read) - READ_KEYS:
        raise bad(f"[read] knows {', '.join(sorted(READ_KEYS))}, not {', '.join(sorted(set(read) - READ_KEYS))}")
    if "thousands" in read and (not isinstance(read["thousands"], str) or len(read["thousands"]) != 1):
        raise bad("[read] thousands must be one character, e.g. \".\" or \" \"")
    labels = {str(k): str(v) for k, v in data.get("labels", {}).items()}
    if set(labels) - set(CANONICAL):
        raise bad(f"[labels] names unknown fields: {', '.join(sorted(set(labels) - set(CANONICAL)))}")
    election = {str(k): (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.get("election", {}).items()}
    meta = {"ruleset": ruleset, "percent_base": "valid", **data.get("meta", {}), "language": language}
    if data.get("country"):
        meta["country"] = data["country"]
    if election:
        meta["election"] = election
    rows = tuple(_row_rule(i, r, bad) for i, r in enumerate(data.get("rows", [])))
    detect = tuple(data.get("detect", {}).get("require", ()))
    long = _long(data["long"], key, bad) if "long" in data else None
    return Profile(name=name, description=data.get("description", ""), fields=fields, words=words, derived=derived,
                   computed=computed, parties=parties, key=key, required=required, detect=detect, rows=rows,
                   read=read, labels=labels, meta=meta, path=source, long=long)


def _long(spec, key, bad) -> LongLayout:
    if not isinstance(spec, dict) or set(spec) - LONG_KEYS or not {"option", "count"} <= set(spec):
        raise bad(f"[long] needs option = \"...\" and count = \"...\" (known keys: {', '.join(sorted(LONG_KEYS))})")
    ignore = spec.get("ignore", [])
    ignore = [ignore] if isinstance(ignore, str) else ignore
    if not all(isinstance(x, str) for x in (spec["option"], spec["count"], *ignore)):
        raise bad("[long] option, count and ignore name columns (header texts)")
    if spec.get("absent", "missing") not in ("missing", "zero"):
        raise bad("[long] absent must be \"missing\" (an option without a row is not known) or \"zero\"")
    if SOURCE_ROW in key:
        raise bad("a long layout's stations span several rows: its key cannot hold the source row")
    return LongLayout(spec["option"], spec["count"], tuple(ignore), spec.get("absent", "missing"))


def _field_table(canon, spec, fields, words, derived, computed, language, base, bad):
    unknown = set(spec) - FIELD_KEYS
    if unknown:
        raise bad(f"[fields.{canon}] has unknown key(s) {', '.join(sorted(unknown))} "
                  f"(known: {', '.join(sorted(FIELD_KEYS))})")
    is_id = canon in ID_COLUMNS
    texts = spec.get("column", spec.get("columns", spec.get("texts")))
    texts = (texts,) if isinstance(texts, str) else tuple(texts or ())
    if "sum" in spec or "difference" in spec:
        if is_id:
            raise bad(f"'{canon}' is an id: it cannot be a sum or difference")
        op = "sum" if "sum" in spec else "difference"
        items = spec[op]
        items = [items] if isinstance(items, str) else list(items)
        if not items or (op == "difference" and len(items) < 2):
            raise bad(f"[fields.{canon}] {op} needs {'two or more' if op == 'difference' else 'one or more'} columns")
        computed[canon] = {op: items}
        return
    if spec.get("row_number"):
        if not is_id:
            raise bad(f"only an id (region, tec, pec) can be the row number, not '{canon}'")
        derived[canon] = {"row_number": True}
        return
    values = {str(k): str(v) for k, v in spec.get("values", {}).items()}
    if spec.get("values_file"):
        values.update(_value_file(spec["values_file"], base, bad))
    if "prefix" in spec or values:
        if not is_id:
            raise bad(f"'{canon}' is a count: a prefix or value map applies to ids (region, tec, pec) only; "
                      f"write {canon} = \"header\"")
        if not texts:
            raise bad(f"[fields.{canon}] needs the column to derive it from (column = \"...\")")
        derived[canon] = {"column": texts, "prefix": spec.get("prefix"), "values": values}
        return
    if "words" in spec:
        words[canon] = word_rule(spec, language)
    elif not texts:
        raise bad(f"[fields.{canon}] needs column = \"...\", words = [...], sum/difference or row_number")
    if texts:
        fields[canon] = texts


def _value_file(name, base, bad) -> dict:
    """A two-column CSV (code, name; a header row) beside the profile."""
    path = Path(base) / name if not Path(name).is_absolute() else Path(name)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise bad(f"the value file '{name}' cannot be read ({exc.strerror})") from None
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ","))
    if not rows or any(len(r) < 2 for r in rows[1:] if r):
        raise bad(f"the value file '{name}' must have two columns (code, name) and a header row")
    return {r[0].strip(): r[1].strip() for r in rows[1:] if r}


def _row_rule(i, spec, bad) -> RowRule:
    if not isinstance(spec, dict):
        raise bad("each [[rows]] entry is a table")
    action = spec.get("action", "drop")
    if action not in ("drop", "mark"):
        raise bad(f"[[rows]] #{i + 1}: action must be 'drop' or 'mark'")
    reason = spec.get("reason")
    if not reason:
        raise bad(f"[[rows]] #{i + 1}: give a reason (it is listed with every row the rule sets aside or marks)")
    conds = spec.get("when", [])
    conds = [conds] if isinstance(conds, dict) else list(conds)
    inline = {k: v for k, v in spec.items() if k in ("column", *OPERATORS)}
    if inline:
        conds.append(inline)
    if not conds:
        raise bad(f"[[rows]] #{i + 1}: give a condition (column = ..., equals = ...) or when = [...]")
    out = []
    for c in conds:
        ops = [k for k in c if k in OPERATORS]
        if "column" not in c or len(ops) != 1:
            raise bad(f"[[rows]] #{i + 1}: a condition needs column = ... and one of {', '.join(OPERATORS)}")
        op = ops[0]
        value = c[op]
        if op in ("in", "not_in"):
            value = tuple(str(v) for v in value)
        elif op in ("below", "above"):
            value = float(value)
        elif op in ("empty", "not_empty"):
            value = bool(value)
            if not value:
                op = "not_empty" if op == "empty" else "empty"
        else:
            value = str(value)
        out.append(Condition(str(c["column"]), op, value))
    missing = tuple(spec.get("missing", ()))
    if set(missing) - set(FIELDS):
        raise bad(f"[[rows]] #{i + 1}: missing names unknown fields {sorted(set(missing) - set(FIELDS))}")
    return RowRule(action, str(reason), tuple(out), bool(spec.get("id_from_row", False)), missing)


__all__ = ["available_profiles", "load_profile", "SOURCE_ROW"]
