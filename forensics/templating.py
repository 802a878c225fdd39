"""The one Jinja environment: every HTML page of the package (report, evidence sheets) is rendered here.

``environment(package)`` loads the templates of ``<package>/templates``
with autoescaping on (every name from the data is shown as text), strict
undefined variables, trimmed blocks and the shared number filters.  With
``translations`` (a ``gettext.NullTranslations``-compatible object, e.g. a
Babel catalog) it adds the ``jinja2.ext.i18n`` extension and installs them,
so templates can use ``{% trans %}`` and ``_()``.
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


def environment(package: str, translations=None):
    """The Jinja environment for the templates of ``package`` (e.g. "forensics.report")."""
    import jinja2

    extensions = ["jinja2.ext.i18n"] if translations is not None else []
    env = jinja2.Environment(loader=jinja2.PackageLoader(package, "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                             extensions=extensions)
    env.filters["num"] = number
    env.filters["pval"] = pvalue
    if translations is not None:
        env.install_gettext_translations(translations, newstyle=True)
    return env
