"""Choose the shipped profile that fits a file's headers, and say why.

A profile fits when its key, its required fields and its ``[detect]
require`` fields are all found (and no header is ambiguous for it); among
those, the one recognising the most columns by its own texts or words wins;
on a tie, the one whose ``[detect] require`` asks more (the more specific
layout), then ``generic``.  The note names the winner, what it recognised, the
runners-up and why the others did not fit.
"""
from __future__ import annotations

from ..errors import DataError
from .profile_toml import available_profiles, load_profile
from .profiles import CANONICAL


def _shipped() -> list:
    return [load_profile(n) for n in available_profiles()]


def detect_profile(headers, file=None):
    """(Profile, a sentence saying which profile was chosen and why); a DataError when none fits."""
    headers = list(headers)
    ranked = []
    for prof in _shipped():
        try:
            m = prof.match(headers)
        except DataError as exc:
            ranked.append((False, 0, 0, False, prof, None, [f"ambiguous: {exc.problem}"]))
            continue
        missing = prof.missing(m, headers) + [f for f in prof.detect if f not in m.fields and f not in m.computed]
        ranked.append((not missing, m.own, len(prof.detect), prof.name == "generic", prof, m, missing))
    ranked.sort(key=lambda r: r[:4], reverse=True)
    fits, own, _, _, prof, m, missing = ranked[0]
    if fits:
        return prof, _note(prof, m, headers, ranked[1:])
    shown = ", ".join(f"'{h}'" for h in headers[:8]) + (" ..." if len(headers) > 8 else "")
    fix = ("pass --profile with a shipped profile (see 'forensics profiles') or your own TOML file mapping "
           "your headers onto region, tec, pec and registered (docs/profiles.md; 'forensics profile draft FILE' "
           "writes a first draft); or rename the columns to those names")
    if own == 0:
        hint = (". Only one column was found: the file may use a delimiter other than , ; tab or |"
                if len(headers) == 1 else "")
        raise DataError(f"no shipped profile recognises the header row ({shown}){hint}", file=file, row=1, fix=fix)
    lacks = "; ".join(f"{c}: {prof.describe_field(c)}" if c in CANONICAL else
                      c if c.startswith("ambiguous") else f"key column '{c}'" for c in missing)
    raise DataError(f"the header row looks like profile '{prof.name}' but lacks required columns ({lacks})",
                    file=file, row=1, column=missing[0] if missing[0] in CANONICAL else None, fix=fix)


def _note(prof, m, headers, others) -> str:
    kinds = {}
    for canon, kind in m.how.items():
        kinds.setdefault(kind, []).append(canon)
    found = len(m.fields) + len(m.derived) + len(m.computed)
    parts = [f"profile '{prof.name}' chosen automatically: it recognised {found} of the {len(headers)} columns "
             f"({m.own} by its own header texts or words"]
    if kinds.get("words"):
        parts.append(f"; by meaning words, in a wording it does not list: {', '.join(kinds['words'])}")
    if kinds.get("wording"):
        parts.append(f"; in another wording of a listed text: {', '.join(kinds['wording'])}")
    parts.append(")")
    if prof.detect:
        parts.append(f"; its layout is told apart by {', '.join(prof.detect)}")
    fitting = [f"'{p.name}' ({o} own)" for ok, o, _, _, p, _, _ in others if ok]
    if fitting:
        parts.append(f"; also fitting, with fewer columns recognised: {', '.join(fitting[:3])}")
    return "".join(parts)
