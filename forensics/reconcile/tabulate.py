"""Tabulation: polling-station protocols rolled up to TEC, region and nation.

Higher commissions publish totals; if figures change on the way up, the sum
of the polling-station protocols no longer matches them.  ``tabulate`` adds
the protocols up, ``read_totals`` reads published totals, ``compare_totals``
puts the two side by side per line and per party, and ``percentages``
reports the national result the way the election commission does.

Published totals file (CSV, UTF-8, one line per figure)::

    level,region,tec,field,value
    nation,,,registered,11919241
    region,Almaty,,Nur Otan,412345
    tec,Almaty,Medeu district,valid,80211

``level`` is ``nation``, ``region`` or ``tec``; ``region`` is blank for the
nation, ``tec`` blank unless the level is ``tec``; ``field`` is a canonical
protocol field (``registered``, ``valid``, ...) or a party column of the
election; ``value`` a whole number.  ``tabulate`` returns the same layout,
so its output written with ``to_csv(index=False)`` is a valid totals file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..model import Election, as_election

LEVELS = ("tec", "region", "nation")
TOTALS_COLUMNS = ("level", "region", "tec", "field", "value")
_KEYS = ["level", "region", "tec", "field"]


def _count_columns(election: Election) -> list[str]:
    return election.fields + [p for p in election.parties if p not in election.fields]


def tabulate(election, levels=LEVELS) -> pd.DataFrame:
    """Sum the published polling-station protocols per TEC, region and nation.

    Returns the long totals layout (``level, region, tec, field, value``) plus
    ``stations`` (stations summed) and ``unpublished`` (stations in the area
    whose figures were never published, hence not in the sum).
    """
    e = as_election(election)
    if isinstance(levels, str):
        levels = (levels,)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise ValueError(f"unknown level {bad[0]!r}; use one of {', '.join(LEVELS)}")
    cols = _count_columns(e)
    t = e.table
    frame = pd.DataFrame({"region": t.get("region", ""), "tec": t.get("tec", "")}, index=t.index).astype(str)
    frame["_published"] = e.published.to_numpy()
    frame[cols] = t[cols].where(frame["_published"], np.nan)
    out = []
    for level in levels:
        keys = {"tec": ["region", "tec"], "region": ["region"], "nation": []}[level]
        work = frame.assign(_all="") if not keys else frame
        g = work.groupby(keys or ["_all"], sort=True)
        sums = g[cols].sum(min_count=1)
        counts = g["_published"].agg(["sum", "size"])
        wide = sums.assign(stations=counts["sum"], unpublished=counts["size"] - counts["sum"]).reset_index()
        if not keys:
            wide = wide.drop(columns="_all")
        for k in ("region", "tec"):
            if k not in keys:
                wide[k] = ""
        long = wide.melt(id_vars=["region", "tec", "stations", "unpublished"], value_vars=cols,
                         var_name="field", value_name="value")
        long.insert(0, "level", level)
        out.append(long)
    result = pd.concat(out, ignore_index=True)
    result["stations"] = result["stations"].astype("int64")
    result["unpublished"] = result["unpublished"].astype("int64")
    return result[list(TOTALS_COLUMNS) + ["stations", "unpublished"]]


def read_totals(source) -> pd.DataFrame:
    """Read and check a published totals file (or DataFrame) in the layout above."""
    name = str(source) if isinstance(source, (str, Path)) else "published totals"
    if isinstance(source, pd.DataFrame):
        raw = source.copy()
    else:
        try:
            raw = pd.read_csv(source, dtype=str, keep_default_na=False)
        except UnicodeDecodeError as exc:
            raise DataError("the file is not UTF-8 text", file=name, fix="save it as UTF-8 CSV") from exc
    missing = [c for c in TOTALS_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", file=name, row=1,
                        fix=f"the header must be {','.join(TOTALS_COLUMNS)}")
    df = raw[list(TOTALS_COLUMNS)].copy()
    for c in ("level", "region", "tec", "field"):
        df[c] = df[c].fillna("").astype(str).str.strip()
    df["level"] = df["level"].str.lower()
    rows = pd.Series(np.arange(len(df)) + 2, index=df.index)  # as a spreadsheet numbers them

    def fail(mask, column, problem, fix):
        if mask.any():
            first = mask.to_numpy().nonzero()[0][0]
            raise DataError(f"{problem} (and {int(mask.sum()) - 1} more row(s))" if mask.sum() > 1 else problem,
                            file=name, row=int(rows.iloc[first]), column=column, fix=fix)

    fail(~df["level"].isin(LEVELS), "level", "unknown level", f"use one of {', '.join(LEVELS)}")
    fail(df["level"].isin(["region", "tec"]) & (df["region"] == ""), "region", "region is blank",
         "name the region for region and tec lines")
    fail((df["level"] == "tec") & (df["tec"] == ""), "tec", "tec is blank", "name the TEC for tec lines")
    fail(df["field"] == "", "field", "field is blank", "give a protocol field or a party name")
    value = pd.to_numeric(df["value"].astype(str).str.replace(r"[\s,]", "", regex=True), errors="coerce")
    fail(value.isna() | (value != value.round()), "value", "value is not a whole number",
         "write counts as whole numbers without decimals")
    df["value"] = value.astype("int64")
    # region lines carry no TEC; the nation line neither
    df.loc[df["level"] != "tec", "tec"] = ""
    df.loc[df["level"] == "nation", "region"] = ""
    fail(df.duplicated(_KEYS, keep="first"), "field", "the same figure is given twice",
         "keep one line per level, area and field")
    return df.reset_index(drop=True)


def compare_totals(election, published) -> pd.DataFrame:
    """Published totals beside the sums of the protocols, per line and party.

    Columns: ``level, region, tec, field, published, computed, difference``
    (published − computed, in ballots or votes), ``stations``,
    ``unpublished`` and ``status`` ("match", "differs", "no such area",
    "field not in the protocols").
    """
    e = as_election(election)
    pub = read_totals(published)
    known = set(_count_columns(e))
    levels = tuple(lv for lv in LEVELS if lv in set(pub["level"]))
    ours = tabulate(e, levels) if levels else pd.DataFrame(columns=list(TOTALS_COLUMNS) + ["stations", "unpublished"])
    merged = pub.rename(columns={"value": "published"}).merge(
        ours.rename(columns={"value": "computed"}), on=_KEYS, how="left")
    merged["difference"] = merged["published"] - merged["computed"]
    areas = ours[_KEYS[:3]].drop_duplicates().assign(_area=True)
    area_known = merged[_KEYS[:3]].merge(areas, on=_KEYS[:3], how="left")["_area"].notna().to_numpy()
    merged["status"] = np.select(
        [~merged["field"].isin(known), ~area_known, merged["difference"] == 0],
        ["field not in the protocols", "no such area", "match"], "differs")
    for c in ("stations", "unpublished"):
        merged[c] = merged[c].fillna(0).astype("int64")
    return merged[["level", "region", "tec", "field", "published", "computed", "difference",
                   "stations", "unpublished", "status"]]


def percentages(election, base=None, decimals=2) -> pd.DataFrame:
    """National party results as the commission reports them.

    ``base`` is "valid" (share of valid votes) or "cast" (share of all
    ballots cast, valid + invalid); by default ``meta["percent_base"]``, else
    "valid".  Percentages are rounded to ``decimals`` places, as published.
    """
    e = as_election(election)
    base = base or e.percent_base
    if base not in ("valid", "cast"):
        raise ValueError("base must be 'valid' or 'cast'")
    pub = e.published
    votes = e.table.loc[pub, list(e.parties)].sum()
    denom = float(e.ballots(base)[pub].sum())
    out = pd.DataFrame({"party": votes.index, "votes": votes.to_numpy().astype("int64"),
                        "percent": (100 * votes.to_numpy() / denom).round(decimals)})
    out.attrs["base"] = base
    out.attrs["denominator"] = denom
    return out
