"""The scan on real elections speaks through the verdicts: clean controls quiet, Russia 2018 fires.

The elections are read from ../shared/data by ``benchmarks/real_elections.py`` (skipped when the
data are absent, failing under CI=true).  The battery is cut to one cheap test: the headlines and
the station flags come from the verdict layer, which does not depend on the battery.  Nothing was
tuned to these elections (benchmarks/calibrate_verdicts.py calibrates on simulations).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import shared_file
from forensics.scan import scan
from forensics.verdicts import CHECKS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import real_elections as R  # noqa: E402

pytestmark = [pytest.mark.shared, pytest.mark.slow]
FRAUD_PATTERNS = {code for code, check in CHECKS.items() if check.kind == "fraud pattern"}


@pytest.mark.parametrize("name", R.CLEAN)
def test_clean_controls_scan_without_fraud_pattern_headline(name):
    shared_file(R.path(name).name)
    s = scan(R.load(name), tests=["fingerprint"], rng=1, progress=False)
    codes = [h["code"] for h in s.headlines]
    assert not FRAUD_PATTERNS & set(codes), [h["words"] for h in s.headlines]
    summary = s.summary_dict()
    assert summary["stations"]["share_flagged"] <= 0.02
    assert summary["n_stations_flagged"] == summary["stations"]["n_flagged"] == (s.stations["n_flags"] > 0).sum()
    text = s.summary()
    assert "No headline stands out." in text or codes == ["arithmetic"]
    assert "expected without any manipulation" in text
    if "arithmetic" in codes:  # a fact about protocols (clerical errors happen), not a fraud pattern
        words = next(h["words"] for h in s.headlines if h["code"] == "arithmetic")
        assert "not a statistical pattern of fraud" in words and "not proof of fraud" not in words


def test_russia_2018_scan_names_integer_and_stuffing_with_their_regions(ru2018):
    s = scan(ru2018, tests=["fingerprint"], rng=2018, progress=False)
    by_code = {h["code"]: h for h in s.headlines}
    regions = set(ru2018.table["region"])
    text = s.summary()
    for code in ("integer", "stuffing"):
        h = by_code[code]
        assert h["scope"] == "national" and h["pvalue"] < 1e-6
        assert h["driving_regions"] and set(h["driving_regions"]) <= regions
        assert h["driving_regions"][0] in text and h["words"] in text
        assert "not proof of fraud" in h["words"]
    assert by_code["integer"]["effect"]["excess_stations"] == pytest.approx(1708.8, abs=2)  # Kobak et al.
    assert "turnout_100" in by_code
    st = s.verdicts.stations_summary
    assert st["share_flagged"] > 1.5 * st["share_expected"] and st["flag_counts"]["CLUSTER_100"] == 349
