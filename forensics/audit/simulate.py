"""Simulated observer audits with known truth.

From an election drawn by ``forensics.simulate`` (the protocols the PECs
signed), ``observer_copies`` draws a sample of observed stations, gives the
observers true copies (with transcription slips at some), alters the
official figures afterwards at others in each pattern ``compare`` knows,
optionally adds a second entry and an observer effect (ballots added where
nobody watched), and returns everything with the ground truth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import Election
from ..random import ensure_rng
from .sample import pvt
from .stations import group_key, protocol_lines

#: default share of observed stations whose official figures are altered, per pattern
ALTERATIONS = {"moved": 0.04, "added": 0.04, "redrawn": 0.04}


@dataclass(frozen=True)
class AuditSimulation:
    """``signed``: the protocols as signed (all stations); ``official``: as published;
    ``observed`` / ``second``: first and second transcriptions (canonical columns plus
    provenance); ``truth``: per observed station its ``true_class`` and ``true_entry``."""

    signed: Election
    official: Election
    observed: pd.DataFrame
    second: pd.DataFrame | None
    truth: pd.DataFrame


def _first_present(table, *names):
    return next(n for n in names if n in table.columns)


def add_ballots(table: pd.DataFrame, rows, x, party: str) -> None:
    """Put ``x`` ballots for ``party`` in the box at ``rows``, keeping every identity (in place)."""
    x = np.asarray(x, dtype=np.int64)
    for col in (party, "valid", _first_present(table, "ballots_found", "ballots_found_stationary"),
                _first_present(table, "ballots_issued", "ballots_issued_inside"), "signatures"):
        if col in table.columns:
            table.loc[rows, col] += x
    if "ballots_cancelled" in table.columns:
        table.loc[rows, "ballots_cancelled"] -= x
    elif "ballots_received" in table.columns:
        table.loc[rows, "ballots_received"] += x


def _capacity(table: pd.DataFrame) -> pd.Series:
    """Ballots that can be added without breaking a rule: unused stock and unissued voters."""
    issued = table[[c for c in ("ballots_issued", "ballots_issued_early", "ballots_issued_inside",
                                "ballots_issued_outside") if c in table.columns]].sum(axis=1)
    cap = table["registered"] - issued
    if "ballots_cancelled" in table.columns:
        cap = np.minimum(cap, table["ballots_cancelled"])
    return cap.clip(lower=0)


def _move(table, rows, parties, frac) -> None:
    """Move a share ``frac`` of the strongest rival's votes to the leader (in place)."""
    rivals = table.loc[rows, list(parties[1:])]
    donor = rivals.idxmax(axis=1)
    for row, party, f in zip(rows, donor, frac):
        y = max(1, int(round(f * table.at[row, party])))
        table.at[row, party] -= y
        table.at[row, parties[0]] += y


def _slip(value: int, rng) -> int:
    """The number with one digit mistyped or two adjacent different digits swapped."""
    s = list(str(int(value)))
    pairs = [i for i in range(len(s) - 1) if s[i] != s[i + 1]]
    if pairs and rng.random() < 0.5:
        i = pairs[rng.integers(len(pairs))]
        s[i], s[i + 1] = s[i + 1], s[i]
    else:
        i = int(rng.integers(len(s)))
        choices = [d for d in "0123456789" if d != s[i] and not (i == 0 and d == "0" and len(s) > 1)]
        s[i] = choices[rng.integers(len(choices))]
    return int("".join(s))


def _sample(table: pd.DataFrame, sample: float, design: str, strata: str, clusters: str, rng) -> np.ndarray:
    """Row labels of the observed stations under a sampling design."""
    if design == "srs":
        return rng.choice(table.index.to_numpy(), size=max(2, round(sample * len(table))), replace=False)
    if design == "stratified":
        picked = []
        for _, g in table.groupby(strata, sort=True):
            k = min(len(g), max(2, round(sample * len(g))))
            picked.append(rng.choice(g.index.to_numpy(), size=k, replace=False))
        return np.concatenate(picked)
    if design == "cluster":
        keys = group_key(table, clusters)
        units = keys.unique()
        chosen = rng.choice(units, size=max(2, round(sample * len(units))), replace=False)
        return table.index[keys.isin(chosen)].to_numpy()
    raise ValueError("design must be 'srs', 'stratified' or 'cluster'")


def observer_copies(election: Election, sample: float = 0.1, design: str = "srs", alterations=None,
                    slips: float = 0.05, second_entry: bool = False, missing_second: float = 0.05,
                    observer_effect: float = 0.0, strata: str = "region", clusters: str = "tec",
                    rng=None) -> AuditSimulation:
    """Observers' copies for a sample of ``election``'s stations, and an altered official file.

    ``alterations`` maps a pattern ("moved", "added", "redrawn") to the share
    of observed stations whose official figures are changed that way
    (default ``ALTERATIONS``); ``slips`` is the share with one mistyped figure
    in the first entry; ``second_entry`` adds an independent second
    transcription (without the first's slips, ``missing_second`` of stations
    not entered); ``observer_effect`` adds ballots for the leader worth that
    share of the electorate at every unobserved station before publication
    (as if fraud happened where nobody watched); ``true_observer_ballots``
    counts them.  Clusters are ``clusters`` within ``strata``.  Works on real
    results too (their published stations stand in for the signed protocols).
    """
    rng = ensure_rng(rng)
    alterations = ALTERATIONS if alterations is None else alterations
    election = election.subset(election.published)
    keep = [c for c in election.table.columns if not str(c).startswith("true_")]
    signed = election.table[keep].copy()
    parties = list(election.parties)
    lines = protocol_lines(election)
    signed[lines] = signed[lines].astype("int64")

    watched = np.sort(_sample(signed, sample, design, strata, clusters, rng))
    observed_mask = signed.index.isin(watched)
    effect = np.zeros(len(signed), dtype=np.int64)
    if observer_effect:
        others = signed.index[~observed_mask]
        x = np.minimum(np.rint(observer_effect * signed.loc[others, "registered"]), _capacity(signed.loc[others]))
        add_ballots(signed, others, x.astype(np.int64), parties[0])
        effect[~observed_mask] = x
    signed["observed"] = observed_mask
    signed["true_observer_ballots"] = effect

    # which observed stations get which treatment: altered official figures, or a slip
    order = rng.permutation(watched)
    cap = _capacity(signed.loc[order])
    true_class = pd.Series("identical", index=watched)
    for pattern, share in alterations.items():
        k = int(round(share * len(watched)))
        free = true_class[order] == "identical"
        pool = order[free.to_numpy() & ((cap[order] >= 2).to_numpy() | (pattern == "moved"))]
        true_class[pool[:k]] = pattern
    free = order[(true_class[order] == "identical").to_numpy()]
    slipped = free[:int(round(slips * len(watched)))]
    true_class[slipped] = "slip"

    official = signed.copy()
    for pattern in ("added", "redrawn"):
        rows = true_class.index[true_class == pattern]
        x = np.maximum(1, np.minimum(cap[rows], np.rint(rng.uniform(0.05, 0.2, len(rows)) * official.loc[rows, "valid"])))
        add_ballots(official, rows, x.astype(np.int64), parties[0])
    for pattern in ("moved", "redrawn"):
        rows = true_class.index[true_class == pattern]
        _move(official, rows, parties, rng.uniform(0.1, 0.4, len(rows)))
    rows = true_class.index[(true_class == "redrawn") & (official.loc[true_class.index, "invalid"] > 0)]
    k = (official.loc[rows, "invalid"] + 1) // 2
    official.loc[rows, "invalid"] -= k
    official.loc[rows, "valid"] += k
    official.loc[rows, parties[0]] += k

    ids = [c for c in ("region", "tec", "pec") if c in signed.columns]
    first = signed.loc[watched, ids + lines].copy()
    fields_ok = [c for c in lines if c != "registered_added"]
    for row in slipped:
        big = [c for c in fields_ok if first.at[row, c] >= 10] or fields_ok
        col = big[rng.integers(len(big))]
        first.at[row, col] = _slip(first.at[row, col], rng)
    n = len(watched)
    first["transcriber"] = [f"obs-{i:03d}" for i in rng.integers(1, 60, n)]
    first["photos"] = [f"{i:05d}_a.jpg;{i:05d}_b.jpg" for i in range(n)]
    minutes = rng.integers(20 * 60, 24 * 60, n)
    first["taken_at"] = [f"2021-01-10 {m // 60:02d}:{m % 60:02d}" for m in minutes]

    entry = pd.Series("pending", index=watched)
    second = None
    if second_entry:
        present = rng.random(n) >= missing_second
        second = signed.loc[watched[present], ids + lines].copy()
        second["transcriber"] = [f"obs-{i:03d}" for i in rng.integers(60, 120, present.sum())]
        second["photos"] = first.loc[watched[present], "photos"].to_numpy()
        second["taken_at"] = first.loc[watched[present], "taken_at"].to_numpy()
        entry[watched[present]] = "agreed"
        entry[slipped] = np.where(np.isin(slipped, watched[present]), "disputed", "pending")

    truth = signed.loc[watched, ids].assign(true_class=true_class[watched].to_numpy(),
                                            true_entry=entry[watched].to_numpy())
    official["true_class"] = ""
    official.loc[watched, "true_class"] = true_class[watched].to_numpy()
    meta = {**election.meta, "audit_simulation": {"sample": sample, "design": design, "slips": slips,
                                                  "alterations": dict(alterations), "observer_effect": observer_effect}}
    return AuditSimulation(signed=election.with_table(signed), official=Election(
        table=official, parties=election.parties, profile=election.profile, sources={}, meta=meta),
        observed=first.reset_index(drop=True), second=None if second is None else second.reset_index(drop=True),
        truth=truth.reset_index(drop=True))


def pvt_coverage(runs: int = 200, design: str = "srs", sample: float = 0.1, per_population: int = 10,
                 n_pec: int = 1000, level: float = 0.95, rng=None, **simulate_options) -> pd.DataFrame:
    """How often ``pvt``'s interval covers the true result, over simulated elections and samples.

    Every ``per_population`` runs a new clean election is drawn; each run
    draws a sample under ``design`` and estimates from the signed figures,
    so the official result equals the truth and ``inside`` (whether the
    interval covers it, also for samples too small to be called informative)
    is coverage.
    One row per run and quantity: run, quantity, party, estimate, truth, inside.
    """
    from ..simulate import simulate

    rng = ensure_rng(rng)
    rows = []
    for run in range(runs):
        if run % per_population == 0:
            election = simulate(n_pec=n_pec, rng=rng, **simulate_options)
        idx = _sample(election.table, sample, design, "region", "tec", rng)
        table = pvt(election, election.table.loc[idx], design=design, level=level).table
        table["inside"] = (table["ci_low"] <= table["official"]) & (table["official"] <= table["ci_high"])
        rows.append(table.assign(run=run)[["run", "quantity", "party", "estimate", "official", "inside"]])
    return pd.concat(rows, ignore_index=True).rename(columns={"official": "truth"})
