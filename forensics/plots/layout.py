"""Fixed figure layouts, set in inches once when a figure is built.

A layout engine (``constrained`` or ``tight_layout``) measures every tick
label and title on each pass, and saving a figure that has one draws it
twice; the report's figures have known contents (percent axes, one or two
lines of title), so their margins are fixed here instead and the figure is
drawn once.  Titles are placed at a fixed height above their axes for the
same reason (matplotlib otherwise measures the axes' decorations to place
them).
"""
from __future__ import annotations

import numpy as np

#: inches per point of font size that one line of text takes (matplotlib's default line spacing, 1.2)
LINE = 1.2 / 72


def margins(fig, left: float, right: float, top: float, bottom: float, wspace: float = 0.0,
            hspace: float = 0.0) -> None:
    """Subplot margins and the gaps between subplots, all in inches, for a grid made by ``fig.subplots``."""
    width, height = fig.get_size_inches()
    grid = fig.axes[0].get_subplotspec().get_gridspec() if fig.axes else None
    rows, cols = grid.get_geometry() if grid is not None else (1, 1)
    cell_w = (width - left - right - (cols - 1) * wspace) / cols
    cell_h = (height - top - bottom - (rows - 1) * hspace) / rows
    fig.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height,
                        wspace=wspace / cell_w, hspace=hspace / cell_h)


def rect(fig, x: float, y: float, w: float, h: float) -> list:
    """A rectangle given in inches from the figure's lower left corner, as ``add_axes`` takes it (fractions)."""
    width, height = fig.get_size_inches()
    return [x / width, y / height, w / width, h / height]


def title(ax, text: str, pad: float = 6.0, **kwargs):
    """``ax.set_title`` at a fixed height just above the axes (``pad`` points), without measuring the axes."""
    return ax.set_title(text, y=1.0, pad=pad, **kwargs)


def count_margin(largest: float) -> float:
    """Inches left of an axis for its tick labels, counts up to ``largest`` at 10 points, and its label."""
    digits = len(f"{int(largest * 1.05):d}") if np.isfinite(largest) and largest >= 1 else 3
    return 0.42 + 0.09 * digits

