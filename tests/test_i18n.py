"""Message catalogs, locale formats and translated templates (``forensics.i18n``)."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import jinja2
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from forensics.i18n import LANGUAGES, LOCALE_DIR, Formats, Message, plural_message, say, translations
from forensics.templating import environment

ROOT = Path(__file__).resolve().parents[1]
#: the keywords `make messages` extracts (Babel's defaults plus these)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Message": (1,), "plural_message": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(lang):
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "forensics.po", "rb") as fh:
        return read_po(fh, locale=lang)


def extracted() -> set:
    """The msgids the sources hold now, extracted as `make messages` does."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    for _, _, msg, _, _ in extract_from_dir(ROOT / "forensics", method_map, options_map, keywords=KEYWORDS):
        found.add(msg if isinstance(msg, str) else tuple(msg)[0])
    return found


def test_catalogs_hold_every_string_of_the_sources():
    """A string added to the code or a template without `make messages` fails here."""
    found = extracted()
    assert len(found) > 150
    for lang in LANGUAGES:
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(lang) if m.id}
        assert found <= ids, f"{lang}: not in the catalog (run make messages): {sorted(found - ids)[:5]}"


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_every_message_translated(lang):
    """Every msgid has a non-empty msgstr (every plural form), none fuzzy, placeholders kept."""
    cat = catalog(lang)
    missing, fuzzy, wrong = [], [], []
    for m in cat:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, (tuple, list)) else (m.string,)
        if not all(s and s.strip() for s in strings) or len(strings) != (cat.num_plurals if m.pluralizable else 1):
            missing.append(m.id)
        if m.fuzzy:
            fuzzy.append(m.id)
        wanted = set(PLACEHOLDER.findall(m.id if isinstance(m.id, str) else m.id[1]))
        for s in strings:
            if set(PLACEHOLDER.findall(s)) != wanted:
                wrong.append((m.id, s))
    assert not missing, f"untranslated: {missing[:5]}"
    assert not fuzzy, f"fuzzy (counts as untranslated): {fuzzy[:5]}"
    assert not wrong, f"placeholders differ: {wrong[:3]}"


def test_fuzzy_entries_are_not_used(tmp_path, monkeypatch):
    """A fuzzy translation is a guess: it must show as missing, not be used."""
    import forensics.i18n.catalog as cat_module

    po = tmp_path / "ru" / "LC_MESSAGES"
    po.mkdir(parents=True)
    (po / "forensics.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgid "Election"\nmsgstr "Выборы"\n\nmsgid "Date"\nmsgstr "Дата"\n', encoding="utf-8")
    monkeypatch.setattr(cat_module, "LOCALE_DIR", tmp_path)
    cat_module.translations.cache_clear()
    try:
        t = cat_module.translations("ru")
        assert t.gettext("Election") == "Election" and t.gettext("Date") == "Дата"
    finally:
        cat_module.translations.cache_clear()


def test_translations_and_plural_forms():
    ru = translations("ru")
    assert ru.gettext("Statement for a complaint") == "Текст для жалобы"
    forms = [ru.ngettext("%(num)s evidence sheet written.", "%(num)s evidence sheets written.", n) % {"num": n}
             for n in (1, 3, 5, 21)]
    assert forms == ["Подготовлен 1 доказательный лист.", "Подготовлено 3 доказательных листа.",
                     "Подготовлено 5 доказательных листов.", "Подготовлен 21 доказательный лист."]
    assert translations("kk").gettext("precinct election commission (PEC) %(pec)s") % {"pec": 7} == \
        "учаскелік сайлау комиссиясы (УСК) 7"
    assert translations("en").gettext("Statement for a complaint") == "Statement for a complaint"
    with pytest.raises(ValueError, match="en, ru, kk"):
        translations("de")


def test_formats_follow_the_locale():
    en, ru, kk = Formats("en"), Formats("ru"), Formats("kk")
    assert en.number(1234567) == "1,234,567" and ru.number(1234567) == "1\xa0234\xa0567"
    assert en.percent(0.675) == "67.50%" and ru.percent(0.675) == "67,50\xa0%" and kk.percent(0.675) == "67,50%"
    assert en.signed(34) == "+34" and en.signed(-5) == "−5" and en.signed(0) == "0"
    assert ru.points(-1.2345) == "−1,23" and en.points(0.5) == "+0.50"
    assert en.date(dt.date(2021, 1, 10)) == "January 10, 2021"
    assert ru.date("2021-01-10") == "10 января 2021\u202fг."
    assert kk.date(dt.date(2021, 1, 10)) == "2021\u202fж. 10 қаңтар"
    assert en.pvalue(0.00001) == "< 0.001" and ru.pvalue(0.0312) == "0,03" and en.pvalue(0.0031) == "0.003"
    assert "e-" not in en.pvalue(1e-300)


def test_message_is_english_text_that_can_be_translated():
    m = plural_message("Only %(n)s station was observed: at least %(min)s are needed for an interval that can "
                       "be trusted.", "Only %(n)s stations were observed: at least %(min)s are needed for an "
                       "interval that can be trusted.", 7, min=30)
    assert isinstance(m, str) and m.startswith("Only 7 stations were observed")
    assert "7 участках" in m.translate("ru") and "кемінде 30" in m.translate("kk")
    assert say(m, "ru") == m.translate("ru") and say("plain", "ru") == "plain"
    big = Message("not compared (%(reason)s): %(n)s", reason="x", n=12345)
    assert big == "not compared (x): 12,345" and big.translate("ru") == "не сравнивались (x): 12\xa0345"


def test_environment_translates_and_escapes():
    env = environment("forensics.audit", lang="ru")
    html = env.from_string('<p lang="{{ lang }}">{{ _("Region") }}: {{ name }} · {{ n | number }} · '
                           '{{ x | percent }} · {{ _("row %(row)s", row=evil) }}</p>').render(name="<b>", n=1000,
                                                                                            x=0.5, evil="<i>")
    assert html == '<p lang="ru">Регион: &lt;b&gt; · 1\xa0000 · 50,00\xa0% · строка &lt;i&gt;</p>'
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
