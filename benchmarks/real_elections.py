"""The real elections of ``../shared/data`` as ``forensics.Election`` objects, for checks.

The Russian files of 2011, 2012 and 2018 load with the shipped profiles.  The
other files are read here with pandas and mapped onto the canonical fields by
header meaning, so the verdict checks can run on them; nothing is copied into
the repository.  ``CLEAN`` are the clean controls, ``DOCUMENTED`` the elections
with documented anomalies (Kobak, Shpilkin & Pshenichnikov; Klimek et al.).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

import forensics

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

CLEAN = ("canada_2011", "poland_2015", "germany_2024", "bulgaria_2021")
DOCUMENTED = ("russia_2004", "russia_2007", "russia_2008", "russia_2011", "russia_2012", "russia_2016",
              "russia_2018", "russia_2020")

#: Russian protocol lines, matched on the start of the header (2004-2020 wordings)
_RU_LINES = (
    ("registered", r"^Число (избирателей|участников голосования), (внесенных|включенных) в спис"),
    ("ballots_received", r"^Число (полученных избирательных бюллетеней|избирательных бюллетеней, полученных)"),
    ("ballots_issued_early", r"^Число избирательных бюллетеней, выданных .*досрочно"),
    ("ballots_issued_inside", r"^Число избирательных бюллетеней, выданных (избирателям )?(в помещени|в день)"),
    ("ballots_issued_outside", r"^Число избирательных бюллетеней, выданных (избирателям )?вне помещени"),
    ("ballots_issued", r"^Число бюллетеней, выданных участникам"),
    ("ballots_cancelled", r"^Число погашенных избирательных"),
    ("ballots_found_mobile", r"^Число избирательных бюллетеней,? (содержащихся )?в переносных"),
    ("ballots_found_stationary", r"^Число (избирательных )?бюллетеней,? (содержащихся )?в стационарных"),
    ("ballots_found", r"^Число бюллетеней, содержащихся в ящиках"),
    ("invalid", r"^Число недействительных"),
    ("valid", r"^Число действительных"),
    ("ballots_lost", r"^Число утраченных избирательных"),
    ("ballots_unaccounted", r"^Число (избирательных бюллетеней, не учтенных|не учтенных при получении избирательных)"),
)


def available(name: str) -> bool:
    return path(name).exists()


def path(name: str) -> Path:
    """The file of one election in ../shared/data."""
    files = {"canada_2011": "canada_2011_polls.csv.zip", "poland_2015": "pl_2015_pres_r2.csv.zip",
             "germany_2024": "de_2024_ep_wbz.csv.zip", "bulgaria_2021": "bg_2021_07_parl.csv.zip"}
    if name.startswith("russia_"):
        year = name[-4:]
        kind = {"2004": "president", "2007": "duma", "2008": "president", "2011": "duma", "2012": "president",
                "2016": "duma", "2018": "president", "2020": "referendum"}[year]
        return DATA / f"ru_{year}_{kind}.csv.zip"
    return DATA / files[name]


def load(name: str) -> forensics.Election:
    """One real election by name (see ``CLEAN`` and ``DOCUMENTED``)."""
    file = path(name)
    if name == "canada_2011":
        return forensics.load(file, profile="canada_2011")
    if name.startswith("russia_"):
        return _russia(file)
    return {"poland_2015": _poland, "germany_2024": _germany, "bulgaria_2021": _bulgaria}[name](file)


def _election(table: pd.DataFrame, parties, path, **meta) -> forensics.Election:
    for c in ("region", "tec", "pec"):
        table[c] = table[c].astype(str)
    table["unpublished"] = False
    return forensics.Election(table=table.reset_index(drop=True), parties=tuple(parties), profile="adhoc",
                              sources={str(path): None}, meta={"ruleset": "generic", **meta})


def _russia(path) -> forensics.Election:
    raw = pd.read_csv(path, dtype={"uik": str, "tik": str})
    table = pd.DataFrame({"region": raw["region"], "tec": raw["tik"], "pec": raw["uik"]})
    used = {"region", "tik", "uik", "oik", "name", "url"}
    for field, pattern in _RU_LINES:
        match = [c for c in raw.columns if re.search(pattern, c)]
        if match:
            table[field] = raw[match[0]]
            used.add(match[0])
    # "against all" (2004) is a choice on the ballot and part of the valid votes: kept as a column of votes
    rest = [c for c in raw.columns if c not in used and not c.startswith("Число")]
    parties = [c for c in rest if pd.api.types.is_numeric_dtype(raw[c])]
    table = pd.concat([table, raw[parties]], axis=1)
    if "valid" not in table:
        table["valid"] = raw[parties].sum(axis=1)
    return _election(table, parties, path, percent_base="cast")


def _poland(path) -> forensics.Election:
    raw = pd.read_csv(path, dtype={"teryt_gmina": str, "obwod_no": str})
    table = pd.DataFrame({"region": raw["voivodeship"], "tec": raw["teryt_gmina"], "pec": raw["obwod_no"],
                          "registered": raw["registered"],
                          # postal ballots go into the box from their envelopes: issued to voters on the list too
                          "ballots_issued": raw["ballots_issued"] + raw["postal_envelopes_into_box"],
                          "ballots_found": raw["ballots_in_box"],
                          # invalid ballot papers plus valid papers with an invalid vote
                          "invalid": raw["ballots_invalid"] + raw["votes_invalid"],
                          "valid": raw["votes_valid"], "Duda": raw["Duda"], "Komorowski": raw["Komorowski"]})
    return _election(table, ["Duda", "Komorowski"], path, percent_base="valid")


def _germany(path) -> forensics.Election:
    ids = ["station_id", "land", "regbez", "kreis", "verbandsgemeinde", "gemeinde", "wahlbezirk", "wahlbezirk_name"]
    raw = pd.read_csv(path, dtype={c: str for c in ids}, low_memory=False)
    raw = raw[raw["is_postal"] == 0]
    first = list(raw.columns).index("valid") + 1
    parties = list(raw.columns[first:list(raw.columns).index("wahlbezirk_name")])
    counts = ["registered", "voted", "invalid", "valid", *parties]
    num = raw[counts]
    gemeinde = raw["land"] + raw["regbez"] + raw["kreis"] + raw["verbandsgemeinde"] + raw["gemeinde"]
    table = pd.DataFrame({"region": raw["land"], "tec": gemeinde, "pec": raw["wahlbezirk"] + "-" + raw["station_id"]})
    table = pd.concat([table, num.rename(columns={"voted": "ballots_issued"})], axis=1)
    return _election(table, parties, path, percent_base="valid")


def _bulgaria(path) -> forensics.Election:
    raw = pd.read_csv(path, dtype={"section_id": str, "rik_code": str, "municipality_code": str, "municipality": str})
    base = [c for c in raw.columns if c + "_paper" in raw.columns]
    parties = base  # includes "none_of_these" (support no one), which has paper and machine columns too
    table = pd.DataFrame({"region": raw["rik_code"], "tec": raw["municipality_code"], "pec": raw["section_id"],
                          "registered": raw["registered_plus_onsite"], "registered_added": raw["onsite_listed_voters"],
                          "ballots_issued": raw["voted_voters"],
                          "ballots_found": raw["urn_paper_ballots"].fillna(0) + raw["urn_machine_ballots"].fillna(0),
                          "invalid": raw["invalid_paper_ballots"].fillna(0)})
    votes = raw[parties].fillna(0).astype(np.int64)
    table["valid"] = votes.sum(axis=1)
    table = pd.concat([table, votes], axis=1)
    return _election(table, parties, path, percent_base="valid")
