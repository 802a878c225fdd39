"""Protocol reconciliation: control relations per polling station, tabulation, seats.

``reconcile`` checks every station's protocol against rules written as data
(``RULES``, ``ruleset``); ``tabulate`` and ``compare_totals`` add the
protocols up the hierarchy and compare them with published totals;
``allocate_seats`` turns party votes into seats.  ``forensics.reconcile(...)``
calls ``reconcile``: this package is callable.
"""
from .._callable import make_callable
from .check import Findings, reconcile
from .rules import RULES, RULESETS, Rule, Tolerance, rule_table, ruleset
from .seats import allocate_seats, election_seats
from .tabulate import compare_totals, percentages, read_totals, tabulate

__all__ = ["reconcile", "Findings", "RULES", "RULESETS", "Rule", "Tolerance", "rule_table", "ruleset",
           "tabulate", "compare_totals", "read_totals", "percentages", "allocate_seats", "election_seats"]

make_callable(__name__, "reconcile")
