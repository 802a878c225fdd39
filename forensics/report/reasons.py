"""Why an analysis left a station out, in the page's language.

The analyses write their exclusion reasons in English (``excluded.csv``
keeps them so); the report says the known ones again from the catalog,
numbers kept, and shows any other reason as written.
"""
from __future__ import annotations

import re

from ..i18n import N_, translations

__all__ = ["reason_words"]

#: (English reason as the analyses write it, the catalog's template)
PATTERNS = (
    (re.compile(r"fewer than (?P<n>\d+) voters on the list"), N_("fewer than %(n)s voters on the list")),
    (re.compile(r"count below (?P<n>\d+)"), N_("count below %(n)s")),
    (re.compile(r"turnout above (?P<n>\d+%)"), N_("turnout above %(n)s")),
)
FIXED = (N_("figures not published"), N_("figures missing"), N_("count missing"),
         N_("leader votes exceed the share base"), N_("no ballots cast"), N_("no ballots"), N_("no valid votes"),
         N_("no voters on the list"), N_("no votes for the leader"), N_("party got every valid vote"))


def reason_words(text: str, lang: str = "en") -> str:
    """``text`` (one reason, or several joined by "; ") in ``lang``; an unknown reason stays as written."""
    t = translations(lang)
    out = []
    for reason in str(text).split("; "):
        for pattern, template in PATTERNS:
            match = pattern.fullmatch(reason)
            if match:
                reason = t.gettext(template) % match.groupdict()
                break
        else:
            reason = t.gettext(reason) if reason in FIXED else reason
        out.append(reason)
    return "; ".join(out)
