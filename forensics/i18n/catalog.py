"""The gettext catalogs: one ``.po`` file per language, read by Babel when first used.

The ``.po`` files are the committed source; they are compiled in memory
(``write_mo``) on first use, so nothing has to be built before the package
runs.  Fuzzy entries are left out, as ``msgfmt`` does: a string whose
translation is only a guess shows in English and the catalog test fails.
"""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from . import LANGUAGES  # the languages with a complete catalog; English is the source language

DOMAIN = "forensics"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def check_lang(lang: str) -> str:
    """``lang`` if a catalog exists for it, else ValueError naming the languages there are."""
    if lang not in LANGUAGES:
        raise ValueError(f"no translation for language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return lang


@lru_cache(maxsize=None)
def translations(lang: str = "en") -> Translations:
    """The gettext translations of ``lang`` (``gettext``, ``ngettext``, ...), read from its ``.po`` file."""
    check_lang(lang)
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
