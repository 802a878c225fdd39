"""What the summary names: the headline rules, decided from the test table alone, and their words.

This is the one place where the scan decides what "stands out".  It reads
nothing but the corrected test table (``Scan.tests``) and alpha, so a new
set of rules replaces ``HEADLINES`` / ``headlines`` / ``headline_paragraph``
without touching the running of the tests.
"""
from __future__ import annotations

import pandas as pd

#: What the summary names: key, the tests with the smallest statistic that counts (None:
#: significance alone), whether any or all of them must stand out in the same group, and
#: the words.  With ~100,000 stations even a tiny correlation is significant, so the smear
#: needs a real size in both of its tests: a correlation of 0.3 or more AND more than one
#: extra leader vote per extra voter.
HEADLINES = (
    ("integer", {"integer_percentages": None}, "any",
     "integer-percentage excess: more stations than chance would give report a whole-number "
     "turnout or leader share, the trace of figures written to a target"),
    ("smear", {"turnout_share_correlation": 0.3, "turnout_regression": 1.0}, "all",
     "turnout-share smear: the leader's share rises with turnout (correlation of 0.3 or more, and more "
     "than one extra leader vote per extra voter), the pattern ballot stuffing leaves"),
    ("digits", {"last_digit_test": None, "second_digit_test": None, "digit_pairs_test": None}, "any",
     "unusual digits: the last or second digits of the counts are not spread as real counts are "
     "(the second-digit Benford test is known to misfire on honest counts too, so weigh it least)"),
    ("shape", {"dip_test": None, "coarse_shares": None}, "any",
     "unusual shape: turnout has several peaks or vote shares pile up on round fractions"),
)


def _qualifying(t: pd.DataFrame, thresholds: dict, mode: str, unusual: pd.Series) -> pd.DataFrame:
    """Rows of the headline's tests that are unusual and large enough, in groups where any/all tests are."""
    ok = pd.Series(False, index=t.index)
    for name, minimum in thresholds.items():
        rows = (t["test"] == name) & (t["note"] == "") & unusual
        ok |= rows if minimum is None else rows & (t["statistic"].astype(float) >= minimum)
    rows = t[ok]
    if mode == "all":
        n_tests = rows.groupby(["level", "group"])["test"].transform("nunique")
        rows = rows[n_tests == len(thresholds)]
    return rows


def headlines(tests: pd.DataFrame, alpha: float) -> list:
    """Named findings that stand out, nationally or in some regions, with the regions that contribute most.

    A headline needs, in one group, a significant row (corrected p-value
    below alpha) of its tests, large enough where a minimum is set (of all
    its tests where the mode is "all").  ``scope`` is "national" when the
    nation qualifies, else "regional".  Its regions are the groups that
    qualify before correction (p below alpha), ranked by ``effect`` in the
    headline's first test.
    """
    out = []
    t = tests
    for key, thresholds, mode, words in HEADLINES:
        sig = _qualifying(t, thresholds, mode, t["significant"])
        if sig.empty:
            continue
        nat = sig[sig["level"] == "nation"]
        sub = _qualifying(t, thresholds, mode, t["pvalue"] < alpha)
        sub = sub[sub["level"] != "nation"].copy()
        regions = []
        if not sub.empty:
            sub["rank"] = sub["test"].map({name: i for i, name in enumerate(thresholds)})
            sub = sub[sub["effect"] > 0].sort_values(["rank", "effect"], ascending=[True, False], kind="mergesort")
            regions = [str(g) for g in sub["group"].drop_duplicates().head(5)]
        shown = nat if not nat.empty else sig
        best = shown.sort_values("pvalue_adj", kind="mergesort").iloc[0]
        out.append({
            "key": key,
            "scope": "national" if not nat.empty else "regional",
            "headline": words,
            "tests": sorted(set(shown["test"])),
            "strongest": {"test": best["test"], "measure": best["measure"], "party": best["party"],
                          "group": best["group"], "statistic": float(best["statistic"]),
                          "expected": None if pd.isna(best["expected"]) else float(best["expected"])},
            "smallest_pvalue_adj": float(shown["pvalue_adj"].min()),
            "n_regions_significant": int(sig.loc[sig["level"] != "nation", "group"].nunique()),
            "driving_regions": regions,
        })
    return out


def _groups_words(n: int) -> str:
    return "1 group" if n == 1 else f"{n} groups"


def _words_x(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _words_p(p: float) -> str:
    return "below 1e-300" if p == 0 else f"{p:.2g}"


def headline_paragraph(h: dict) -> str:
    """One headline in plain words: what stands out, the strongest result, how sure, where."""
    regions = (" The regions that contribute most (largest effect among those unusual on their own "
               "before correction): " + ", ".join(h["driving_regions"]) + "."
               if h["driving_regions"] else "")
    b = h["strongest"]
    found = f"{b['measure']}{' (' + b['party'] + ')' if b['party'] else ''}: {_words_x(b['statistic'])}"
    if b["expected"] is not None:
        found += f" against {_words_x(b['expected'])} expected without manipulation"
    where = "Strongest national result" if h["scope"] == "national" else (
        f"Not significant nationally, but in some regions; strongest in {b['group']}")
    return (f"Stands out: {h['headline']}. {where}, {found}; corrected p-value "
            f"{_words_p(h['smallest_pvalue_adj'])} (tests: {', '.join(h['tests'])}); significant on "
            f"its own in {_groups_words(h['n_regions_significant'])} below the national level.{regions}")


def nothing_paragraph(alpha: float) -> str:
    """The words when no headline stands out."""
    return f"Nothing stands out nationally: no test's corrected p-value is below {alpha}."
