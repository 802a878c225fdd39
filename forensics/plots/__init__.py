"""Figures: matplotlib functions that take results and return a Figure.

They draw only what the results hold (``TestResult.details`` and its
tables) and never call a statistical test; the report embeds them and
notebooks call the same functions.  One module per area (fingerprints,
spikes, digits).  Every name that comes from the data goes through
``label``, so a party called ``$x$`` is drawn as text, not as mathtext.
"""


def label(text) -> str:
    """``text`` for a figure: dollar signs escaped, so matplotlib never parses it as mathtext."""
    return str(text).replace("$", r"\$")
