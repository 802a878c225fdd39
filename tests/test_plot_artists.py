"""The cheap artists draw what matplotlib's own calls draw: the same pixels, the same axis limits and labels."""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from matplotlib.ticker import FixedFormatter, FixedLocator, MultipleLocator, PercentFormatter

from forensics.plots.artists import _LightTicks, bars, fixed_ticks, light_ticks


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


def _drawn(build, light: bool):
    fig = Figure(figsize=(5, 4))
    build(fig)
    if light:
        for ax in fig.axes:
            light_ticks(ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy(), fig


def _percent(fig):
    ax = fig.add_subplot()
    ax.plot([0, 0.5, 1], [0.2, 0.9, 0.4])
    ax.xaxis.set_major_locator(MultipleLocator(0.1))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("turnout")
    ax.set_ylabel("leader's share")


def _names(fig):
    fig.subplots_adjust(left=0.45)
    ax = fig.add_subplot()
    ax.scatter([1, -2, 3], [0, 1, 2])
    ax.yaxis.set_major_locator(FixedLocator([0, 1, 2]))
    ax.yaxis.set_major_formatter(FixedFormatter(["Москва", "Ханты-Мансийский округ", "$x$ party".replace("$", r"\$")]))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlabel("observed minus expected")


def _offset(fig):  # large counts: the formatter writes an offset, so the axis draws itself
    ax = fig.add_subplot()
    ax.plot([1e6, 1e6 + 5], [2e7, 3e7])
    ax.set_ylabel("votes")


def _shared(fig):  # shared x axes share one locator: both drawn from it, the top one without labels
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot([0, 50], [1, 3])
    bottom.plot([0, 50], [3, 1])
    bottom.set_xlabel("percent")


def _shared_offset(fig):  # shared, and the formatter writes an offset: both axes draw themselves
    left, right = fig.subplots(1, 2, sharey=True)
    left.plot([0, 1], [1e7, 1e7 + 3])
    right.plot([0, 1], [1e7 + 1, 1e7 + 2])
    left.set_ylabel("votes")


def _grid(fig):  # grid lines on the value axis, region names on the other
    ax = fig.add_subplot()
    ax.scatter([1, -2, 3], [0, 1, 2])
    ax.grid(axis="x", color="#eeeeee")
    ax.grid(axis="y", which="minor", color="red")
    ax.minorticks_on()
    ax.set_xlabel("observed minus expected")


def _colour_bars(fig):  # log colour bars: major and minor ticks and the label on the right, or below
    from matplotlib.colors import LogNorm

    ax = fig.add_subplot()
    image = ax.imshow(np.arange(1, 101, dtype=float).reshape(10, 10) ** 1.5, norm=LogNorm())
    fig.colorbar(image, ax=ax, label="stations per cell")
    fig.colorbar(image, ax=ax, orientation="horizontal", label="the same, across")


def _narrow_log(fig):  # less than a decade: the minor ticks are labelled too
    ax = fig.add_subplot()
    ax.semilogy([0, 1], [2.0, 7.0])
    ax.set_ylabel("count")


def _other_sides(fig):  # ticks, labels and axis labels on the top and right, minor ticks between
    from matplotlib.ticker import AutoMinorLocator

    ax = fig.add_subplot()
    ax.plot([0, 10], [5, -5])
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.yaxis.tick_right()
    ax.yaxis.set_label_position("right")
    ax.xaxis.set_minor_locator(AutoMinorLocator())
    ax.set_xlabel("turnout")
    ax.set_ylabel("excess")


def _both_sides(fig):  # marks on both sides, labels on one
    ax = fig.add_subplot()
    ax.plot([0, 3], [0, 9])
    ax.tick_params(axis="both", which="both", top=True, right=True, direction="in")
    ax.minorticks_on()
    ax.set_xlabel("x")


def test_light_ticks_draw_the_pixels_matplotlibs_ticks_draw():
    for build in (_percent, _names, _offset, _shared, _shared_offset, _grid, _colour_bars, _narrow_log, _other_sides, _both_sides):
        theirs, _ = _drawn(build, light=False)
        ours, fig = _drawn(build, light=True)
        assert np.array_equal(theirs, ours), build.__name__
    _, fig = _drawn(_percent, light=True)
    ticks = [a for a in fig.axes[0].artists if isinstance(a, _LightTicks)]
    assert len(ticks) == 2 and [t for _, t in ticks[0].texts][:3] == ["0%", "10%", "20%"]
    _, fig = _drawn(_colour_bars, light=True)
    bar = fig.axes[1]
    ticks = [a for a in bar.artists if isinstance(a, _LightTicks)]
    assert len(ticks) == 2 and {side for side, _ in ticks[1].texts} == {1}  # the labels right of the bar
    assert len(ticks[1].groups) == 2  # its minor ticks drawn too


def test_fixed_ticks_draw_what_set_ticks_draws():
    def build(ours: bool):
        def draw(ax):
            ax.bar(np.arange(10), np.linspace(0.05, 0.15, 10), label="share")
            ticks, labels = np.arange(0, 10, 3), ["0", "3", "6", "9"]
            if ours:
                fixed_ticks(ax.xaxis, ticks, labels)
                fixed_ticks(ax.yaxis, [0.0, 0.1, 0.3])  # beyond the data: the view widens to it
            else:
                ax.set_xticks(ticks, labels)
                ax.set_yticks([0.0, 0.1, 0.3])
        return draw

    theirs, ours = _pixels(build(False)), _pixels(build(True))
    assert theirs[1:] == ours[1:] and ours[2][1] >= 0.3
    assert np.array_equal(theirs[0], ours[0])
