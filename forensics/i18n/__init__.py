"""Languages: message catalogs, locale formats and translated Jinja templates.

Every user-facing string of the evidence sheets, the audit summary and the
CLI's audit output is an English ``msgid`` looked up in a gettext catalog
(``forensics/locale/<lang>/LC_MESSAGES/forensics.po``, read by Babel at run
time, so a fresh clone and the wheel need no build step).  Numbers,
percentages and dates are written the locale's way by ``Formats``.

* ``translations(lang)`` — the gettext object of a language (cached);
* ``N_(text)`` — marks a module-level string for extraction, translated later;
* ``Message`` / ``plural_message`` — an English text that can be said again in
  another language (its msgid and parameters are kept);
* ``Formats(lang)`` — ``number``, ``signed``, ``percent``, ``points``, ``date``.

Templates get a language from ``forensics.templating.environment(package, lang)``.
"""
from .catalog import DOMAIN, LANGUAGES, LOCALE_DIR, N_, check_lang, translations
from .formats import Formats
from .message import Message, plural_message, say

__all__ = ["DOMAIN", "LANGUAGES", "LOCALE_DIR", "N_", "check_lang", "translations", "Formats", "Message",
           "plural_message", "say"]
