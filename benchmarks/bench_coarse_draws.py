"""Cost of the coarse-shares re-count draws, exact and from a normal approximation; a section of spikes.md.

``coarse_shares`` spends most of its time drawing honest re-counts: per resample and station a
component, a Beta posterior proportion and a Binomial count, for turnout (t* of N) and for the
party's votes (v* of t*).  A cheaper candidate draws a large station's beta-binomial count from
the normal with the same mean and variance, rounded to the integers (the rounded normal keeps the
lattice of fractions the test looks at), and keeps the exact draws where the normal is not close:
variance below ``min_variance`` or skewness above ``max_skew`` (the first Edgeworth term,
skewness x He3(z) / 6, bounds the relative error of the probability of a count within two
standard deviations of the mean by skewness / 3).  This script measures what that saves, per
stage and threshold, on a simulated 100,000-station election and on Russia 2018, and writes the
section "Coarse shares: cost of the re-count draws" of ``benchmarks/results/spikes.md``.

With ``--whole`` it times the whole test instead (``coarse_shares`` with the default battery's 200
re-counts, on one thread and on two: CPU seconds of the process, all threads included, and wall
seconds) and writes the section "Coarse shares: the whole test on one and two threads".

    python benchmarks/bench_coarse_draws.py [--replicates 20]
    python benchmarks/bench_coarse_draws.py --whole [--sizes 10000 1000000]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import forensics
from forensics.simulate import simulate
from forensics.stats import coarse

OUT = Path(__file__).parent / "results" / "spikes.md"
TITLE = "## Coarse shares: cost of the re-count draws"
WHOLE_TITLE = "## Coarse shares: the whole test on one and two threads"
RUSSIA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ru_2018_president.csv.zip"
#: (min_variance, max_skew): the mechanism's bound (relative error <= 1.7%), looser, and loosest
THRESHOLDS = [(100.0, 0.05), (100.0, 0.1), (25.0, 0.2)]


def counts(election):
    """Voters N, valid t and the leader's v at the stations coarse_shares uses."""
    party = coarse.party_column(election, None)
    N = election.table["registered"].to_numpy(float)
    t = election.ballots("valid").to_numpy(float)
    v = election.table[party].to_numpy(float)
    keep = np.isfinite(N + t + v) & (t > 0) & (t <= N) & (v <= t) & (v >= 0)
    return N[keep].astype(np.int64), t[keep].astype(np.int64), v[keep].astype(np.int64)


def normal_draw(rng, fit, resp, n, k, trials, min_variance, max_skew):
    """The candidate: beta-binomial re-counts, from the rounded normal where variance and skewness allow."""
    L = fit["alpha"].size
    cell = coarse._draw_components(rng, resp, trials.shape[0]) + (L * np.arange(n.size))[None, :]
    a = (k[:, None] + fit["alpha"][None, :]).ravel()
    b = ((n - k)[:, None] + fit["beta"][None, :]).ravel()
    s = a + b
    # out of m trials: mean m p, variance m c (s + m), skewness^2 = (s + 2m)^2 d / (m (s + m))
    p, c, d = a / s, a * b / (s * s * (s + 1)), (b - a) ** 2 * (s + 1) / ((s + 2) ** 2 * a * b)
    m = trials.astype(float)
    s_m = s[cell] + m
    var = m * c[cell] * s_m
    smooth = (var >= min_variance) & ((s_m + m) ** 2 * d[cell] <= max_skew ** 2 * m * s_m)
    out = np.empty(trials.shape, dtype=np.int64)
    z = rng.standard_normal(int(smooth.sum()))
    out[smooth] = np.clip(np.rint(m[smooth] * p[cell[smooth]] + np.sqrt(var[smooth]) * z), 0, trials[smooth])
    rough = ~smooth
    out[rough] = rng.binomial(trials[rough], rng.beta(a[cell[rough]], b[cell[rough]]))
    return out, float(smooth.mean())


def exact_draw(rng, fit, resp, n, k, trials):
    return rng.binomial(trials, coarse._draw_posterior(rng, fit, resp, n, k, trials.shape[0]))


def cpu(func, *args):
    start = time.process_time()
    result = func(*args)
    return time.process_time() - start, result


def measure(name, election, replicates, seed=0) -> list[dict]:
    N, t, v = counts(election)
    rng = np.random.default_rng(seed)
    fit_t = coarse.fit_betabinom_mixture(N, t, rng=rng)
    fit_v = coarse.fit_betabinom_mixture(t, v, rng=rng)
    resp_t = coarse._responsibilities(fit_t, N.astype(float), t.astype(float))
    resp_v = coarse._responsibilities(fit_v, t.astype(float), v.astype(float))
    trials_t = np.broadcast_to(N, (replicates, N.size))
    rows = []
    seconds_t, t_star = cpu(exact_draw, rng, fit_t, resp_t, N, t, trials_t)
    seconds_v, _ = cpu(exact_draw, rng, fit_v, resp_v, t, v, t_star)
    rows.append({"election": name, "stations": N.size, "sampler": "exact Beta + Binomial",
                 "turnout s": seconds_t, "votes s": seconds_v, "normal t": 0.0, "normal v": 0.0})
    for min_variance, max_skew in THRESHOLDS:
        seconds_t, (t_star, share_t) = cpu(normal_draw, rng, fit_t, resp_t, N, t, trials_t, min_variance, max_skew)
        seconds_v, (_, share_v) = cpu(normal_draw, rng, fit_v, resp_v, t, v, t_star, min_variance, max_skew)
        rows.append({"election": name, "stations": N.size,
                     "sampler": f"normal where variance >= {min_variance:g}, skewness <= {max_skew:g}",
                     "turnout s": seconds_t, "votes s": seconds_v, "normal t": share_t, "normal v": share_v})
    return rows


def section(rows, replicates) -> str:
    lines = [TITLE, "",
             f"Generated by `benchmarks/bench_coarse_draws.py --replicates {replicates}`: CPU seconds to draw "
             f"{replicates} re-counts of every station (turnout t* of N, then the leader's votes v* of t*), and "
             "the share of draws taken from the normal approximation.", "",
             "| election | stations | sampler | turnout s | votes s | total s | normal draws, turnout | "
             "normal draws, votes |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['election']} | {r['stations']:,} | {r['sampler']} | {r['turnout s']:.2f} | "
                     f"{r['votes s']:.2f} | {r['turnout s'] + r['votes s']:.2f} | {r['normal t']:.0%} | "
                     f"{r['normal v']:.0%} |")
    lines += ["", "Reading. The exact draws cost a few hundred nanoseconds per station and re-count. At the "
              "threshold the mechanism justifies (skewness <= 0.05) the normal path saves nothing: the stations "
              "left to the exact draws are the small and lopsided ones, whose Beta and Binomial draws are the "
              "slowest, and the moments and masks cost about as much as the draws they replace. Only when almost "
              "every draw is normal (skewness up to 0.2, a pointwise error of the count probabilities up to about "
              "7%) is it under two times cheaper. So `coarse_shares` keeps the exact sampler; its cost was cut "
              "only where the numbers stay identical (component draws without a draws x stations x components "
              "array, the kernel density of all re-counts at once).", ""]
    return "\n".join(lines)


def measure_whole(name, election, n_sim=200, seed=0) -> list[dict]:
    """CPU (every thread) and wall seconds of coarse_shares on 1 and 2 threads; F and p must not move."""
    rows = []
    for workers in (1, 2):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        res = coarse.coarse_shares(election, n_sim=n_sim, rng=seed, workers=workers)
        rows.append({"election": name, "stations": res.n_used, "workers": workers, "F": res.statistic,
                     "p": res.pvalue, "cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0})
    if (rows[0]["F"], rows[0]["p"]) != (rows[1]["F"], rows[1]["p"]):
        raise AssertionError(f"{name}: one and two threads disagree: {rows}")
    return rows


def whole_section(rows, n_sim) -> str:
    lines = [WHOLE_TITLE, "",
             f"Generated by `benchmarks/bench_coarse_draws.py --whole`: `coarse_shares(e, n_sim={n_sim}, rng=0, "
             "workers=w)`, CPU seconds of the process (all threads) and wall seconds. The machine is shared, so "
             "wall seconds depend on its load; CPU seconds are the comparable figure.", "",
             "| election | stations | threads | F | p | CPU s | wall s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['election']} | {r['stations']:,} | {r['workers']} | {r['F']:.4f} | {r['p']:.4f} | "
                     f"{r['cpu']:.1f} | {r['wall']:.1f} |")
    return "\n".join(lines + [""])


def write_section(text: str, title: str = TITLE) -> None:
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    if title in old:
        head, rest = old.split(title, 1)
        tail = rest[rest.find("\n## "):].lstrip("\n") if "\n## " in rest else ""
        new = head + text.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(OUT)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--whole", action="store_true", help="time the whole test on one and two threads")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000], help="simulated elections for --whole")
    args = parser.parse_args(argv)
    if args.whole:
        rows = []
        for size in args.sizes:
            rows += measure_whole(f"simulated {size:,}", simulate(n_pec=size, n_regions=80, rng=size))
        if RUSSIA.exists():
            rows += measure_whole("Russia 2018", forensics.load(RUSSIA))
        write_section(whole_section(rows, 200), WHOLE_TITLE)
        return
    rows = measure("simulated", simulate(n_pec=100_000, n_regions=80, rng=100_000), args.replicates)
    if RUSSIA.exists():
        rows += measure("Russia 2018", forensics.load(RUSSIA), args.replicates)
    write_section(section(rows, args.replicates))


if __name__ == "__main__":
    main()
