"""The report: a self-contained HTML page, CSV/JSON tables and figures from a ``Scan``.

The report draws what the analyses returned and never recomputes statistics.
"""
from .html import write_report, write_tables

__all__ = ["write_report", "write_tables"]
