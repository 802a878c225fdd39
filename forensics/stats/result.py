"""The result of a statistical test, in the spirit of ``scipy.stats`` results."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class TestResult:
    """What a test found, how unusual it is, and what it left out.

    ``statistic`` is the test's main number; ``pvalue`` is None for
    descriptive estimates; ``ci`` a (low, high) interval or None;
    ``expected`` the value under the null (no manipulation); ``n_used`` the
    number of units the test used; ``excluded`` counts left-out rows by
    reason and ``excluded_rows`` names them (station index -> reason);
    ``details`` holds named extras; ``explanation`` says in plain words what
    was checked and what the number means.
    """

    __test__ = False  # not a pytest test class

    name: str
    statistic: float
    pvalue: float | None = None
    ci: tuple[float, float] | None = None
    expected: float | None = None
    n_used: int = 0
    excluded: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    explanation: str = ""
    excluded_rows: pd.Series | None = None
    party: str | None = None

    @property
    def n_excluded(self) -> int:
        return int(sum(self.excluded.values()))

    def to_row(self) -> dict:
        """One flat row for a tidy results table."""
        low, high = self.ci if self.ci is not None else (None, None)
        return {
            "test": self.name,
            "party": self.party,
            "statistic": self.statistic,
            "pvalue": self.pvalue,
            "ci_low": low,
            "ci_high": high,
            "expected": self.expected,
            "n_used": self.n_used,
            "n_excluded": self.n_excluded,
        }

    def summary(self) -> str:
        """A short plain-text summary, like statsmodels' ``summary()``."""
        lines = [f"{self.name}" + (f" ({self.party})" if self.party else "")]
        lines.append(f"  statistic: {self.statistic:.6g}")
        if self.expected is not None:
            lines.append(f"  expected under no manipulation: {self.expected:.6g}")
        if self.pvalue is not None:
            lines.append(f"  p-value: {self.pvalue:.4g}")
        if self.ci is not None:
            lines.append(f"  interval: ({self.ci[0]:.6g}, {self.ci[1]:.6g})")
        lines.append(f"  units used: {self.n_used}")
        for reason, count in self.excluded.items():
            lines.append(f"  excluded ({reason}): {count}")
        if self.explanation:
            lines.append(textwrap.fill(self.explanation, 78, initial_indent="  ", subsequent_indent="  "))
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()
