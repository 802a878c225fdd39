"""The report's first screen and languages: an answer in plain words, every flagged station, no English left in ru/kk.

A simulated election with injected fraud (so verdicts fire) is scanned once
and its report written in English, Russian and Kazakh.  The first section
must name the election and its date, give one sentence per verdict that
fired, hold one figure and no test code or raw p-value; the station table
must hold exactly the stations that ``stations.csv`` flags; the Russian and
Kazakh pages must hold no English string of the message catalog.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pandas as pd
import pytest
from babel.messages.pofile import read_po
from test_evidence import english_fragments, visible

import forensics
from forensics.cli import main
from forensics.i18n import LOCALE_DIR
from forensics.report import write_report
from forensics.report.first_screen import unusual_words
from forensics.report.methods import REFERENCES
from forensics.scan import scan
from forensics.simulate import protocol_frame

pytestmark = pytest.mark.slow

TITLE = "Выборы Президента <2024>"
QUICK = ("fingerprint", "integer_percentages", "last_digit_test")
#: codes the first screen must not show: test names, rule codes, method names
CODE = re.compile(r"\b([a-z]+_[a-z_0-9]+|[A-Z]+_[A-Z_0-9]+|R\d\d-[A-Z-]+|2BL|p-value|p =)\b")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    e = forensics.simulate(n_pec=3000, n_regions=5, rng=7,
                           fraud={"drawn": {"fraction": 0.04}, "rounding": {"fraction": 0.08},
                                  "stuffing": {"fraction": 0.2, "intensity": 0.5}})
    table = e.table.assign(region=e.table["region"].str.replace("Region", "Облыс"),  # names from the data are
                           tec=e.table["tec"].astype(str).str.replace("TEC", "АСК"))  # not the report's words
    e = replace(e, table=table)
    s = scan(e, tests=QUICK, rng=1, progress=False, integer_percentages={"n_sim": 200})
    v = s.verdicts
    out = {}
    for lang in ("en", "ru", "kk"):
        folder = tmp_path_factory.mktemp(lang)
        write_report(s, folder, title=TITLE, date="2024-03-17", lang=lang, progress=False, max_rows=5)
        out[lang] = folder
    return {"scan": s, "verdicts": v, "out": out}


def _html(written, lang):
    return (written["out"][lang] / "report.html").read_text(encoding="utf-8")


def _spaces(text: str) -> str:
    """Locale spaces (no-break, narrow no-break) as plain spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def _first_section(html: str) -> str:
    return html[html.index('<section id="summary">'):html.index("</section>")]


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_first_screen_answers_in_plain_words(written, lang):
    first = _first_section(_html(written, lang))
    fired = [x for x in written["verdicts"].headlines if x.check.kind == "fraud pattern"]
    assert fired, "the simulated fraud must make at least one verdict fire"
    assert "Выборы Президента &lt;2024&gt;" in first  # the title, escaped
    date = {"en": "March 17, 2024", "ru": "17 марта 2024", "kk": "2024 ж. 17 наурыз"}[lang]
    assert date in _spaces(first)
    assert first.count('class="verdict"') == len(fired)
    for v in fired:
        assert f'data-code="{v.code}"' in first
    assert first.count("<img ") == 1
    text = visible(first)
    assert not re.search(r"e-\d", text), "a raw p-value in scientific notation"
    assert not CODE.search(text), CODE.search(text)
    assert unusual_words(min(v.pvalue for v in fired), lang)[1:20] in text


def test_numbers_are_written_for_people(written):
    en, ru = visible(_first_section(_html(written, "en"))), visible(_first_section(_html(written, "ru")))
    n = len(written["scan"].stations)
    assert f"{n:,}" in en and f"{n:,}".replace(",", " ") in _spaces(ru)  # thousands grouped the locale's way
    assert not re.search(r"\d\.\d{4,}", en + ru)  # no long raw decimals in prose


def test_every_flagged_station_is_in_the_page(written):
    """The embedded table holds exactly the stations stations.csv flags, beyond the HTML row cap (max_rows)."""
    html = _html(written, "en")
    data = json.loads(re.search(r'<script type="application/json" id="station-data">(.*?)</script>', html, re.S)[1])
    stations = pd.read_csv(written["out"]["en"] / "stations.csv", dtype={"pec": str})
    flagged = stations[stations["n_flags"] > 0].sort_values("review_order")
    assert data["n"] == len(flagged) > 5
    assert len(data["pec"]) == len(data["turnout"]) == len(data["reason"]) == len(flagged)
    assert data["pec"] == flagged["pec"].fillna("").tolist()
    assert all(data["reasons"][k] for k in data["reason"])  # every station says why, in words
    assert f'data-count="{len(flagged)}"' in html


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_no_english_left_in_russian_and_kazakh(written, lang):
    """Visible text, the station reasons and the page script's words hold no English string of the catalog."""
    html = _html(written, lang)
    data = {k: json.loads(v) for k, v in re.findall(r'<script type="application/json" id="([\w-]+)">(.*?)</script>',
                                                     html, re.S)}
    said = [r for reasons in data["station-data"]["reasons"] for r in reasons] + list(data["ui-text"].values())
    text = visible(html) + " " + " ".join(said)
    for reference in REFERENCES.values():  # cited as published
        text = text.replace(reference, "")
    text = re.sub(r"\b\w+_\w+\b", "", text)  # test and verdict codes (methods and tables) are names, not words
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "forensics.po", "rb") as fh:
        translated = " ".join(s for m in read_po(fh) if m.id
                              for s in (m.string if isinstance(m.string, (tuple, list)) else [m.string]))
    fragments = [f for f in english_fragments() if f not in translated]
    left = [f for f in fragments if re.search(r"(?<![A-Za-z])" + re.escape(f) + r"(?![A-Za-z])", text)]
    assert not left, f"English left in the {lang} report: {left[:10]}"
    english = visible(_html(written, "en"))
    assert sum(f in english for f in fragments) > 60  # the same check finds the English page's strings


def test_cli_scan_speaks_the_language_asked(tmp_path, capsys):
    e = forensics.simulate(n_pec=400, n_regions=2, rng=3)
    path = tmp_path / "results.csv"
    protocol_frame(e).to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["scan", str(path), "--out", str(out), "--levels", "nation", "--quiet", "--lang", "kk",
                 "--title", "Сынақ сайлауы", "--date", "2024-03-17"]) == 0
    printed = capsys.readouterr().out
    said = printed[:printed.index("Есеп: ")]
    assert "Сынақ сайлауы — 2024 ж. 17 наурыз" in _spaces(printed)
    assert "Есеп: " in printed and "бұрмалаудың дәлелі емес" in printed
    for name in (*e.parties, *e.table["region"].unique()):  # names from the data
        said = said.replace(str(name), "")
    assert not re.search(r"[A-Za-z]{3,}", said), said  # no English word before the file paths
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="kk">' in html and "Сынақ сайлауы" in html
    assert main(["scan", str(path), "--out", str(tmp_path / "x"), "--date", "17.03.2024", "--quiet"]) == 2


def test_regions_as_one_ranked_chart_with_a_computed_caption(written):
    """One chart, one row per region, its caption counting the regions that stand out, as the verdict holds."""
    html = _html(written, "en")
    figure = re.search(r'<figure id="fig-regions_ranked"><img [^>]*>.*?<figcaption>(.*?)</figcaption>', html, re.S)
    assert figure, "the ranked regions chart is drawn"
    groups = written["verdicts"].verdicts["integer"].groups
    regions = groups[groups["level"] != "nation"]
    assert f"{int(regions['significant'].sum())} of {len(regions)} regions stand out" in figure[1]
    assert "fig-regional_fingerprints" not in html
