"""Sample-based checks: the parallel vote tabulation and the observer effect.

``pvt`` estimates national turnout and party shares from the observers'
copies at a sample of stations, as ratio estimators with a design-based
(linearisation) standard error for a simple random, region-stratified or
TEC-clustered sample, and asks whether each official figure lies inside the
interval.  An estimate from too few stations (``MIN_STATIONS``), or with a
stratum whose variance cannot be estimated (one PSU), is marked not
informative: its interval is not trusted and the official figure is never
said to lie "inside" it.  Intervals of shares are cut at 0 and 1.
``observer_effect`` compares stations with and without independent observers
within regions (or TECs), with cluster-robust errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError
from ..exclusions import Exclusions
from ..i18n import Message, plural_message
from ..model import Election
from ..stats.result import TestResult
from .stations import as_table, group_key, match_stations
from .transcription import check_lines

DESIGNS = ("srs", "stratified", "cluster", "convenience")

CONVENIENCE_WARNING = Message(
    "The observed stations were not drawn at random. The interval only measures the noise of a "
    "random sample; stations that observers chose (cities, easy to reach, commissions that let "
    "them in) can differ systematically from the rest, and that bias is unknown and not in the "
    "interval. A gap between the official result and this estimate may say where observers went, "
    "not that the count was falsified.")

#: Fewest usable observed stations for an informative estimate.  The interval
#: rests on the ratio estimator being nearly normal and on its variance being
#: estimated well; station sizes and turnouts are skewed, so with few stations
#: the estimator's bias (of order 1/n) and the noise of its variance estimate
#: make the stated 95% too optimistic.  On simulated clean elections a simple
#: random sample of 20 stations covered the true turnout in 91% of draws, one
#: of 30 or more within the binomial band of 95%
#: (``benchmarks/results/audit_small_samples.md``).
MIN_STATIONS = 30
#: Fewest sampled clusters (TECs) for an informative cluster-sample estimate:
#: the clusters, not the stations, carry the variance.  With 3 or 5 clusters
#: the party-share intervals covered 90–91%, with 10 or more 93–95%.
MIN_CLUSTERS = 10


@dataclass(frozen=True)
class PVT:
    """Parallel vote tabulation: one TestResult per quantity, a tidy table, warnings.

    In each TestResult ``statistic`` is the official figure, ``expected`` the
    sample estimate, ``ci`` its interval and ``pvalue`` the two-sided test of
    the official figure against the estimate.
    """

    results: list
    design: str
    n_sampled: int
    n_frame: int
    warnings: list = field(default_factory=list)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def table(self) -> pd.DataFrame:
        rows = []
        for r in self.results:
            rows.append({"quantity": r.details["quantity"], "party": r.party, "estimate": r.expected,
                         "se": r.details["se"], "ci_low": r.ci[0], "ci_high": r.ci[1],
                         "official": r.statistic, "informative": r.details["informative"],
                         "inside": r.details["inside"], "pvalue": r.pvalue,
                         "design": self.design, "n_sampled": self.n_sampled})
        return pd.DataFrame(rows)


def ratio_estimate(y: np.ndarray, x: np.ndarray, w: np.ndarray, strata: np.ndarray, psu: np.ndarray,
                   fpc: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Ratio estimates sum(w y) / sum(w x) per column with linearisation standard errors.

    ``y`` and ``x`` are (n, q); ``strata`` and ``psu`` label each row;
    ``fpc`` is each row's stratum sampling fraction of PSUs (0 for none).
    Returns (ratios, standard errors, degrees of freedom).
    """
    xt = (w[:, None] * x).sum(axis=0)
    ratio = (w[:, None] * y).sum(axis=0) / xt
    z = w[:, None] * (y - ratio * x) / xt
    unit = pd.MultiIndex.from_arrays([strata, psu]).factorize()[0]
    n_unit = unit.max() + 1
    totals = np.column_stack([np.bincount(unit, weights=z[:, j], minlength=n_unit) for j in range(z.shape[1])])
    first = np.unique(unit, return_index=True)[1]
    h = pd.factorize(np.asarray(strata)[first])[0]
    m = np.bincount(h)
    f = np.asarray(fpc, dtype=float)[first]
    means = np.column_stack([np.bincount(h, weights=totals[:, j]) for j in range(z.shape[1])]) / m[:, None]
    dev = (totals - means[h]) ** 2
    scale = np.where(m[h] > 1, (1 - f) * m[h] / np.maximum(m[h] - 1, 1), 0.0)
    var = (scale[:, None] * dev).sum(axis=0)
    df = max(n_unit - len(m), 1)
    return ratio, np.sqrt(var), df


def _design(frame: pd.DataFrame, sampled: pd.Index, design: str, strata: str, clusters: str):
    """Weights, strata, PSUs and sampling fractions of the sampled rows; plus warnings."""
    warn = []
    s = frame.loc[sampled]
    n, big_n = len(s), len(frame)
    if design in ("srs", "convenience"):
        return (np.full(n, big_n / n), np.zeros(n), np.arange(n), np.full(n, n / big_n)), warn
    if design == "stratified":
        size = frame[strata].value_counts()
        got = s[strata].value_counts()
        empty = sorted(set(size.index) - set(got.index), key=str)
        if empty:
            warn.append(plural_message(
                "%(n)s stratum (%(strata)s) has no observed station (%(names)s): the estimate covers the others "
                "only.", "%(n)s strata (%(strata)s) have no observed station (%(names)s): the estimate covers the "
                "others only.", len(empty), strata=strata,
                names=", ".join(map(str, empty[:5])) + (" ..." if len(empty) > 5 else "")))
        h = s[strata].to_numpy()
        w = (size / got).reindex(h).to_numpy()
        return (w, h, np.arange(n), (got / size).reindex(h).to_numpy()), warn
    if design == "cluster":
        labels = group_key(frame, clusters)
        n_clusters = labels.nunique()
        sizes = labels.value_counts()
        c = labels.loc[sampled].to_numpy()
        got = pd.Series(c).value_counts()
        w = n_clusters / len(got) * (sizes / got).reindex(c).to_numpy()
        return (w, np.zeros(n), c, np.full(n, len(got) / n_clusters)), warn
    raise ValueError(f"design must be one of {', '.join(DESIGNS)}")


def _too_few(design: str, n: int, strata: np.ndarray, psu: np.ndarray) -> list:
    """Why an estimate from this sample is not informative ([] when it is)."""
    why = []
    if n < MIN_STATIONS:
        why.append(plural_message(
            "Only %(n)s station was observed: at least %(min)s are needed for an interval that can be trusted.",
            "Only %(n)s stations were observed: at least %(min)s are needed for an interval that can be trusted.",
            n, min=MIN_STATIONS))
    if design == "cluster":
        m = len(np.unique(psu))
        if m < MIN_CLUSTERS:
            why.append(plural_message(
                "Only %(n)s cluster was observed: a cluster sample needs at least %(min)s for an interval that "
                "can be trusted.", "Only %(n)s clusters were observed: a cluster sample needs at least %(min)s "
                "for an interval that can be trusted.", m, min=MIN_CLUSTERS))
    if design == "stratified":
        counts = pd.Series(strata).value_counts()
        single = sorted(counts.index[counts < 2], key=str)
        if single:
            why.append(plural_message(
                "%(n)s stratum has a single observed station (%(names)s): its variance cannot be estimated, so "
                "the interval would be too narrow.", "%(n)s strata have a single observed station (%(names)s): "
                "their variance cannot be estimated, so the interval would be too narrow.", len(single),
                names=", ".join(map(str, single[:5])) + (" ..." if len(single) > 5 else "")))
    return why


def _quantities(el: Election) -> tuple[np.ndarray, np.ndarray, list]:
    """Numerators and denominators per station: turnout, then each party's share."""
    base = el.ballots(el.percent_base)
    cast = el.ballots("cast").to_numpy(float)
    y = np.column_stack([cast, el.table[list(el.parties)].to_numpy(float)])
    x = np.column_stack([el.table["registered"].to_numpy(float)] + [base.to_numpy(float)] * len(el.parties))
    return y, x, [("turnout", None)] + [("share", p) for p in el.parties]


def pvt(official: Election, observed: pd.DataFrame, design: str = "srs", strata: str = "region",
        clusters: str = "tec", level: float = 0.95) -> PVT:
    """Estimate turnout and shares from the observers' copies; is the official result inside?

    ``observed`` holds the observers' figures (canonical columns, ids to
    match the official stations).  ``design`` says how the stations were
    chosen: "srs", "stratified" (by ``strata``), "cluster" (whole ``clusters``
    drawn at random, then all or a random part of their stations; a TEC is
    identified within its region) or
    "convenience" (not at random: estimated as srs, with a warning).
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}")
    observed = as_table(observed)
    target, _ = match_stations(official, observed)
    ex = Exclusions(observed.index)
    ex.require(target.notna(), "station not in the official results")
    ex.require(~target.duplicated(keep="first") | target.isna(), "station observed twice (first copy used)")
    lines = ["registered", *official.parties, *[c for c in ("valid", "invalid", "against_all") if c in official.table]]
    check_lines(observed, lines)
    ex.require(observed[lines].notna().all(axis=1), "line(s) left blank")
    frame_el = official.subset(official.published & (official.table["registered"] > 0))
    ex.require(target.isin(frame_el.table.index), "official figures not published or no registered voters")
    obs = observed[ex.keep]
    table = frame_el.table.loc[target[ex.keep].values].copy()
    table[lines] = obs[lines].to_numpy()
    table.index = target[ex.keep].values
    sample_el = official.with_table(table)
    if len(table) < 2:
        raise DataError(Message("fewer than two usable observed stations: no estimate is possible"),
                        fix="check that the transcription's station ids match the official file")

    (w, h, c, f), warn = _design(frame_el.table, table.index, design, strata, clusters)
    y, x, names = _quantities(sample_el)
    est, se, df = ratio_estimate(y, x, w, h, c, f)
    oy, ox, _ = _quantities(frame_el)
    off = oy.sum(axis=0) / ox.sum(axis=0)
    if design == "convenience":
        warn.insert(0, CONVENIENCE_WARNING)
    elif design == "srs":
        warn.extend(_balance_warning(frame_el.table, table.index, strata))
    too_few = _too_few(design, len(table), h, c)
    warn = too_few + warn
    tq = stats.t.ppf(0.5 + level / 2, df)
    results = []
    for j, (what, party) in enumerate(names):
        low, high = max(est[j] - tq * se[j], 0.0), min(est[j] + tq * se[j], 1.0)
        tstat = (off[j] - est[j]) / se[j] if se[j] > 0 else np.inf * np.sign(off[j] - est[j])
        p = float(2 * stats.t.sf(abs(tstat), df)) if np.isfinite(tstat) else 0.0
        inside = None if too_few else bool(low <= off[j] <= high)
        label = "turnout" if party is None else f"the share of {party}"
        if too_few:
            verdict = ("Not informative: the sample is too small for this interval to be trusted. "
                       + " ".join(too_few) + " ")
        else:
            verdict = (f"The official figure {off[j]:.2%} lies {'inside' if inside else 'OUTSIDE'} the interval "
                       f"(p = {p:.3g}). "
                       + ("A figure outside the interval means the official count and the signed protocols of a "
                          "random sample disagree more than chance allows: a reason to look, not proof. "
                          if not inside else ""))
        results.append(TestResult.from_exclusions(
            f"pvt_{what}", ex, off[j], party=party, expected=float(est[j]), ci=(float(low), float(high)), pvalue=p,
            alternative="two-sided", confidence_level=level, method=f"ratio estimator, {design} design",
            details={"quantity": what, "se": float(se[j]), "df": df, "design": design, "inside": inside,
                     "informative": not too_few},
            explanation=(
                f"From the observers' copies at {ex.n_used} of {len(frame_el)} stations ({design} design), "
                f"{label} is estimated at {est[j]:.2%} ({low:.2%} to {high:.2%}, {level:.0%} interval). "
                + verdict + (" " + CONVENIENCE_WARNING if design == "convenience" else ""))))
    return PVT(results=results, design=design, n_sampled=ex.n_used, n_frame=len(frame_el), warnings=warn,
               excluded=observed.loc[ex.rows.index].assign(reason=ex.rows))


def _balance_warning(frame: pd.DataFrame, sampled: pd.Index, strata: str) -> list:
    """A warning when a 'random' sample's spread over regions is unlikely for a random draw."""
    if strata not in frame.columns or frame[strata].nunique() < 2:
        return []
    expected = frame[strata].value_counts(normalize=True) * len(sampled)
    got = frame.loc[sampled, strata].value_counts().reindex(expected.index, fill_value=0)
    stat, p = stats.chisquare(got, expected)
    if p < 0.01:
        return [Message("The observed stations are spread over the strata (%(strata)s) unlike the country's "
                        "stations (chi-square p = %(p)s): check that the sample was really drawn at random.",
                        strata=strata, p=lambda f: f.pvalue(p))]
    return []


def _within(values: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Subtract group means: the fixed effects absorbed."""
    return values - values.groupby(groups.to_numpy()).transform("mean")


def observer_effect(official: Election, observed, fe: str = "region", cluster: str = "tec",
                    level: float = 0.95) -> list:
    """Turnout and leader share at observed minus unobserved stations, within ``fe`` groups.

    ``observed`` is a boolean Series over ``official.table.index`` or a table
    of observed stations (ids).  OLS on the within-``fe`` demeaned data with
    standard errors clustered by ``cluster`` (statsmodels).  Returns two
    TestResults: turnout and the leader's share.
    """
    if isinstance(observed, (pd.DataFrame, Election)):
        target, _ = match_stations(official, as_table(observed))
        observed = pd.Series(official.table.index.isin(target.dropna().values), index=official.table.index)
    mark = pd.Series(observed, index=official.table.index).fillna(False).astype(float)
    leader = official.leader
    outcomes = {"turnout": official.turnout(), "share": official.share(leader, base="percent_base")}
    results = []
    for what, y in outcomes.items():
        ex = Exclusions.for_election(official)
        ex.require(official.table["registered"] > 0, "no registered voters")
        ex.require(np.isfinite(y), "outcome undefined (no ballots)")
        keep = ex.keep
        g = group_key(official.table.loc[keep], fe)
        data = _within(pd.DataFrame({"y": y[keep], "d": mark[keep]}), g)
        if data["d"].abs().sum() == 0:
            raise DataError(Message("no group (%(fe)s) has both observed and unobserved stations: the effect "
                                    "cannot be estimated", fe=fe),
                            fix="observe stations in more places, or use a coarser fixed effect")
        import statsmodels.api as sm  # here, not at import: reports and scans that load this package never fit it

        fit = sm.OLS(data["y"], data[["d"]]).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(group_key(official.table.loc[keep], cluster))[0]},
            use_t=True)
        low, high = fit.conf_int(1 - level).loc["d"]
        effect, p = float(fit.params["d"]), float(fit.pvalues["d"])
        n_obs = int(mark[keep].sum())
        label = "turnout" if what == "turnout" else f"the share of {leader}"
        results.append(TestResult.from_exclusions(
            f"observer_effect_{what}", ex, effect, party=None if what == "turnout" else leader, pvalue=p,
            ci=(float(low), float(high)), expected=0.0, alternative="two-sided", confidence_level=level,
            method=f"OLS within {fe}, errors clustered by {cluster}",
            details={"n_observed": n_obs, "n_unobserved": ex.n_used - n_obs, "fixed_effects": fe,
                     "cluster": cluster, "mean_observed": float(y[keep][mark[keep] == 1].mean()),
                     "mean_unobserved": float(y[keep][mark[keep] == 0].mean())},
            explanation=(
                f"Within the same {fe}, {label} at the {n_obs} stations with independent observers differs from "
                f"the other {ex.n_used - n_obs} by {effect:+.2%} (interval {low:+.2%} to {high:+.2%}, p = {p:.3g}; "
                f"errors clustered by {cluster}). Stations with observers are expected to be like the others; "
                "a clear gap (lower turnout or leader share where observers were) suggests the figures differ where "
                "nobody watched. Observers are not placed at random, so the gap is a reason to look, not proof.")))
    return results
