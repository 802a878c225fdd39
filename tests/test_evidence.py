"""Evidence sheets a lawyer can file, in English, Russian and Kazakh.

A simulated Kazakh audit (the ``kz_cec`` layout, Cyrillic names, real JPEG
photos with EXIF times, one station's photo missing and one unreadable) is
run end to end in each language; the sheets are checked against the
message catalog (no English left in ru and kk), for their content (election,
commission, protocol lines as on the form, embedded photo with the
original's SHA-256, no statement citing a photo that is not there, slips
headed "to re-check") and printed to PDF by headless chromium (one A4 page).
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from babel.messages.pofile import read_po
from PIL import Image, ImageDraw

from forensics.audit import observer_copies, run_audit, write_evidence
from forensics.audit.compare import ALLEGED, compare
from forensics.audit.evidence import commission
from forensics.cli import main
from forensics.i18n import LOCALE_DIR
from forensics.ingest import to_layout
from forensics.simulate import simulate

IDS = ["region", "tec", "pec"]
PARTIES = ["Нұр Отан", "Ақ жол", "Халық партиясы", "Ауыл", "Адал"]
TITLE = {"en": "Elections of deputies of the Mazhilis", "ru": "Выборы депутатов Мажилиса Парламента",
         "kk": "Парламент Мәжілісінің депутаттарын сайлау"}
CHROMIUM = "/usr/bin/chromium"


def protocol_photo(path: Path, station: str, taken: str) -> None:
    """A legible stand-in for a protocol photo: a JPEG with text lines and an EXIF DateTimeOriginal."""
    img = Image.new("RGB", (900, 1270), "white")
    draw = ImageDraw.Draw(img)
    draw.text((60, 50), f"PROTOCOL {station} ({path.name})", fill="black")
    for i in range(30):
        draw.line((60, 120 + 35 * i, 840, 120 + 35 * i), fill=(120, 120, 120))
        draw.text((70, 100 + 35 * i), f"{i + 1}. {'#' * (10 + 7 * (i % 5))}  {(i * 37) % 1000}", fill="black")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    img.save(path, format="JPEG", quality=85, exif=exif)


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """Files of a simulated kz_cec audit, and run_audit's output folder per language."""
    tmp = tmp_path_factory.mktemp("evidence")
    sim = observer_copies(simulate(n_pec=400, rng=31), sample=0.25, slips=0.06,
                          alterations={"moved": 0.06, "added": 0.06, "redrawn": 0.06}, rng=32)
    names = dict(zip(sim.official.parties, PARTIES))

    def cyrillic(table):
        table = table.rename(columns=names)
        return table.assign(region=table["region"].str.replace("Region", "Область"),
                            tec=table["tec"].str.replace("TEC", "ТИК"))

    official = cyrillic(sim.official.table.drop(
        columns=[c for c in sim.official.table if str(c).startswith("true_") or c == "observed"]))
    observed = cyrillic(sim.observed)
    # one identical copy mistyped on several lines: class "other", with broken checks on the copy's side
    row = sim.truth.index[sim.truth["true_class"] == "identical"][0]
    observed.loc[row, ["valid", "ballots_cancelled", PARTIES[1]]] += [137, -58, 212]
    to_layout(official, "kz_cec", PARTIES).to_csv(tmp / "results.csv", index=False)
    to_layout(observed, "kz_cec", PARTIES).to_csv(tmp / "copies.csv", index=False)
    alleged = sim.truth.index[sim.truth["true_class"].isin(ALLEGED)]
    missing, unreadable = alleged[0], alleged[1]
    photos = tmp / "photos"
    photos.mkdir()
    for i, cell in observed["photos"].items():
        for name in cell.split(";"):
            if i == missing:
                continue
            if i == unreadable:
                (photos / name).write_bytes(b"\xff\xd8 not really a picture \xff\xd9")
                continue
            protocol_photo(photos / name, str(observed.at[i, "pec"]), "2021:01:10 21:40:00")
    outs = {}
    for lang in ("en", "ru", "kk"):
        outs[lang] = tmp / f"out_{lang}"
        run_audit(tmp / "results.csv", tmp / "copies.csv", outs[lang], profile="kz_cec", photos=photos,
                  design="srs", lang=lang, title=TITLE[lang], date="2021-01-10")
    return {"tmp": tmp, "sim": sim, "out": outs, "photos": photos, "rows": {"missing": missing, "unreadable": unreadable},
            "observed": observed, "other": row}


class _Text(HTMLParser):
    """The visible text of a page (no script, no style), and the attributes people read (alt, title)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        self.parts += [v for k, v in attrs if k in ("alt", "title") and v]

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def sheets(out: Path) -> dict:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((out / "evidence").glob("*.html"))}


def sheet_of(audit, lang: str, row) -> str:
    """The sheet of the observed row ``row``, found by its commission line."""
    ids = audit["observed"].loc[row, IDS].astype(str).to_dict()
    cell = f"<td>{escape(commission(ids, lang))}</td>"
    found = [t for t in sheets(audit["out"][lang]).values() if cell in t]
    assert len(found) == 1, ids
    return found[0]


def english_fragments() -> list:
    """Literal English pieces of every msgid (placeholders cut out), with the msgid they come from."""
    with open(LOCALE_DIR / "forensics.pot", "rb") as fh:
        template = read_po(fh)
    pieces = []
    for m in template:
        for msgid in ([m.id] if isinstance(m.id, str) else m.id):
            for piece in re.split(r"%\(\w+\)s", msgid or ""):
                piece = piece.strip(" .,:;()—-→+")
                if re.search(r"[A-Za-z]{3,}", piece):
                    pieces.append(piece)
    return sorted(set(pieces), key=len)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_no_english_left_in_russian_and_kazakh(audit, lang):
    """Sheets, index and summary hold no English string of the catalog (data and file names aside)."""
    out = audit["out"][lang]
    texts = [visible(t) for t in sheets(out).values()] + [(out / "summary.txt").read_text(encoding="utf-8")]
    text = " ".join(texts).replace(str(audit["tmp"]), "")
    assert len(texts) > 20 and "Нұр Отан" in text
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "forensics.po", "rb") as fh:
        translated = " ".join(s for m in read_po(fh) if m.id
                              for s in (m.string if isinstance(m.string, (tuple, list)) else [m.string]))
    fragments = [f for f in english_fragments() if f not in translated]  # "SHA-256" is the same in every language
    assert len(fragments) > 150
    left = [f for f in fragments if f in text and re.search(r"(?<![A-Za-z])" + re.escape(f) + r"(?![A-Za-z])", text)]
    assert not left, f"English left in the {lang} output: {left[:10]}"
    # the English run of the same audit does show them, so the check can fail
    english = " ".join(visible(t) for t in sheets(audit["out"]["en"]).values())
    assert sum(f in english for f in fragments) > 60


def test_sheet_names_election_commission_and_protocol_lines(audit):
    sim = audit["sim"]
    moved = sim.truth[sim.truth["true_class"] == "moved"].index[-1]
    html = sheet_of(audit, "ru", moved)
    assert '<html lang="ru">' in html
    assert TITLE["ru"] in html and "10 января 2021" in html
    assert "участковая избирательная комиссия (УИК)" in html and "территориальная избирательная комиссия" in html
    # protocol lines worded as the kz_cec form prints them, in Russian
    assert "Число действительных избирательных бюллетеней" in html
    assert "Число неиспользованных (погашенных) избирательных бюллетеней" in html
    assert "Текст для жалобы" in html and "Просим сверить опубликованные данные" in html
    assert "Перенос голосов между партиями" in html
    kk = sheet_of(audit, "kk", moved)
    assert "учаскелік сайлау комиссиясы (УСК)" in kk and "аумақтық сайлау комиссиясы" in kk
    assert "2021\u202fж. 10 қаңтар" in kk and "Шағымға арналған мәтін" in kk
    assert "Жеке басын куәландыратын құжаттың нөмірі" in kk


def test_photo_embedded_with_the_originals_fingerprint(audit):
    sim, observed = audit["sim"], audit["observed"]
    added = sim.truth[sim.truth["true_class"] == "added"].index[-1]
    html = sheet_of(audit, "en", added)
    names = observed.at[added, "photos"].split(";")
    images = re.findall(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == len(names) == 2
    for name, data in zip(names, images):
        original = (audit["photos"] / name).read_bytes()
        assert hashlib.sha256(original).hexdigest() in html
        shown = Image.open(io.BytesIO(base64.b64decode(data)))
        assert shown.format == "JPEG" and max(shown.size) <= 1400
    assert "2021:01:10 21:40:00" in html            # EXIF time, beside the photo
    paragraph = re.search(r'<div class="paragraph"><p>(.*?)</p></div>', html, re.S).group(1)
    assert "the photographs of the results protocol" in paragraph and names[0] in paragraph
    assert "http://" not in html and "https://" not in html
    assert set(re.findall(r'src="([a-z]+):', html)) == {"data"}


@pytest.mark.parametrize("which", ["missing", "unreadable"])
def test_no_statement_cites_a_photo_that_is_not_there(audit, which):
    row = audit["rows"][which]
    names = audit["observed"].at[row, "photos"].split(";")
    for lang, copy_words, problem in (
            ("en", "the copy of the results protocol obtained by observers",
             {"missing": "missing from the photo folder", "unreadable": "does not open as an image"}),
            ("ru", "копии протокола об итогах голосования, полученной наблюдателями",
             {"missing": "отсутствует в папке с фотографиями", "unreadable": "не открывается как изображение"})):
        html = sheet_of(audit, lang, row)
        paragraph = re.search(r'<div class="paragraph"><p>(.*?)</p></div>', html, re.S).group(1)
        assert copy_words in paragraph
        assert not any(n in paragraph for n in names) and "SHA-256" not in paragraph
        assert "<img" not in html
        warning = re.search(r'<div class="warning">(.*?)</div>', html, re.S).group(1)
        assert all(n in warning for n in names) and problem[which] in warning
    summary = json.loads((audit["out"]["en"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["sheets_without_photo"] == 2
    text = (audit["out"]["en"] / "summary.txt").read_text(encoding="utf-8")
    assert "2 of them cite no photo" in text
    index = (audit["out"]["ru"] / "evidence" / "index.html").read_text(encoding="utf-8")
    assert index.count("<strong>нет</strong>") == 2


def test_without_the_photo_folder_no_photo_is_cited(audit, tmp_path):
    sim = audit["sim"]
    c = compare(sim.official, sim.observed)
    paths = write_evidence(c, tmp_path, lang="en")
    assert paths.without_photo == len(paths) > 0
    html = paths[0].read_text(encoding="utf-8")
    assert "not checked: the audit was run without the photo folder" in html
    assert "the copy of the results protocol obtained by observers" in html and "<img" not in html


def test_slip_sheets_are_to_recheck_never_a_complaint(audit):
    sim = audit["sim"]
    slips = sim.truth.index[sim.truth["true_class"] == "slip"]
    assert len(slips) >= 3
    for row in slips:
        en, ru = sheet_of(audit, "en", row), sheet_of(audit, "ru", row)
        assert "<h1>To re-check:" in en and "Do not file this yet" in en
        assert "Statement for a complaint" not in en and "complaint" not in visible(en).lower()
        assert "We ask that" not in en and "Complainant (full name)" not in en
        assert "<h1>Перепроверить:" in ru and "Текст для жалобы" not in ru and "жалоб" not in visible(ru)
    other = sheet_of(audit, "en", audit["other"])
    assert "Statement for a complaint" in other and "Other difference" in other
    assert "observers&#39; copy" in other and "(R04-VALID-EQ-PARTIES)" in other  # broken checks, copy's side


def test_cli_languages_title_and_date(audit, capsys):
    tmp = audit["tmp"]
    args = ["audit", "--official", str(tmp / "results.csv"), "--observed", str(tmp / "copies.csv"),
            "--profile", "kz_cec", "--photos", str(audit["photos"]), "--design", "srs"]
    assert main(args + ["--out", str(tmp / "cli_kk"), "--lang", "kk", "--title", TITLE["kk"],
                        "--date", "2021-01-10"]) == 0
    printed = capsys.readouterr().out
    assert "учаске салыстырылды" in printed and "дәлел парағы" in printed and TITLE["kk"] in printed
    assert "stations compared" not in printed
    assert main(args + ["--out", str(tmp / "cli_bad"), "--date", "10.01.2021"]) == 2
    err = capsys.readouterr().err
    assert "10.01.2021" in err and "YYYY-MM-DD" in err and "Traceback" not in err


def _print_to_pdf(html: Path, pdf: Path, profile: Path) -> None:
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                    html.as_uri()], check=True, capture_output=True, timeout=120)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_every_sheet_prints_on_one_a4_page(audit, lang, tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    from pypdf import PdfReader

    pages = sorted((audit["out"][lang] / "evidence").glob("0*.html"))
    # every class once, the longest page (most lines, checks and text) and the mistyped copy
    by_class = {}
    for p in pages:
        cls = re.search(r'<span class="class">(.*?)</span>', p.read_text(encoding="utf-8")).group(1)
        by_class.setdefault(cls, p)
    longest = max(pages, key=lambda p: len(visible(p.read_text(encoding="utf-8"))))
    cell = f"<td>{escape(commission(audit['observed'].loc[audit['other'], IDS].astype(str), lang))}</td>"
    other = next(p for p in pages if cell in p.read_text(encoding="utf-8"))
    chosen = sorted({*by_class.values(), longest, other})
    assert len(by_class) == 5
    for page in chosen:
        pdf = tmp_path / f"{page.stem}.pdf"
        _print_to_pdf(page, pdf, tmp_path / "profile")
        reader = PdfReader(pdf)
        assert len(reader.pages) == 1, page.name
        box = reader.pages[0].mediabox
        assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2  # A4 in points
        assert len(reader.pages[0].extract_text()) > 500


def test_election_and_line_labels_from_the_profile():
    """--title/--date win; else the profile's meta["election"]; line wording from meta["labels"], else headers."""
    import datetime as dt
    from dataclasses import replace

    from forensics.audit.evidence import ElectionInfo, line_labels
    from forensics.errors import DataError

    e = simulate(n_pec=50, rng=1)
    e = replace(e, meta={**e.meta, "election": {"name": "Выборы Президента", "date": dt.date(2024, 3, 17)},
                         "labels": {"valid": "10. Число действительных бюллетеней"},
                         "mapping": {"valid": "valid", "invalid": "Число недействительных бюллетеней",
                                     "registered": "derived from 'Избиратели'"}})
    assert ElectionInfo.of(e) == ElectionInfo("Выборы Президента", dt.date(2024, 3, 17))
    assert ElectionInfo.of(e, title="Другие выборы", date="2024-03-18") == \
        ElectionInfo("Другие выборы", dt.date(2024, 3, 18))
    with pytest.raises(DataError, match="YYYY-MM-DD"):
        ElectionInfo.of(e, date="17.03.2024")
    assert ElectionInfo.of(None) == ElectionInfo()
    labels = line_labels(e)
    assert labels == {"valid": "10. Число действительных бюллетеней", "invalid": "Число недействительных бюллетеней"}
