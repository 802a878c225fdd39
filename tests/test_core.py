"""The shared core: Election's derived quantities, exclusions, levels, rng, CLI errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forensics.errors import DataError
from forensics.exclusions import Exclusions
from forensics.levels import NATIONAL, adjust, by_level, results_table
from forensics.model import Election, as_election
from forensics.random import ensure_rng
from forensics.stats.result import TestResult


def small_election() -> Election:
    table = pd.DataFrame(
        {
            "region": ["A", "A", "B", "B"],
            "tec": ["1", "1", "2", "2"],
            "pec": ["1", "2", "3", "4"],
            "registered": [100, 200, 0, 50],
            "ballots_issued_early": [1, 0, 0, np.nan],
            "ballots_issued_inside": [50, 100, 0, np.nan],
            "ballots_issued_outside": [4, 10, 0, np.nan],
            "invalid": [1, 2, 0, np.nan],
            "valid": [54, 108, 0, np.nan],
            "P1": [30, 100, 0, np.nan],
            "P2": [24, 8, 0, np.nan],
            "unpublished": [False, False, False, True],
        }
    )
    return Election(table=table, parties=("P1", "P2"))


def test_derived_quantities():
    e = small_election()
    assert e.ballots_issued().tolist()[:3] == [55, 110, 0]
    assert e.ballots_cast().tolist()[:3] == [55, 110, 0]
    turnout = e.turnout()
    assert turnout.iloc[0] == pytest.approx(0.55)
    assert np.isnan(turnout.iloc[2])  # zero registered: undefined, not infinite
    assert e.leader == "P1"
    assert e.published.tolist() == [True, True, True, False]
    assert e.totals()["P1"] == 130
    assert set(e.fields) >= {"registered", "valid", "invalid"}


def test_as_election_infers_parties_from_a_frame():
    e = as_election(small_election().table.drop(columns="unpublished"))
    assert e.parties == ("P1", "P2")
    with pytest.raises(TypeError):
        as_election([1, 2])


def test_exclusions_charge_each_row_to_its_first_reason():
    e = small_election()
    ex = Exclusions.for_election(e).require(e.table["registered"] > 0, "no registered voters")
    assert ex.counts == {"figures not published": 1, "no registered voters": 1}
    assert ex.n_used == 2
    assert ex.rows.to_dict() == {2: "no registered voters", 3: "figures not published"}


def test_exclusions_align_by_label_and_parts_filter_on_their_own():
    """A Series condition is read by label (missing as False); counts follow the rows' order; a part's
    filters change nothing in the whole; ``keep`` and ``reasons`` can be set from Series."""
    index = pd.Index([30, 10, 20, 40])
    ex = Exclusions(index)
    ex.require(pd.Series([True, False, True], index=[40, 20, 10]), "shuffled")  # 30 missing: False
    ex.require(pd.array([True, None, True, True], dtype="boolean"), "nullable")
    assert ex.rows.to_dict() == {30: "shuffled", 10: "nullable", 20: "shuffled"}
    assert list(ex.counts.items()) == [("shuffled", 2), ("nullable", 1)]
    assert ex.keep.tolist() == [False, False, False, True] and ex.n_used == 1
    part = ex.take(slice(2, 4))
    part.require(np.array([True, False]), "in the part")
    assert part.counts == {"shuffled": 1, "in the part": 1} and part.n_used == 0
    assert ex.counts == {"shuffled": 2, "nullable": 1} and ex.n_used == 1
    rebuilt = Exclusions(index[[1, 0]])
    rebuilt.keep, rebuilt.reasons = ex.keep.iloc[[1, 0]], ex.reasons.iloc[[1, 0]]
    assert list(rebuilt.counts.items()) == [("nullable", 1), ("shuffled", 1)]
    assert rebuilt.rows.to_dict() == {10: "nullable", 30: "shuffled"} and rebuilt.reasons.dtype == object


def _share_test(sub: Election) -> TestResult:
    votes = sub.table[["P1", "P2"]].sum().sum()
    share = sub.table["P1"].sum() / votes if votes else np.nan
    return TestResult(name="share", statistic=float(share), pvalue=float(share), n_used=len(sub))


def test_by_level_runs_one_code_path_and_adjusts():
    e = small_election()
    national = by_level(e, _share_test)
    assert list(national) == [NATIONAL]
    regional = by_level(e, _share_test, level="region", min_stations=2)
    assert set(regional) == {"A", "B"}
    table = results_table(regional, level="region")
    assert list(table["group"]) == ["A", "B"]
    tested = table.dropna(subset=["pvalue"])
    assert len(tested) == 1  # region B has no votes: its p-value stays missing, not invented
    assert (tested["pvalue_adj"] >= tested["pvalue"] - 1e-12).all()
    assert table["family"].str.contains("across region groups").all()


def test_by_level_reports_small_groups_instead_of_dropping_them():
    e = small_election()
    out = by_level(e, _share_test, level="region", min_stations=3)
    assert all(isinstance(v, str) and "too few" in v for v in out.values())
    table = results_table(out, level="region")
    assert table["note"].str.contains("too few").all()


def test_adjust_matches_hand_computed_bh():
    p = [0.01, 0.04, np.nan, 0.03]
    adj = adjust(p)
    # BH on (0.01, 0.04, 0.03): sorted 0.01, 0.03, 0.04 -> 0.03, 0.04, 0.04
    assert adj[0] == pytest.approx(0.03)
    assert adj[1] == pytest.approx(0.04)
    assert np.isnan(adj[2])
    assert adj[3] == pytest.approx(0.04)


def test_ensure_rng():
    g = np.random.default_rng(1)
    assert ensure_rng(g) is g
    assert ensure_rng(5).integers(1000) == np.random.default_rng(5).integers(1000)
    with pytest.raises(TypeError):
        ensure_rng("seed")


def test_data_error_names_file_row_column_and_fix():
    err = DataError("text in a count column", file="x.csv", row=7, column="valid", fix="replace it by a number")
    text = str(err)
    assert "x.csv" in text and "row 7" in text and "'valid'" in text and "Fix: replace it by a number." in text


def test_result_summary_and_row():
    r = TestResult(name="t", statistic=2.0, pvalue=0.5, ci=(1.0, 3.0), n_used=4, excluded={"x": 2})
    assert r.n_excluded == 2
    row = r.to_row()
    assert row["ci_low"] == 1.0 and row["n_excluded"] == 2
    assert "excluded (x): 2" in r.summary()


def test_cli_help_and_bad_input_exit_code(tmp_path, capsys):
    from forensics.cli import main

    assert main([]) == 0
    bad = tmp_path / "missing.csv"
    code = main(["load", str(bad)]) if _has_command("load") else 2
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


def _has_command(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"forensics.cli.{name}") is not None


def test_exclusions_split_into_parts_equal_each_part_filtered_alone():
    rng = np.random.default_rng(4)
    index = pd.Index([f"s{i}" for i in range(500)])
    ex = Exclusions(index)
    for reason in ("missing counts", "too small", "turnout above 100%"):
        ex.require(rng.random(500) > 0.15, reason)
    order = rng.permutation(500)
    parts = [order[:0], order[:120], order[120:121], order[121:400], np.sort(order[400:])]
    for part, got in zip(parts, ex.split(parts)):
        alone = ex.take(part)
        assert got.n_used == alone.n_used and got.counts == alone.counts
        assert list(got.counts) == list(alone.counts)  # in the order the reasons first appear
        pd.testing.assert_series_equal(got.rows, alone.rows)


def test_small_frames_equal_pandas_own_with_labels_made_once():
    from forensics.stats._core.frames import columns, frame

    cases = [
        {"digit": np.arange(3), "observed": np.array([4, 5, 6]), "share": [0.1, 0.2, 0.7], "note": "x",
         "pvalue": np.nan},
        {"a": np.array([], dtype=float), "b": np.array([], dtype=np.int64)},
        {"a": 1.0, "b": "x"},  # scalars only: pandas' own error
        {"a": pd.Series([1.0, 2.0], index=[5, 7]), "b": [3, 4]},  # labelled values: pandas aligns them
    ]
    for data in cases:
        try:
            expected = pd.DataFrame(data)
        except ValueError:
            with pytest.raises(ValueError):
                frame(data)
            continue
        pd.testing.assert_frame_equal(frame(data), expected, check_exact=True)
    first, second = frame(cases[0]), frame(cases[0])
    assert first.columns is second.columns is columns(tuple(cases[0]))
