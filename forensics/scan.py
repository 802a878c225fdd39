"""The anomaly scan: reconciliation + the statistical battery at each level, with per-station flags.

``scan(election)`` runs the protocol-arithmetic rules and every test of the
battery nationally and per region (through ``forensics.levels``), corrects
the p-values for multiple testing (Benjamini-Hochberg, family stated in a
column), and builds one row per polling station with the checks it trips
and a documented review order.  A test that is missing from this build or
fails on the data appears as "could not run: <reason>", never vanishes.
"""
from __future__ import annotations

import importlib
import inspect
import json
import zlib
from time import perf_counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from .exclusions import Exclusions
from .levels import NATIONAL, adjust, by_level, results_table
from .ingest.read import file_sha256
from .model import ID_COLUMNS, Election
from .random import ensure_rng
from .stats.result import TestResult

__all__ = ["Check", "DEFAULT_BATTERY", "FLAGS", "Scan", "scan"]


# --------------------------------------------------------------------------- the battery, as data
@dataclass(frozen=True)
class Check:
    """One test of the battery: which function, at which levels, with which parameters.

    ``func`` is a name in ``forensics.stats``, "module:attribute" or a
    callable (default: ``name`` in ``forensics.stats``);
    ``needs`` lists table columns the test cannot do without ("parties"
    means at least one party column); groups with fewer than
    ``min_stations`` rows are reported as too small, not run;
    ``sub_params`` override ``params`` below the national level.
    """

    name: str
    title: str
    area: str
    levels: tuple = ("nation", "region")
    params: dict = field(default_factory=dict)
    needs: tuple = ("registered", "parties")
    min_stations: int = 30
    func: object = None
    sub_params: dict = field(default_factory=dict)

    def resolve(self):
        """The callable, or raise with a plain reason why it is not available."""
        if callable(self.func):
            return self.func
        target = self.func or self.name
        module_name, _, attr = target.rpartition(":")
        module = importlib.import_module(module_name or "forensics.stats")
        try:
            return getattr(module, attr)
        except AttributeError:
            raise LookupError(f"{module.__name__}.{attr} is not available in this build") from None


#: The default battery.  Parameters are chosen so a full scan of ~100,000
#: stations at nation + region level, report included, stays within two minutes.
DEFAULT_BATTERY: tuple[Check, ...] = (
    Check("fingerprint", "Election fingerprint (turnout vs leader share)", "fingerprints"),
    Check("klimek_fit", "Klimek fraud-model fit (incremental and extreme fraud)", "fingerprints",
          levels=("nation",), min_stations=200),
    Check("excess_votes", "Shpilkin excess-vote estimate", "fingerprints", levels=("nation",)),
    Check("cumulative_votes", "Cumulative vote share by turnout", "fingerprints", levels=("nation",)),
    Check("integer_percentages", "Integer-percentage excess (Kobak et al.)", "spikes", params={"n_sim": 1000},
          sub_params={"breakdown": None}),
    Check("coarse_shares", "Coarse (round) vote shares (Rozenas)", "spikes", levels=("nation",),
          params={"resamples": 200}),
    Check("turnout_share_correlation", "Turnout-share correlation", "shape"),
    Check("turnout_regression", "Regression of votes on turnout (Sobyanin-Sukhovolsky)", "shape"),
    Check("vote_rate_collapse", "Vote-rate data collapse (kurtosis, skewness)", "shape", levels=("nation",)),
    Check("dip_test", "Hartigan's dip test (several peaks in turnout)", "shape"),
    Check("last_digit_test", "Last-digit test (Beber-Scacco)", "digits", needs=("parties",)),
    Check("second_digit_test", "Second-digit Benford test (2BL)", "digits", needs=("parties",)),
    Check("digit_pairs_test", "Adjacent and repeated digit pairs (Beber-Scacco)", "digits", needs=("parties",)),
)

#: What the summary names: key, the tests with the smallest statistic that counts (None:
#: significance alone), whether any or all of them must stand out in the same group, and
#: the words.  With ~100,000 stations even a tiny correlation is significant, so the smear
#: needs a real size in both of its tests: a correlation of 0.3 or more AND more than one
#: extra leader vote per extra voter.
HEADLINES = (
    ("integer", {"integer_percentages": None}, "any",
     "integer-percentage excess: more stations than chance would give report a whole-number "
     "turnout or leader share, the trace of figures written to a target"),
    ("smear", {"turnout_share_correlation": 0.3, "turnout_regression": 1.0}, "all",
     "turnout-share smear: the leader's share rises with turnout (correlation of 0.3 or more, and more "
     "than one extra leader vote per extra voter), the pattern ballot stuffing leaves"),
    ("digits", {"last_digit_test": None, "second_digit_test": None, "digit_pairs_test": None}, "any",
     "unusual digits: the last or second digits of the counts are not spread as real counts are "
     "(the second-digit Benford test is known to misfire on honest counts too, so weigh it least)"),
    ("shape", {"dip_test": None, "coarse_shares": None}, "any",
     "unusual shape: turnout has several peaks or vote shares pile up on round fractions"),
)


# --------------------------------------------------------------------------- per-station flags, as data
#: flag code -> (tier, what was checked).  Lower tier = reviewed first.
FLAGS: dict[str, tuple[int, str]] = {
    "TURNOUT_100": (2, "turnout of 100% or more of the voters on the list"),
    "TURNOUT_HIGH": (2, "turnout far above the typical station of its region (robust z > {z})"),
    "PLANE_OUTLIER": (2, "turnout and leader share both far above the typical station of its region "
                         "(robust distance > {z} in the turnout-share plane)"),
    "INT_TURNOUT": (3, "turnout is a whole percentage (within 0.05 points; stations of 100+ voters)"),
    "INT_SHARE": (3, "leader's share is a whole percentage (within 0.05 points; stations of 100+ voters)"),
}
#: Tier of a reconciliation code: errors first, warnings with the integer flags.
RULE_TIER = {"error": 1, "warning": 3}

STATION_COLUMNS = ["station", "region", "tec", "pec", "registered", "ballots_cast", "turnout", "leader_share",
                   "excluded", "flags", "flag_reasons", "n_flags", "review_tier", "review_order"]
TEST_COLUMNS = ["test", "measure", "level", "group", "party", "statistic", "pvalue", "pvalue_adj", "ci_low", "ci_high",
                "expected", "n_used", "n_excluded", "family", "pvalue_adj_test", "family_test", "significant",
                "note"]
EXCLUDED_COLUMNS = ["analysis", "level", "group", "party", "station", "region", "tec", "pec", "reason", "n"]


# --------------------------------------------------------------------------- the result
@dataclass
class Scan:
    """Everything a scan found; ``write_report`` draws it, never recomputes it.

    ``timings`` (seconds per test and level) is for benchmarks only and is
    written to no output file, so outputs stay byte-identical.
    """

    election: Election
    tests: pd.DataFrame
    findings: pd.DataFrame
    stations: pd.DataFrame
    excluded: pd.DataFrame
    results: dict
    provenance: dict
    battery: tuple
    headlines: list
    notes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def flag_meanings(self) -> list:
        """Every flag code that can appear in ``stations.flags``: code, review tier, what was checked."""
        z = self.provenance.get("flag_z", 3.5)
        rows = [{"code": c, "tier": tier, "meaning": text.format(z=z)} for c, (tier, text) in FLAGS.items()]
        f = self.findings
        if not f.empty and "code" in f:
            first = f.drop_duplicates("code").sort_values("code")
            rows += [{"code": r.code, "tier": RULE_TIER.get(str(r.severity), 3),
                      "meaning": f"protocol arithmetic ({r.severity}): {r.message}"} for r in first.itertuples()]
        return sorted(rows, key=lambda r: (r["tier"], r["code"]))

    def summary(self) -> str:
        """The scan in plain words: what was checked, what stands out, how sure."""
        return "\n\n".join(summary_paragraphs(self))

    def summary_dict(self) -> dict:
        """Machine-readable summary (the content of summary.json, without the time)."""
        flagged = self.stations[self.stations["n_flags"] > 0]
        flag_counts = {}
        for codes in flagged["flags"]:
            for code in codes.split(";"):
                flag_counts[code] = flag_counts.get(code, 0) + 1
        tests = self.tests
        could_not = tests[tests["note"].str.startswith("could not run", na=False)]
        return {
            "n_stations": int(len(self.stations)),
            "n_stations_excluded": int((self.stations["excluded"] != "").sum()),
            "n_stations_flagged": int(len(flagged)),
            "flag_counts": dict(sorted(flag_counts.items())),
            "n_findings": int(len(self.findings)),
            "findings_by_code": {str(k): int(v) for k, v in
                                 self.findings["code"].value_counts().sort_index().items()}
            if "code" in self.findings else {},
            "n_tests_rows": int(len(tests)),
            "n_significant": int(tests["significant"].sum()),
            "tests_could_not_run": sorted({f"{r.test} ({r.level}): {r.note}" for r in could_not.itertuples()}),
            "headlines": self.headlines,
            "summary": summary_paragraphs(self),
            "notes": dict(self.notes),
            "provenance": {k: v for k, v in self.provenance.items() if k != "time"},
        }

    def __repr__(self) -> str:  # pragma: no cover - convenience
        return f"<Scan of {len(self.stations)} stations, {len(self.tests)} test rows>"


# --------------------------------------------------------------------------- the scan
def scan(election: Election, levels=("nation", "region"), tests=None, rng=None, progress: bool = True,
         alpha: float = 0.01, z: float = 3.5, time: str | None = None, **params) -> Scan:
    """Run reconciliation and the battery at each level; return a ``Scan``.

    ``tests`` is a sequence of ``Check`` (default ``DEFAULT_BATTERY``) or of
    test names from it.  ``rng`` (Generator or int seed) fixes all
    randomness: each test gets its own stream derived from one base seed.
    ``alpha`` is the level for adjusted p-values called significant; ``z``
    the robust-z threshold of the station flags.  Extra ``params`` go to
    every test whose signature accepts them; ``params[<test name>] = {...}``
    sets one test's parameters.  ``time`` (ISO string) overrides the
    timestamp recorded in the provenance.
    """
    if progress:  # tqdm.auto only for a visible bar: in notebooks without ipywidgets it warns on import
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    battery = _battery(tests)
    levels = tuple(levels)
    base_seed, seed_note = _base_seed(rng)
    per_test = {k: v for k, v in params.items() if isinstance(v, dict) and any(c.name == k for c in battery)}
    common = {k: v for k, v in params.items() if k not in per_test}

    steps = [(c, lv) for lv in levels for c in battery if _runs_at(c, lv)]
    bar = tqdm(total=len(steps) + 2, desc="scan", disable=not progress, unit="step", leave=False)
    bar.set_postfix_str("reconciliation")
    findings, notes = _reconcile(election)
    bar.update(1)

    results, tables, timings = {}, [], {}
    for check, level in steps:
        started = perf_counter()
        bar.set_postfix_str(f"{check.name} @ {level}")
        kwargs = {**check.params, **(check.sub_params if level != "nation" else {}), **common,
                  **per_test.get(check.name, {})}
        res = _run(check, _for_level(election, level), level, kwargs, _child_rng(base_seed, check.name, level))
        results[(check.name, level)] = res
        tables.append(_table(check, res, level))
        timings[f"{check.name} @ {level}"] = perf_counter() - started
        bar.update(1)

    bar.set_postfix_str("station flags")
    test_table = _correct(pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=TEST_COLUMNS),
                          alpha)
    stations = station_flags(election, findings, z=z)
    bar.update(1)
    bar.close()

    excluded = _excluded(election, results, stations)
    provenance = _provenance(election, battery, levels, params, alpha, z, base_seed, seed_note, time)
    result = Scan(election=election, tests=test_table, findings=findings, stations=stations, excluded=excluded,
                  results=results, provenance=provenance, battery=battery, headlines=[], notes=notes,
                  timings=timings)
    result.headlines = headlines(result)
    return result


def _battery(tests) -> tuple:
    if tests is None:
        return DEFAULT_BATTERY
    known = {c.name: c for c in DEFAULT_BATTERY}
    out = []
    for t in tests:
        if isinstance(t, Check):
            out.append(t)
        elif t in known:
            out.append(known[t])
        else:
            out.append(Check(str(t), str(t), "other"))
    return tuple(out)


def _for_level(election: Election, level: str) -> Election:
    """TEC names repeat across regions, so the "tec" level groups by "region / tec"."""
    t = election.table
    if level == "tec" and {"region", "tec"} <= set(t.columns):
        return election.with_table(t.assign(tec=t["region"].astype(str) + " / " + t["tec"].astype(str)))
    return election


def _runs_at(check: Check, level: str) -> bool:
    """Checks declared for "region" also run at other sub-national levels (e.g. "tec")."""
    return level in check.levels or (level != "nation" and "region" in check.levels)


def _base_seed(rng):
    if isinstance(rng, (int, np.integer)):
        return int(rng), "seed given"
    if rng is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        return seed, "no seed given: a fresh one was drawn and is recorded here"
    return int(ensure_rng(rng).integers(2**63)), "derived from the Generator given"


def _child_rng(base_seed: int, name: str, level: str) -> np.random.Generator:
    """An independent stream per (test, level), the same whatever tests run before it."""
    return np.random.default_rng([base_seed, zlib.crc32(name.encode()), zlib.crc32(level.encode())])


def _reconcile(election: Election) -> tuple[pd.DataFrame, dict]:
    """The reconciliation findings, or an empty table and a note saying why it could not run."""
    cols = ["region", "tec", "pec", "code", "severity", "observed", "expected", "difference", "message"]
    try:
        from .reconcile import reconcile

        return reconcile(election).table.reset_index(drop=True), {}
    except Exception as exc:  # noqa: BLE001 - reported in the summary and the report
        return pd.DataFrame(columns=cols), {"reconcile": f"could not run: {type(exc).__name__}: {exc}"}


def _missing_needs(check: Check, election: Election) -> list:
    missing = [n for n in check.needs if n != "parties" and n not in election.table.columns]
    if "parties" in check.needs and not election.parties:
        missing.append("party columns")
    return missing


def _run(check: Check, election: Election, level: str, kwargs: dict, rng) -> dict:
    """{group: TestResult | [TestResult] | "could not run: ..."} for one test at one level."""
    try:
        func = check.resolve()
        missing = _missing_needs(check, election)
        if missing:
            raise LookupError(f"the data has no {', '.join(missing)}")
    except Exception as exc:  # noqa: BLE001 - any failure becomes a visible note
        reason = f"could not run: {exc}"
        return {name: reason for name, _ in _group_names(election, level)}
    sig = inspect.signature(func).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values())
    call = {k: v for k, v in kwargs.items() if takes_all or k in sig}
    if "rng" in sig or takes_all:
        call["rng"] = rng

    def safe(sub, **kw):
        try:
            res = func(sub, **kw)
        except Exception as exc:  # noqa: BLE001 - reported in the tables, not raised
            return f"could not run: {type(exc).__name__}: {exc}"
        items = res if isinstance(res, (list, tuple)) else [res]
        if not all(isinstance(r, TestResult) for r in items):
            return f"could not run: {check.name} returned {type(res).__name__}, not TestResult"
        return res

    return by_level(election, safe, level, min_stations=check.min_stations, **call)


def _group_names(election, level):
    if level == "nation":
        return [(NATIONAL, None)]
    return [(str(n), None) for n in sorted(election.table[level].dropna().unique(), key=str)]


def _table(check: Check, res: dict, level: str) -> pd.DataFrame:
    """Tidy rows of one test at one level; ``test`` is the battery name, ``measure`` the result's own name.

    ``pvalue_adj_test`` corrects one measure (and party) across the groups of
    the level, the family stated in ``family_test``.
    """
    table = results_table(res, level)
    if table.empty:
        return table
    table["measure"] = table["test"].fillna(check.name)
    table["test"] = check.name
    table["party"] = table["party"].astype(object).where(table["party"].notna(), "")
    table["pvalue_adj_test"] = np.nan
    table["family_test"] = ""
    for (measure, party), idx in table.groupby(["measure", "party"], sort=False).groups.items():
        table.loc[idx, "pvalue_adj_test"] = adjust(table.loc[idx, "pvalue"])
        table.loc[idx, "family_test"] = f"{measure}" + (f" / {party}" if party else "") + f" across the {level} groups"
    return table


def _correct(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """BH across every test, party and group of one level; the family is stated per row."""
    for col in TEST_COLUMNS:
        if col not in table:
            table[col] = np.nan
    table["note"] = table["note"].fillna("").astype(str)
    table["party"] = table["party"].astype(object).where(table["party"].notna(), "")
    table["pvalue"] = pd.to_numeric(table["pvalue"], errors="coerce")
    table["pvalue_adj"] = np.nan
    table["family"] = ""
    for level, idx in table.groupby("level", sort=False).groups.items():
        p = table.loc[idx, "pvalue"]
        table.loc[idx, "pvalue_adj"] = adjust(p)
        table.loc[idx, "family"] = (f"all {int(p.notna().sum())} p-values at the {level} level "
                                    "(every test, party and group)")
    table["significant"] = table["pvalue_adj"] < alpha
    return table[TEST_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- stations
def _robust_z(values: pd.Series, groups: pd.Series, min_group: int = 20) -> pd.Series:
    """(x - group median) / (1.4826 * group MAD); NaN for small or constant groups."""
    g = values.groupby(groups)
    med = g.transform("median")
    mad = (values - med).abs().groupby(groups).transform("median") * 1.4826
    size = g.transform("count")
    z = (values - med) / mad.where(mad > 0)
    return z.where(size >= min_group)


def station_flags(election: Election, findings: pd.DataFrame, z: float = 3.5) -> pd.DataFrame:
    """One row per input station: ids, turnout, leader share, flags with reasons, review order.

    Turnout is ballots issued / voters on the list and the leader's share is
    leader votes / ballots cast (valid + invalid), the definitions of the
    CEC's published percentages and of Kobak et al.

    Review order (documented, no score): tier 1 = an arithmetic error in the
    protocol; tier 2 = 100% turnout, turnout far above its region, or an
    outlier in the turnout-share plane; tier 3 = integer percentages or
    reconciliation warnings only.  Within a tier, more flags first, then more
    ballots cast (more votes at stake), then the station ids.
    """
    t = election.table
    n = len(t)
    ids = {c: (t[c].astype(str).to_numpy() if c in t else np.full(n, "")) for c in ID_COLUMNS}
    out = pd.DataFrame({"station": np.arange(n), **ids}, index=t.index)
    out["registered"] = t["registered"] if "registered" in t else np.nan
    has_votes = bool(election.parties) or "valid" in t
    cast = election.ballots_cast().astype(float) if has_votes else pd.Series(np.nan, index=t.index)
    out["ballots_cast"] = cast
    issued = election.ballots_issued().astype(float) if has_votes else cast
    registered = out["registered"].astype(float)
    out["turnout"] = issued / registered.where(registered > 0)
    leader = t[election.leader].astype(float) if election.parties else pd.Series(np.nan, index=t.index)
    out["leader_share"] = leader / cast.where(cast > 0)

    ex = Exclusions.for_election(election)
    ex.require(out["registered"].fillna(0) > 0, "no voters on the list")
    ex.require(out["ballots_cast"].fillna(0) > 0, "no ballots cast")
    keep = ex.keep
    out["excluded"] = ex.reasons.fillna("").astype(str)

    from .stats.spikes import is_integer_percent

    codes = pd.DataFrame(False, index=t.index, columns=list(FLAGS))
    region = pd.Series(ids["region"], index=t.index)
    turnout, share = out["turnout"], out["leader_share"]
    tz = _robust_z(turnout.where(keep), region)
    sz = _robust_z(share.where(keep), region)
    codes["TURNOUT_100"] = keep & (turnout >= 1.0)
    codes["TURNOUT_HIGH"] = keep & (tz > z) & ~codes["TURNOUT_100"]
    codes["PLANE_OUTLIER"] = keep & (tz > 0) & (sz > 0) & (np.hypot(tz, sz) > z)
    # whole percentages, with Kobak et al.'s inclusion rule (N >= 100, value at most 99%)
    eligible = keep & (registered >= 100) & issued.notna() & leader.notna()
    for code, count, total in (("INT_TURNOUT", issued, registered), ("INT_SHARE", leader, cast)):
        ok = eligible & (count <= 0.99 * total)
        hit, _ = is_integer_percent(count.where(ok, 0).astype(np.int64), total.where(ok, 1).astype(np.int64))
        codes[code] = ok & hit

    reasons = {code: FLAGS[code][1].format(z=z) for code in FLAGS}
    flag_lists = [[] for _ in range(n)]
    reason_lists = [[] for _ in range(n)]
    tiers = np.full(n, 9)
    for code in FLAGS:
        for pos in np.flatnonzero(codes[code].to_numpy()):
            flag_lists[pos].append(code)
            reason_lists[pos].append(reasons[code])
            tiers[pos] = min(tiers[pos], FLAGS[code][0])
    for pos, code, severity, message in _finding_positions(out, findings):
        if code not in flag_lists[pos]:
            flag_lists[pos].append(code)
            reason_lists[pos].append(f"{code}: {message}")
            tiers[pos] = min(tiers[pos], RULE_TIER.get(severity, 3))

    out["flags"] = [";".join(f) for f in flag_lists]
    out["flag_reasons"] = [" | ".join(r) for r in reason_lists]
    out["n_flags"] = [len(f) for f in flag_lists]
    flagged = out["n_flags"].to_numpy() > 0
    out["review_tier"] = pd.array(np.where(flagged, tiers, 0), dtype="Int64").astype(object)
    out.loc[~flagged, "review_tier"] = pd.NA
    order = out[flagged].assign(_cast=out["ballots_cast"].fillna(-1)).sort_values(
        ["review_tier", "n_flags", "_cast", "region", "tec", "pec", "station"],
        ascending=[True, False, False, True, True, True, True], kind="mergesort")
    out["review_order"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out.loc[order.index, "review_order"] = np.arange(1, len(order) + 1)
    out["review_tier"] = out["review_tier"].astype("Int64")
    return out[STATION_COLUMNS].reset_index(drop=True)


def _finding_positions(stations: pd.DataFrame, findings: pd.DataFrame):
    """(station position, code, severity, message) for every finding that names a station."""
    if findings is None or findings.empty or "code" not in findings:
        return []
    keys = [c for c in ID_COLUMNS if c in findings]
    f = findings.dropna(subset=["pec"]) if "pec" in findings else findings.iloc[0:0]
    if f.empty:
        return []
    left = f[keys].astype(str).assign(_i=np.arange(len(f)))
    right = stations[keys + ["station"]]
    merged = left.merge(right, on=keys, how="inner")
    rows = f.iloc[merged["_i"].to_numpy()]
    return list(zip(merged["station"].to_numpy(), rows["code"].astype(str),
                    rows.get("severity", pd.Series("warning", index=rows.index)).astype(str),
                    rows.get("message", pd.Series("", index=rows.index)).astype(str)))


# --------------------------------------------------------------------------- exclusions
def _excluded(election: Election, results: dict, stations: pd.DataFrame) -> pd.DataFrame:
    """Every row left out by any analysis, with the reason; one row per (analysis, party, station)."""
    pos = pd.Series(np.arange(len(election.table)), index=election.table.index)
    frames = []
    st = stations[stations["excluded"] != ""]
    frames.append(pd.DataFrame({"analysis": "station flags", "level": "nation", "group": NATIONAL, "party": "",
                                "station": st["station"], "reason": st["excluded"], "n": 1}))
    for (name, level), res in results.items():
        for group, items in res.items():
            for r in items if isinstance(items, (list, tuple)) else [items]:
                if not isinstance(r, TestResult) or not r.excluded:
                    continue
                base = {"analysis": name, "level": level, "group": group, "party": r.party or ""}
                rows = r.excluded_rows
                if rows is not None and len(rows):
                    rows = rows[rows.index.isin(pos.index)]
                    frames.append(pd.DataFrame({**base, "station": pos.loc[rows.index].to_numpy(),
                                                "reason": rows.astype(str).to_numpy(), "n": 1}))
                else:
                    frames.append(pd.DataFrame([{**base, "station": -1, "reason": reason, "n": int(count)}
                                                for reason, count in r.excluded.items()]))
    table = pd.concat(frames, ignore_index=True)
    listed = table["station"] >= 0
    table = pd.concat([table[listed].drop_duplicates(["analysis", "party", "station", "reason"]), table[~listed]])
    ids = stations.set_index("station")[["region", "tec", "pec"]]
    table = table.join(ids, on="station")
    table["station"] = table["station"].astype("int64")
    return table[EXCLUDED_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- provenance and words
def _sha256(path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def _provenance(election, battery, levels, params, alpha, z, base_seed, seed_note, time) -> dict:
    from . import __version__

    sources = {}
    for path, digest in (election.sources or {}).items():
        sources[str(path)] = digest if isinstance(digest, str) and len(digest) == 64 else _sha256(path)
    return {
        "package": "election-forensics",
        "version": __version__,
        "sources": sources,
        "profile": election.profile,
        "ruleset": election.meta.get("ruleset"),
        "n_stations": len(election.table),
        "parties": list(election.parties),
        "levels": list(levels),
        "alpha": alpha,
        "flag_z": z,
        "seed": base_seed,
        "seed_note": seed_note,
        "parameters": {k: _jsonable(v) for k, v in sorted(params.items())},
        "battery": [{"test": c.name, "levels": list(c.levels), "params": {k: _jsonable(v) for k, v in c.params.items()},
                     "sub_params": {k: _jsonable(v) for k, v in c.sub_params.items()},
                     "needs": list(c.needs), "min_stations": c.min_stations} for c in battery],
        "time": time or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }


def _effect(row) -> float:
    return float(row.statistic - row.expected) if pd.notna(row.expected) else float(row.statistic)


def _qualifying(t: pd.DataFrame, thresholds: dict, mode: str, unusual: pd.Series) -> pd.DataFrame:
    """Rows of the headline's tests that are unusual and large enough, in groups where any/all tests are."""
    ok = pd.Series(False, index=t.index)
    for name, minimum in thresholds.items():
        rows = (t["test"] == name) & (t["note"] == "") & unusual
        ok |= rows if minimum is None else rows & (t["statistic"].astype(float) >= minimum)
    rows = t[ok]
    if mode == "all":
        n_tests = rows.groupby(["level", "group"])["test"].transform("nunique")
        rows = rows[n_tests == len(thresholds)]
    return rows


def headlines(scan: Scan) -> list:
    """Named findings that stand out, nationally or in some regions, with the regions that contribute most.

    A headline needs, in one group, a significant row (corrected p-value
    below alpha) of its tests, large enough where a minimum is set (of all
    its tests where the mode is "all").  ``scope`` is "national" when the
    nation qualifies, else "regional".  Its regions are the groups that
    qualify before correction (p below alpha), ranked by effect (statistic
    minus expected) in the headline's first test.
    """
    out = []
    t = scan.tests
    alpha = scan.provenance["alpha"]
    for key, thresholds, mode, words in HEADLINES:
        sig = _qualifying(t, thresholds, mode, t["significant"])
        if sig.empty:
            continue
        nat = sig[sig["level"] == "nation"]
        sub = _qualifying(t, thresholds, mode, t["pvalue"] < alpha)
        sub = sub[sub["level"] != "nation"].copy()
        regions = []
        if not sub.empty:
            sub["effect"] = [_effect(r) for r in sub.itertuples()]
            sub["rank"] = sub["test"].map({name: i for i, name in enumerate(thresholds)})
            sub = sub[sub["effect"] > 0].sort_values(["rank", "effect"], ascending=[True, False], kind="mergesort")
            regions = [str(g) for g in sub["group"].drop_duplicates().head(5)]
        shown = nat if not nat.empty else sig
        best = shown.sort_values("pvalue_adj", kind="mergesort").iloc[0]
        out.append({
            "key": key,
            "scope": "national" if not nat.empty else "regional",
            "headline": words,
            "tests": sorted(set(shown["test"])),
            "strongest": {"test": best["test"], "measure": best["measure"], "party": best["party"],
                          "group": best["group"], "statistic": float(best["statistic"]),
                          "expected": None if pd.isna(best["expected"]) else float(best["expected"])},
            "smallest_pvalue_adj": float(shown["pvalue_adj"].min()),
            "n_regions_significant": int(sig.loc[sig["level"] != "nation", "group"].nunique()),
            "driving_regions": regions,
        })
    return out


def _groups_words(n: int) -> str:
    return "1 group" if n == 1 else f"{n} groups"


def _words_x(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _words_p(p: float) -> str:
    return "below 1e-300" if p == 0 else f"{p:.2g}"


def n_stations_named(findings: pd.DataFrame) -> int:
    """Distinct stations named by findings (station ids are unique only with region and TEC)."""
    keys = [c for c in ID_COLUMNS if c in findings]
    return int(len(findings.dropna(subset=["pec"]).drop_duplicates(keys))) if "pec" in findings else 0


def summary_paragraphs(scan: Scan) -> list:
    """The one-page summary, paragraph by paragraph, in plain words."""
    st, t, f = scan.stations, scan.tests, scan.findings
    n_ex = int((st["excluded"] != "").sum())
    checked = (f"We checked {len(st):,} polling stations ({n_ex:,} could not be analysed; section 7 says why) "
               f"with the protocol arithmetic rules and {t['test'].nunique()} statistical tests, "
               f"at these levels: {', '.join(scan.provenance['levels'])}.")
    paras = [checked]
    if scan.notes.get("reconcile"):
        paras.append(f"Protocol arithmetic {scan.notes['reconcile']}.")
    elif "code" in f and len(f):
        errors = int((f.get("severity", pd.Series(dtype=str)) == "error").sum())
        paras.append(f"Protocol arithmetic: {len(f):,} findings ({errors:,} errors) at "
                     f"{n_stations_named(f):,} stations; most common: "
                     + ", ".join(f"{k} ({v:,})" for k, v in f["code"].value_counts().head(3).items()) + ".")
    else:
        paras.append("Protocol arithmetic: no station breaks the control relations that could be checked.")
    if scan.headlines:
        for h in scan.headlines:
            regions = (" The regions that contribute most (largest effect among those unusual on their own "
                       "before correction): " + ", ".join(h["driving_regions"]) + "."
                       if h["driving_regions"] else "")
            b = h["strongest"]
            found = f"{b['measure']}{' (' + b['party'] + ')' if b['party'] else ''}: {_words_x(b['statistic'])}"
            if b["expected"] is not None:
                found += f" against {_words_x(b['expected'])} expected without manipulation"
            where = "Strongest national result" if h["scope"] == "national" else (
                f"Not significant nationally, but in some regions; strongest in {b['group']}")
            paras.append(f"Stands out: {h['headline']}. {where}, {found}; corrected p-value "
                         f"{_words_p(h['smallest_pvalue_adj'])} (tests: {', '.join(h['tests'])}); significant on "
                         f"its own in {_groups_words(h['n_regions_significant'])} below the national level.{regions}")
    else:
        paras.append("Nothing stands out nationally: no test's corrected p-value is below "
                     f"{scan.provenance['alpha']}.")
    flagged = int((st["n_flags"] > 0).sum())
    tier1 = int((st["review_tier"] == 1).sum())
    paras.append(f"{flagged:,} stations carry at least one flag ({tier1:,} with an arithmetic error); "
                 "section 6 lists them in review order.")
    cnr = t[t["note"].str.startswith("could not run", na=False)]
    if len(cnr):
        paras.append("Could not run: " + "; ".join(sorted({f"{r.test} ({r.note[15:]})" for r in
                                                           cnr.drop_duplicates('test').itertuples()})) + ".")
    paras.append(f"How sure: p-values are corrected for the number of tests and groups (Benjamini-Hochberg); "
                 f"'stands out' means a corrected p-value below {scan.provenance['alpha']}. "
                 "A statistical anomaly is a reason to look, not proof of fraud: honest reasons "
                 "(small stations, hospitals, military units, local habits) can produce the same patterns.")
    return paras
