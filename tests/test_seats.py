"""Seat allocation: hand-worked cases for each method, ties, the Kazakh rule, Kazakhstan 2021."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.model import Election
from forensics.reconcile import allocate_seats
from forensics.reconcile.seats import election_seats

KZ_2021 = {"Nur Otan": 5_148_074, "Ak Zhol": 792_828, "People's Party of Kazakhstan": 659_019,
           "Auyl": 383_023, "Adal": 258_618}


def test_kazakhstan_2021_from_annex_i():
    # 98 seats, 7% threshold: Auyl (5.29%) and Adal (3.57%) are out.  Hare quota
    # 6,599,921 / 98 = 67,346.1: Nur Otan 76.44, Ak Zhol 11.77, PPK 9.79 -> 76 + 11 + 9 = 96;
    # the 2 seats left go to the largest remainders, PPK (.79) and Ak Zhol (.77).
    seats = allocate_seats(KZ_2021, 98, 0.07, method="hare", runner_up_min=2)
    assert seats == {"Nur Otan": 76, "Ak Zhol": 12, "People's Party of Kazakhstan": 10, "Auyl": 0, "Adal": 0}
    # same with the threshold on all ballots cast (7,539,280 voters took part), as the law words it
    assert allocate_seats(pd.Series(KZ_2021), 98, 0.07, total=7_539_280) == seats
    # D'Hondt would have given Nur Otan one more seat, at the PPK's expense
    assert allocate_seats(KZ_2021, 98, 0.07, method="dhondt") == {**seats, "Nur Otan": 77,
                                                                "People's Party of Kazakhstan": 9}


def test_hare_hand_worked():
    # quota 100,000 / 10 = 10,000: whole parts 4,1,1,1,0,0 (7 seats); remainders
    # .70 .60 .58 .20 .61 .31 -> the 3 seats left go to A (.70), E (.61), B (.60)
    votes = {"A": 47_000, "B": 16_000, "C": 15_800, "D": 12_000, "E": 6_100, "F": 3_100}
    assert allocate_seats(votes, 10) == {"A": 5, "B": 2, "C": 1, "D": 1, "E": 1, "F": 0}
    # with a 5% threshold F (3.1%) is out: quota 96,900 / 10 = 9,690; A 4.850, B 1.651, C 1.6305,
    # D 1.238, E 0.6295 -> 4,1,1,1,0 + the 3 left to A (.850), B (.651), C (.6305, just above E)
    assert allocate_seats(votes, 10, 0.05) == {"A": 5, "B": 2, "C": 2, "D": 1, "E": 0, "F": 0}


def test_dhondt_hand_worked():
    # averages: A 100k 50k 33.3k 25k | B 80k 40k 26.7k | C 30k 15k | D 20k
    # the 8 highest: 100 80 50 40 33.3 30 26.7 25 -> A 4, B 3, C 1, D 0
    votes = {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}
    assert allocate_seats(votes, 8, method="dhondt") == {"A": 4, "B": 3, "C": 1, "D": 0}


def test_sainte_lague_hand_worked():
    # divisors 1,3,5,7: A 100k 33.3k 20k | B 80k 26.7k 16k | C 30k 10k | D 20k
    # the 8 highest: 100 80 33.3 30 26.7 20 20 16 -> A 3, B 3, C 1, D 1
    votes = {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}
    assert allocate_seats(votes, 8, method="sainte_lague") == {"A": 3, "B": 3, "C": 1, "D": 1}
    # 7 seats: the 6th and 7th highest are A's third average and D's first (both 20,000): both get in
    assert allocate_seats(votes, 7, method="sainte_lague") == {"A": 3, "B": 2, "C": 1, "D": 1}
    # 6 seats: those two tie for the last seat; A, listed first, takes it
    assert allocate_seats(votes, 6, method="sainte_lague") == {"A": 3, "B": 2, "C": 1, "D": 0}
    with pytest.raises(ValueError, match="tie for the last seat between A, D"):
        allocate_seats(votes, 6, method="sainte_lague", ties="raise")


def test_ties_go_to_the_party_listed_first():
    # two equal parties, 3 seats: Hare quota 100; whole parts 1,1; remainders equal -> first listed
    assert allocate_seats({"X": 150, "Y": 150}, 3) == {"X": 2, "Y": 1}
    assert allocate_seats({"Y": 150, "X": 150}, 3) == {"Y": 2, "X": 1}
    assert allocate_seats({"X": 150, "Y": 150}, 3, method="dhondt") == {"X": 2, "Y": 1}
    with pytest.raises(ValueError, match="tie"):
        allocate_seats({"X": 150, "Y": 150}, 3, ties="raise")
    assert allocate_seats({"X": 150, "Y": 150}, 4, ties="raise") == {"X": 2, "Y": 2}  # no tie for the last seat


def test_kazakh_runner_up_rule():
    votes = {"A": 900, "B": 60, "C": 40}  # only A passes 7%
    assert allocate_seats(votes, 10, 0.07) == {"A": 10, "B": 0, "C": 0}
    # B is admitted: Hare between A and B (quota 96) gives 9.375 / 0.625 -> 9 + 0, last seat to B (.625);
    # B is then raised to the minimum of 2, taken from A
    assert allocate_seats(votes, 10, 0.07, runner_up_min=2) == {"A": 8, "B": 2, "C": 0}
    # with two parties over the threshold the rule does not apply
    # (A 8.42, B 1.58 of quota 95 -> 8 + 1, last seat to B's larger remainder)
    assert allocate_seats({"A": 800, "B": 150, "C": 50}, 10, 0.07, runner_up_min=2) == {"A": 8, "B": 2, "C": 0}
    # a runner-up entitled to more than the minimum keeps its proportional seats:
    # 10% of 795 = 79.5, only A passes; quota 765 / 40 = 19.125 -> A 36.60, B 3.40 -> 36 + 3, last seat to A
    assert allocate_seats({"A": 700, "B": 65, "C": 30}, 40, 0.1, runner_up_min=2) == {"A": 37, "B": 3, "C": 0}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="method"):
        allocate_seats({"A": 1}, 1, method="imperiali")
    with pytest.raises(ValueError, match="whole"):
        allocate_seats({"A": 1.5}, 1)
    with pytest.raises(ValueError, match="seats"):
        allocate_seats({"A": 1}, 2.5)
    assert allocate_seats({"A": 0, "B": 0}, 5) == {"A": 0, "B": 0}


def test_seats_from_a_profile_with_a_seat_rule():
    t = pd.DataFrame([{"region": "KZ", "tec": "", "pec": "1", "valid": sum(KZ_2021.values()), "invalid": 0,
                       **KZ_2021}])
    e = Election(table=t, parties=tuple(KZ_2021),
                 meta={"ruleset": "kz", "seats": 98, "threshold": 0.07, "seat_method": "hare"})
    assert election_seats(e) == {"Nur Otan": 76, "Ak Zhol": 12, "People's Party of Kazakhstan": 10,
                                 "Auyl": 0, "Adal": 0}
    assert election_seats(Election(table=t, parties=tuple(KZ_2021))) is None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=8), st.integers(1, 200),
       st.sampled_from(["hare", "dhondt", "sainte_lague"]))
def test_every_seat_is_given_and_hare_keeps_the_quota(votes, seats, method):
    named = {f"P{i}": v for i, v in enumerate(votes)}
    got = allocate_seats(named, seats, method=method)
    total = sum(votes)
    assert sum(got.values()) == (seats if total else 0)
    if method == "hare" and total:
        for party, v in named.items():  # each party gets its exact quota rounded down or up
            assert v * seats // total <= got[party] <= -(-v * seats // total)
    # more votes never means fewer seats
    assert all(got[a] >= got[b] for a in named for b in named if named[a] > named[b])
