"""Evaluate the reconciliation rules over every polling station at once.

``reconcile`` turns each rule's formula into whole-column arithmetic (numpy
arrays, no loop over stations), keeps the stations where the relation fails
beyond its tolerance, and returns them as one long table of findings with a
plain-language message each.  Rules the data cannot check, and stations
whose figures are blank or were never published, are listed in
``Findings.not_checkable`` rather than skipped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..model import ID_COLUMNS, Election, as_election
from .rules import DERIVED, RULES, Rule, Tolerance, parse_formula, parse_side, rule_table, ruleset
from .tabulate import compare_totals

FINDING_COLUMNS = ["region", "tec", "pec", "code", "severity", "observed", "expected", "difference", "message"]
NOT_CHECKABLE_COLUMNS = ["region", "tec", "pec", "code", "missing", "reason"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# -- values of fields, derived quantities and formula sides -------------------------
class _Columns:
    """Float arrays of the table's fields and derived quantities, computed once."""

    def __init__(self, election: Election):
        self.e = election
        self.cache: dict[str, np.ndarray] = {}
        self.derived_missing: dict[str, str] = {}

    def get(self, name: str) -> np.ndarray | None:
        """The column as float64 (NaN where blank), or None when the data lack it."""
        if name in self.cache:
            return self.cache[name]
        if name == "party_votes":
            parties = list(self.e.parties)
            value = self.e.table[parties].astype(float).sum(axis=1, min_count=1).to_numpy() if parties else None
            self.derived_missing[name] = "party columns"
        elif name in DERIVED and name not in self.e.table.columns:
            value = None
            for alternative in DERIVED[name]:
                value, missing = self.side(parse_side(alternative))
                if not missing:
                    break
                value = None
            self.derived_missing[name] = " or ".join(a.replace("?", "") for a in DERIVED[name])
        elif name in self.e.table.columns:
            value = pd.to_numeric(self.e.table[name], errors="coerce").to_numpy(dtype=float)
        else:
            value = None
        self.cache[name] = value
        return value

    def side(self, terms) -> tuple[np.ndarray | None, list[str]]:
        """Sum of signed terms; optional terms count 0 when absent or blank."""
        n = len(self.e.table)
        total, missing = np.zeros(n), []
        for t in terms:
            if t.name is None:
                total = total + t.sign * t.constant
                continue
            v = self.get(t.name)
            if v is None:
                if not t.optional:
                    missing.append(self.derived_missing.get(t.name, t.name))
                continue
            total = total + t.sign * (np.nan_to_num(v, nan=0.0) if t.optional else v)
        return (None if missing else total), missing

    def blanks(self, terms, rows: np.ndarray) -> np.ndarray:
        """For each row, the required fields that are blank there, comma-separated."""
        out = np.full(int(rows.sum()), "", dtype=object)
        for t in terms:
            v = None if t.name is None or t.optional else self.cache.get(t.name)
            if v is not None:
                out = np.where(np.isnan(v[rows]), np.where(out == "", t.name, out + ", " + t.name), out)
        return out


# -- messages ------------------------------------------------------------------
def _fmt(values) -> pd.Series:
    """Numbers as text: whole numbers without decimals, others with one."""
    s = pd.Series(np.asarray(values, dtype=float))
    whole = np.isfinite(s) & (s == s.round())
    text = s.round(1).astype(str)
    text[whole] = s[whole].round().astype("int64").astype(str)
    return text


def _fill(template: str, values: dict[str, pd.Series], n: int) -> pd.Series:
    """Fill ``{name}`` placeholders of one template with per-row values, vectorised."""
    pieces = _PLACEHOLDER.split(template)
    out = pd.Series([pieces[0]] * n, dtype=object)
    for i in range(1, len(pieces), 2):
        out = out + values[pieces[i]].reset_index(drop=True).astype(str) + pieces[i + 1]
    return out


def _messages(rule: Rule, d: np.ndarray, values: dict[str, pd.Series]) -> pd.Series:
    """The rule's message per finding: the upward or downward text, in the singular for a gap of 1."""
    up, down = rule.messages
    n = len(d)
    msg = _fill(up, values, n) if up else pd.Series([""] * n, dtype=object)
    if down and (d < 0).any():
        msg = msg.where(pd.Series(d >= 0), _fill(down, values, n))
    one = pd.Series(np.abs(d) == 1) & msg.str.startswith("1 ")
    if one.any():
        msg[one] = msg[one].str.replace(r"\b(ballot|vote|voter|signature|certificate)s\b", r"\1", n=1, regex=True)
    return msg


# -- evaluation ----------------------------------------------------------------------
def _ids(election: Election) -> pd.DataFrame:
    t = election.table
    return pd.DataFrame({c: (t[c].astype(str) if c in t.columns else "") for c in ID_COLUMNS}, index=t.index)


def _station_not_checkable(ids, rows, code, missing, reason) -> pd.DataFrame:
    df = ids[rows].copy()
    df["code"], df["missing"], df["reason"] = code, missing, reason
    return df


def _rule_not_checkable(code, missing, reason) -> pd.DataFrame:
    return pd.DataFrame([{"region": "", "tec": "", "pec": "", "code": code, "missing": missing, "reason": reason}])


def _findings(ids, rows, rule, observed, expected, difference, messages) -> pd.DataFrame:
    df = ids[rows].copy()
    df["code"], df["severity"] = rule.code, rule.severity
    df["observed"], df["expected"], df["difference"] = observed, expected, difference
    df["message"] = messages.to_numpy()
    return df


def _relation(rule: Rule, cols: _Columns, ids, published: np.ndarray):
    """Findings and not-checkable rows of one formula rule."""
    lhs_t, op, rhs_t = rule.parts
    lhs, miss_l = cols.side(lhs_t)
    rhs, miss_r = cols.side(rhs_t)
    tol = rule.tolerance.resolve(rule.params)
    base = cols.get(tol.base) if tol.relative is not None else None
    when = None
    missing = miss_l + miss_r
    if tol.relative is not None and base is None:
        missing.append(cols.derived_missing.get(tol.base, tol.base))
    if rule.when:
        wl, wop, wr = parse_formula(rule.when)
        a, ma = cols.side(wl)
        b, mb = cols.side(wr)
        missing += ma + mb
        if not (ma or mb):
            when = _compare(a - b, wop)
    if missing:
        return None, _rule_not_checkable(rule.code, ", ".join(dict.fromkeys(missing)),
                                         "the data have no such column")
    ok = published & ~np.isnan(lhs) & ~np.isnan(rhs)
    if base is not None:
        ok &= ~np.isnan(base)
    blank = published & ~ok
    skipped = None
    if blank.any():
        terms = lhs_t + rhs_t + ((parse_side(tol.base)) if base is not None else ())
        skipped = _station_not_checkable(ids, blank, rule.code, cols.blanks(terms, blank),
                                         "line(s) blank in this station's protocol")
    d = lhs - rhs
    if op == "!=":
        bad = ok & (d == 0)
    else:
        gap = {"==": np.abs(d), "<=": np.maximum(d, 0), ">=": np.maximum(-d, 0)}[op]
        bad = ok & (gap > 0)
        if tol.absolute is not None or tol.relative is not None:
            reach = np.zeros(len(d), dtype=bool)
            if tol.absolute is not None:
                reach |= gap >= tol.absolute
            if tol.relative is not None:
                reach |= gap >= tol.relative * np.nan_to_num(base)
            bad &= reach
    if when is not None:
        bad &= when
    if not bad.any():
        return None, skipped
    obs, exp, diff = lhs[bad], rhs[bad], d[bad]
    values = {"n": _fmt(np.abs(diff)), "observed": _fmt(obs), "expected": _fmt(exp)}
    if base is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            values["share"] = _fmt(np.round(100 * np.abs(diff) / base[bad], 1))
    return _findings(ids, bad, rule, obs, exp, diff, _messages(rule, diff, values)), skipped


def _compare(d: np.ndarray, op: str) -> np.ndarray:
    return {"==": d == 0, "<=": d <= 0, ">=": d >= 0, "!=": d != 0}[op]


_COPY_FIELDS = ("ballots_found", "ballots_found_mobile", "ballots_found_stationary", "invalid", "valid",
                "against_all")


def _copies(rule: Rule, cols: _Columns, ids, published: np.ndarray):
    """Stations whose results block equals another station's."""
    e = cols.e
    block = [c for c in _COPY_FIELDS if c in e.table.columns] + [p for p in e.parties if p not in _COPY_FIELDS]
    size, _ = cols.side(parse_side("valid + invalid? + against_all?"))
    if size is None:
        size = cols.get("party_votes")
    if not block or size is None or not e.parties:
        return None, _rule_not_checkable(rule.code, "party columns", "the data have no results block")
    values = e.table[block].apply(pd.to_numeric, errors="coerce")
    complete = values.notna().all(axis=1).to_numpy()
    minimum, parties = float(rule.params["copy_min_ballots"]), float(rule.params["copy_min_parties"])
    voted_for = (values[[p for p in e.parties if p in values.columns]] > 0).sum(axis=1).to_numpy()
    eligible = published & complete & (np.nan_to_num(size) >= minimum) & (voted_for >= parties)
    skipped = _station_not_checkable(
        ids, published & ~eligible, rule.code, "",
        f"fewer than {minimum:g} ballots, votes for fewer than {parties:g} parties, or a blank line: "
        "such results match by chance")
    h = pd.util.hash_pandas_object(values[eligible], index=False)
    dup = h.duplicated(keep=False)
    if not dup.any():
        return None, skipped
    h = h[dup]
    label = ("PEC " + ids.loc[h.index, "pec"] + " (" + ids.loc[h.index, "tec"] + ", "
             + ids.loc[h.index, "region"] + ")").rename("label")
    group = label.groupby(h.to_numpy())
    counts = group.transform("size").to_numpy()
    others = group.transform(lambda s: "; ".join(s.iloc[:6]) + (" …" if len(s) > 6 else ""))
    rows = np.zeros(len(published), dtype=bool)
    rows[ids.index.get_indexer(h.index)] = True
    ballots = size[rows]
    order = ids.index[rows]
    counts = pd.Series(counts, index=h.index).reindex(order).to_numpy()
    others = others.reindex(order)
    msg = _fill(rule.messages[0], {"observed": _fmt(counts - 1), "others": others}, len(order))
    return _findings(ids, rows, rule, counts - 1, np.zeros(len(order)), ballots, msg), skipped


def _totals(rule: Rule, election: Election, published_totals):
    """Published higher-level totals that differ from the sum of the protocols."""
    if published_totals is None:
        return None, _rule_not_checkable(rule.code, "published totals", "no published totals were given")
    cmp = compare_totals(election, published_totals)
    bad = cmp[cmp["status"] == "differs"].reset_index(drop=True)
    skipped = None
    odd = cmp[cmp["status"].isin(["no such area", "field not in the protocols"])]
    if len(odd):
        skipped = pd.DataFrame({"region": odd["region"], "tec": odd["tec"], "pec": "", "code": rule.code,
                                "missing": odd["field"], "reason": odd["status"]})
    if bad.empty:
        return None, skipped
    area = np.where(bad["level"] == "nation", "the nation",
                    np.where(bad["level"] == "region", "region " + bad["region"], "TEC " + bad["tec"] + " (" + bad["region"] + ")"))
    diff = bad["difference"].to_numpy(float)
    values = {"n": _fmt(np.abs(diff)), "observed": _fmt(bad["published"]), "expected": _fmt(bad["computed"]),
              "field": bad["field"], "area": pd.Series(area)}
    df = pd.DataFrame({"region": bad["region"], "tec": bad["tec"], "pec": "", "code": rule.code,
                       "severity": rule.severity, "observed": bad["published"].astype(float),
                       "expected": bad["computed"].astype(float), "difference": diff,
                       "message": _messages(rule, diff, values).to_numpy()})
    df.index = pd.Index([-1] * len(df), name="station")
    return df, skipped


# -- options ---------------------------------------------------------------------------
def _select_rules(election: Election, rules) -> tuple[str, tuple[Rule, ...]]:
    if rules is None:
        rules = election.meta.get("ruleset", "generic")
    if isinstance(rules, str):
        return rules, ruleset(rules)
    return "custom", tuple(rules)


def _apply_tolerances(rules: tuple[Rule, ...], tolerances: dict) -> tuple[Rule, ...]:
    """Override rule parameters by name, or a rule's whole Tolerance by its code."""
    params = {k for r in rules for k in r.params}

    def code_of(key):
        key = key.replace("_", "-").upper()
        return next((r.code for r in rules if r.code == key or r.code.split("-")[0] == key), None)

    unknown = [k for k in tolerances if k not in params and code_of(k) is None]
    if unknown:
        raise TypeError(f"unknown tolerance {unknown[0]!r}; parameters: {', '.join(sorted(params))}, "
                        "or a rule code (e.g. R11=Tolerance(absolute=20))")
    out = []
    for r in rules:
        new = {k: v for k, v in tolerances.items() if k in r.params}
        tol = next((v for k, v in tolerances.items() if code_of(k) == r.code), None)
        if tol is not None and not isinstance(tol, Tolerance):
            raise TypeError(f"{r.code}: give a Tolerance, not {type(tol).__name__}")
        out.append(replace(r, params={**r.params, **new}, tolerance=tol or r.tolerance))
    return tuple(out)


# -- results -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Findings:
    """What the reconciliation found.

    ``table``: one row per failed check (index: the station's row in the
    election table, -1 for published totals), columns ``region, tec, pec,
    code, severity, observed, expected, difference, message``;
    ``difference`` is observed − expected in ballots.  ``not_checkable``:
    rules the data cannot check (``pec`` blank) and stations a rule could
    not be applied to, with the missing fields and the reason.  ``rules``:
    the rules applied, with severities, tolerances and explanations.
    """

    table: pd.DataFrame
    not_checkable: pd.DataFrame
    rules: pd.DataFrame
    ruleset: str = "generic"
    stations: pd.DataFrame = field(default=None, repr=False)  # id columns of every station

    def __len__(self) -> int:
        return len(self.table)

    @property
    def errors(self) -> pd.DataFrame:
        return self.table[self.table["severity"] == "error"]

    @property
    def warnings(self) -> pd.DataFrame:
        return self.table[self.table["severity"] == "warning"]

    def flagged(self, code: str | None = None, severity: str | None = None) -> pd.Index:
        """Row labels of the stations with a finding (optionally of one rule or severity)."""
        t = self.table
        if code is not None:
            t = t[t["code"].str.startswith(code)]
        if severity is not None:
            t = t[t["severity"] == severity]
        return t.index[t.index >= 0].unique()

    def by_rule(self) -> pd.DataFrame:
        """Per rule: severity, stations with a finding, ballots involved, whether checkable."""
        t = self.table
        per = t.assign(ballots=t["difference"].abs()).groupby("code").agg(
            stations=("pec", "size"), ballots=("ballots", "sum"))
        whole = self.not_checkable[self.not_checkable["pec"] == ""]
        skipped = self.not_checkable[self.not_checkable["pec"] != ""].groupby("code").size()
        out = self.rules.set_index("code")[["severity", "title", "formula", "tolerance", "explanation"]].join(per)
        out["stations"] = out["stations"].fillna(0).astype("int64")
        out["ballots"] = out["ballots"].fillna(0).astype("int64")
        out["checkable"] = ~out.index.isin(whole["code"])
        out["missing"] = whole.set_index("code")["missing"].reindex(out.index).fillna("")
        out["stations_not_checked"] = skipped.reindex(out.index).fillna(0).astype("int64")
        return out[["severity", "title", "checkable", "stations", "ballots", "stations_not_checked", "missing",
                    "formula", "tolerance", "explanation"]]

    def by_area(self, level: str = "region") -> pd.DataFrame:
        """Per region (or TEC): stations, and stations / ballots with errors and with warnings.

        A station's ballots are the largest gap among its findings of that
        severity, so ballots flagged by several rules are counted once.
        """
        keys = {"region": ["region"], "tec": ["region", "tec"]}[level]
        base = self.stations.groupby(keys).size().rename("stations").to_frame()
        t = self.table[self.table.index >= 0]
        t = t.assign(ballots=t["difference"].abs()).reset_index()
        per_station = t.groupby(["station", "severity"] + keys, as_index=False)["ballots"].max()
        for sev in ("error", "warning"):
            part = per_station[per_station["severity"] == sev].groupby(keys).agg(
                stations=("station", "size"), ballots=("ballots", "sum"))
            base[f"{sev}_stations"] = part["stations"].reindex(base.index).fillna(0).astype("int64")
            base[f"{sev}_ballots"] = part["ballots"].reindex(base.index).fillna(0).astype("int64")
        return base.sort_values(["error_stations", "warning_stations"], ascending=False).reset_index()

    def summary(self) -> str:
        """A few plain sentences: what was checked and what was found."""
        n = len(self.stations)
        unpublished = int((self.not_checkable["code"] == "ALL").sum())
        rules = self.by_rule()
        lines = [f"Checked {n:,} polling stations ({n - unpublished:,} with published figures) against "
                 f"{int(rules['checkable'].sum())} of {len(rules)} rules of the '{self.ruleset}' rule set."]
        if unpublished:
            lines.append(f"{unpublished:,} station never had its figures published and could not be checked."
                         if unpublished == 1 else
                         f"{unpublished:,} stations never had their figures published and could not be checked.")
        for sev, word in (("error", "Errors (the protocol cannot be right)"),
                          ("warning", "Warnings (the figures need an explanation)")):
            hit = rules[(rules["severity"] == sev) & (rules["stations"] > 0)]
            if hit.empty:
                lines.append(f"{word}: none.")
                continue
            parts = [f"{r.title} ({code.split('-', 1)[0]}): {r.stations:,} stations"
                     + (f", {r.ballots:,} ballots" if r.ballots else "") for code, r in hit.iterrows()]
            lines.append(f"{word}: " + "; ".join(parts) + ".")
        missing = rules[~rules["checkable"]]
        if len(missing):
            lines.append("Not checkable with these data: " + ", ".join(
                f"{code.split('-', 1)[0]} (needs {m})" for code, m in missing["missing"].items()) + ".")
        lines.append("A warning is a reason to look at the protocol, not proof of fraud.")
        return "\n".join(lines)


def reconcile(election, published=None, rules=None, **tolerances) -> Findings:
    """Check every polling station's protocol against the reconciliation rules.

    ``rules``: a rule-set name ("ru_2018", "ru_2011", "kz", "generic"), a
    sequence of ``Rule``, or None for ``election.meta["ruleset"]``.
    ``published``: higher-level totals (a file or DataFrame in the layout of
    ``read_totals``) to compare with the sum of the protocols (rule R22).
    ``tolerances``: rule parameters by name (``gap_ballots=15``,
    ``gap_share=0.02``, ``invalid_share=0.03``, ``added_share=0.10``,
    ``copy_min_ballots=30``) or a rule's ``Tolerance`` by its code
    (``R11=Tolerance(absolute=20)``).
    """
    e = as_election(election)
    name, chosen = _select_rules(e, rules)
    chosen = _apply_tolerances(chosen, tolerances)
    ids = _ids(e)
    published_mask = e.published.to_numpy(dtype=bool)
    cols = _Columns(e)
    found, skipped = [], []
    if (~published_mask).any():
        skipped.append(_station_not_checkable(ids, ~published_mask, "ALL", "", "figures not published"))
    for rule in chosen:
        if rule.kind == "copy":
            f, s = _copies(rule, cols, ids, published_mask)
        elif rule.kind == "totals":
            f, s = _totals(rule, e, published)
        else:
            f, s = _relation(rule, cols, ids, published_mask)
        found += [f] if f is not None else []
        skipped += [s] if s is not None else []
    table = pd.concat(found) if found else pd.DataFrame(columns=FINDING_COLUMNS)
    table = table[FINDING_COLUMNS]
    table.index.name = "station"
    for c in ("observed", "expected", "difference"):
        table[c] = table[c].astype(float)
    not_checkable = pd.concat(skipped) if skipped else pd.DataFrame(columns=NOT_CHECKABLE_COLUMNS)
    not_checkable = not_checkable[NOT_CHECKABLE_COLUMNS]
    not_checkable.index.name = "station"
    return Findings(table=table, not_checkable=not_checkable, rules=rule_table(chosen), ruleset=name,
                    stations=ids)


__all__ = ["reconcile", "Findings"]
