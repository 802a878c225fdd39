"""The regions as one ranked chart: each region's effect beside the range honest counting gives.

Drawn from a verdict's ``groups`` table (``forensics.verdicts``): one row
per region, ranked by ``effect``, the effect as a dot and, around zero, the
band that honest counting stays inside 95% of the time (1.96 times the
null standard deviation the verdict holds).  Regions that stand out after
the correction are drawn in red.  Full names, one row each, readable with
85 regions.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, fontManager, get_font
from matplotlib.ft2font import LoadFlags
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FixedFormatter, FixedLocator

from . import label
from .artists import bars

__all__ = ["ranked_regions"]

#: half-width of the band honest counting stays inside 95% of the time, in null standard deviations
BAND = 1.96
#: the figure's width and the size of a region's name, in inches and points
WIDTH, NAME_SIZE = 9.0, 8


def _widest(names, prop) -> float:
    """The width (points) of the widest of ``names`` in ``prop``, measured as ``text_to_path`` measures text.

    Measuring is a text layout per name; the names' widths are first
    estimated as the sums of their characters' advances (one glyph load per
    distinct character; they differ from the measured widths by the kerning
    and the outer side bearings, well under 1% for a name), and only the
    names within 10% of the widest estimate are measured.  Where a
    character is not in the font (a fallback font draws it) every name is
    measured.
    """
    font = get_font(fontManager._find_fonts_by_props(prop))
    font.set_size(text_to_path.FONT_SCALE, text_to_path.DPI)
    chars = set("".join(names))
    candidates = names
    if chars and all(font.get_char_index(ord(c)) for c in chars):
        scale = prop.get_size_in_points() / text_to_path.FONT_SCALE / 65536
        advance = {c: font.load_char(ord(c), flags=LoadFlags.NO_HINTING).linearHoriAdvance * scale for c in chars}
        estimate = [sum(advance[c] for c in n) for n in names]
        candidates = [n for n, e in zip(names, estimate) if e >= 0.9 * max(estimate)]
    return max((text_to_path.get_text_width_height_descent(n, prop, ismath=False)[0] for n in candidates), default=0)


def margins(names, title: bool, height: float) -> dict:
    """Fixed subplot margins (figure fractions) that fit the longest name at the left, the title and the x label.

    Measured once from the names' text (in the font the figure draws them
    with) instead of a layout engine re-measuring 85 tick labels on each pass.
    """
    left = _widest(names, FontProperties(size=NAME_SIZE)) / 72 + 0.15  # the names, the tick and a gap, in inches
    top = 0.35 if title else 0.1
    return {"left": left / WIDTH, "right": 1 - 0.12 / WIDTH, "top": 1 - top / height, "bottom": 0.55 / height}


def ranked_regions(groups: pd.DataFrame, xlabel: str, title: str = "") -> Figure:
    """Regions ranked by ``effect`` with the 95% band of honest counting (``null_sd``) around zero."""
    rows = groups[(groups["level"] != "nation") & groups["effect"].notna()].sort_values(
        "effect", kind="mergesort")
    if rows.empty:
        raise LookupError("no region has a result")
    height = 1.2 + 0.19 * len(rows)
    names = [label(g) for g in rows["group"]]
    fig = Figure(figsize=(WIDTH, height))
    fig.subplots_adjust(**margins(names, bool(title), height))
    ax = fig.add_subplot()
    y = range(len(rows))
    band = BAND * rows["null_sd"].astype(float).to_numpy()
    bars(ax, y, 2 * band, width=0.6, start=-band, horizontal=True, facecolors=["#dddddd"],
         label="honest counting, 95% of the time")
    colours = ["#c0392b" if s else "#34495e" for s in rows["significant"].astype(bool)]
    ax.scatter(rows["effect"].astype(float), list(y), c=colours, s=18, zorder=3)
    ax.axvline(0, color="#888888", linewidth=0.8)
    # the names as the axis' locator and formatter: set_yticks would build a Tick per name here, to draw them later
    ax.yaxis.set_major_locator(FixedLocator(list(y)))
    ax.yaxis.set_major_formatter(FixedFormatter(names))
    ax.tick_params(axis="y", labelsize=NAME_SIZE)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#eeeeee")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    if title:  # placed at a fixed height: no re-measuring of the names to place it
        ax.set_title(label(title), fontsize=10, loc="left", y=1.0, pad=6)
    ax.yaxis.set_label_coords(0, 0.5)  # no y label: its automatic placement would measure every name on each draw
    return fig
