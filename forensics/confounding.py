"""Benign structure for simulated elections: what makes honest elections look like fraud.

Real clean elections are not the independent draws of a textbook null.  The
same neighbourhoods vote more and prefer the same parties (age, income,
urban or rural life, ethnicity), regions have their own party systems,
station sizes have a long tail, hospitals, military units, ships and
stations abroad have high or odd turnouts and small or ill-defined voter
lists, and advance-poll or postal stations have no list at all.  Each piece
here is an option of ``forensics.simulate.simulate`` and is off by default,
so the textbook simulations (and the shipped demo data) are unchanged:

``latent``
    A shared latent local factor u per station: region + TEC + neighbourhood
    (a moving average along consecutive station numbers of a TEC, because
    stations are numbered street by street) + the station's own part, shifted
    at rural stations.  Logit turnout rises by ``turnout`` x u and each
    party's log share by its loading in ``shares`` x u x ``region_scale``:
    in big cities rich and poor neighbourhoods vote far more differently
    than they turn out, which makes the leader's votes rise faster than
    turnout itself without any fraud.
``special``
    ``{kind: share of stations}`` of hospitals, military units, stations
    abroad and ships (``SPECIAL``): their own sizes, turnouts and leader
    shares, and for some a list drawn up on election day (every voter on it
    votes, so turnout is 100% or near it).
``postal_share``
    Advance-poll or postal stations: votes but no voter list (registered 0).
``size_tail``
    A share of stations with electorates from a Pareto tail (3,000-20,000).
``regional_shares``
    ``{region name: shares}``: regions with a party system of their own (a
    regional party strong there and nowhere else, as Quebec's Bloc).
"""
from __future__ import annotations

import numpy as np

#: defaults of the ``latent`` option (``latent=True`` takes them all)
LATENT = {
    "sd": (0.3, 0.35, 0.25),   # sd of the factor between regions, TECs, and neighbourhoods of a TEC
    "station_sd": 0.05,        # the station's own part, not shared with its neighbours
    "length": 8,               # stations in a neighbourhood (moving-average window along station numbers)
    "rural": 0.4,              # shift of the factor at rural stations
    "turnout": 0.45,           # logit turnout per unit of the factor
    "shares": None,            # log-share loading per party; default leader +0.45, the others from +0.3 to -0.45
    "region_scale": 1.0,       # multiplier of the share loadings, one number or one per region
}

#: kinds of special stations: electorate range, Beta(a, b) of turnout, Beta(a, b) of the
#: leader's share (None: as the station's area votes), the share of them whose list is
#: drawn up on election day (registered = those who voted plus a few), and the factor of
#: their mobile-box voting
SPECIAL = {
    "hospital": {"size": (10, 400), "turnout": (25.0, 2.0), "leader": None, "list_on_day": 0.5, "outside": 6.0},
    "military": {"size": (100, 1500), "turnout": (60.0, 1.5), "leader": (10.0, 2.0), "list_on_day": 0.3,
                 "outside": 0.2},
    "abroad": {"size": (150, 4000), "turnout": (2.0, 5.0), "leader": (2.0, 3.0), "list_on_day": 0.0, "outside": 0.1},
    "ship": {"size": (10, 150), "turnout": (40.0, 1.0), "leader": None, "list_on_day": 1.0, "outside": 0.1},
}
#: station-kind codes used by ``simulate``: 0 urban, 1 rural, 2 tiny special (``special_share``),
#: then the kinds of ``SPECIAL`` in order, then postal stations
KIND_CODES = {"urban": 0, "rural": 1, "tiny": 2, **{k: 3 + i for i, k in enumerate(SPECIAL)},
              "postal": 3 + len(SPECIAL)}


def latent_spec(option, n_parties: int, n_regions: int) -> dict | None:
    """The ``latent`` option with defaults filled in (None when off)."""
    if option is None or option is False:
        return None
    spec = {**LATENT, **({} if option is True else dict(option))}
    unknown = set(spec) - set(LATENT)
    if unknown:
        raise ValueError(f"unknown latent-factor settings: {', '.join(sorted(unknown))}")
    if spec["shares"] is None:
        spec["shares"] = np.r_[0.45, np.linspace(0.3, -0.45, n_parties - 1)] if n_parties > 1 else np.zeros(1)
    spec["shares"] = np.asarray(spec["shares"], dtype=float)
    if spec["shares"].shape != (n_parties,):
        raise ValueError(f"latent 'shares' needs {n_parties} loadings, one per party")
    scale = np.asarray(spec["region_scale"], dtype=float)
    if scale.ndim and scale.shape != (n_regions,):
        raise ValueError(f"latent 'region_scale' needs one number or {n_regions}, one per region")
    spec["region_scale"] = np.broadcast_to(scale, (n_regions,))
    return spec


def latent_factor(spec: dict, kind, tec_of, region_of_tec, rng) -> np.ndarray:
    """The factor u of every station (stations of a TEC are consecutive, in number order)."""
    n, n_tec = len(tec_of), len(region_of_tec)
    region_of = region_of_tec[tec_of]
    sd_region, sd_tec, sd_neighbourhood = spec["sd"]
    local = (rng.normal(0, sd_tec, n_tec)[tec_of] + sd_neighbourhood * _moving_average(tec_of, spec["length"], rng)
             + rng.normal(0, spec["station_sd"], n))
    return (rng.normal(0, sd_region, region_of_tec.max() + 1)[region_of] + local
            + spec["rural"] * (kind == KIND_CODES["rural"]))


def _moving_average(group, length: int, rng) -> np.ndarray:
    """Unit-variance moving average of white noise over ``length`` neighbours, never across groups."""
    n = len(group)
    noise = rng.normal(0, 1, n)
    cum = np.r_[0.0, np.cumsum(noise)]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    last = np.repeat(np.r_[starts[1:], n], np.diff(np.r_[starts, n])) - 1
    i = np.arange(n)
    half = max(int(length), 1) // 2
    lo, hi = np.maximum(i - half, first), np.minimum(i + half, last)
    return (cum[hi + 1] - cum[lo]) / np.sqrt(hi - lo + 1)


def tilt(p: np.ndarray, u: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    """Shares ``p`` (stations x parties) with log shares moved by ``loadings`` x u, renormalised.

    ``u`` may already carry the station's regional scale (``region_scale``).
    """
    w = p * np.exp(np.clip(u[:, None] * loadings[None, :], -30, 30))
    return w / w.sum(axis=1, keepdims=True)


def special_kinds(kind: np.ndarray, option: dict, rng) -> np.ndarray:
    """Kinds with a share of the regular stations turned into the special kinds of ``option``."""
    unknown = set(option) - set(SPECIAL)
    if unknown:
        raise ValueError(f"unknown special station kinds: {', '.join(sorted(unknown))}; known: {', '.join(SPECIAL)}")
    kind = kind.copy()
    u = rng.random(len(kind))
    edge = 0.0
    for name in SPECIAL:
        share = float(option.get(name, 0.0))
        pick = (u >= edge) & (u < edge + share) & (kind <= KIND_CODES["rural"])
        kind[pick] = KIND_CODES[name]
        edge += share
    return kind


def special_sizes(kind: np.ndarray, registered: np.ndarray, rng) -> np.ndarray:
    """Electorates of the special kinds: log-uniform over each kind's range."""
    registered = registered.astype(float).copy()
    for name, spec in SPECIAL.items():
        sel = kind == KIND_CODES[name]
        low, high = spec["size"]
        registered[sel] = np.exp(rng.uniform(np.log(low), np.log(high), sel.sum()))
    return registered


def size_tail(registered: np.ndarray, kind: np.ndarray, share: float, rng) -> np.ndarray:
    """Give a share of the urban stations an electorate from a Pareto tail (3,000 to 20,000)."""
    registered = registered.astype(float).copy()
    sel = (kind == KIND_CODES["urban"]) & (rng.random(len(kind)) < share)
    size = 3000 * (1 + rng.pareto(1.5, sel.sum()))
    while (big := size > 20_000).any():
        size[big] = 3000 * (1 + rng.pareto(1.5, big.sum()))
    registered[sel] = size
    return registered


def special_turnout(rate: np.ndarray, kind: np.ndarray, rng) -> np.ndarray:
    """Turnout of the special kinds drawn from their own Beta distributions."""
    rate = rate.copy()
    for name, spec in SPECIAL.items():
        sel = kind == KIND_CODES[name]
        rate[sel] = rng.beta(*spec["turnout"], sel.sum())
    return rate


def special_shares(p: np.ndarray, kind: np.ndarray, rng) -> np.ndarray:
    """Leader shares of the special kinds that have their own (the others keep their proportions)."""
    p = p.copy()
    for name, spec in SPECIAL.items():
        sel = np.flatnonzero(kind == KIND_CODES[name])
        if spec["leader"] is None or not sel.size:
            continue
        lead = rng.beta(*spec["leader"], sel.size)
        rest = p[sel, 1:] / p[sel, 1:].sum(axis=1, keepdims=True)
        p[sel] = np.column_stack([lead, (1 - lead)[:, None] * rest])
    return p


def lists_on_the_day(registered: np.ndarray, voters: np.ndarray, kind: np.ndarray, rng) -> np.ndarray:
    """Registered voters where the list is drawn up on election day: those who voted plus a few."""
    registered = registered.copy()
    for name, spec in SPECIAL.items():
        sel = (kind == KIND_CODES[name]) & (rng.random(len(kind)) < spec["list_on_day"])
        registered[sel] = voters[sel] + rng.binomial(voters[sel], 0.01)
    return registered


def outside_factor(kind: np.ndarray) -> np.ndarray:
    """Multiplier of mobile-box voting by kind (regular kinds as in ``simulate``)."""
    factor = np.array([0.6, 1.8, 0.3] + [s["outside"] for s in SPECIAL.values()] + [0.0])
    return factor[kind]
