"""Synthetic elections with known, injectable fraud.

``simulate`` draws a whole election, polling station by polling station, the
way the counts arise: electorates from a mixture of urban, rural and special
stations; turnout and party shares with regional, territorial and station
variation; ballots issued, found, invalid and per party drawn from binomial
and multinomial distributions.  Clean data therefore have the natural
discreteness of real counts and no heaping, which is what the digit and
integer-percentage tests are calibrated on.

Fraud is then injected at chosen stations, each kind with a per-station
ground truth (``true_*`` columns) that agrees exactly with what was done:

``carousel``
    ``intensity`` (default 0.05) share of the electorate is added to the list
    on election day (``registered`` and ``registered_added`` rise); they sign,
    take ballots from the unused stock and vote for the leader.  Every
    identity holds.  ``true_carousel`` counts them.
``stuffing``
    Ballots for the leader are added to a share ``x`` of the non-voters,
    ``model="incremental"`` (x ~ |N(0, intensity)|, intensity default 0.25)
    or ``"extreme"`` (x = 1 - |N(0, 0.075)|), as in Klimek et al. (2012).
    ``signatures=True`` (default) also adds the signatures and issued
    ballots and takes the ballots from the cancelled stock, so every
    identity holds; ``signatures=False`` puts them in the box only, so
    ballots found exceed ballots issued.  ``alpha`` (optional) also moves
    ``round(x**alpha * others)`` votes from the other parties, Klimek's
    stolen votes.  ``true_stuffed`` counts the added ballots.
``transfer``
    A share of every other party's votes (Beta-distributed, mean
    ``intensity`` = 0.2) is re-written to the leader.  Identities hold;
    ``true_moved`` counts the votes.
``digits``
    Party counts of 10 or more are re-written, each with probability
    ``strength`` (0.8), to the nearest number ending in one of the
    ``favour`` digits (0, 5, 7), as hand-invented figures do; valid is the
    new sum and invalid absorbs the change (rounding down where it would go
    negative), so the identities hold.  ``true_digits`` marks the stations.
``rounding``
    Turnout (issued / registered) and/or the leader's share
    (leader / (valid + invalid)), ``what="both" | "turnout" | "share"``, is
    raised to the nearest whole percentage (within 0.05 pp) reachable
    within ``max_up`` (10) points: turnout by extra signed ballots for the
    leader (counted in ``true_stuffed``), the share by votes moved from the
    others (counted in ``true_moved``).  Identities hold.  ``true_rounded``
    marks stations where a percentage was made whole.
``drawn``
    The protocol is invented: turnout in ``turnout_range`` (0.80, 0.98), the
    leader's share in ``share_range`` (0.75, 0.95), party votes rounded to
    tens, and the unused ballots left as they were.  The sum of party votes
    differs from valid and the ballot balance fails, as with figures
    written without arithmetic.  ``true_drawn`` marks the stations.

``fraud`` maps a kind (or any label, with ``{"kind": ...}`` in its
parameters) to ``{"fraction": share of stations, "regions": [...] (only
these regions; the fraction is of their stations), ...}``.  Kinds are applied
in the order above, so a station can carry several (``true_fraud`` joins them
with "+").  Clean counts are drawn before any fraud, so the same seed with
and without fraud gives the same clean election.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from . import confounding
from ._callable import make_callable
from .errors import DataError
from .ingest import available_profiles, load_profile, to_layout
from .model import FOUND_PARTS, ID_COLUMNS, ISSUED_PARTS, UNPUBLISHED, Election
from .random import ensure_rng

#: kinds of fraud, in the order they are applied
KINDS = ("carousel", "stuffing", "transfer", "digits", "rounding", "drawn")

#: per-station ground-truth columns
TRUTH_COLUMNS = ("true_fraud", "true_stuffed", "true_moved", "true_carousel",
                 "true_rounded", "true_drawn", "true_digits")

#: protocol fields of a simulated election, in table order
PROTOCOL = ("registered", "registered_added", "signatures", "ballots_received",
            "ballots_issued_early", "ballots_issued_inside", "ballots_issued_outside",
            "ballots_cancelled", "ballots_spoiled", "ballots_lost", "ballots_unaccounted",
            "ballots_found_mobile", "ballots_found_stationary", "invalid", "valid")

#: tunable options of ``simulate`` (keyword ``**options``) and their defaults
OPTIONS = {
    "region_names": None,      # names of the regions (default "Region 01", ...)
    "tec_label": "TEC",        # TECs are "<label> <n>", numbered within a region
    "turnout_sd": (0.35, 0.15, 0.25),  # logit-scale sd of region, TEC and station effects
    "share_concentration": (60.0, 150.0, 120.0),  # Dirichlet concentration: region, TEC, station
    "urban_share": 0.55,       # expected share of urban stations (one number, or one per region)
    "special_share": 0.015,    # hospitals, remote posts: tiny stations
    "added_rate": 0.01,        # voters added to the list on election day
    "early_rate": 0.02,        # ballots issued early
    "outside_rate": 0.05,      # ballots issued outside the polling room (mobile boxes)
    "invalid_rate": 0.012,     # invalid ballots
    "spare_rate": 0.03,        # extra ballots a station receives above its electorate, at most
    "unpublished": 0.0,        # share of stations whose figures were never published (counts empty)
    # benign structure that fools naive tests (forensics.confounding; all off by default)
    "latent": None,            # shared latent local factor of turnout and shares (True or a dict, see LATENT)
    "special": None,           # {kind: share of stations}: hospital, military, abroad, ship (see SPECIAL)
    "postal_share": 0.0,       # advance-poll / postal stations: votes without a voter list (registered 0)
    "size_tail": 0.0,          # share of urban stations with electorates from a Pareto tail (3,000-20,000)
    "regional_shares": None,   # {region name: national shares}: regions with a party system of their own
    "meta": None,              # extra metadata (seats, threshold, ...)
    "profile": "simulated",
}

_DEFAULTS = {
    "carousel": {"intensity": 0.05},
    "stuffing": {"intensity": 0.25, "model": "incremental", "signatures": True, "alpha": None},
    "transfer": {"intensity": 0.2},
    "digits": {"favour": (0, 5, 7), "strength": 0.8},
    "rounding": {"what": "both", "max_up": 10},
    "drawn": {"turnout_range": (0.80, 0.98), "share_range": (0.75, 0.95)},
}


def simulate(n_pec=2000, n_regions=10, n_tec=None, parties=5, shares=None, turnout=0.62,
             fraud=None, rng=None, **options) -> Election:
    """A synthetic election with ``n_pec`` polling stations and optional fraud.

    ``parties`` is a count or a list of names (the first is the leader);
    ``shares`` the national vote shares (default: a dominant leader and a
    declining tail); ``turnout`` the national turnout; ``fraud`` as in the
    module docstring; ``options`` as in ``OPTIONS``; ``profile`` names the
    layout imitated (a shipped profile's metadata, e.g. seats, is copied).  Returns an Election
    whose table holds ids, the full protocol, party votes, ``unpublished``
    (a share ``unpublished`` of stations, whose counts are then NaN in float
    columns) and the ground-truth columns; ``meta["truth"]`` holds the
    national totals before fraud (of every station, published or not) and
    ``meta["simulation"]`` the parameters.
    """
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise TypeError(f"simulate() got unknown options: {', '.join(sorted(unknown))}")
    opts = {**OPTIONS, **options}
    rng = ensure_rng(rng)
    names = _party_names(parties)
    shares = _shares(shares, len(names))
    n_tec = max(n_regions, round(n_pec / 43)) if n_tec is None else n_tec
    if not 1 <= n_regions <= n_tec <= n_pec:
        raise ValueError("need 1 <= n_regions <= n_tec <= n_pec")
    region_names = list(opts["region_names"] or [f"Region {i + 1:02d}" for i in range(n_regions)])
    if len(region_names) != n_regions:
        raise ValueError(f"region_names has {len(region_names)} names for {n_regions} regions")

    ids, tec_of, region_of_tec = _hierarchy(n_pec, n_regions, n_tec, region_names, opts["tec_label"], rng)
    kind, registered = _electorate(tec_of, region_of_tec, opts, rng)
    s = _clean_protocol(registered, kind, tec_of, region_of_tec, shares, turnout, opts, rng)
    truth_totals = {**{f: int(s[f].sum()) for f in PROTOCOL},
                    **{p: int(v) for p, v in zip(names, s["votes"].sum(axis=0))}}

    truth = _inject(s, fraud or {}, ids["region"].to_numpy(), tec_of, rng)
    table = ids.assign(**{f: s[f] for f in PROTOCOL})
    table = pd.concat([table, pd.DataFrame(s["votes"], columns=names)], axis=1)
    table[UNPUBLISHED] = rng.random(n_pec) < opts["unpublished"]
    if table[UNPUBLISHED].any():  # figures never published: every count empty, as in CEC files
        counts = [*PROTOCOL, *names]
        table[counts] = table[counts].astype(float).mask(table[UNPUBLISHED])
    table = pd.concat([table, truth], axis=1)
    if opts["latent"] is not None or opts["special"] is not None or opts["postal_share"] > 0:
        table["true_kind"] = np.array(list(confounding.KIND_CODES))[kind]
    meta = {"ruleset": "generic", "percent_base": "valid", **_profile_meta(opts["profile"]), "truth": truth_totals,
            "simulation": {"n_pec": n_pec, "n_regions": n_regions, "n_tec": n_tec,
                           "parties": list(names), "shares": [float(x) for x in shares],
                           "turnout": turnout, "fraud": fraud or {},
                           **{k: _plain(opts[k]) for k in OPTIONS if k not in ("meta", "region_names")}},
            **(opts["meta"] or {})}
    return Election(table=table, parties=tuple(names), profile=opts["profile"], meta=meta)


def _plain(value):
    """Option values as plain Python (lists, not arrays) for the metadata."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.tolist() if isinstance(value, np.ndarray) else value


def _profile_meta(name) -> dict:
    """Seats, threshold, ruleset ... of a shipped profile the election imitates."""
    return dict(load_profile(name).meta) if name in available_profiles() else {}


# -- the clean election ---------------------------------------------------------
def _party_names(parties) -> list[str]:
    if isinstance(parties, (int, np.integer)):
        if parties < 2:
            raise ValueError("an election needs at least 2 parties")
        return [f"Party {chr(65 + i)}" if i < 26 else f"Party {i + 1}" for i in range(parties)]
    names = [str(p) for p in parties]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError("parties must be at least 2 distinct names")
    return names


def _shares(shares, k) -> np.ndarray:
    if shares is None:
        raw = np.r_[3.0, 1.0 / np.arange(1, k)] if k > 1 else np.ones(1)
        return raw / raw.sum()
    shares = np.asarray(shares, dtype=float)
    if shares.shape != (k,) or (shares <= 0).any():
        raise ValueError(f"shares must be {k} positive numbers, one per party")
    return shares / shares.sum()


def _spread(total, groups, concentration, rng) -> np.ndarray:
    """Split ``total`` units into ``groups`` groups of at least one each, unevenly."""
    weights = rng.dirichlet(np.full(groups, concentration))
    return 1 + rng.multinomial(total - groups, weights)


def _hierarchy(n_pec, n_regions, n_tec, region_names, tec_label, rng):
    """Ids: TECs numbered within a region (names repeat), PECs numbered within a region."""
    tecs_per_region = _spread(n_tec, n_regions, 5.0, rng)
    pecs_per_tec = _spread(n_pec, n_tec, 8.0, rng)
    region_of_tec = np.repeat(np.arange(n_regions), tecs_per_region)
    tec_of = np.repeat(np.arange(n_tec), pecs_per_tec)
    region_of = region_of_tec[tec_of]
    tec_first = np.r_[0, np.cumsum(tecs_per_region)[:-1]]
    tec_number = np.arange(n_tec) - tec_first[region_of_tec] + 1
    pec_number = pd.Series(region_of).groupby(region_of).cumcount().to_numpy() + 1
    ids = pd.DataFrame({
        "region": np.asarray(region_names, dtype=object)[region_of],
        "tec": [f"{tec_label} {n}" for n in tec_number[tec_of]],
        "pec": pec_number.astype(str),
    })
    return ids, tec_of, region_of_tec


def _electorate(tec_of, region_of_tec, opts, rng):
    """Station kind (0 urban, 1 rural, 2 special) and registered voters.

    Each TEC has an urbanity drawn from a U-shaped Beta around the region's
    ``urban_share`` (city districts and rural districts), so sizes cluster
    by territory as real ones do.
    """
    n = len(tec_of)
    share = np.broadcast_to(np.asarray(opts["urban_share"], dtype=float), (region_of_tec.max() + 1,))
    a = np.clip(share, 0.01, 0.99)[region_of_tec] * 1.2
    urbanity = rng.beta(a, 1.2 - a)[tec_of]
    u = rng.random(n)
    kind = np.where(u < opts["special_share"], 2, np.where(rng.random(n) < urbanity, 0, 1))
    urban = _lognormal(1700, 0.35, (300, 3200), n, rng)
    rural = _lognormal(420, 0.85, (20, 3000), n, rng)
    special = rng.integers(5, 121, n)
    registered = np.select([kind == 0, kind == 1], [urban, rural], special)
    if opts["size_tail"] > 0:
        registered = confounding.size_tail(registered, kind, opts["size_tail"], rng)
    if opts["special"] is not None:
        kind = confounding.special_kinds(kind, opts["special"], rng)
        registered = confounding.special_sizes(kind, registered, rng)
    if opts["postal_share"] > 0:
        kind = np.where((rng.random(n) < opts["postal_share"]) & (kind <= 1), confounding.KIND_CODES["postal"], kind)
    return kind, np.rint(registered).astype(np.int64)


def _lognormal(median, sigma, bounds, n, rng) -> np.ndarray:
    """Lognormal sizes redrawn until inside ``bounds`` (clipping would heap at the bounds)."""
    x = rng.lognormal(np.log(median), sigma, n)
    while (bad := (x < bounds[0]) | (x > bounds[1])).any():
        x[bad] = rng.lognormal(np.log(median), sigma, bad.sum())
    return x


def _regional_shares(shares, opts, n_regions) -> np.ndarray:
    """National shares per region, replaced where a region has a party system of its own."""
    base = np.tile(shares, (n_regions, 1))
    names = list(opts["region_names"] or [f"Region {i + 1:02d}" for i in range(n_regions)])
    for region, own in (opts["regional_shares"] or {}).items():
        if region not in names:
            raise ValueError(f"regional_shares names a region that is not in the election: {region!r}")
        own = np.asarray(own, dtype=float)
        if own.shape != shares.shape or (own <= 0).any():
            raise ValueError(f"regional_shares for {region!r} must be {len(shares)} positive numbers")
        base[names.index(region)] = own / own.sum()
    return base


def _dirichlet_rows(alpha, rng) -> np.ndarray:
    g = rng.gamma(alpha)
    return g / g.sum(axis=1, keepdims=True)


def _clean_protocol(registered, kind, tec_of, region_of_tec, shares, turnout, opts, rng):
    n, n_tec, n_regions = len(registered), len(region_of_tec), region_of_tec.max() + 1
    region_of = region_of_tec[tec_of]
    # turnout: logit-scale region + TEC + station effects; rural and special stations vote more
    sd_region, sd_tec, sd_station = opts["turnout_sd"]
    kind_effect = np.r_[0.0, 0.25, 0.8, np.zeros(len(confounding.KIND_CODES) - 3)]
    effect = (rng.normal(0, sd_region, n_regions)[region_of] + rng.normal(0, sd_tec, n_tec)[tec_of]
              + kind_effect[kind] + rng.normal(0, sd_station, n))
    latent = confounding.latent_spec(opts["latent"], len(shares), n_regions)
    if latent is not None:
        u = confounding.latent_factor(latent, kind, tec_of, region_of_tec, rng)
        effect = effect + latent["turnout"] * u
    intercept = logit(turnout)
    for _ in range(5):  # centre the national turnout on the target
        achieved = np.average(expit(intercept + effect), weights=registered)
        intercept += logit(turnout) - logit(achieved)
    rate = expit(intercept + effect)
    postal = kind == confounding.KIND_CODES["postal"]
    if opts["special"] is not None:
        rate = confounding.special_turnout(rate, kind, rng)
    voters = rng.binomial(registered, rate)
    if opts["special"] is not None:
        registered = confounding.lists_on_the_day(registered, voters, kind, rng)
    added = rng.binomial(registered, opts["added_rate"])

    early = rng.binomial(voters, np.clip(opts["early_rate"] * rng.gamma(2.0, 0.5, n), 0, 1))
    # mobile voting: much more common in the countryside, with a long tail (Russia 2018:
    # median 5.8% of ballots, 90th percentile 21%)
    outside_rate = opts["outside_rate"] * confounding.outside_factor(kind) * rng.gamma(1.2, 1 / 1.2, n)
    outside = rng.binomial(voters - early, np.clip(outside_rate, 0, 1))
    inside = voters - early - outside

    # invalid share varies a little between stations (Russia 2018: 99th percentile 4.2%)
    invalid_rate = rng.beta(200 * opts["invalid_rate"], 200 * (1 - opts["invalid_rate"]), n)
    invalid = rng.binomial(voters, invalid_rate)
    valid = voters - invalid
    c_region, c_tec, c_station = opts["share_concentration"]
    p_region = _dirichlet_rows(c_region * _regional_shares(shares, opts, n_regions), rng)
    p_tec = _dirichlet_rows(c_tec * p_region[region_of_tec], rng)
    p_station = _dirichlet_rows(c_station * p_tec[tec_of], rng)
    if latent is not None:
        p_station = confounding.tilt(p_station, u * latent["region_scale"][region_of], latent["shares"])
    if opts["special"] is not None:
        p_station = confounding.special_shares(p_station, kind, rng)
    votes = rng.multinomial(valid, p_station).astype(np.int64)
    registered = np.where(postal, 0, registered)  # no voter list: the votes come from advance or postal voters

    # ballots come in packs of 50 (small stations) or 100, a little above the electorate (or the voters)
    electorate = np.maximum(registered, voters)
    pack = np.where(electorate < 500, 50, 100)
    wanted = electorate * (1 + opts["spare_rate"] * rng.random(n))
    received = (np.ceil(wanted / pack) * pack).astype(np.int64)
    spoiled = np.minimum(rng.poisson(0.2 + voters / 2000), received - voters)
    zeros = np.zeros(n, dtype=np.int64)
    return {
        "registered": registered, "registered_added": added, "signatures": voters.copy(),
        "ballots_received": received, "ballots_issued_early": early,
        "ballots_issued_inside": inside, "ballots_issued_outside": outside,
        "ballots_cancelled": received - voters - spoiled, "ballots_spoiled": spoiled,
        "ballots_lost": zeros, "ballots_unaccounted": zeros.copy(),
        "ballots_found_mobile": outside.copy(), "ballots_found_stationary": early + inside,
        "invalid": invalid, "valid": valid, "votes": votes,
    }


# -- fraud ------------------------------------------------------------------------
def _inject(s, fraud, region, tec_of, rng) -> pd.DataFrame:
    """Apply every fraud spec to the protocol ``s`` in place; return the truth columns."""
    n = len(region)
    truth = {"true_stuffed": np.zeros(n, np.int64), "true_moved": np.zeros(n, np.int64),
             "true_carousel": np.zeros(n, np.int64), "true_rounded": np.zeros(n, bool),
             "true_drawn": np.zeros(n, bool), "true_digits": np.zeros(n, bool)}
    labels = np.full(n, "", dtype=object)
    specs = [_spec(label, spec) for label, spec in fraud.items()]
    for kind, spec in sorted(specs, key=lambda ks: KINDS.index(ks[0])):
        chosen = rng.random(n) < spec["fraction"]
        if spec.get("regions") is not None:
            missing = set(spec["regions"]) - set(region)
            if missing:
                raise ValueError(f"fraud regions not in the election: {', '.join(map(str, sorted(missing)))}")
            chosen &= np.isin(region, list(spec["regions"]))
        if spec.get("tecs") is not None:  # concentrated in a share of the TECs (of the chosen regions)
            scope = np.isin(region, list(spec["regions"])) if spec.get("regions") is not None else np.ones(n, bool)
            in_scope = np.unique(tec_of[scope])
            chosen &= np.isin(tec_of, in_scope[rng.random(in_scope.size) < spec["tecs"]])
        _APPLY[kind](s, np.flatnonzero(chosen), spec, truth, rng)
        fresh = chosen & np.array([kind not in lab.split("+") for lab in labels])
        labels[fresh] = np.where(labels[fresh] == "", kind, labels[fresh] + "+" + kind)
    return pd.DataFrame({"true_fraud": labels.astype(str), **truth})


def _spec(label, spec) -> tuple[str, dict]:
    if isinstance(spec, (int, float)):
        spec = {"fraction": spec}
    kind = spec.get("kind", label)
    if kind not in KINDS:
        raise ValueError(f"unknown fraud kind {kind!r}; choose from {', '.join(KINDS)}")
    unknown = set(spec) - set(_DEFAULTS[kind]) - {"kind", "fraction", "regions", "tecs"}
    if unknown:
        raise ValueError(f"unknown parameters for {kind}: {', '.join(sorted(unknown))}")
    if not 0 <= spec.get("fraction", -1) <= 1:
        raise ValueError(f"fraud {label!r} needs a fraction between 0 and 1")
    if not 0 < spec.get("intensity", 0.5) < 1:
        raise ValueError(f"fraud {label!r} needs an intensity strictly between 0 and 1")
    return kind, {**_DEFAULTS[kind], **spec}


def _add_for_leader(s, i, k, signed=True, enrolled=False):
    """Put ``k`` more ballots for the leader into the stationary box of stations ``i``.

    ``signed``: the ballots are issued against signatures from the unused
    stock; ``enrolled``: the voters are also added to the list.
    """
    if enrolled:
        s["registered"][i] += k
        s["registered_added"][i] += k
    if signed:
        s["signatures"][i] += k
        s["ballots_issued_inside"][i] += k
        s["ballots_cancelled"][i] -= k
    s["ballots_found_stationary"][i] += k
    s["valid"][i] += k
    s["votes"][i, 0] += k


def _take_from_others(s, i, k, rng):
    """Move ``k`` votes at stations ``i`` from the other parties to the leader, at random."""
    others = s["votes"][i, 1:]
    pool = others.sum(axis=1)
    left = k.copy()
    for j in range(others.shape[1]):
        pool -= others[:, j]
        take = rng.hypergeometric(others[:, j], pool, left) if j < others.shape[1] - 1 else left
        s["votes"][i, j + 1] -= take
        left = left - take
    s["votes"][i, 0] += k


def _carousel(s, i, spec, truth, rng):
    k = np.minimum(rng.binomial(s["registered"][i], spec["intensity"]), s["ballots_cancelled"][i])
    _add_for_leader(s, i, k, enrolled=True)
    truth["true_carousel"][i] += k


def _stuffing(s, i, spec, truth, rng):
    if spec["model"] == "extreme":
        x = 1 - np.abs(rng.normal(0, 0.075, len(i)))
    elif spec["model"] == "complete":  # every non-voter's ballot: the station reports 100% turnout
        x = np.ones(len(i))
    elif spec["model"] == "incremental":
        x = np.abs(rng.normal(0, spec["intensity"], len(i)))
        while (bad := (x <= 0) | (x >= 1)).any():
            x[bad] = np.abs(rng.normal(0, spec["intensity"], bad.sum()))
    else:
        raise ValueError(f"stuffing model must be 'incremental', 'extreme' or 'complete', not {spec['model']!r}")
    issued = s["signatures"][i]
    k = np.floor(x * np.maximum(s["registered"][i] - issued, 0)).astype(np.int64)  # no list: nobody to add
    if spec["signatures"]:
        k = np.minimum(k, s["ballots_cancelled"][i])
    _add_for_leader(s, i, k, signed=spec["signatures"])
    truth["true_stuffed"][i] += k
    if spec["alpha"] is not None:
        stolen = np.rint(x ** spec["alpha"] * s["votes"][i, 1:].sum(axis=1)).astype(np.int64)
        _take_from_others(s, i, stolen, rng)
        truth["true_moved"][i] += stolen


def _transfer(s, i, spec, truth, rng):
    m = spec["intensity"]
    x = rng.beta(10 * m, 10 * (1 - m), len(i))
    moved = rng.binomial(s["votes"][i, 1:], x[:, None])
    s["votes"][i, 1:] -= moved
    s["votes"][i, 0] += moved.sum(axis=1)
    truth["true_moved"][i] += moved.sum(axis=1)


def _digits(s, i, spec, truth, rng):
    votes = s["votes"][i]
    favour = np.asarray(spec["favour"])
    down = votes[..., None] - (votes[..., None] - favour) % 10          # largest favoured value <= count
    candidates = np.concatenate([down, down + 10], axis=-1)
    nearest = np.take_along_axis(candidates, np.abs(candidates - votes[..., None]).argmin(-1)[..., None], -1)[..., 0]
    rewrite = (votes >= 10) & (rng.random(votes.shape) < spec["strength"])
    new = np.where(rewrite, nearest, votes)
    too_many = new.sum(axis=1) - votes.sum(axis=1) > s["invalid"][i]
    new[too_many] = np.where(rewrite, down.max(-1), votes)[too_many]
    delta = new.sum(axis=1) - votes.sum(axis=1)
    s["votes"][i] = new
    s["valid"][i] += delta
    s["invalid"][i] -= delta
    truth["true_digits"][i] = True


def _whole_percent(num, den, max_up, limit):
    """Smallest count >= ``num`` that makes 100*count/den a whole percentage within 0.05 pp.

    Searches the next ``max_up`` whole percentages; returns the count and
    whether one was found within ``limit`` (the most the count may reach).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        start = np.ceil(100 * num / den - 1e-9)
        target = start[:, None] + np.arange(max_up + 1)
        count = np.rint(target * den[:, None] / 100)
        ok = (np.abs(100 * count / den[:, None] - target) <= 0.05) & (count <= limit[:, None]) & (den[:, None] > 0)
    first = ok.argmax(axis=1)
    found = ok.any(axis=1)
    best = count[np.arange(len(num)), first]
    return np.where(found, best, num).astype(np.int64), found


def _rounding(s, i, spec, truth, rng):
    if spec["what"] not in ("both", "turnout", "share"):
        raise ValueError(f"rounding 'what' must be 'both', 'turnout' or 'share', not {spec['what']!r}")
    done = np.zeros(len(i), bool)
    if spec["what"] in ("both", "turnout"):
        issued = s["signatures"][i]
        limit = np.minimum(s["registered"][i], issued + s["ballots_cancelled"][i])
        target, ok = _whole_percent(issued, s["registered"][i], spec["max_up"], limit)
        _add_for_leader(s, i, target - issued)
        truth["true_stuffed"][i] += target - issued
        done |= ok
    if spec["what"] in ("both", "share"):
        leader = s["votes"][i, 0]
        cast = s["valid"][i] + s["invalid"][i]
        target, ok = _whole_percent(leader, cast, spec["max_up"], s["valid"][i])
        _take_from_others(s, i, target - leader, rng)
        truth["true_moved"][i] += target - leader
        done |= ok
    truth["true_rounded"][i] = done


def _drawn(s, i, spec, truth, rng):
    reg = s["registered"][i]
    issued = np.rint(reg * rng.uniform(*spec["turnout_range"], len(i))).astype(np.int64)
    issued = np.where(issued == s["signatures"][i], issued - 1, issued).clip(0)
    s["signatures"][i] = issued
    s["ballots_issued_inside"][i] = (issued - s["ballots_issued_early"][i] - s["ballots_issued_outside"][i]).clip(0)
    s["ballots_found_stationary"][i] = (issued - s["ballots_found_mobile"][i]).clip(0)
    found = s["ballots_found_stationary"][i] + s["ballots_found_mobile"][i]
    invalid = np.rint(found * rng.uniform(0, 0.01, len(i))).astype(np.int64)
    valid = found - invalid
    leader = np.rint(valid * rng.uniform(*spec["share_range"], len(i)) / 10) * 10
    others = s["votes"][i, 1:]
    weight = (others + 1) / (others + 1).sum(axis=1, keepdims=True)
    rest = np.rint((valid - leader)[:, None] * weight / 10) * 10
    votes = np.column_stack([leader, rest]).clip(0).astype(np.int64)
    votes[votes.sum(axis=1) == valid, 0] += 10  # never add up by chance
    s["votes"][i] = votes
    s["invalid"][i], s["valid"][i] = invalid, valid
    truth["true_drawn"][i] = True


_SUMS = {"ballots_issued": ISSUED_PARTS, "ballots_found": FOUND_PARTS}

_APPLY = {"carousel": _carousel, "stuffing": _stuffing, "transfer": _transfer,
          "digits": _digits, "rounding": _rounding, "drawn": _drawn}


# -- presets and writing ------------------------------------------------------------
_KZ_REGIONS = [f"{name} область" for name in (
    "Акжарская", "Бесагашская", "Жаркольская", "Караозекская", "Коктальская", "Кумсайская",
    "Майтюбинская", "Сарытауская", "Талдыбулакская", "Тасбулакская", "Ушкольская",
    "Ельтайская", "Жанаталапская", "Бозтальская")] + ["город Алтынкала", "город Жанакент", "город Шалкартау"]

#: named parameter sets for ``simulate`` (``forensics simulate --preset NAME``)
PRESETS = {
    "kz-demo": {
        "n_pec": 10_000, "n_regions": 17, "n_tec": 230,
        "parties": ["Партия «Единая степь»", "Партия «Деловой союз»", "Партия «Земля и труд»",
                    "Партия «Гражданская инициатива»", "Партия «Новый горизонт»"],
        "shares": [0.70, 0.11, 0.095, 0.055, 0.04],
        "turnout": 0.63,
        "region_names": _KZ_REGIONS,
        "urban_share": [0.45] * 14 + [0.97] * 3,
        "tec_label": "ТИК",
        "profile": "kz_cec",
        "unpublished": 0.001,
        "fraud": {
            "stuffing": {"fraction": 0.5, "intensity": 0.45,
                         "regions": ["Жаркольская область", "Кумсайская область", "Ушкольская область"]},
            "extreme stuffing": {"kind": "stuffing", "model": "extreme", "alpha": 1.0, "fraction": 0.12,
                                 "regions": ["Ушкольская область"]},
            "unsigned stuffing": {"kind": "stuffing", "fraction": 0.004, "intensity": 0.15,
                                  "signatures": False},
            "transfer": {"fraction": 0.2, "intensity": 0.15, "regions": ["Кумсайская область"]},
            "carousel": {"fraction": 0.08, "intensity": 0.04,
                         "regions": ["город Алтынкала", "Коктальская область"]},
            "rounding": {"fraction": 0.5, "regions": ["Тасбулакская область"]},
            "digits": {"fraction": 0.25, "regions": ["Бесагашская область"]},
            "drawn": {"fraction": 0.0015},
        },
    },
    # A clean election with the benign structure that fools naive tests (forensics.confounding):
    # turnout and shares driven by a shared latent local factor, four big-city regions where
    # neighbourhoods differ far more in their vote than in their turnout (leader slopes near
    # 1.1 without fraud), a region with a party system of its own (as Quebec), sixteen parties
    # of very different sizes (their pooled counts fall off like a power law), a tail of very
    # large stations, hospitals, military units, stations abroad and ships, and 2% advance-poll
    # stations without a voter list.  The verdicts are calibrated on it.
    "clean-confounded": {
        "n_pec": 20_000, "n_regions": 30,
        "parties": 16, "turnout": 0.6, "turnout_sd": (0.35, 0.15, 0.18),
        "shares": [0.42, 0.20, 0.12, 0.07, 0.045, 0.03, 0.022, 0.018, 0.015, 0.012, 0.01, 0.009, 0.008, 0.007,
                   0.006, 0.005],
        "urban_share": [0.97] * 4 + [0.5] * 26,
        "latent": {"region_scale": [3.0] * 4 + [1.0] * 26},
        "special": {"hospital": 0.006, "military": 0.003, "abroad": 0.003, "ship": 0.001},
        "postal_share": 0.02, "size_tail": 0.03,
        "regional_shares": {"Region 07": [0.25, 0.12, 0.07, 0.04, 0.03, 0.40, 0.015, 0.012, 0.01, 0.008, 0.007,
                                          0.006, 0.005, 0.004, 0.004, 0.003]},
        "unpublished": 0.001,
    },
}

#: fraud on top of ``clean-confounded`` at a chosen intensity (0 < level <= 1, the share of stations
#: in the regions chosen), with ground truth: stuffing in some regions (incremental; with the other
#: parties' votes also taken, Klimek's alpha; in half the TECs only; extreme near 100% / 100%, or
#: complete, every non-voter), rounding to whole percentages, and vote transfer (no change of turnout)
SCENARIOS = {
    "stuffing": lambda level: {"stuffing": {"fraction": level, "intensity": 0.35,
                                            "regions": ["Region 05", "Region 09", "Region 12", "Region 20"]}},
    "stuffing and stealing": lambda level: {"stuffing": {"fraction": level, "intensity": 0.35, "alpha": 1.5,
                                                         "regions": ["Region 05", "Region 09", "Region 12",
                                                                     "Region 20"]}},
    "stuffing in half the TECs": lambda level: {"stuffing": {
        "fraction": level, "intensity": 0.35, "tecs": 0.5, "regions": ["Region 05", "Region 09", "Region 12",
                                                                      "Region 20"]}},
    "extreme stuffing": lambda level: {"stuffing": {"fraction": level, "model": "extreme", "alpha": 1.0,
                                                    "tecs": 0.5, "regions": ["Region 05", "Region 09"]}},
    "100% stuffing": lambda level: {"stuffing": {"fraction": level, "model": "complete", "alpha": 1.0,
                                                 "tecs": 0.5, "regions": ["Region 05", "Region 09"]}},
    "rounding": lambda level: {"rounding": {"fraction": level, "regions": ["Region 05", "Region 12", "Region 20"]}},
    "transfer": lambda level: {"transfer": {"fraction": level, "intensity": 0.3,
                                            "regions": ["Region 05", "Region 09", "Region 12", "Region 20"]}},
}

#: how each preset is written: its layout and the protocol lines of that form
PRESET_FILES = {
    "kz-demo": {"layout": "kz_cec",
                "fields": ["registered", "registered_added", "signatures", "ballots_received", "ballots_issued",
                           "ballots_cancelled", "ballots_spoiled", "ballots_found", "invalid", "valid"]},
}


def simulate_preset(name: str, rng=None, **overrides) -> Election:
    """``simulate`` with a named parameter set (see ``PRESETS``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return simulate(**{**PRESETS[name], **overrides}, rng=rng)


def simulate_scenario(kind: str, level: float, rng=None, **overrides) -> Election:
    """``clean-confounded`` with the fraud of ``SCENARIOS[kind]`` at ``level`` (the same seed gives the same
    clean election underneath)."""
    if kind not in SCENARIOS:
        raise ValueError(f"unknown scenario {kind!r}; choose from {', '.join(SCENARIOS)}")
    return simulate_preset("clean-confounded", rng=rng, fraud=SCENARIOS[kind](level), **overrides)


def protocol_frame(election: Election, layout=None, fields=None) -> pd.DataFrame:
    """The protocol as a file holds it: ids, protocol lines and parties, no truth.

    ``fields`` (canonical names) chooses the lines; by default every field of
    the table, or with a ``layout`` the lines that layout has, where a form
    with a single line for ballots issued or found gets that line instead of
    its parts.  ``ballots_found`` / ``ballots_issued`` are summed from their
    parts.  With a ``layout`` the columns carry its own header text.
    """
    table = election.table
    prof = load_profile(layout) if layout is not None else None
    if fields is None:
        fields = election.fields if prof is None else [f for f in prof.fields if f not in ID_COLUMNS]
        fields = [f for f in fields if not any(f in parts and single in fields for single, parts in _SUMS.items())]
    out = table[list(ID_COLUMNS)].copy()
    for f in fields:
        if f in table.columns:
            out[f] = table[f]
        elif f in _SUMS and all(p in table.columns for p in _SUMS[f]):
            out[f] = table[list(_SUMS[f])].sum(axis=1, min_count=1)
    out = pd.concat([out, table[list(election.parties)]], axis=1)
    counts = out.columns[len(ID_COLUMNS):]
    out[counts] = out[counts].astype("Int64")  # whole numbers, empty where unpublished
    return out if prof is None else to_layout(out, prof, parties=election.parties)


def truth_frame(election: Election) -> pd.DataFrame:
    """The ground truth keyed by region, tec and pec."""
    return election.table[[*ID_COLUMNS, *TRUTH_COLUMNS]].copy()


def write_table(frame: pd.DataFrame, path, raw_csv: bool = False) -> None:
    """Write a frame as CSV, Parquet or XLSX, by the file's extension, through ``forensics.output``.

    The file is written beside its target and renamed into place when
    complete; CSV cells that a spreadsheet would run as formulas are
    neutralised unless ``raw_csv``.
    """
    from .output import write_csv, write_file

    path = Path(path)
    suffix = path.suffix.lower()
    if not path.parent.is_dir():
        raise DataError("the output folder does not exist", file=path, fix="create the folder or choose another path")
    if suffix == ".csv":
        write_csv(frame, path, raw_csv=raw_csv)
    elif suffix == ".parquet":
        write_file(path, lambda tmp: frame.to_parquet(tmp, index=False))
    elif suffix == ".xlsx":
        write_file(path, lambda tmp: frame.to_excel(tmp, index=False))
    else:
        raise DataError(f"cannot write '{suffix}' files", file=path,
                        fix="name the output file .csv, .parquet or .xlsx")


# ``forensics.simulate(...)`` calls ``simulate`` even once this module is imported (see ``forensics._callable``).
make_callable(__name__, "simulate")
