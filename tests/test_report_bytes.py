"""Every file of the report, byte for byte, against the digests of the same report as the earlier writers wrote it.

The CSV and JSON tables, summary.json and report.html (its embedded PNG
data left out: the figures' pixels are tested with the figures) of a
simulated election, in English and Russian, are hashed; ``DIGESTS`` holds
the hashes the report writers of commit 96a3541 gave (written per row
with pandas; now written in bulk).  A change to any byte of these files
fails here: recompute the digests with ``report_digests`` when a change
is meant.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

import pytest

import forensics
from forensics.output import MARKER
from forensics.report import write_report
from forensics.scan import scan

TIME = "2026-01-01T00:00:00+00:00"
PNG = re.compile(rb"data:image/png;base64,[A-Za-z0-9+/=]+")
TESTS = ("fingerprint", "cumulative_votes", "integer_percentages", "last_digit_test", "turnout_share_correlation")

#: {language: {file: first 16 hex digits of its SHA-256}} as written at commit 96a3541
DIGESTS: dict = {
    "en": {
        "context.csv": "bb87313bc98c0249", "excluded.csv": "56566a13bab3fb78",
        "figure_errors.txt": "0c464f3e2531df88", "findings.csv": "b74796762c43f1f8",
        "report.html": "f75d85863aea867c", "stations.csv": "266ec49a42c39d93", "summary.json": "1a1e0e753abbe854",
        "tests.csv": "58d4ea2f3fb9ac7c", "verdicts.csv": "61fdfc364cf71c9f",
    },
    "ru": {
        "context.csv": "bb87313bc98c0249", "excluded.csv": "56566a13bab3fb78",
        "figure_errors.txt": "078f5556f8ab78f4", "findings.csv": "b74796762c43f1f8",
        "report.html": "05210298a8985ec0", "stations.csv": "266ec49a42c39d93", "summary.json": "1a1e0e753abbe854",
        "tests.csv": "58d4ea2f3fb9ac7c", "verdicts.csv": "61fdfc364cf71c9f",
    },
}


def election():
    """A simulated election with names to neutralise and quote, unpublished stations and protocols that do not
    add up."""
    names = ["=Region, \"one\"", "-Region 2", "Region 3\nnorth", "@Region 4", "Регион 5", "+7 Region"]
    e = forensics.simulate(n_pec=1500, n_regions=6, fraud={"drawn": {"fraction": 0.03}}, unpublished=0.02,
                           region_names=names, rng=21)
    table = e.table.copy()
    rows = table.index[table[e.parties[1]].notna()][:7]
    table.loc[rows, e.parties[1]] += 3  # the votes no longer add up to the valid ballots
    return replace(e, table=table)


def report_digests(out) -> dict:
    """{file: digest} of every file of the report in ``out`` but the figures (PNG data in the page left out)."""
    out = Path(out)
    digests = {}
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        if path.is_file() and not name.startswith("figures/") and path.name != MARKER:
            data = path.read_bytes()
            data = PNG.sub(b"data:image/png;base64,", data) if path.suffix == ".html" else data
            digests[name] = hashlib.sha256(data).hexdigest()[:16]
    return digests


def write(out, lang: str):
    s = scan(election(), tests=TESTS, rng=5, progress=False, integer_percentages={"n_sim": 200})
    write_report(s, out, lang=lang, progress=False, time=TIME)
    return out


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_report_file_is_byte_identical_to_the_earlier_writers(tmp_path, lang):
    digests = report_digests(write(tmp_path / "report", lang))
    assert {"report.html", "stations.csv", "excluded.csv", "findings.csv", "summary.json"} <= set(digests)
    assert digests == DIGESTS[lang]
