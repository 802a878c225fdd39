"""The Election Forensics Toolkit's basic battery (EFToolkit, Kalinin & Mebane, R 2.0.0).

``basic_battery`` reproduces EFToolkit's ``BasicElectionForensics``
(METHODS.md section 6.2) statistic by statistic: the second-digit mean
(``2BL``), last-digit mean (``LastC``), shares of percentages and counts
ending in 0 or 5 (``P05s``, ``C05s``), skewness and kurtosis of the
percentages, Hartigan's dip-test p-value, the Sobyanin-Sukhovolsky measure
and the turnout-share correlation, for turnout (a pseudo-candidate) and each
party, per level, with the same nonparametric-bootstrap "basic" intervals
and flag rules.  It returns an ``EFToolkitResult``: the table EFToolkit
prints (``.table``), what was left out, a ``summary()``, and the same rows as
``TestResult`` objects (``.results``) so that the scan can run it as a check.

Speed: every bootstrapped statistic of the battery is a function of column
sums of per-station values (digits, indicators, powers of deviations), so
one resampling of each group's stations serves all statistics and subjects,
and all groups' replicates come out of one call
(``_core.bootstrap.resample_group_sums``): per group, a matrix of resample
multiplicities (replicates x stations) times the per-station contributions
(stations x columns), on one BLAS thread.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError
from ..levels import by_level
from ..model import Election, as_election
from ..random import ensure_rng
from ._core.bootstrap import basic_interval, resample_group_sums
from ._core.counts import count_values, source_file
from ._core.digitize import last_digit, percent_ends_05, second_digit
from ._core.moments import skew_kurtosis_from_sums
from .dip import dip
from .registry import translate_renamed
from .result import TestResult

__all__ = ["BATTERY_TESTS", "BATTERY_REFERENCE", "EFToolkitResult", "basic_battery"]

#: EFToolkit's test names, in its column order.
BATTERY_TESTS = ("2BL", "LastC", "P05s", "C05s", "Sobyanin", "Skew", "Kurt", "DipT", "Correlation")
#: Values a clean election is expected to give (EFToolkit's flagging references).
BATTERY_REFERENCE = {"2BL": 4.187, "LastC": 4.5, "P05s": 0.2, "C05s": 0.2, "Skew": 0.0, "Kurt": 3.0,
                     "DipT": 0.05, "Sobyanin": 1.6448536269514722, "Correlation": 0.4}
_BOOTSTRAPPED = ("2BL", "LastC", "P05s", "C05s", "Skew", "Kurt")
TABLE_COLUMNS = ["group", "subject", "test", "estimate", "ci_low", "ci_high", "n", "flagged", "reference"]


@dataclass(frozen=True)
class EFToolkitResult:
    """EFToolkit's battery: ``table`` (one row per group x subject x test), what was left out, the settings.

    ``excluded`` counts the stations left out by reason and
    ``excluded_rows`` lists them; ``results`` gives every row as a
    ``TestResult`` (no p-value: EFToolkit flags by its own rules, in
    ``details["flagged"]``), which is how the scan runs the battery.
    """

    table: pd.DataFrame
    level: str
    n_sim: int
    confidence_level: float
    excluded: dict = field(default_factory=dict)
    excluded_rows: pd.Series | None = None

    @property
    def results(self) -> list[TestResult]:
        """One TestResult per subject and test (the ``group`` column is the level's value)."""
        return [TestResult(name=f"EFToolkit {r.test}", statistic=float(r.estimate), party=r.subject,
                           ci=None if np.isnan(r.ci_low) else (float(r.ci_low), float(r.ci_high)),
                           expected=float(r.reference), n_used=int(r.n), excluded=self.excluded,
                           excluded_rows=self.excluded_rows, confidence_level=self.confidence_level,
                           method="EFToolkit's flag rule (no p-value)",
                           details={"group": r.group, "flagged": bool(r.flagged), "reference": float(r.reference)},
                           explanation=f"EFToolkit's {r.test} for {r.subject}: {r.estimate:.4g} against "
                                       f"{r.reference:.4g}; {'flagged' if r.flagged else 'not flagged'} by its rule.")
                for r in self.table.itertuples()]

    def summary(self) -> str:
        """The flagged rows in plain text, and what was left out."""
        flagged = self.table[self.table["flagged"]]
        lines = [f"EFToolkit basic battery at level {self.level}: {len(self.table)} rows, {len(flagged)} flagged "
                 f"({self.n_sim} bootstrap resamples, {self.confidence_level:.0%} basic intervals)"]
        for r in flagged.itertuples():
            interval = "" if np.isnan(r.ci_low) else f" [{r.ci_low:.3f}, {r.ci_high:.3f}]"
            lines.append(f"  {r.group} / {r.subject} / {r.test}: {r.estimate:.3f}{interval} vs {r.reference:.4g}")
        for reason, count in self.excluded.items():
            lines.append(f"  excluded ({reason}): {count}")
        return "\n".join(lines)


def _deviations(shares) -> tuple[np.ndarray, np.ndarray]:
    """Each column's deviation from its mean (0 where missing) and where it is present."""
    has = np.isfinite(shares)
    centre = np.array([col[ok].mean() if ok.any() else 0.0 for col, ok in zip(shares.T, has.T)])
    return np.where(has, shares - centre, 0.0), has


def _station_parts(second, last, ends, dev, has) -> np.ndarray:
    """Per-station contributions whose sums give every bootstrapped statistic: stations x (subjects x 12).

    Inputs are stations x subjects: second and last digits of the counts,
    whether the percentage ends in 0 or 5, and the percentage's deviation
    from its group mean.  Per subject the 12 columns are: second digits,
    counts having one, last digits, counts having one, last digits that are
    0 or 5, percentages ending in 0 or 5, percentages, percentages present
    (again, for the moments) and the deviation's powers 1..4.
    """
    parts = [np.nan_to_num(second), np.isfinite(second), np.nan_to_num(last), np.isfinite(last),
             np.isin(last, (0, 5)), ends == 1, np.isfinite(ends), has, *(dev ** k for k in (1, 2, 3, 4))]
    return np.stack(parts, axis=-1, dtype=float).reshape(len(second), 12 * second.shape[1])


def _statistics(sums) -> list:
    """2BL, LastC, P05s, C05s, Skew and Kurt from sums (..., 12) laid out as ``_station_parts``."""
    s = np.moveaxis(np.asarray(sums, dtype=float), -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = [s[0] / s[1], s[2] / s[3], s[5] / s[6], s[4] / s[3]]
    return digits + list(skew_kurtosis_from_sums(np.moveaxis(s[7:], 0, -1)))


def _cap(share) -> np.ndarray:
    """Percentages capped at 1 as EFToolkit does: x/0 (Inf) becomes 1, 0/0 stays missing."""
    return np.where(share >= 1, 1.0, share)


def _bootstrapped(groups: list, n_sim: int, rng, confidence_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Basic intervals of the six bootstrapped statistics for every group and subject, (groups, subjects, 6) each.

    ``groups`` holds ``_group_inputs`` of each group.  As in boot, each
    replicate resamples a group's stations, once for all statistics and
    subjects; every statistic is a function of column sums, so all
    replicates of all groups come from ``resample_group_sums``.
    """
    parts = np.concatenate([g["parts"] for g in groups])
    codes = np.repeat(np.arange(len(groups)), [len(g["parts"]) for g in groups])
    sums = resample_group_sums(parts, codes, len(groups), n_sim, rng, dtype=np.float32)
    reps = np.stack(_statistics(sums.reshape(*sums.shape[:2], -1, 12)), axis=-1)  # (n_sim, groups, subjects, 6)
    t0 = np.stack([g["t0"] for g in groups])
    low, high = basic_interval(t0.ravel(), reps.reshape(n_sim, -1), confidence_level)
    return low.reshape(t0.shape), high.reshape(t0.shape)


def _finite_pairs(x, y):
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _sobyanin(turnout, share) -> float:
    """OLS slope of share on turnout minus the mean share (EFToolkit's S-S measure)."""
    t, v = _finite_pairs(turnout, share)
    if t.size < 2 or np.ptp(t) == 0:
        return float("nan")
    slope = np.polyfit(t, v, 1)[0]
    return float(slope - np.nanmean(np.where(np.isfinite(share), share, np.nan)))


def _correlation(turnout, share) -> float:
    t, v = _finite_pairs(turnout, share)
    if t.size < 2 or np.ptp(t) == 0 or np.ptp(v) == 0:
        return float("nan")
    return float(np.corrcoef(t, v)[0, 1])


def _dip_pvalue(values) -> float:
    with warnings.catch_warnings():  # n above the table's 72,000 uses its last row, as R does
        warnings.simplefilter("ignore")
        return dip(values)[1]


def _flag(test: str, estimate, low, high) -> bool:
    """EFToolkit's flag rules, applied to figures rounded to 3 decimals as its table prints them."""
    ref = BATTERY_REFERENCE[test]
    if test in _BOOTSTRAPPED:
        if not (np.isfinite(low) and np.isfinite(high)):
            return False
        lo, hi = round(float(low), 3), round(float(high), 3)
        if lo == 0 and hi == 0:
            return False
        return bool(hi <= ref or lo >= ref)
    if not np.isfinite(estimate):
        return False
    value = round(float(estimate), 3)
    return bool(value < ref) if test == "DipT" else bool(abs(value) > ref)


def _group_inputs(election: Election, parties) -> dict:
    """What the battery needs of one group: its estimates, and the per-station values its bootstrap resamples."""
    sub = election.subset(election.published)
    found = count_values(sub, "ballots_found", sub.ballots("found"))
    registered = count_values(sub, "registered")
    votes = [count_values(sub, p) for p in parties]
    with np.errstate(divide="ignore", invalid="ignore"):
        turnout = found / registered
        shares = [turnout, *(v / found for v in votes)]
    n, k = len(found), len(shares)
    counts = np.column_stack([found, *votes]).reshape(n, k)
    capped = np.column_stack([_cap(sh) for sh in shares]).reshape(n, k)
    second, last, ends = second_digit(counts), last_digit(counts), percent_ends_05(capped)
    dev, has = _deviations(capped)
    parts = _station_parts(second, last, ends, dev, has)
    t0 = np.column_stack(_statistics(parts.sum(axis=0).reshape(k, 12)))
    other = [{"DipT": _dip_pvalue(shares[0])}]
    other += [{"DipT": _dip_pvalue(sh), "Sobyanin": _sobyanin(turnout, sh), "Correlation": _correlation(turnout, sh)}
              for sh in shares[1:]]
    return {"n": n, "parts": parts, "t0": t0, "other": other}


def _rows(name, inputs, subjects, low, high) -> list:
    """Table rows of one group from its inputs and intervals (subjects x 6)."""
    rows = []
    for i, subject in enumerate(subjects):
        est = dict(zip(_BOOTSTRAPPED, inputs["t0"][i]), **inputs["other"][i])
        ci = {t: (low[i, j], high[i, j]) for j, t in enumerate(_BOOTSTRAPPED)}
        for test in BATTERY_TESTS:
            if test not in est:
                continue
            lo, hi = ci.get(test, (np.nan, np.nan))
            rows.append((name, subject, test, float(est[test]), lo, hi, inputs["n"], _flag(test, est[test], lo, hi),
                         BATTERY_REFERENCE[test]))
    return rows


def basic_battery(election, party=None, level: str = "nation", n_sim: int = 1000, confidence_level: float = 0.95,
                  rng=None, **deprecated) -> EFToolkitResult:
    """EFToolkit's basic election-forensics tests for turnout and each party, per level.

    ``party`` is a party column or a list of them (default: every party).
    Returns an ``EFToolkitResult`` whose ``table`` is tidy: ``group`` (the
    level's value, or "National"), ``subject`` ("turnout" or a party
    column), ``test`` (2BL, LastC, P05s, C05s, Sobyanin, Skew, Kurt, DipT,
    Correlation), ``estimate``, ``ci_low``/``ci_high`` (bootstrap "basic"
    interval at ``confidence_level`` from ``n_sim`` resamples, for the six
    bootstrapped statistics), ``n`` (stations in the group), ``flagged``
    (EFToolkit's rule) and ``reference`` (the value it compares with).

    As in EFToolkit: no station is filtered (zeros, missing values and
    turnout above 100% are kept; a missing value is skipped inside each
    statistic); turnout's count is the ballots found and its percentage
    ballots found / registered; a party's percentage is votes / ballots
    found; percentages are capped at 1 for P05s, Skew and Kurt only.
    Stations whose figures were never published, and stations without a
    value of ``level``, are left out (``excluded``, ``excluded_rows``).
    ``level`` is "nation", "region", "tec" or any column (groups in
    alphabetical order); one ``rng`` feeds every group's bootstrap in that
    order, as in EFToolkit.  ``parties=`` and ``n_boot=`` are the
    deprecated names of ``party`` and ``n_sim``.
    """
    given = translate_renamed("basic_battery", deprecated, {"parties": "party", "n_boot": "n_sim"})
    unknown = [k for k in given if k not in ("party", "n_sim")]
    if unknown:
        raise TypeError(f"basic_battery() does not take {', '.join(repr(k) for k in unknown)}; it takes: party, "
                        "level, n_sim, confidence_level, rng")
    party, n_sim = given.get("party", party), given.get("n_sim", n_sim)
    election = as_election(election)
    parties = list(election.parties if party is None else ([party] if isinstance(party, str) else party))
    missing = [c for c in ["registered", *parties] if c not in election.table.columns]
    if missing:
        raise DataError(f"the battery needs column(s) {', '.join(missing)}", file=source_file(election),
                        column=missing[0], fix="map them in the profile (registered voters and party votes)")
    rng = ensure_rng(rng)
    reasons = pd.Series(pd.NA, index=election.table.index, dtype="object")
    if level not in (None, "nation"):
        if level not in election.table.columns:
            raise KeyError(f"level '{level}' is not a column of the table")
        reasons[election.table[level].isna()] = f"no {level}"
    reasons[reasons.isna() & ~election.published] = "figures not published"
    inputs = by_level(election.subset(reasons.isna() | ~election.published), _group_inputs, level, parties=parties)
    low, high = _bootstrapped(list(inputs.values()), n_sim, rng, confidence_level)
    subjects = ["turnout", *parties]
    rows = [row for g, (name, group) in enumerate(inputs.items())
            for row in _rows(name, group, subjects, low[g], high[g])]
    dropped = reasons.dropna()
    return EFToolkitResult(table=pd.DataFrame(rows, columns=TABLE_COLUMNS), level=level or "nation", n_sim=n_sim,
                           confidence_level=confidence_level, excluded={str(k): int(v) for k, v in
                                                                        dropped.value_counts(sort=False).items()},
                           excluded_rows=dropped)
