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
import importlib

#: the languages with a complete catalog (here, not in ``catalog``, so that the CLI can list them
#: without loading Babel)
LANGUAGES = ("en", "ru", "kk")

#: name -> submodule that defines it, imported on first use (``forensics --help`` stays fast)
_LAZY = {"DOMAIN": "catalog", "LOCALE_DIR": "catalog", "N_": "catalog", "check_lang": "catalog",
         "translations": "catalog", "Formats": "formats", "Message": "message", "plural_message": "message",
         "say": "message"}

__all__ = ["LANGUAGES", *_LAZY]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'forensics.i18n' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
