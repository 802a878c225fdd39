"""Every flagged station, embedded in the page as compact column-wise JSON and paged by the page's script.

Regions, TECs and reason lists repeat across thousands of stations, so each
is written once and the columns hold their index; numbers are rounded to
what the table shows.  The reasons are the flags' meanings in the reader's
language (``forensics.verdicts.stations.FLAGS``); a protocol-arithmetic code of the rule set is said
as such, with its code.
"""
from __future__ import annotations

import json

import pandas as pd

from ..i18n import say, translations
from ..verdicts.stations import FLAGS

__all__ = ["flagged_stations", "station_payload", "script_json"]

def flagged_stations(stations: pd.DataFrame) -> pd.DataFrame:
    """The stations carrying at least one flag, in review order."""
    return stations[stations["n_flags"] > 0].sort_values("review_order", kind="mergesort")


def _codes(stations: pd.DataFrame) -> pd.Series:
    return stations["flag_codes"].fillna("").astype(str)


def _reason(code: str, lang: str) -> str:
    """What a flag means, in ``lang`` (the station evidence's own wording, ``forensics.verdicts.stations.FLAGS``)."""
    if code in FLAGS:
        return say(FLAGS[code], lang)
    return translations(lang).gettext("the protocol's arithmetic does not add up (rule %(code)s)") % {"code": code}


def _encode(values: pd.Series) -> tuple[list, list]:
    """(distinct values in first-seen order, index of each value)."""
    codes, uniques = pd.factorize(values.fillna("").astype(str), sort=False)
    return [str(u) for u in uniques], codes.tolist()


def _rounded(values: pd.Series, digits: int) -> list:
    """Numbers as shown (integers without a decimal point); None where missing."""
    numbers = values.astype(float).tolist()
    missing = values.isna().to_numpy().tolist()
    if digits == 0:
        return [None if m else round(x) for x, m in zip(numbers, missing)]
    return [None if m else round(x, digits) for x, m in zip(numbers, missing)]


def station_payload(stations: pd.DataFrame, lang: str = "en") -> str:
    """The flagged stations as JSON text safe inside a ``<script>`` element (no ``<``, ``>`` or ``&``)."""
    flagged = flagged_stations(stations)
    regions, region = _encode(flagged["region"]) if "region" in flagged else ([""], [0] * len(flagged))
    tecs, tec = _encode(flagged["tec"]) if "tec" in flagged else ([""], [0] * len(flagged))
    combos, combo = _encode(_codes(flagged))
    payload = {
        "n": len(flagged),
        "regions": regions, "region": region, "tecs": tecs, "tec": tec,
        "pec": flagged["pec"].fillna("").astype(str).tolist() if "pec" in flagged else [""] * len(flagged),
        "order": _rounded(flagged["review_order"], 0),
        "evidence": _rounded(flagged["evidence"], 1),
        "registered": _rounded(flagged["registered"], 0),
        "cast": _rounded(flagged["ballots_cast"], 0),
        "turnout": _rounded(flagged["turnout"], 4),
        "share": _rounded(flagged["leader_share"], 4),
        "reasons": [[_reason(c, lang) for c in text.split(";") if c] for text in combos],
        "reason": combo,
    }
    return script_json(payload)


def script_json(value) -> str:
    """``value`` as compact JSON text that is safe inside a ``<script>`` element (no ``<``, ``>`` or ``&``)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
