"""Screenshots of the report's first screen (1400x900, headless Chromium) for the README.

    python docs/screenshots.py [--data ../shared/data] [--out reports/screenshots]

Scans the demo election, Russia 2018 and Canada 2011 (the last two from the
shared data folder, skipped with a note when absent), writes each report and
saves ``docs/report_<name>.png`` as the browser shows it; the time the scan
and the report took, the page's size and the number of flagged stations in
it go to ``benchmarks/results/report.md``.  Rerun it whenever the scan or
the report changes.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
SIZE = (1400, 900)
MAX_BYTES = 400_000

#: name -> (file in the data folder or None for the demo, profile, seed, title, date, language)
ELECTIONS = {
    "demo": (None, None, 2021, "Demo: a simulated presidential election", "2021-01-10", "en"),
    "ru2018": ("ru_2018_president.csv.zip", None, 2018, "Выборы Президента Российской Федерации", "2018-03-18",
               "ru"),
    "canada2011": ("canada_2011_polls.csv.zip", "canada_2011", 2011, "Canada: 41st general election", "2011-05-02",
                   "en"),
}


def load(name: str, data: Path):
    import forensics
    from forensics.cli.demo import demo_election

    file, profile, *_ = ELECTIONS[name]
    if file is None:
        return demo_election()
    path = data / file
    if not path.exists():
        return None
    return forensics.load(path, profile=profile) if profile else forensics.load(path)


def screenshot(html: Path, png: Path) -> int:
    """The first screen of ``html`` as a PNG of at most ``MAX_BYTES`` (colours reduced if needed); its size."""
    with tempfile.TemporaryDirectory() as profile:
        raw = Path(profile) / "shot.png"
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--window-size={SIZE[0]},{SIZE[1]}",
                        f"--screenshot={raw}", html.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)
        image = Image.open(raw).convert("RGB")
    for colours in (None, 256, 128, 64):
        buffer = io.BytesIO()
        (image if colours is None else image.quantize(colours)).save(buffer, format="PNG", optimize=True)
        if buffer.tell() <= MAX_BYTES:
            break
    png.write_bytes(buffer.getvalue())
    return buffer.tell()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "screenshots")
    parser.add_argument("--only", nargs="*", choices=list(ELECTIONS), default=list(ELECTIONS))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from forensics.report import write_report
    from forensics.scan import scan

    rows = []
    for name in args.only:
        _, _, seed, title, date, lang = ELECTIONS[name]
        election = load(name, args.data)
        if election is None:
            print(f"{name}: data not found in {args.data}, skipped")
            continue
        start = time.perf_counter()
        result = scan(election, rng=seed, progress=False)
        scanned = time.perf_counter()
        html = write_report(result, args.out / name, title=title, date=date, lang=lang, progress=False)
        written = time.perf_counter()
        size = screenshot(html, DOCS / f"report_{name}.png")
        flagged = int((result.stations["n_flags"] > 0).sum())
        rows.append(f"| {name} ({lang}) | {len(result.stations):,} | {flagged:,} | {scanned - start:.1f} | "
                    f"{written - scanned:.1f} | {html.stat().st_size / 1e6:.1f} MB | {size / 1e3:.0f} KB |")
        print(rows[-1])
    (ROOT / "benchmarks" / "results" / "report.md").write_text(
        "# The report's first screen: `python docs/screenshots.py`\n\n"
        "| election (language) | stations | flagged, all in the page | scan (s) | report (s) | report.html | "
        "screenshot |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
