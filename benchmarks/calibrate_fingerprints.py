"""Calibrate the fingerprint tests: Klimek fit and Shpilkin's excess votes on simulated elections.

Writes ``benchmarks/results/fingerprints.md`` with

1. which Klimek objective recovers known fractions best (data drawn from Klimek's own model);
2. false-positive behaviour on clean simulations (``forensics.simulate``);
3. power curves against the share of stations with ballot stuffing;
4. the time of a full fingerprint battery on 100,000 stations.

Each simulated election is a task (seeded by its number), on a local Dask
cluster of ``--workers`` processes or a ``--scheduler`` (``calibration_runs``):
the tables are the same on any number of workers.

Run: ``python benchmarks/calibrate_fingerprints.py [--clean 80] [--power 10] [--quick]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import forensics  # noqa: E402
from calibration_runs import add_run_options, map_runs  # noqa: E402
from forensics.model import Election  # noqa: E402
from forensics.stats.excess import excess_votes  # noqa: E402
from forensics.stats.fingerprints import cumulative_votes, fingerprint  # noqa: E402
from forensics.stats.klimek import klimek_fit, klimek_simulate  # noqa: E402

OUT = Path(__file__).parent / "results" / "fingerprints.md"
FAIR = {"turnout_peak": 0.55, "turnout_sd": 0.08, "share_peak": 0.4, "share_sd": 0.07, "sigma_x": 0.3}
TRUTHS = [(0.0, 0.0, 1.0), (0.1, 0.01, 1.5), (0.3, 0.02, 1.5), (0.6, 0.03, 2.0)]


def model_election(truth, n, rng) -> Election:
    N = np.rint(np.exp(rng.normal(7, 0.6, n))).clip(100, 5000)
    s = klimek_simulate(N, FAIR, *truth, rng=rng)
    table = pd.DataFrame({"region": "r", "tec": "t", "pec": np.arange(n).astype(str), "unpublished": False,
                          "registered": s["registered"], "valid": s["valid"], "A": s["leader"],
                          "B": s["valid"] - s["leader"]})
    return Election(table, ("A", "B"))


def objectives(reps: int, n: int) -> pd.DataFrame:
    """Mean absolute error of f_i and f_e per objective and distance."""
    rows = []
    for k, truth in enumerate(TRUTHS):
        for rep in range(reps):
            e = model_election(truth, n, np.random.default_rng(1000 * k + rep))
            for objective in ("share", "fingerprint"):
                for distance in ("klimek", "chisq"):
                    t0 = time.perf_counter()
                    r = klimek_fit(e, "A", rng=rep, objective=objective, distance=distance, n_sim_ci=0, n_sim=0)
                    rows.append({"objective": objective, "distance": distance, "truth": str(truth[:2]),
                                 "err_f_i": abs(r.details["f_i"] - truth[0]),
                                 "err_f_e": abs(r.details["f_e"] - truth[1]),
                                 "seconds": time.perf_counter() - t0})
    return pd.DataFrame(rows)


def simulated(fraction, model, seed, n_pec):
    fraud = None
    if fraction:
        spec = {"fraction": fraction, "model": model}
        spec.update({"intensity": 0.3, "alpha": 1.5} if model == "incremental" else {"alpha": 1.5})
        fraud = {"stuffing": spec}
    return forensics.simulate(n_pec=n_pec, fraud=fraud, rng=seed)


def one_run(e: Election, seed: int) -> dict:
    k = klimek_fit(e, rng=seed, n_sim_ci=5, n_sim=39)
    x = excess_votes(e, n_sim=0)
    truth = float(e.table["true_stuffed"].sum() + e.table["true_moved"].sum())
    return {"klimek_total": k.statistic, "klimek_p": k.pvalue, "klimek_ci_low": k.ci[0],
            "excess_share": x.statistic / x.details["leader_votes"],
            "excess_ratio": x.statistic / truth if truth else np.nan}


def simulated_run(fraction, model, seed, n_pec, run_seed) -> dict:
    """One simulated election (``simulated``) and its fingerprint tests (``one_run``), as one task."""
    return one_run(simulated(fraction, model, seed, n_pec), run_seed)


def calibration(n_clean: int, n_power: int, n_pec: int, workers: int = 1,
                scheduler=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    cells = [(model, fraction) for model, fractions in (("incremental", (0.05, 0.1, 0.2, 0.3, 0.5)),
                                                        ("extreme", (0.01, 0.02, 0.05, 0.1))) for fraction in fractions]
    calls = ([(0, None, 10_000 + s, n_pec, s) for s in range(n_clean)]
             + [(fraction, model, 20_000 + s, n_pec, s) for model, fraction in cells for s in range(n_power)])
    results = map_runs(simulated_run, calls, workers, scheduler)
    clean = pd.DataFrame(results[:n_clean])
    power = pd.DataFrame([{"model": model, "fraction": fraction, **r}
                          for (fraction, model, *_), r in zip(calls[n_clean:], results[n_clean:])])
    return clean, power


def timing(n_pec: int = 100_000) -> pd.DataFrame:
    e = forensics.simulate(n_pec=n_pec, fraud={"stuffing": {"fraction": 0.1}}, rng=1)
    rows = []
    for name, run in [("fingerprint (stations, 1 pp)", lambda: fingerprint(e)),
                      ("fingerprint (voters, 0.1 pp)", lambda: fingerprint(e, bin_width=0.001, weights="voters")),
                      ("cumulative_votes", lambda: cumulative_votes(e)),
                      ("excess_votes (100 bootstrap)", lambda: excess_votes(e, rng=1)),
                      ("klimek_fit (defaults: 1 simulation per grid point, 20 bootstrap, 39 null fits)",
                       lambda: klimek_fit(e, rng=1))]:
        t0 = time.perf_counter()
        run()
        rows.append({"step": name, "seconds": round(time.perf_counter() - t0, 2)})
    rows.append({"step": "total", "seconds": round(sum(r["seconds"] for r in rows), 2)})
    return pd.DataFrame(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clean", type=int, default=80, help="clean simulations for the false-positive rate")
    ap.add_argument("--power", type=int, default=10, help="simulations per point of the power curves")
    ap.add_argument("--n-pec", type=int, default=1000, help="stations per simulated election")
    ap.add_argument("--objective-reps", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers")
    add_run_options(ap)
    args = ap.parse_args()
    if args.quick:
        args.clean, args.power, args.objective_reps = 4, 2, 1
    started = time.perf_counter()
    obj = objectives(args.objective_reps, 10_000)
    clean, power = calibration(args.clean, args.power, args.n_pec, args.workers, args.scheduler)
    times = timing()

    threshold = float(clean["excess_share"].quantile(0.95))
    n = len(clean)
    fp = {"Klimek p <= 0.05": (clean["klimek_p"] <= 0.05).mean(),
          "Klimek 95% interval of f_i + f_e excludes 0": (clean["klimek_ci_low"] > 0).mean()}
    curve = power.groupby(["model", "fraction"]).agg(
        klimek_reject=("klimek_p", lambda p: (p <= 0.05).mean()),
        klimek_ci_excludes_0=("klimek_ci_low", lambda c: (c > 0).mean()),
        klimek_mean_total=("klimek_total", "mean"),
        excess_over_clean_95=("excess_share", lambda s: (s > threshold).mean()),
        excess_over_truth_median=("excess_ratio", "median")).reset_index()
    summary = obj.groupby(["objective", "distance"])[["err_f_i", "err_f_e", "seconds"]].mean().reset_index()
    by_truth = obj.pivot_table(index=["objective", "distance"], columns="truth", values="err_f_i").reset_index()

    lines = [
        "# Fingerprint tests: calibration on simulated elections",
        "",
        f"Generated by `benchmarks/calibrate_fingerprints.py` (clean = {n}, power = {args.power} per point, "
        f"{args.n_pec} stations per election, "
        f"{'the Dask scheduler ' + args.scheduler if args.scheduler else f'{args.workers} worker(s)'}, "
        f"{time.perf_counter() - started:.0f} s).",
        "",
        "## 1. Klimek objective: recovery of known fractions",
        "",
        f"Data drawn from Klimek's model itself (10,000 stations, {args.objective_reps} replicates per truth; "
        f"truths (f_i, f_e) = {', '.join(str(t[:2]) for t in TRUTHS)}). Mean absolute error:",
        "",
        _md(summary.round(3)),
        "",
        "Error of f_i by truth:",
        "",
        _md(by_truth.round(3)),
        "",
        "## 2. Clean simulations (false positives)",
        "",
        "| rule | rate | binomial 95% range for 5% |",
        "|---|---|---|",
        *[f"| {k} | {v:.3f} ({int(round(v * n))}/{n}) | {_binom_range(n)} |" for k, v in fp.items()],
        "",
        f"Excess votes on clean simulations, as a share of the leader's votes: median "
        f"{clean['excess_share'].median():.4f}, 95th percentile {threshold:.4f} (the detection threshold used "
        f"below). Negative bins are not subtracted, so a clean election has a small positive floor.",
        "",
        "## 3. Power against ballot stuffing",
        "",
        "Incremental: x ~ |N(0, 0.3)| of non-voters stuffed and x^1.5 of the other votes moved, at the given "
        "fraction of stations. Extreme: x = 1 - |N(0, 0.075)|. `excess_over_truth_median` is the excess-vote "
        "estimate divided by the true stuffed + moved votes.",
        "",
        _md(curve.round(3)),
        "",
        "## 4. Speed: full fingerprint battery on 100,000 stations",
        "",
        _md(times),
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


def _md(frame: pd.DataFrame) -> str:
    """A pipe table (pandas' to_markdown needs the optional 'tabulate')."""
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * frame.shape[1]
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def _binom_range(n: int) -> str:
    from scipy import stats

    lo, hi = stats.binom.ppf([0.025, 0.975], n, 0.05)
    return f"{lo / n:.3f} to {hi / n:.3f}"


if __name__ == "__main__":
    main()
