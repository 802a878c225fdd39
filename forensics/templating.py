"""The one Jinja environment: every HTML page of the package (report, evidence sheets) is rendered here.

``environment(package)`` loads the templates of ``<package>/templates``
with autoescaping on (every name from the data is shown as text), strict
undefined variables, trimmed blocks and the shared number filters.  With a
language it adds the ``jinja2.ext.i18n`` extension with that language's
catalog (``forensics.i18n``) and the locale's number and date formats.
"""
from __future__ import annotations

import math


def number(value, digits: int = 4) -> str:
    """A number for people: thousands separators for counts, significant digits otherwise; blank when missing."""
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return "" if str(value) == "<NA>" else str(value)
    if math.isnan(x):
        return ""
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def pvalue(value) -> str:
    """A p-value for people: two significant digits, "< 1e-300" for zero; blank when missing."""
    if value is None:
        return ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(x):
        return ""
    return "< 1e-300" if x == 0 else f"{x:.2g}"


def environment(package: str, lang: str | None = None):
    """The Jinja environment for the templates of ``package`` (e.g. "forensics.report").

    With ``lang`` ("en", "ru", "kk") the templates speak that language: the
    ``jinja2.ext.i18n`` extension with the language's catalog installed (new
    style: ``_("%(n)s stations", n=n)`` escapes ``n``; ``{% trans %}``), the
    locale's formats as filters (``number``, ``signed``, ``percent``,
    ``points``, ``date``) and ``lang`` as a global.
    """
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader(package, "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             extensions=["jinja2.ext.i18n"] if lang is not None else [])
    env.filters["num"] = number
    env.filters["pval"] = pvalue
    if lang is not None:
        from .i18n import Formats, translations

        env.install_gettext_translations(translations(lang), newstyle=True)
        formats = Formats(lang)
        env.filters.update(number=formats.number, signed=formats.signed, percent=formats.percent,
                           points=formats.points, date=formats.date)
        env.globals["lang"] = lang
    return env
