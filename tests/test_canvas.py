"""The report's canvas draws matplotlib's pixels: text measured, laid out and rendered once, placed the same."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import forensics
from forensics.plots import canvas as cached
from forensics.plots.canvas import CachedTextCanvas
from forensics.report import figures


def _texts() -> Figure:
    """Text of every kind the renderer meets: sizes, rotations, scripts, lines, mathtext, the same string at many
    sub-pixel positions, and text drawn without antialiasing."""
    fig = Figure(figsize=(4.3, 3.1), dpi=100)
    ax = fig.add_subplot()
    ax.set_title("Жж 10% ffi — Республика Саха (Якутия)")
    ax.set_xlabel("turnout")
    ax.set_ylabel("stations per 0.1 pp")
    for i in range(23):
        ax.text(0.013 * i, 0.037 * i, "10% Ab", fontsize=6 + (i % 5), rotation=(0, 90, 33, -15)[i % 4],
                antialiased=i % 6 != 5)
    ax.text(0.5, 0.5, "two\nlines, $10^{2}$ and $\\alpha$", ha="center", va="center")
    ax.text(0.2, 0.8, "bold", fontweight="bold", fontsize=13)
    return fig


def _pixels(fig, canvas_class) -> np.ndarray:
    canvas = canvas_class(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def test_text_is_drawn_as_matplotlib_draws_it_with_empty_and_with_full_caches():
    cached.forget()
    theirs = _pixels(_texts(), FigureCanvasAgg)
    for _ in range(2):  # the first draw fills the caches, the second reads them
        assert np.array_equal(_pixels(_texts(), CachedTextCanvas), theirs)
    assert cached._GLYPHS and cached._LAYOUTS and cached._MEASURES


@pytest.fixture(scope="module")
def small_scan():
    e = forensics.simulate(n_pec=600, n_regions=5, fraud={"drawn": {"fraction": 0.03}}, rng=11)
    return forensics.scan(e, rng=2, progress=False)


def test_every_report_figure_has_matplotlibs_pixels(small_scan):
    drawn = 0
    for fid, _, _, draw in figures._jobs(small_scan, "ru"):
        try:
            fig = draw()
        except LookupError:
            continue
        fig = fig[0] if isinstance(fig, tuple) else fig
        figures._png(fig)  # the figure as the report draws it: light ticks set, text cached
        assert np.array_equal(_pixels(fig, CachedTextCanvas), _pixels(fig, FigureCanvasAgg)), fid
        drawn += 1
    assert drawn >= 10
