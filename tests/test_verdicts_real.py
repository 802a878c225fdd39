"""The verdicts on real elections, as a check: clean controls stay quiet, documented cases fire.

The elections are read from ../shared/data by ``benchmarks/real_elections.py`` (skipped when the
data are absent, failing under CI=true).  Nothing here was tuned to these elections: the
thresholds come from the mechanisms and the simulations of benchmarks/calibrate_verdicts.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import shared_file
from forensics.verdicts import CHECKS, verdicts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import real_elections as R  # noqa: E402

pytestmark = [pytest.mark.shared, pytest.mark.slow]
FRAUD_PATTERNS = tuple(code for code, check in CHECKS.items() if check.kind == "fraud pattern")


def _load(name):
    shared_file(R.path(name).name)
    return R.load(name)


@pytest.mark.parametrize("name", R.CLEAN)
def test_clean_controls_raise_no_fraud_pattern_headline_and_flag_few_stations(name):
    e = _load(name)
    v = verdicts(e, context=(), rng=1)
    fired = [code for code in FRAUD_PATTERNS if v.verdicts[code].fired]
    assert fired == [], {code: v.verdicts[code].words() for code in fired}
    assert v.stations_summary["share_flagged"] <= 0.02
    # every verdict still says what it measured
    assert all(x.national is not None for x in v.verdicts.values())


@pytest.mark.parametrize("name", R.DOCUMENTED)
def test_documented_cases_fire_integer_and_stuffing_and_name_regions(name):
    e = _load(name)
    v = verdicts(e, checks=("integer", "stuffing", "turnout_100"), context=(), stations=False, rng=1)
    integer, stuffing, cluster = (v.verdicts[c] for c in ("integer", "stuffing", "turnout_100"))
    assert integer.fired and integer.scope == "national" and integer.driving_regions
    assert stuffing.fired and stuffing.driving_regions
    assert stuffing.pvalue < 1e-3  # after Holm over the nation and 80+ regions
    assert cluster.fired and cluster.scope == "national"
    assert "not proof" in stuffing.words()


def test_russia_2018_integer_excess_is_kobaks(ru2018):
    v = verdicts(ru2018, checks=("integer",), context=(), stations=False)
    nat = v.verdicts["integer"].national
    assert nat["effect"] == pytest.approx(1708.8, abs=2)  # Kobak et al.'s Monte Carlo excess
    assert nat["z"] > 10 and v.verdicts["integer"].pvalue < 1e-20
    assert "Республика Татарстан (Татарстан)" in v.verdicts["integer"].significant_regions


def test_russia_2018_station_evidence(ru2018):
    v = verdicts(ru2018, checks=("arithmetic",), context=(), rng=1)
    st, s = v.stations, v.stations_summary
    # the 2018 form's legal control relations all hold (more ballots found than issued is a warning there)
    assert s["flag_counts"]["ARITHMETIC"] == 0
    assert s["flag_counts"]["CLUSTER_100"] == 349
    assert 0.005 < s["share_flagged"] < 0.02 and s["share_flagged"] > 1.5 * s["share_expected"]
    first = st.sort_values("review_order").iloc[0]
    assert first["flag_codes"] == "CLUSTER_100" and first["registered"] >= 100
    # the 100%-turnout warning is the same fact as the flag: listed, not counted again
    both = st["flag_codes"].str.contains("CLUSTER_100") & st["warnings"].str.contains("R13")
    assert both.sum() > 200 and (st.loc[both, "n_flags"] == 1).all()
    assert not st["flag_codes"].str.contains("INT").any()
