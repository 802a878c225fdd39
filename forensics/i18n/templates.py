"""The Jinja environment of a language: ``jinja2.ext.i18n`` with the catalog installed."""
from __future__ import annotations

import jinja2

from .catalog import translations
from .formats import Formats


def environment(lang: str, loader: jinja2.BaseLoader) -> jinja2.Environment:
    """A Jinja environment whose templates speak ``lang``.

    Autoescaping and strict undefined values are on; ``_``, ``gettext`` and
    ``ngettext`` (new style: ``_("%(n)s stations", n=n)`` escapes ``n``) and
    ``{% trans %}`` come from the catalog; ``Formats`` methods are filters
    (``{{ n | number }}``, ``{{ x | percent }}``, ``{{ d | date }}``) and
    ``lang`` is a global.
    """
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(lang), newstyle=True)
    formats = Formats(lang)
    env.filters.update(number=formats.number, signed=formats.signed, percent=formats.percent,
                       points=formats.points, date=formats.date)
    env.globals["lang"] = lang
    return env
