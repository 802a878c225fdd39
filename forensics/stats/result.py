"""The result of a statistical test, in the spirit of ``scipy.stats`` results."""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class TestResult:
    """What a test found, how unusual it is, and what it left out.

    ``statistic`` is the test's main number; ``pvalue`` is None for
    descriptive estimates; ``alternative`` the direction of the p-value
    ("two-sided", "greater", "less"; None without one); ``method`` how the
    p-value (or the estimate) was obtained, in words; ``ci`` a (low, high)
    interval at ``confidence_level``, or None; ``expected`` the value under
    the null (no manipulation); ``n_used`` the number of units the test
    used; ``excluded`` counts left-out units by reason and
    ``excluded_rows`` names the stations left out whole (station index ->
    reason); ``details`` holds named extras; ``explanation`` says in plain
    words what was checked and what the number means.  Like a scipy result,
    it unpacks as ``statistic, pvalue = result``.
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
    alternative: str | None = None
    method: str = ""
    confidence_level: float | None = None

    @classmethod
    def from_exclusions(cls, name: str, exclusions, statistic=float("nan"), **fields) -> "TestResult":
        """A result whose ``n_used``, ``excluded`` and ``excluded_rows`` come from one ``Exclusions``.

        Every test reports what it left out through this constructor, so the
        counts and the listed stations always agree.  ``fields`` may set
        ``n_used`` when the test's units are not stations (e.g. counts).
        """
        fields.setdefault("n_used", exclusions.n_used)
        return cls(name=name, statistic=float(statistic), excluded=exclusions.counts,
                   excluded_rows=exclusions.rows, **fields)

    def __iter__(self):
        """``statistic, pvalue = result``, as with scipy's results."""
        return iter((self.statistic, self.pvalue))

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
            lines.append(f"  p-value: {self.pvalue:.4g}" + (f" ({self.alternative})" if self.alternative else ""))
        if self.method:
            lines.append(f"  method: {self.method}")
        if self.ci is not None:
            level = f"{self.confidence_level:.0%} " if self.confidence_level else ""
            lines.append(f"  {level}interval: ({self.ci[0]:.6g}, {self.ci[1]:.6g})")
        lines.append(f"  units used: {self.n_used}")
        for reason, count in self.excluded.items():
            lines.append(f"  excluded ({reason}): {count}")
        if self.explanation:
            lines.append(textwrap.fill(self.explanation, 78, initial_indent="  ", subsequent_indent="  "))
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()
