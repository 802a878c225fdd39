"""What a scan records about itself: package version, inputs, profile, every parameter and the seed."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np

from .._version import __version__


def jsonable(value):
    """``value`` if JSON can hold it, else its repr (parameters can be arrays or functions)."""
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def _seed(seed):
    """An int seed as is; a SeedSequence as its entropy and spawn key, so the run can be repeated."""
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": jsonable(seed.entropy), "spawn_key": list(seed.spawn_key)}
    return seed


def provenance(election, checks, levels, params, alpha, seed, seed_note, time) -> dict:
    """The provenance record of a scan (``time``: ISO text, default now in UTC)."""
    return {
        "package": "election-forensics",
        "version": __version__,
        "sources": {str(path): digest for path, digest in (election.sources or {}).items()},
        "profile": election.profile,
        "ruleset": election.meta.get("ruleset"),
        "n_stations": len(election.table),
        "key": list(election.key),
        "parties": list(election.parties),
        "levels": list(levels),
        "alpha": alpha,
        "seed": _seed(seed),
        "seed_note": seed_note,
        "parameters": {k: jsonable(v) for k, v in sorted(params.items())},
        "battery": [{"test": c.name, "levels": list(c.levels), "params": {k: jsonable(v) for k, v in c.params.items()},
                     "sub_params": {k: jsonable(v) for k, v in c.sub_params.items()},
                     "each_party": c.each_party, "variants": [jsonable(dict(v)) for v in c.variants],
                     "needs": list(c.needs), "min_stations": c.min_stations} for c in checks],
        "time": time or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
    }
