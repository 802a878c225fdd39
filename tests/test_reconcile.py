"""Reconciliation rules: formulas, tolerances, not-checkable reporting, simulated fraud, CLI."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forensics.model import Election
from forensics.reconcile import RULES, RULESETS, Findings, Rule, Tolerance, reconcile, rule_table, ruleset
from forensics.reconcile.rules import parse_formula
from forensics.simulate import simulate

PARTIES = ("P1", "P2", "P3")


def protocol(**changes) -> dict:
    """One consistent protocol (every relation holds), with some lines changed."""
    row = dict(region="R", tec="T", pec="1", registered=1000, registered_added=10, signatures=600,
               ballots_received=1000, ballots_issued_early=20, ballots_issued_inside=500,
               ballots_issued_outside=80, ballots_cancelled=400, ballots_lost=0, ballots_unaccounted=0,
               ballots_found_mobile=100, ballots_found_stationary=500, invalid=10, valid=590,
               P1=300, P2=200, P3=90)
    row.update(changes)
    return row


def election(*rows, ruleset_name="generic", **table_extra) -> Election:
    rows = rows or (protocol(),)
    t = pd.DataFrame([dict(r, pec=str(i + 1)) for i, r in enumerate(rows)])
    for k, v in table_extra.items():
        t[k] = v
    return Election(table=t, parties=PARTIES, meta={"ruleset": ruleset_name})


def codes(findings: Findings, pec="1") -> set[str]:
    t = findings.table
    return set(t.loc[t["pec"] == pec, "code"].str.split("-").str[0])


# -- the rules as data ----------------------------------------------------------------
def test_every_rule_is_data_with_a_unique_code_and_explanation():
    table = rule_table()
    assert table["code"].is_unique and len(table) == len(RULES) >= 22
    assert table["explanation"].str.len().min() > 40
    assert set(table["severity"]) == {"error", "warning"}
    assert parse_formula("a + b? - 3 <= c")[1] == "<="
    with pytest.raises(ValueError):
        Rule("X", "error", "a + b", "no comparison")
    with pytest.raises(ValueError):
        Rule("X", "fatal", "a == b", "bad severity")


def test_rulesets_make_legal_relations_errors_and_the_rest_warnings():
    ru = {r.code: r.severity for r in ruleset("ru_2018")}
    assert ru["R02-BALLOT-BALANCE"] == "error"
    assert ru["R08-FOUND-LE-ISSUED"] == "warning"  # not a control relation on the Russian form
    assert {r.code: r.severity for r in ruleset("generic")}["R08-FOUND-LE-ISSUED"] == "error"
    assert {r.code: r.severity for r in ruleset("ru_2011")}["R07-ABSENTEE-BALANCE"] == "error"
    assert ru["R07-ABSENTEE-BALANCE"] == "warning"
    for name in RULESETS:
        assert all(r.severity == ("error" if r.code in RULESETS[name] else "warning") for r in ruleset(name))
    with pytest.raises(KeyError):
        ruleset("atlantis")


def test_a_consistent_protocol_passes_every_rule():
    f = reconcile(election())
    assert f.table.empty
    assert "Errors (the protocol cannot be right): none." in f.summary()


@pytest.mark.parametrize("changes, code, difference", [
    (dict(registered=500, registered_added=0), "R01", 100),
    (dict(ballots_received=1003), "R02", 3),
    (dict(invalid=12), "R03", -2),  # found 600, valid + invalid 602
    (dict(P1=310), "R04", -10),
    (dict(ballots_found_mobile=123, valid=613, P1=323), "R08", 23),
    (dict(ballots_found_mobile=110, ballots_found_stationary=490), "R09", 10),
    (dict(ballots_found_mobile=70, ballots_found_stationary=530), "R10", 10),
    (dict(ballots_found_stationary=480, valid=570, P1=280), "R11", -20),
    (dict(registered=600, registered_added=0), "R13", 0),
    (dict(signatures=610), "R14", 10),
    (dict(signatures=590), "R15", 10),
    (dict(ballots_lost=2, ballots_cancelled=398), "R17", 2),
    (dict(ballots_unaccounted=4, ballots_cancelled=404), "R18", 4),
    (dict(invalid=18, valid=582, P1=292), "R19", 18),
    (dict(registered_added=150), "R20", 150),
])
def test_each_rule_finds_its_break_with_the_ballots_involved(changes, code, difference):
    f = reconcile(election(protocol(**changes)))
    hit = f.table[f.table["code"].str.startswith(code)]
    assert len(hit) == 1, f.table
    assert hit["difference"].iloc[0] == difference
    assert hit["message"].iloc[0]


def test_messages_are_plain_and_specific():
    f = reconcile(election(protocol(ballots_found_mobile=123, valid=613, P1=323)))
    msg = f.table.set_index("code").loc["R08-FOUND-LE-ISSUED", "message"]
    assert msg == "23 more ballots in the boxes (623) than were issued (600)"
    f = reconcile(election(protocol(ballots_found_mobile=101, valid=591, P1=301)))
    assert f.table.set_index("code").loc["R08-FOUND-LE-ISSUED", "message"].startswith("1 more ballot in")
    f = reconcile(election(protocol(ballots_lost=3, ballots_cancelled=397)))
    assert f.table.set_index("code").loc["R17-LOST-BALLOTS", "message"] == "3 ballots lost"


def test_tolerances_follow_the_configured_limits():
    # R11 reports a gap of 15 ballots or 2% of ballots issued, whichever comes first
    def gap_found(gap, issued_inside=500, **tol):
        row = protocol(ballots_issued_inside=issued_inside, signatures=issued_inside + 100,
                       ballots_cancelled=900 - issued_inside - 0,
                       ballots_found_stationary=issued_inside - gap, valid=590 + issued_inside - 500 - gap,
                       P1=300 + issued_inside - 500 - gap)
        return "R11" in codes(reconcile(election(row), **tol))

    assert not gap_found(11)  # 11 < 15 and 11 / 600 < 2%
    assert gap_found(12)  # 12 / 600 = 2%
    assert gap_found(15, issued_inside=1400 - 500)  # 15 ballots, 1.5% of 1000
    assert not gap_found(14, issued_inside=1400 - 500)
    assert not gap_found(12, gap_share=0.05)
    assert gap_found(5, gap_ballots=5)
    assert gap_found(5, R11=Tolerance(absolute=3))
    # invalid share: 3% by default, configurable
    row = protocol(invalid=15, valid=585, P1=295)  # 2.5% of 600
    assert "R19" not in codes(reconcile(election(row)))
    assert "R19" in codes(reconcile(election(row), invalid_share=0.02))
    with pytest.raises(TypeError, match="unknown tolerance"):
        reconcile(election(), invalid_shares=0.02)


def test_missing_fields_make_a_rule_not_checkable_with_the_fields_listed():
    e = election()
    e = e.with_table(e.table.drop(columns=["ballots_received", "signatures"]))
    f = reconcile(e)
    nc = f.not_checkable.set_index("code")
    assert nc.loc["R02-BALLOT-BALANCE", "missing"] == "ballots_received"
    assert nc.loc["R14-SIGNATURES-EQ-ISSUED", "missing"] == "signatures"
    rules = f.by_rule()
    assert not rules.loc["R02-BALLOT-BALANCE", "checkable"] and rules.loc["R03-FOUND-EQ-VALID-INVALID", "checkable"]
    assert "R02 (needs ballots_received)" in f.summary()
    # optional terms count as 0 when absent: the balance still holds without lost/unaccounted lines
    e2 = election()
    assert reconcile(e2.with_table(e2.table.drop(columns=["ballots_lost", "ballots_unaccounted"]))).table.empty


def test_unpublished_and_blank_stations_are_listed_not_skipped():
    rows = [protocol(), protocol(invalid=np.nan), {**{k: np.nan for k in protocol()}, "region": "R", "tec": "T"}]
    e = election(*rows, unpublished=[False, False, True])
    f = reconcile(e)
    assert f.table.empty  # blanks are not findings
    nc = f.not_checkable
    assert nc.loc[nc["code"] == "ALL", "pec"].tolist() == ["3"]
    blank = nc[(nc["pec"] == "2") & (nc["code"] == "R03-FOUND-EQ-VALID-INVALID")]
    assert blank["missing"].tolist() == ["invalid"] and "blank" in blank["reason"].iloc[0]
    assert "1 station never had its figures published" in f.summary()


def test_list_rules_do_not_apply_where_a_station_has_no_list_and_say_so():
    # an advance poll publishes 0 voters on the list; beside it, a station with a list and too many ballots,
    # and one whose list line and one other line are blank (results blocks differ: no copied protocols)
    no_list = protocol(registered=0, registered_added=0)
    over = protocol(registered=550, P1=299, P2=201)
    blank = protocol(registered=np.nan, invalid=np.nan, P1=298, P2=202)
    f = reconcile(election(no_list, over, blank))
    assert codes(f, "1") == set()
    assert {"R01", "R12"} <= codes(f, "2")
    nc = f.not_checkable
    list_rules = {"R01-ISSUED-LE-REGISTERED", "R12-TURNOUT-LE-100", "R13-TURNOUT-EXACTLY-100"}
    outside = nc[(nc["pec"] == "1") & nc["code"].isin(list_rules)]
    assert set(outside["code"]) == list_rules
    assert (outside["reason"] == "the rule applies only where registered >= 1").all()
    left_blank = nc[(nc["pec"] == "3") & (nc["code"] == "R03-FOUND-EQ-VALID-INVALID")]
    assert left_blank["missing"].tolist() == ["invalid"] and "blank" in left_blank["reason"].iloc[0]
    assert nc.loc[(nc["pec"] == "3") & (nc["code"] == "R12-TURNOUT-LE-100"), "missing"].tolist() == ["invalid, registered"]
    assert f.by_rule().loc["R12-TURNOUT-LE-100", "stations_not_checked"] == 2


def test_custom_rules_and_ruleset_choice():
    rule = Rule("X01-SMALL", "error", "valid <= 500", "Valid ballots above 500.",
                ("{n} valid ballots too many", ""))
    f = reconcile(election(), rules=[rule])
    assert f.table["message"].tolist() == ["90 valid ballots too many"] and f.ruleset == "custom"
    row = protocol(ballots_found_mobile=123, valid=613, P1=323)
    assert reconcile(election(row, ruleset_name="ru_2018")).errors.empty
    assert not reconcile(election(row, ruleset_name="generic")).errors.empty
    assert not reconcile(election(row, ruleset_name="ru_2018"), rules="generic").errors.empty


def test_copied_protocols_are_found_and_small_ones_ignored():
    e = simulate(n_pec=600, rng=5)
    assert not reconcile(e).table["code"].str.startswith("R21").any()
    t = e.table.copy()
    block = ["ballots_found_mobile", "ballots_found_stationary", "invalid", "valid", *e.parties]
    big = t.index[(t["valid"] > 300) & ((t[list(e.parties)] > 0).sum(axis=1) >= 3)]
    src = big[0]
    same_tec = big[(t.loc[big, "region"] == t.loc[src, "region"]) & (t.loc[big, "tec"] == t.loc[src, "tec"])]
    dst, far = same_tec[-1], big[t.loc[big, "region"] != t.loc[src, "region"]][0]
    t.loc[dst, block] = t.loc[src, block].to_numpy()
    t.loc[far, block] = t.loc[src, block].to_numpy()  # the same block in another region
    f = reconcile(e.with_table(t))
    hit = f.table[f.table["code"] == "R21-COPIED-PROTOCOL"]
    assert sorted(hit.index) == sorted([src, dst])  # within the TEC, as a commission copies
    assert hit["observed"].tolist() == [1, 1]
    assert f"PEC {t.loc[dst, 'pec']}" in hit["message"].iloc[0]
    everywhere = reconcile(e.with_table(t), copy_within="nation").table
    assert sorted(everywhere.index[everywhere["code"] == "R21-COPIED-PROTOCOL"]) == sorted([src, dst, far])
    with pytest.raises(ValueError, match="copy_within must be one of"):
        reconcile(e, copy_within="district")
    # tiny stations are not compared, and are listed as such
    small = f.not_checkable[f.not_checkable["code"] == "R21-COPIED-PROTOCOL"]
    cast = t["valid"] + t["invalid"]
    assert set(t.index[cast < 50]) <= set(small.index)


# -- simulated elections with known truth ------------------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("rules", ["generic", "ru_2018", "kz"])
def test_clean_simulations_give_zero_errors(seed, rules):
    e = simulate(n_pec=3000, rng=seed)
    f = reconcile(e, rules=rules)
    assert f.errors.empty, f.errors.head()
    assert f.by_rule().loc["R02-BALLOT-BALANCE", "checkable"]


def test_arithmetic_fraud_is_found_at_the_right_stations_with_its_ballots():
    e = simulate(n_pec=6000, rng=11, fraud={"stuffing": {"fraction": 0.08, "signatures": False},
                                            "drawn": {"fraction": 0.04}})
    t = e.table
    f = reconcile(e)
    flagged = f.flagged(severity="error")
    stuffed = t.index[t["true_stuffed"] > 0]
    drawn = t.index[t["true_drawn"].astype(bool)]
    assert len(stuffed) > 300 and len(drawn) > 150
    assert np.isin(stuffed, flagged).mean() >= 0.99
    assert np.isin(drawn, flagged).mean() >= 0.99
    assert not np.isin(t.index[t["true_fraud"] == ""], flagged).any()  # no false errors
    # the ballots counted by R08 are the ballots stuffed
    only = t.index[(t["true_stuffed"] > 0) & ~t["true_drawn"].astype(bool)]
    r08 = f.table[f.table["code"] == "R08-FOUND-LE-ISSUED"]["difference"]
    assert (r08.reindex(only) == t.loc[only, "true_stuffed"]).all()
    by_area = f.by_area("region")
    assert by_area["error_stations"].sum() == len(flagged)


def test_stuffing_with_signatures_is_invisible_to_arithmetic():
    e = simulate(n_pec=2000, rng=4, fraud={"stuffing": {"fraction": 0.1, "signatures": True}})
    assert reconcile(e).errors.empty


def test_findings_tables_have_the_documented_columns():
    e = simulate(n_pec=500, rng=3, fraud={"drawn": {"fraction": 0.05}})
    f = reconcile(e)
    assert list(f.table.columns) == ["region", "tec", "pec", "code", "severity", "observed", "expected",
                                     "difference", "message"]
    rules = f.by_rule()
    assert {"severity", "checkable", "stations", "ballots", "explanation"} <= set(rules.columns)
    assert rules["stations"].sum() == len(f.table)
    area = f.by_area("tec")
    assert area["stations"].sum() == len(e.table)
    assert len(f.rules) == len(RULES)


def test_cli_writes_findings_and_summary(tmp_path, capsys):
    from forensics.cli import main

    e = simulate(n_pec=400, rng=8, fraud={"drawn": {"fraction": 0.05}})
    src = tmp_path / "results.csv"
    e.table[[c for c in e.table.columns if not c.startswith("true_")]].to_csv(src, index=False)
    out = tmp_path / "out"
    assert main(["reconcile", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "polling stations" in printed and "Errors" in printed
    findings = pd.read_csv(out / "findings.csv")
    expected = reconcile(e).table
    assert len(findings) == len(expected)
    assert (out / "summary.txt").read_text(encoding="utf-8").startswith("Checked 400 polling stations")


def test_cli_compares_published_totals_and_refuses_a_bad_file(tmp_path, capsys):
    from forensics.cli import main
    from forensics.reconcile import tabulate

    e = simulate(n_pec=300, rng=9)
    src = tmp_path / "results.csv"
    e.table[[c for c in e.table.columns if not c.startswith("true_")]].to_csv(src, index=False)
    totals = tabulate(e, levels=("region", "nation"))
    totals.loc[(totals["level"] == "nation") & (totals["field"] == "valid"), "value"] += 40
    totals.to_csv(tmp_path / "totals.csv", index=False)
    out = tmp_path / "out"
    assert main(["reconcile", str(src), "--published", str(tmp_path / "totals.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 differ from the sum of the polling-station protocols" in printed
    findings = pd.read_csv(out / "findings.csv")
    r22 = findings[findings["code"] == "R22-PUBLISHED-TOTALS"]
    assert r22["difference"].tolist() == [40.0] and r22["station"].tolist() == [-1]
    (tmp_path / "bad.csv").write_text("level,region,tec,field,value\nplanet,,,valid,1\n", encoding="utf-8")
    assert main(["reconcile", str(src), "--published", str(tmp_path / "bad.csv"), "--out", str(out)]) == 2
    assert "row 2" in capsys.readouterr().err


def test_forensics_reconcile_works_as_function_and_package():
    import forensics
    import forensics.reconcile as package

    e = simulate(n_pec=100, rng=1)
    assert len(package(e).table) == len(forensics.reconcile(e).table) == len(reconcile(e).table)
    assert forensics.allocate_seats({"A": 2, "B": 1}, 3) == {"A": 2, "B": 1}
    assert forensics.tabulate(e, "nation")["level"].eq("nation").all()


def test_carousel_voters_added_on_election_day_are_warned_about():
    e = simulate(n_pec=3000, rng=3, fraud={"carousel": {"fraction": 0.1, "intensity": 0.2}})
    t = e.table
    f = reconcile(e)
    assert f.errors.empty  # every identity holds: arithmetic alone cannot call it an error
    flagged = f.flagged("R20")
    carousel = t.index[t["true_carousel"] > 0]
    assert np.isin(carousel, flagged).mean() >= 0.95
    assert np.isin(t.index[t["true_fraud"] == ""], flagged).mean() <= 0.01
