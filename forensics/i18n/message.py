"""Texts that can be said again in another language.

Analyses write their warnings in English for the Python user; the same
warning in the audit summary must come out in the reader's language.  A
``Message`` is the English text (it is a ``str``) that also keeps its msgid
and parameters, so ``translate(lang)`` can look it up in the catalog and fill
it in with the locale's number formats.
"""
from __future__ import annotations

from .catalog import translations
from .formats import Formats


class Message(str):
    """An English text (``str``) with its ``msgid`` and ``params`` kept for ``translate``.

    ``msgid`` uses ``%(name)s`` placeholders; parameters are formatted by
    ``Formats.value`` (integers grouped, callables given the formats).
    """

    def __new__(cls, msgid: str, plural: str | None = None, count: int | None = None, **params):
        text = str.__new__(cls, _fill(msgid if plural is None or count == 1 else plural, params, "en"))
        text.msgid, text.plural, text.count, text.params = msgid, plural, count, params
        return text

    def translate(self, lang: str) -> str:
        """The same text in ``lang``."""
        t = translations(lang)
        template = t.gettext(self.msgid) if self.plural is None else t.ngettext(self.msgid, self.plural, self.count)
        return _fill(template, self.params, lang)

    def __reduce__(self):
        return (_rebuild, (self.msgid, self.plural, self.count, self.params))


def _rebuild(msgid, plural, count, params):
    return Message(msgid, plural, count, **params)


def plural_message(singular: str, plural: str, n: int, **params) -> Message:
    """A ``Message`` whose wording depends on the count ``n`` (also available as ``%(n)s``)."""
    return Message(singular, plural, count=n, n=n, **params)


def _fill(template: str, params: dict, lang: str) -> str:
    if not params:
        return template
    formats = Formats(lang)
    return template % {k: formats.value(v) for k, v in params.items()}


def say(text, lang: str) -> str:
    """``text`` in ``lang`` if it is a ``Message``, else as it is."""
    return text.translate(lang) if isinstance(text, Message) else str(text)
