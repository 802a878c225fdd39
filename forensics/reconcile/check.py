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
from .rules import DERIVED, Rule, Tolerance, parse_formula, parse_side, rule_table, ruleset
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
            # a blank party line leaves the sum blank: the station is then not checkable, not guessed
            value = self.e.table[parties].astype(float).sum(axis=1, skipna=False).to_numpy() if parties else None
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
            column = self.e.table[name]
            if not pd.api.types.is_numeric_dtype(column):
                column = pd.to_numeric(column, errors="coerce")
            value = column.to_numpy(dtype=float, na_value=np.nan)
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
_PLURAL = re.compile(r"\b(ballot|vote|voter|signature|certificate)s\b")


def _fmt(values) -> np.ndarray:
    """Numbers as text: whole numbers without decimals, others with one."""
    a = np.asarray(values, dtype=float)
    whole = np.isfinite(a) & (a == np.round(a))
    out = np.empty(len(a), dtype=object)
    out[whole] = list(map(str, a[whole].astype(np.int64).tolist()))
    if not whole.all():
        out[~whole] = list(map("{:.1f}".format, a[~whole].tolist()))
    return out


def _fill(template: str, values: dict[str, np.ndarray], rows: np.ndarray) -> list[str]:
    """Fill the ``{name}`` placeholders of one template for the selected rows."""
    names: list[str] = []

    def positional(m):
        names.append(m.group(1))
        return "{%d}" % (len(names) - 1)

    text = _PLACEHOLDER.sub(positional, template)
    if not names:
        return [text] * int(rows.sum())
    return list(map(text.format, *(values[n][rows] for n in names)))


def _singular(template: str) -> str:
    """The template for a gap of exactly 1 ("1 more ballot", not "1 more ballots")."""
    return _PLURAL.sub(r"\1", template, count=1) if template.startswith("{n} ") else template


def _messages(rule: Rule, d: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
    """The rule's message per finding: the text for a gap upward or downward."""
    out = np.full(len(d), "", dtype=object)
    one = np.abs(d) == 1
    for template, side in zip(rule.messages, (d >= 0, d < 0)):
        for text, rows in ((template, side & ~one), (_singular(template), side & one)):
            if text and rows.any():
                out[rows] = _fill(text, values, rows)
    return out


# -- evaluation ----------------------------------------------------------------------
def _ids(election: Election) -> pd.DataFrame:
    """The id columns of every station, as text (converted row by row only when taken)."""
    t = election.table
    return pd.DataFrame({c: (t[c] if c in t.columns and pd.api.types.is_string_dtype(t[c])
                             else t[c].astype(str) if c in t.columns else "") for c in ID_COLUMNS},
                        index=t.index)


def _take(ids: pd.DataFrame, column: str, pos: np.ndarray) -> np.ndarray:
    return ids[column].iloc[pos].to_numpy(dtype=object)


def _part(rows=None, **columns) -> dict:
    """Findings or not-checkable rows of one rule: station positions (or None) and column values."""
    return {"pos": None if rows is None else np.flatnonzero(rows), **columns}


def _assemble(parts: list[dict], columns: list[str], ids: pd.DataFrame) -> pd.DataFrame:
    """One table from the parts, the id columns taken from the stations' rows."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float if c in ("observed", "expected", "difference") else object)
                             for c in columns}, index=pd.Index([], name="station", dtype="int64"))
    index, data = [], {c: [] for c in columns}
    for part in parts:
        pos = part["pos"]
        n = len(pos) if pos is not None else max(len(np.atleast_1d(v)) for k, v in part.items() if k != "pos")
        index.append(ids.index[pos] if pos is not None else np.full(n, -1))
        for c in columns:
            if c in ID_COLUMNS and pos is not None:
                value = _take(ids, c, pos)
            else:
                value = part.get(c, "")
            data[c].append(np.full(n, value, dtype=object) if np.isscalar(value) else np.asarray(value))
    numeric = ("observed", "expected", "difference")
    return pd.DataFrame({c: pd.Series(np.concatenate(v), dtype=float if c in numeric else object, copy=False)
                         for c, v in data.items()}).set_axis(pd.Index(np.concatenate(index), name="station"))


def _relation(rule: Rule, cols: _Columns, published: np.ndarray):
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
        return None, _part(code=rule.code, missing=", ".join(dict.fromkeys(missing)),
                           reason="the data have no such column")
    ok = published & ~np.isnan(lhs) & ~np.isnan(rhs)
    if base is not None:
        ok &= ~np.isnan(base)
    blank = published & ~ok
    outside = ok & ~when if when is not None else np.zeros_like(ok)  # where the rule does not apply
    skipped = None
    if blank.any() or outside.any():
        terms = lhs_t + rhs_t + (parse_side(tol.base) if base is not None else ())
        left_out = blank | outside
        missing = np.full(len(ok), "", dtype=object)
        missing[blank] = cols.blanks(terms, blank)
        reason = np.where(blank, "line(s) blank in this station's protocol",
                          f"the rule applies only where {rule.when}")
        skipped = _part(left_out, code=rule.code, missing=missing[left_out], reason=reason[left_out].astype(object))
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
    bad &= ~outside
    if not bad.any():
        return None, skipped
    obs, exp, diff = lhs[bad], rhs[bad], d[bad]
    values = {"n": _fmt(np.abs(diff)), "observed": _fmt(obs), "expected": _fmt(exp)}
    if base is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            values["share"] = _fmt(np.round(100 * np.abs(diff) / base[bad], 1))
    return _part(bad, code=rule.code, severity=rule.severity, observed=obs, expected=exp, difference=diff,
                 message=_messages(rule, diff, values)), skipped


def _compare(d: np.ndarray, op: str) -> np.ndarray:
    return {"==": d == 0, "<=": d <= 0, ">=": d >= 0, "!=": d != 0}[op]


#: ``copy_within`` -> the id columns a copied protocol shares with its original
COPY_WITHIN = {"tec": ("region", "tec"), "region": ("region",), "nation": ()}
_COPY_FIELDS = ("ballots_found", "ballots_found_mobile", "ballots_found_stationary", "invalid", "valid",
                "against_all")


def _copies(rule: Rule, cols: _Columns, ids: pd.DataFrame, published: np.ndarray):
    """Stations whose results block equals another station's of the same area (``copy_within``)."""
    e = cols.e
    parties = [p for p in e.parties if p not in _COPY_FIELDS]
    block = [c for c in _COPY_FIELDS if c in e.table.columns] + parties
    size, _ = cols.side(parse_side("valid + invalid? + against_all?"))
    if size is None:
        size = cols.get("party_votes")
    if not parties or size is None:
        return None, _part(code=rule.code, missing="party columns", reason="the data have no results block")
    values = np.column_stack([cols.get(c) for c in block])
    complete = ~np.isnan(values).any(axis=1)
    minimum, at_least = float(rule.params["copy_min_ballots"]), float(rule.params["copy_min_parties"])
    voted_for = (values[:, len(block) - len(parties):] > 0).sum(axis=1)
    eligible = published & complete & (np.nan_to_num(size) >= minimum) & (voted_for >= at_least)
    skipped = _part(published & ~eligible, code=rule.code, missing="",
                    reason=f"fewer than {minimum:g} ballots, votes for fewer than {at_least:g} parties, or a "
                           "blank line: such results match by chance")
    pos = np.flatnonzero(eligible)
    within = rule.params.get("copy_within", "tec")
    if within not in COPY_WITHIN:
        raise ValueError(f"copy_within must be one of {', '.join(COPY_WITHIN)}, not {within!r}")
    frame = pd.DataFrame(values[pos])
    for c in COPY_WITHIN[within]:  # blocks compared only within one area (an id the data lack is "" everywhere)
        frame[c] = _take(ids, c, pos)
    h = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    dup = pd.Series(h).duplicated(keep=False).to_numpy()
    if not dup.any():
        return None, skipped
    pos, h = pos[dup], h[dup]
    idv = {c: _take(ids, c, pos) for c in ID_COLUMNS}
    label = pd.Series(list(map("PEC {} ({}, {})".format, idv["pec"], idv["tec"], idv["region"])))
    group = label.groupby(h)
    counts = group.transform("size").to_numpy()
    others = group.transform(lambda g: "; ".join(g.iloc[:6]) + (" …" if len(g) > 6 else "")).to_numpy()
    rows = np.zeros(len(published), dtype=bool)
    rows[pos] = True  # pos is increasing, so rows and pos list the stations in the same order
    message = _fill(rule.messages[0], {"stations": _fmt(counts), "list": others}, np.ones(len(pos), bool))
    return _part(rows, code=rule.code, severity=rule.severity, observed=counts - 1.0,
                 expected=np.zeros(len(pos)), difference=size[pos], message=np.array(message, dtype=object)), skipped


def _totals(rule: Rule, election: Election, published_totals):
    """Published higher-level totals that differ from the sum of the protocols."""
    if published_totals is None:
        return None, _part(code=rule.code, missing="published totals", reason="no published totals were given")
    cmp = compare_totals(election, published_totals)
    bad = cmp[cmp["status"] == "differs"]
    odd = cmp[cmp["status"].isin(["no such area", "field not in the protocols"])]
    skipped = None
    if len(odd):
        skipped = _part(region=odd["region"].to_numpy(object), tec=odd["tec"].to_numpy(object), pec="",
                        code=rule.code, missing=odd["field"].to_numpy(object), reason=odd["status"].to_numpy(object))
    if bad.empty:
        return None, skipped
    level, region, tec = (bad[c].to_numpy(object) for c in ("level", "region", "tec"))
    area = np.where(level == "nation", "the nation",
                    np.where(level == "region", "region " + region, "TEC " + tec + " (" + region + ")"))
    diff = bad["difference"].to_numpy(float)
    values = {"n": _fmt(np.abs(diff)), "observed": _fmt(bad["published"]), "expected": _fmt(bad["computed"]),
              "field": bad["field"].to_numpy(object), "area": area}
    return _part(region=region, tec=tec, pec="", code=rule.code, severity=rule.severity,
                 observed=bad["published"].to_numpy(float), expected=bad["computed"].to_numpy(float),
                 difference=diff, message=_messages(rule, diff, values)), skipped


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
            lines.append(f"{_count(unpublished, 'station')} never had "
                         f"{'its' if unpublished == 1 else 'their'} figures published and could not be checked.")
        for sev, word in (("error", "Errors (the protocol cannot be right)"),
                          ("warning", "Warnings (the figures need an explanation)")):
            hit = rules[(rules["severity"] == sev) & (rules["stations"] > 0)]
            if hit.empty:
                lines.append(f"{word}: none.")
                continue
            parts = [f"{r.title} ({code.split('-', 1)[0]}): {_count(r.stations, 'station')}"
                     + (f", {_count(r.ballots, 'ballot')}" if r.ballots else "") for code, r in hit.iterrows()]
            lines.append(f"{word}: " + "; ".join(parts) + ".")
        missing = rules[~rules["checkable"]]
        if len(missing):
            lines.append("Not checkable with these data: " + ", ".join(
                f"{code.split('-', 1)[0]} (needs {m})" for code, m in missing["missing"].items()) + ".")
        lines.append("A warning is a reason to look at the protocol, not proof of fraud.")
        return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def reconcile(election, published=None, rules=None, **tolerances) -> Findings:
    """Check every polling station's protocol against the reconciliation rules.

    ``rules``: a rule-set name ("ru_2018", "ru_2011", "kz", "generic"), a
    sequence of ``Rule``, or None for ``election.meta["ruleset"]``.
    ``published``: higher-level totals (a file or DataFrame in the layout of
    ``read_totals``) to compare with the sum of the protocols (rule R22).
    ``tolerances``: rule parameters by name (``gap_ballots=15``,
    ``gap_share=0.02``, ``invalid_share=0.03``, ``added_share=0.10``,
    ``copy_min_ballots=30``, ``copy_within="region"``) or a rule's ``Tolerance`` by its code
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
        skipped.append(_part(~published_mask, code="ALL", missing="", reason="figures not published"))
    for rule in chosen:
        if rule.kind == "copy":
            f, s = _copies(rule, cols, ids, published_mask)
        elif rule.kind == "totals":
            f, s = _totals(rule, e, published)
        else:
            f, s = _relation(rule, cols, published_mask)
        found += [f] if f is not None else []
        skipped += [s] if s is not None else []
    return Findings(table=_assemble(found, FINDING_COLUMNS, ids),
                    not_checkable=_assemble(skipped, NOT_CHECKABLE_COLUMNS, ids),
                    rules=rule_table(chosen), ruleset=name, stations=ids)


__all__ = ["reconcile", "Findings"]
