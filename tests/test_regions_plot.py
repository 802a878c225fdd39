"""The ranked regions chart: fixed margins computed from the names fit every name, with little to spare."""
from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from forensics.plots.regions import ranked_regions


def _groups(names):
    n = len(names)
    return pd.DataFrame({"group": ["National", *names], "level": ["nation"] + ["region"] * n,
                         "effect": [0.0] + [float(i - n / 2) for i in range(n)],
                         "null_sd": [1.0] * (n + 1), "significant": [False] + [i % 7 == 0 for i in range(n)]})


def test_every_name_and_the_title_fit_inside_the_figure_without_a_wide_blank_margin():
    for names in (["A", "B"], [f"Region {i}" for i in range(40)] + ["Ханты-Мансийский автономный округ - Югра " * 2],
                  ["$x$ party", "Республика Северная Осетия - Алания"]):
        fig = ranked_regions(_groups(names), "observed minus expected", "Leader")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        ax = fig.axes[0]
        labels = ax.get_yticklabels()
        assert sorted(t.get_text() for t in labels) == sorted(n.replace("$", r"\$") for n in names)
        boxes = [t.get_window_extent(renderer) for t in labels]
        dpi = fig.dpi
        assert min(b.x0 for b in boxes) >= 0  # no name cut at the left edge
        assert min(b.x0 for b in boxes) < 0.3 * dpi  # and the longest starts near the edge: no wasted band
        assert max(b.x1 for b in boxes) <= ax.get_window_extent(renderer).x0  # names left of the plot
        title = ax.title.get_window_extent(renderer)
        xlabel = ax.xaxis.label.get_window_extent(renderer)
        assert title.y1 <= fig.bbox.height and title.y0 >= ax.get_window_extent(renderer).y1
        assert xlabel.y0 >= 0
        assert fig.get_layout_engine() is None  # margins fixed once, no layout pass per draw


@pytest.mark.filterwarnings("ignore:Glyph")  # the characters the font lacks
def test_the_widest_name_is_measured_as_every_name_would_be():
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    from forensics.plots.regions import NAME_SIZE, _widest

    prop = FontProperties(size=NAME_SIZE)
    cases = [["AVAVAVAVAVAV", "WWWWWWWWWW", "iiiiiiiiiiiiiiiiiiiiiiii", "Ty. LT' AV"],  # kerning, narrow letters
             [f"Region {i}" for i in range(85)] + ["Ханты-Мансийский автономный округ - Югра"],
             ["東京都", "Москва"],  # a character the font lacks: every name measured
             ["$x$ party", "a"], [""]]
    for names in cases:
        every = max(text_to_path.get_text_width_height_descent(n, prop, ismath=False)[0] for n in names)
        assert _widest(names, prop) == every
    assert _widest([], prop) == 0
