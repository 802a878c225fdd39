"""Numbers, percentages and dates written the way a locale writes them (Babel)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from .catalog import check_lang


@dataclass(frozen=True)
class Formats:
    """Formatters for one language: ``number``, ``signed``, ``percent``, ``points``, ``date``, ``pvalue``."""

    lang: str = "en"

    def __post_init__(self):
        check_lang(self.lang)

    def number(self, value, digits: int = 0) -> str:
        """A count or a number with ``digits`` decimals, grouped by thousands ("1 234 567")."""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.lang)

    def decimal(self, value, max_digits: int = 2) -> str:
        """A number with at most ``max_digits`` decimals and no trailing zeros ("0,25", "1")."""
        return format_decimal(value, format="#,##0." + "#" * max_digits, locale=self.lang)

    def signed(self, value, digits: int = 0) -> str:
        """A difference, with its sign always written ("+12", "−3", "0")."""
        text = self.number(abs(value), digits)
        return text if round(float(value), digits) == 0 else ("+" if value > 0 else "−") + text

    def percent(self, share, digits: int = 2) -> str:
        """A share (0.675) as a percentage in the locale's pattern ("67.50%", "67,50 %")."""
        pattern = Locale.parse(self.lang).percent_formats[None].pattern
        pattern = pattern.replace("#,##0", "#,##0" + ("." + "0" * digits if digits else ""), 1)
        return format_percent(share, format=pattern, locale=self.lang)

    def points(self, value, digits: int = 2) -> str:
        """A change in percentage points (``value`` in points), signed."""
        return self.signed(value, digits)

    def pvalue(self, p) -> str:
        """A p-value in plain digits: "0.031", or "< 0.001" (never scientific notation)."""
        if p < 0.001:
            return "< " + self.number(0.001, 3)
        return self.number(p, 3 if p < 0.01 else 2)

    def date(self, value) -> str:
        """A date written out ("10 January 2021", "10 января 2021 г."); ISO text is accepted."""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return format_date(value, format="long", locale=self.lang)

    def value(self, value) -> str:
        """Any parameter of a message: callables get these formats, integers are grouped."""
        if callable(value):
            return value(self)
        if isinstance(value, (bool, np.bool_)):
            return str(value)
        if isinstance(value, (int, np.integer)):
            return self.number(value)
        if isinstance(value, (float, np.floating)):
            return self.number(value, 2)
        return str(value)
