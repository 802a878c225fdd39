"""What the calibration benchmark measured, for the verdicts to quote.

``benchmarks/calibrate_verdicts.py`` runs every verdict on clean simulated
elections with realistic benign structure (preset ``clean-confounded``) and
writes ``calibration.json`` beside this module: each headline's false-alarm
rate per election, each context measure's range on clean elections, and
each station flag's rate per station.  A verdict quotes these numbers with
the benchmark's name; without the file it says the rate was not measured.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["CALIBRATION_FILE", "calibration", "false_alarm", "baseline", "flag_rate"]

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@lru_cache(maxsize=1)
def calibration() -> dict:
    """The benchmark's record (empty when it has not been run)."""
    try:
        return json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _source() -> dict:
    c = calibration()
    return {k: c.get(k) for k in ("benchmark", "preset", "runs", "n_pec", "alpha")}


def false_alarm(code: str) -> dict:
    """{"rate", "fired", "runs", "upper95", ...source}: how often the headline fired on clean elections."""
    entry = calibration().get("false_alarm", {}).get(code)
    return {**_source(), **entry} if entry else {}


def baseline(measure: str) -> dict:
    """{"median", "q05", "q95", "q99", "runs", ...}: a context measure's range on clean elections."""
    entry = calibration().get("baselines", {}).get(measure)
    return {**_source(), **entry} if entry else {}


def flag_rate(code: str) -> float | None:
    """Share of clean stations that carry this station flag (None when not measured)."""
    entry = calibration().get("station_flags", {}).get(code)
    return None if entry is None else float(entry)
