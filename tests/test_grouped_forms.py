"""Grouped forms of the digit and fingerprint tests: every group in one call, each result as if tested alone."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forensics.levels import group_positions
from forensics.simulate import simulate
from forensics.stats.digits import digit_pairs_test, last_digit_test, second_digit_test
from forensics.stats.fingerprints import fingerprint


@pytest.fixture(scope="module")
def election():
    """Regions of different sizes (one tiny, so the Monte Carlo branches run), unpublished rows."""
    e = simulate(n_pec=1500, n_regions=5, rng=11, unpublished=0.05)
    t = e.table.copy()
    tiny = t.index[t["region"] == t["region"].iloc[0]][3:]
    other = t["region"] == t["region"].iloc[-1]  # a region with another leader
    t.loc[other, [e.parties[0], e.parties[1]]] = t.loc[other, [e.parties[1], e.parties[0]]].to_numpy()
    return e.with_table(t.drop(index=tiny))


def _same(got, alone):
    assert (got.name, got.party, got.n_used, got.method, got.alternative, got.explanation) == \
        (alone.name, alone.party, alone.n_used, alone.method, alone.alternative, alone.explanation)
    for field in ("statistic", "pvalue", "expected"):
        a, b = getattr(got, field), getattr(alone, field)
        assert a == b or (a != a and b != b), field  # equal, or both NaN
    assert got.ci == alone.ci
    assert got.excluded == alone.excluded and got.excluded_rows.equals(alone.excluded_rows)
    assert got.details.keys() == alone.details.keys()
    for key, value in got.details.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, alone.details[key])
        else:
            assert value == alone.details[key] or (value != value and alone.details[key] != alone.details[key])


CASES = [
    (last_digit_test, {}),
    (last_digit_test, {"null": "uniform", "min_count": 5, "n_sim": 500}),
    (second_digit_test, {"n_sim": 500}),
    (digit_pairs_test, {"kind": "repeated"}),
    (digit_pairs_test, {"kind": "adjacent", "wrap_adjacent": False}),
    (digit_pairs_test, {"kind": "non-adjacent", "columns": ["registered"]}),
    (fingerprint, {}),
    (fingerprint, {"bin_width": 0.005, "weights": "voters", "turnout": "cast"}),
]


@pytest.mark.parametrize("test, call", CASES)
def test_grouped_equals_group_by_group(election, test, call):
    positions = group_positions(election, "region")
    assert min(len(p) for p in positions.values()) < 10
    rngs = {g: np.random.default_rng([3, k]) for k, g in enumerate(positions)}
    together = test.grouped(election, positions, rngs, **call)
    assert list(together) == list(positions)
    if test is fingerprint:
        assert len({r.party for r in together.values()}) == 2
    for k, (group, rows) in enumerate(positions.items()):
        extra = {"rng": np.random.default_rng([3, k])} if "rng" in test.parameters else {}
        _same(together[group], test(election.with_table(election.table.iloc[rows]), **call, **extra))


def test_grouped_form_names_an_unknown_keyword(election):
    positions = group_positions(election, "region")
    with pytest.raises(TypeError, match="last_digit_test"):
        last_digit_test.grouped(election, positions, {}, no_such_option=1)


def test_a_groups_reading_holds_its_own_rows(election):
    from forensics.stats.digits import _Counts

    reading = _Counts(election, None)
    for rows in group_positions(election, "region").values():
        part, alone = reading.take(rows), _Counts(election.with_table(election.table.iloc[rows]), None)
        np.testing.assert_array_equal(part.raw, alone.raw)
        assert part.election.table.equals(alone.election.table) and part.keep.equals(alone.keep)
