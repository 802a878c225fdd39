"""Reconciliation on the official Russian CEC files (../shared/data).

The CEC's system refuses protocols that break a legal control relation, so
every error found here would be a parsing bug.  The warning checks find the
few stations the law lets through; their counts are asserted exactly (and
quoted in the README), and recomputed independently with
plain pandas from the canonical columns.
"""
from __future__ import annotations

import pytest

from forensics.reconcile import RULESETS, reconcile

pytestmark = pytest.mark.shared

# stations flagged per rule: found > issued, lost ballots, unaccounted ballots,
# turnout exactly 100%, turnout above 100%, mobile / stationary boxes over their ballots
EXPECTED = {
    "ru2011": {"R08": 18, "R17": 443, "R18": 28, "R13": 3595, "R12": 0, "R09": 10, "R10": 18, "R21": 2},
    "ru2012": {"R08": 13, "R17": 205, "R18": 24, "R13": 3261, "R12": 0, "R09": 24, "R10": 11, "R21": 2},
    "ru2018": {"R08": 6, "R17": 350, "R18": 46, "R13": 2510, "R12": 0, "R09": 26, "R10": 3, "R21": 5},
}
#: ballots involved: found − issued summed over R08 stations, lost ballots summed over R17
BALLOTS = {"ru2011": {"R08": 247, "R17": 2842}, "ru2012": {"R08": 30, "R17": 730},
           "ru2018": {"R08": 8, "R17": 1050}}


def independent_counts(e) -> dict:
    """The same checks written directly in pandas, without the rule engine."""
    t = e.table
    issued = t["ballots_issued_early"] + t["ballots_issued_inside"] + t["ballots_issued_outside"]
    found = t["ballots_found_mobile"] + t["ballots_found_stationary"]
    cast = t["valid"] + t["invalid"]
    return {
        "R08": int((found > issued).sum()),
        "R17": int((t["ballots_lost"] > 0).sum()),
        "R18": int((t["ballots_unaccounted"] > 0).sum()),
        "R13": int(((cast == t["registered"]) & (t["registered"] > 0)).sum()),
        "R12": int((cast > t["registered"]).sum()),
        "R09": int((t["ballots_found_mobile"] > t["ballots_issued_outside"] + t["ballots_issued_early"]).sum()),
        "R10": int((t["ballots_found_stationary"] > t["ballots_issued_inside"] + t["ballots_issued_early"]).sum()),
    }


@pytest.mark.parametrize("name, ruleset_name", [("ru2011", "ru_2011"), ("ru2012", "ru_2011"), ("ru2018", "ru_2018")])
def test_official_protocols_satisfy_every_legal_control_relation(name, ruleset_name, request):
    e = request.getfixturevalue(name)
    assert e.meta["ruleset"] == ruleset_name
    f = reconcile(e)
    rules = f.by_rule()
    legal = sorted(RULESETS[ruleset_name] - {"R22-PUBLISHED-TOTALS"})
    assert rules.loc[legal, "checkable"].all(), rules.loc[legal, "missing"]
    # every station is checked, but R01 (issued <= on the list) where nobody is on the list: empty stations
    no_list = int((e.table["registered"] == 0).sum())
    assert rules.loc[legal, "stations_not_checked"].to_dict() == {
        code: no_list if code == "R01-ISSUED-LE-REGISTERED" else 0 for code in legal}
    assert f.errors.empty, f.errors.head(10).to_string()
    # the warning checks: exact counts, matching a direct pandas computation
    found = {code: int((f.table["code"].str.split("-").str[0] == code).sum()) for code in EXPECTED[name]}
    assert found == EXPECTED[name]
    direct = independent_counts(e)
    assert {k: found[k] for k in direct} == direct
    for code, ballots in BALLOTS[name].items():
        assert rules.loc[rules.index.str.startswith(code), "ballots"].iloc[0] == ballots
    # the plain-language message of a box-stuffing signature names the gap
    r08 = f.table[f.table["code"] == "R08-FOUND-LE-ISSUED"]
    assert r08["message"].str.contains(r"more ballots? in the boxes \(\d+\) than were issued").all()
    assert (r08["difference"] > 0).all()


def test_copied_protocols_in_2012_include_the_derbent_pair(ru2012):
    f = reconcile(ru2012)
    r21 = f.table[f.table["code"] == "R21-COPIED-PROTOCOL"]
    derbent = r21[r21["tec"].str.contains("Дербентская городская")]
    assert sorted(derbent["pec"]) == ["482", "488"]
    assert (derbent["difference"] == 1895).all() and (derbent["observed"] == 1).all()
    assert derbent["message"].iloc[0].startswith("results identical at 2 stations: PEC 482")

