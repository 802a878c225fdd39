"""The verdicts through the scan on real elections: what the summary names, stations flagged, seconds.

Runs ``forensics.scan`` (the default battery, nation and regions, as
``forensics scan`` does) on the clean controls and on Russia 2018, and
writes the section "Through the scan" of ``benchmarks/results/verdicts.md``
(replacing it when present; ``calibrate_verdicts.py`` keeps it when it
rewrites the file).  A check, not a target: nothing was tuned to these
elections.

    .venv/bin/python benchmarks/scan_real.py [--only NAME ...]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_elections as R  # noqa: E402

OUT = Path(__file__).parent / "results" / "verdicts.md"
HEADING = "## 9. Through the scan"
ELECTIONS = (*R.CLEAN, "russia_2018")


def run(name: str) -> dict:
    """Load and scan one election; what its summary names and how long it took."""
    from forensics.scan import scan
    from forensics.verdicts import CHECKS

    started = time.perf_counter()
    e = R.load(name)
    loaded = time.perf_counter()
    s = scan(e, rng=1, progress=False)
    done = time.perf_counter()
    st = s.verdicts.stations_summary
    fired = s.headlines
    return {
        "election": name, "stations": len(e.table),
        "fraud_patterns": [h for h in fired if CHECKS[h["code"]].kind == "fraud pattern"],
        "protocol": [h for h in fired if CHECKS[h["code"]].kind != "fraud pattern"],
        "share_flagged": st["share_flagged"], "share_expected": st["share_expected"], "flag_counts": st["flag_counts"],
        "load_seconds": loaded - started, "scan_seconds": done - loaded, "verdict_seconds": s.timings["verdicts"],
        "n_significant_tests": int(s.tests["significant"].sum()),
        "first_paragraph": next((p for p in s.summary_paragraphs() if p.startswith("Stands out")), ""),
    }


def _headlines(items: list) -> str:
    if not items:
        return "none"
    return "; ".join(f"**{h['code']}** ({h['scope']}, p = {h['pvalue']:.2g}"
                     + (f"; {', '.join(h['driving_regions'][:3])}" if h["driving_regions"] else "") + ")"
                     for h in items)


def section(rows: list) -> list:
    lines = [HEADING, "",
             "`python benchmarks/scan_real.py`: `forensics.scan(election, rng=1)` with the default battery at "
             "nation and region level, as `forensics scan` runs it; the summary's headlines are the verdicts "
             "above (Holm over the nation and the regions, alpha 0.01). Files loaded by "
             "`benchmarks/real_elections.py`; party: the national leader. Seconds on the shared 2-core machine "
             "(other jobs running).", "",
             "| election | stations | fraud-pattern headlines | protocol headline | stations flagged (expected "
             "without manipulation) | flags | test rows below alpha (detail, not headlines) | scan s (verdicts s) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        flags = ", ".join(f"{k} {v:,}" for k, v in r["flag_counts"].items())
        lines.append(f"| {r['election']} | {r['stations']:,} | {_headlines(r['fraud_patterns'])} | "
                     f"{_headlines(r['protocol'])} | {r['share_flagged']:.2%} ({r['share_expected']:.2%}) | {flags} | "
                     f"{r['n_significant_tests']:,} | {r['scan_seconds']:.0f} ({r['verdict_seconds']:.0f}) |")
    clean = [r for r in rows if r["election"] in R.CLEAN]
    if clean:
        ok = all(not r["fraud_patterns"] and r["share_flagged"] <= 0.02 for r in clean)
        lines += ["", f"Clean controls: {'no' if ok else 'SOME'} fraud-pattern headline, every share flagged "
                      f"{'within' if ok else 'NOT within'} 2% (at most {max(r['share_flagged'] for r in clean):.2%})."
                      " An arithmetic headline there is a fact about protocols (clerical errors), not a fraud "
                      "pattern, and its words say so."]
    for r in rows:
        if r["election"] == "russia_2018" and r["first_paragraph"]:
            lines += ["", "Russia 2018, the summary's first headline paragraph:", "", f"> {r['first_paragraph']}"]
    return lines + [""]


def write(lines: list) -> None:
    text = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    if HEADING in text:
        before, rest = text.split(HEADING, 1)
        after = rest[rest.find("\n## "):] if "\n## " in rest else ""
        text = before.rstrip("\n") + "\n\n" + "\n".join(lines) + after.lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    OUT.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", default=ELECTIONS, choices=ELECTIONS)
    args = p.parse_args(argv)
    rows = []
    for name in args.only:
        if not R.available(name):
            print(f"{name}: not in ../shared/data, skipped", flush=True)
            continue
        rows.append(run(name))
        r = rows[-1]
        print(f"{name}: {[h['code'] for h in r['fraud_patterns'] + r['protocol']]}, flagged {r['share_flagged']:.2%} "
              f"({r['share_expected']:.2%}), {r['scan_seconds']:.0f} s", flush=True)
    write(section(rows))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
