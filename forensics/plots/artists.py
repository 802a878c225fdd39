"""Artists drawn the cheap way: many marks or steps as one artist, limits from the data's extremes.

Matplotlib's general paths are slow where the figures have many parts:
``Axes.stairs`` walks every vertex of the step curve through Bezier
segments to update the data limits, and each ``axvline`` or tick is an
artist of its own that every draw builds and measures.  These helpers draw
the same pixels with the work proportional to the number of artists, not
of points.
"""
from __future__ import annotations

import numpy as np
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN
from matplotlib.text import Text
from matplotlib.ticker import NullLocator
from matplotlib.transforms import Bbox, IdentityTransform, blended_transform_factory


def stairs(ax, values, edges, **kwargs):
    """``ax.stairs(values, edges, **kwargs)`` (baseline 0) with the data limits set from the extremes.

    The patch is added empty and then given its data, so matplotlib does not
    walk its thousands of vertices; the limits it would have found (the first
    and last edges, zero and the largest value) are given directly.
    """
    values, edges = np.asarray(values, dtype=float), np.asarray(edges, dtype=float)
    patch = ax.stairs([0.0], edges[[0, -1]], **kwargs)
    patch.set_data(values, edges)
    finite = values[np.isfinite(values)]
    low, high = (min(0.0, finite.min()), max(0.0, finite.max())) if finite.size else (0.0, 0.0)
    ax.update_datalim([(edges[0], low), (edges[-1], high)])
    return patch


def bars(ax, positions, lengths, width: float = 0.8, start=0.0, horizontal: bool = False, label=None, **kwargs):
    """``ax.bar(positions, lengths, width, bottom=start)`` (``ax.barh`` when ``horizontal``) as one PolyCollection.

    The same rectangles, centred on their positions, as one artist instead
    of a patch per bar that matplotlib adds, transforms and measures one by
    one; the data limits are the rectangles' extremes and, as for
    ``ax.bar``, autoscaling stops at each bar's base (its sticky edge).
    Bars of missing length are not drawn.  ``kwargs`` go to the collection
    (``facecolors``...); ``label`` names it in the legend.
    """
    positions, lengths = np.asarray(positions, dtype=float), np.asarray(lengths, dtype=float)
    starts = np.broadcast_to(np.asarray(start, dtype=float), lengths.shape)
    keep = np.isfinite(positions) & np.isfinite(lengths) & np.isfinite(starts)
    low, high = positions[keep] - width / 2, positions[keep] + width / 2
    base, end = starts[keep], starts[keep] + lengths[keep]
    corners = np.stack([np.stack(c, axis=-1) for c in ((base, low), (base, high), (end, high), (end, low))], axis=1)
    if not horizontal:
        corners = corners[..., ::-1]
    patches = PolyCollection(corners, closed=True, edgecolors="none", label=label, **kwargs)
    ax.add_collection(patches, autolim=False)
    (patches.sticky_edges.x if horizontal else patches.sticky_edges.y).extend(np.unique(base).tolist())
    if corners.size:
        ax.update_datalim([corners.reshape(-1, 2).min(axis=0), corners.reshape(-1, 2).max(axis=0)])
        ax.autoscale_view()
    return patches


def vertical_lines(ax, xs, **kwargs):
    """``ax.axvline(x, **kwargs)`` at every x of ``xs``, as one LineCollection across the axes' height."""
    lines = LineCollection([[(x, 0.0), (x, 1.0)] for x in xs], transform=ax.get_xaxis_transform(), **kwargs)
    ax.add_collection(lines, autolim=False)
    return lines


def tick_marks(ax, xs, length: float, width: float) -> None:
    """Short ticks below the x axis at ``xs`` (data), drawn as one line of markers.

    They look like ticks without labels, but are one artist instead of one
    tick object per mark that every draw would build and measure.
    """
    xs = np.asarray(xs, dtype=float)
    ax.plot(xs, np.zeros_like(xs), ls="none", marker=TICKDOWN, markersize=length, color="black",
            markeredgewidth=width, transform=ax.get_xaxis_transform(), clip_on=False, scalex=False, scaley=False)


class _LightTicks(Artist):
    """An axis' major ticks as one line of markers and plain texts, placed and labelled as matplotlib does.

    Drawn just before the axis (same z-order), from the locator and
    formatter the axis had; it then places the axis label beyond the tick
    labels as ``Axis`` does (their extents and the spine's, plus the label
    pad), so the axis itself draws only its label.  Where the formatter
    writes an offset beside the axis (``1e6``, ``+3``), whose place matplotlib
    computes from its ticks, the axis gets its locator back and draws itself.
    """

    def __init__(self, axis, locator, formatter, prototype):
        super().__init__()
        self.axis, self.locator, self.formatter = axis, locator, formatter
        self.set_zorder(axis.get_zorder())
        self.set_figure(axis.get_figure(root=False))
        self.marks = Line2D([], [], linestyle="none")
        self.marks.update_from(prototype.tick1line)  # marker, size, width, colour and transform
        self.marks.set_figure(self.get_figure(root=False))
        self.prototype = prototype.label1
        self.texts: list = []

    def _located(self) -> tuple[list, list]:
        """The ticks' locations inside the view and their labels, as ``Axis._update_ticks`` keeps them."""
        locs = list(self.locator())
        labels = self.formatter.format_ticks(locs)
        low, high = sorted(self.axis.get_view_interval())
        scale = self.axis.get_transform()
        a, b = sorted(scale.transform([low, high]))
        slack = (b - a) * 1e-10
        keep = [a - slack <= scale.transform([loc])[0] <= b + slack for loc in locs]
        return [x for x, k in zip(locs, keep) if k], [t for t, k in zip(labels, keep) if k]

    def draw(self, renderer):
        if not self.get_visible():
            return
        locs, labels = self._located()
        if self.formatter.get_offset():
            self.axis.set_major_locator(self.locator)
            self.set_visible(False)
            return
        x_axis = self.axis.axis_name == "x"
        zeros = [0.0] * len(locs)
        self.marks.set_data((locs, zeros) if x_axis else (zeros, locs))
        self.marks.draw(renderer)
        self.texts = []
        for loc, label in zip(locs, labels):
            text = Text(*((loc, 0.0) if x_axis else (0.0, loc)), label)
            text.update_from(self.prototype)  # font, colour, alignment and transform
            text.set_figure(self.get_figure(root=False))
            text.draw(renderer)
            self.texts.append(text)
        self._place_label(renderer)
        self.stale = False

    def _place_label(self, renderer) -> None:
        axis, ax = self.axis, self.axis.axes
        if not axis.label.get_visible() or not axis.label.get_text():
            return
        boxes = [t.get_window_extent(renderer) for t in self.texts if t.get_visible() and t.get_text()]
        pad = axis.labelpad * self.get_figure(root=True).dpi / 72
        x, y = axis.label.get_position()
        if axis.axis_name == "x":
            bbox = Bbox.union([*boxes, ax.spines.get("bottom", ax).get_window_extent()])
            axis.set_label_coords(x, bbox.y0 - pad, transform=blended_transform_factory(ax.transAxes,
                                                                                        IdentityTransform()))
        else:
            bbox = Bbox.union([*boxes, ax.spines.get("left", ax).get_window_extent()])
            axis.set_label_coords(bbox.x0 - pad, y, transform=blended_transform_factory(IdentityTransform(),
                                                                                        ax.transAxes))


def light_ticks(ax, which: str = "both") -> None:
    """Draw the major ticks of ``ax``'s x and/or y axis (``which``) as two artists instead of one Tick per label.

    Each matplotlib Tick is five artists built, copied and measured on every
    draw; the report's percent axes and region names have dozens.  Call it
    when the axis is set up (locator, formatter, tick parameters): the
    ticks, labels and axis label come out where matplotlib puts them (the
    label beyond the tick labels, as when matplotlib places it itself).  An
    axis this cannot stand in for exactly is left as it is: one shared with
    another axes (they share a locator), one with minor
    ticks, grid lines, ticks or labels on the second side, or a label that
    is not left of or below the axes.
    """
    for axis in ([ax.xaxis, ax.yaxis] if which == "both" else [getattr(ax, f"{which}axis")]):
        locator, formatter = axis.get_major_locator(), axis.get_major_formatter()
        prototype = axis.get_major_ticks(1)[0]
        shared = (ax.get_shared_x_axes() if axis.axis_name == "x" else ax.get_shared_y_axes()).get_siblings(ax)
        if (len(shared) > 1  # shared axes share one locator
                or not isinstance(axis.get_minor_locator(), NullLocator) or prototype.gridline.get_visible()
                or prototype.tick2line.get_visible() or prototype.label2.get_visible()
                or not (prototype.tick1line.get_visible() and prototype.label1.get_visible())
                or axis.get_label_position() not in ("bottom", "left")):
            continue
        ax.add_artist(_LightTicks(axis, locator, formatter, prototype))
        axis.set_major_locator(NullLocator())
        locator.set_axis(axis)  # still reads the axis' view interval
        formatter.set_axis(axis)
