"""Klimek's fit: values and CPU on the real elections, and its error on elections drawn from the model.

Prints one JSON record per case (``--label`` names the code measured), so two versions of the fit
can be compared side by side: Russia 2011, 2012 and 2018 and Canada 2011 (no fraud) with the
defaults (seed 1), a simulated 10,000-station election, and the mean absolute error of f_i and f_e
on 12 elections of 100,000 stations drawn from Klimek's own model (the truths of
``calibrate_fingerprints.py``, fits without interval or p-value).  ``--million`` adds a simulated
1,000,000-station election (about 3 GB).

Run: ``python benchmarks/bench_klimek.py --label new [--million] > out.jsonl``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import forensics
from forensics.stats.klimek import klimek_fit

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL = {"ru2011": ("ru_2011_duma.csv.zip", None), "ru2012": ("ru_2012_president.csv.zip", None),
        "ru2018": ("ru_2018_president.csv.zip", None), "canada2011": ("canada_2011_polls.csv.zip", "canada_2011")}


def _record(label, case, election, **call):
    t0 = time.process_time()
    r = klimek_fit(election, **call)
    cpu = time.process_time() - t0
    d = r.details
    return {"label": label, "case": case, "cpu": round(cpu, 3), "f_i": d["f_i"], "f_e": d["f_e"],
            "alpha": d["alpha"], "total": r.statistic, "ci": r.ci, "f_i_ci": d["f_i_ci"], "f_e_ci": d["f_e_ci"],
            "pvalue": r.pvalue}


def _print(rec):
    print(json.dumps(rec, default=float), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="current")
    parser.add_argument("--million", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    if not args.skip_real:
        for case, (name, profile) in REAL.items():
            e = forensics.load(DATA / name, profile=profile) if profile else forensics.load(DATA / name)
            _print(_record(args.label, case, e, rng=1))
        _print(_record(args.label, "sim10k", forensics.simulate(n_pec=10_000, n_regions=80, rng=10_000), rng=1))
        from calibrate_fingerprints import TRUTHS, model_election
        errors = []
        for k, truth in enumerate(TRUTHS):
            for rep in range(3):
                e = model_election(truth, 100_000, np.random.default_rng(1000 * k + rep))
                rec = _record(args.label, f"model{truth}#{rep}", e, party="A", rng=rep, n_sim_ci=0, n_sim=0)
                errors.append((abs(rec["f_i"] - truth[0]), abs(rec["f_e"] - truth[1]), rec["cpu"]))
                _print(rec)
        err = np.array(errors)
        _print({"label": args.label, "case": "model 100k MAE (12 elections)", "mae_f_i": err[:, 0].mean(),
                "mae_f_e": err[:, 1].mean(), "cpu_per_fit": err[:, 2].mean()})
    if args.million:
        _print(_record(args.label, "sim1M", forensics.simulate(n_pec=1_000_000, n_regions=80, rng=10_000), rng=1))


if __name__ == "__main__":
    main()
