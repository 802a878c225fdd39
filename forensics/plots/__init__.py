"""Figures: seaborn/matplotlib functions that take a result or a tidy frame and return a Figure.

The report embeds them and notebooks call the same functions.  One module
per area (fingerprints, spikes, digits, ...).
"""
