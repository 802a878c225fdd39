"""The cheap artists draw what matplotlib's own calls draw: the same pixels, the same axis limits."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from forensics.plots.artists import bars


def _pixels(draw):
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    draw(ax)
    ax.legend()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy(), ax.get_xlim(), ax.get_ylim()


def test_bars_draw_what_bar_and_barh_draw():
    rng = np.random.default_rng(3)
    x = np.arange(25, dtype=float)
    up = rng.normal(0, 40, 25)
    up[4] = np.nan  # a missing bar is left out, as matplotlib leaves it
    cases = [
        (lambda ax: ax.bar(x - 0.2, up, width=0.4, color="#4c72b0", label="a"),
         lambda ax: bars(ax, x - 0.2, up, width=0.4, facecolors=["#4c72b0"], label="a")),
        (lambda ax: ax.bar(x, np.abs(up), width=0.8, color="C1", label="b"),  # all above zero: no margin below
         lambda ax: bars(ax, x, np.abs(up), width=0.8, facecolors=["C1"], label="b")),
        (lambda ax: ax.barh(x, 2 * np.abs(up), left=-np.abs(up), height=0.6, color="#dddddd", label="c"),
         lambda ax: bars(ax, x, 2 * np.abs(up), width=0.6, start=-np.abs(up), horizontal=True,
                         facecolors=["#dddddd"], label="c")),
    ]
    for theirs, ours in cases:
        a, b = _pixels(theirs), _pixels(ours)
        np.testing.assert_allclose(a[1], b[1])
        np.testing.assert_allclose(a[2], b[2])
        assert np.array_equal(a[0], b[0])
