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
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
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


def fixed_ticks(axis, locations, labels=None) -> None:
    """``axis.set_ticks(locations, labels)`` on an axis shared with no other, without building a Tick per location.

    ``set_ticks`` widens the view to the locations and sets a fixed locator
    (and formatter), then builds the Ticks that ``light_ticks`` would drop;
    this sets the same view, locator and labels only.
    """
    locations = np.asarray(locations)
    if len(locations):
        axis.set_view_interval(locations.min(), locations.max())
    axis.set_major_locator(FixedLocator(locations))
    if labels is not None:
        axis.set_major_formatter(FixedFormatter([str(t) for t in labels]))


class _LightTicks(Artist):
    """An axis' ticks as lines of markers and plain texts, placed and labelled as matplotlib does.

    Drawn just before the axis (same z-order), from the locators and
    formatters the axis had: its major ticks, then its minor ticks (those
    that do not fall on a major one), each on the side or sides whose mark
    and label the axis showed.  It then places the axis label beyond the
    tick labels on its side as ``Axis`` does (their extents, an empty label
    counting as its anchor point, and the spine's, plus the label pad), so
    the axis itself draws only its label.  Where the formatter writes an
    offset beside the axis (``1e6``, ``+3``), whose place matplotlib computes
    from its ticks, the axis gets its locators back and draws itself.
    """

    def __init__(self, axis, groups):
        super().__init__()
        self.axis, self.groups = axis, groups  # [(locator, formatter, prototype tick)]: major, then minor
        self.set_zorder(axis.get_zorder())
        self.set_figure(axis.get_figure(root=False))
        self.marks, self.grids = [], []
        for _, _, prototype in groups:
            grid = None
            if prototype.gridline.get_visible():
                grid = Line2D([], [])
                grid.update_from(prototype.gridline)  # colour, width, style, transform and clipping
                grid.set_figure(self.get_figure(root=False))
            self.grids.append(grid)
            lines = []
            for side, line in ((0, prototype.tick1line), (1, prototype.tick2line)):
                if line.get_visible():
                    marks = Line2D([], [], linestyle="none")
                    marks.update_from(line)  # marker, size, width, colour and transform
                    marks.set_figure(self.get_figure(root=False))
                    lines.append((side, marks))
            self.marks.append(lines)
        self.texts: list = []  # (side, label) of the labels drawn
        self.extents: list = [[], []]  # per side, the labels' extents (an empty label's is its anchor point)

    def _in_view(self, locs) -> list:
        """Whether each location is inside the view, as ``Axis._update_ticks`` keeps ticks."""
        low, high = sorted(self.axis.get_view_interval())
        scale = self.axis.get_transform()
        a, b = sorted(scale.transform([low, high]))
        slack = (b - a) * 1e-10
        return [a - slack <= t <= b + slack for t in scale.transform(np.asarray(locs, dtype=float).reshape(-1))]

    def _located(self) -> list:
        """Per group, the ticks' locations inside the view and their labels, as ``Axis._update_ticks`` makes them:
        minor ticks on a major one left out (``Axis.get_minorticklocs``)."""
        ticker, held = self.axis.major, self.axis.major.locator
        ticker.locator = self.groups[0][0]  # minor locators read the major ticks (``AutoMinorLocator``)
        try:
            major = np.asarray(self.groups[0][0](), dtype=float)
            out = [self._labelled(major, self.groups[0][1])]
            for locator, formatter, _ in self.groups[1:]:
                locs = np.asarray(locator(), dtype=float)
                if self.axis.remove_overlapping_locs and len(locs) and len(major):
                    scale = self.axis.get_transform()
                    low, high = sorted(scale.transform(self.axis.get_view_interval()))
                    close = np.isclose(scale.transform(locs)[:, None], scale.transform(major)[None, :],
                                       atol=(high - low) * 1e-5, rtol=0).any(axis=1)
                    locs = locs[~close]
                out.append(self._labelled(locs, formatter))
        finally:
            ticker.locator = held
        return out

    def _labelled(self, locs, formatter) -> tuple[list, list]:
        """The locations inside the view and their labels (formatted from all of ``locs``, as matplotlib does)."""
        labels = formatter.format_ticks(locs)
        keep = self._in_view(locs) if len(locs) else []
        return [x for x, k in zip(locs.tolist(), keep) if k], [t for t, k in zip(labels, keep) if k]

    def draw(self, renderer):
        if not self.get_visible():
            return
        located = self._located()
        if self.groups[0][1].get_offset():
            self.axis.set_major_locator(self.groups[0][0])
            if len(self.groups) > 1:  # the minor ticks
                self.axis.set_minor_locator(self.groups[1][0])
            self.set_visible(False)
            return
        x_axis = self.axis.axis_name == "x"
        self.texts, self.extents = [], [[], []]
        label_side = self._label_side()
        for (locs, labels), lines, grid, (_, _, prototype) in zip(located, self.marks, self.grids, self.groups):
            for loc in locs if grid is not None else []:  # one line across the axes per tick
                grid.set_data(([loc, loc], [0, 1]) if x_axis else ([0, 1], [loc, loc]))
                grid.draw(renderer)
            for side, marks in lines:
                across = [float(side)] * len(locs)
                marks.set_data((locs, across) if x_axis else (across, locs))
                marks.draw(renderer)
            for side, text_prototype in ((0, prototype.label1), (1, prototype.label2)):
                if not text_prototype.get_visible():
                    continue
                text = None  # one Text per side, moved from label to label: building one is most of its cost
                for loc, label in zip(locs, labels):
                    xy = (loc, float(side)) if x_axis else (float(side), loc)
                    if not label:  # drawn as nothing; its extent is its anchor point (``Text.get_window_extent``)
                        if side == label_side:
                            self.extents[side].append(
                                Bbox.from_bounds(*text_prototype.get_transform().transform(xy), 0, 0))
                        continue
                    if text is None:
                        text = Text(*xy, label)
                        text.update_from(text_prototype)  # font, colour, alignment and transform
                        text.set_figure(self.get_figure(root=False))
                    else:
                        text.set_position(xy)
                        text.set_text(label)
                    text.draw(renderer)
                    self.texts.append((side, label))
                    if side == label_side:
                        self.extents[side].append(text.get_window_extent(renderer))
        self._place_label(renderer)
        self.stale = False

    def _label_side(self):
        """The side (0 or 1) of the axis label whose place the labels' extents give, or None without a label."""
        axis = self.axis
        if not axis.label.get_visible() or not axis.label.get_text():
            return None
        return 0 if axis.get_label_position() in ("bottom", "left") else 1

    def _place_label(self, renderer) -> None:
        axis, ax = self.axis, self.axis.axes
        side = self._label_side()
        if side is None:
            return
        boxes = self.extents[side]
        pad = axis.labelpad * self.get_figure(root=True).dpi / 72
        x, y = axis.label.get_position()
        spine = ax.spines.get(("bottom", "top", "left", "right")[2 * (axis.axis_name == "y") + side], ax)
        bbox = Bbox.union([*boxes, spine.get_window_extent()])
        if axis.axis_name == "x":
            axis.set_label_coords(x, bbox.y1 + pad if side else bbox.y0 - pad,
                                  transform=blended_transform_factory(ax.transAxes, IdentityTransform()))
        else:
            axis.set_label_coords(bbox.x1 + pad if side else bbox.x0 - pad, y,
                                  transform=blended_transform_factory(IdentityTransform(), ax.transAxes))


def _visible_group(axis, which: str):
    """(locator, formatter, prototype tick) of the major or minor ticks, or None when they show nothing."""
    locator = axis.get_major_locator() if which == "major" else axis.get_minor_locator()
    if isinstance(locator, NullLocator):
        return None
    prototype = (axis.get_major_ticks if which == "major" else axis.get_minor_ticks)(1)[0]
    parts = (prototype.tick1line, prototype.tick2line, prototype.label1, prototype.label2)
    if not any(p.get_visible() for p in parts):
        return None
    formatter = axis.get_major_formatter() if which == "major" else axis.get_minor_formatter()
    return locator, formatter, prototype


def light_ticks(ax, which: str = "both") -> None:
    """Draw the ticks of ``ax``'s x and/or y axis (``which``) as a few artists instead of one Tick per label.

    Each matplotlib Tick is five artists built, copied and measured on every
    draw; the report's percent axes, region names and log colour bars have
    dozens.  Call it when the axis is set up (locators, formatters, tick
    parameters, grid): the ticks, grid lines, labels and axis label come out
    where matplotlib puts them (the label beyond the tick labels on its
    side, as when matplotlib places it itself).  Axes that share the axis
    (one locator) get theirs together, each with its own tick parameters.
    An axis this cannot stand in for exactly is left as it is: one without
    major ticks, or with a label that is not on a side of the axes it names
    (bottom or top, left or right).
    """
    for name in ("x", "y") if which == "both" else (which,):
        siblings = (ax.get_shared_x_axes() if name == "x" else ax.get_shared_y_axes()).get_siblings(ax)
        axes = [getattr(a, f"{name}axis") for a in siblings]
        found = [(axis, _visible_group(axis, "major"), _visible_group(axis, "minor")) for axis in axes]
        sides = ("bottom", "top") if name == "x" else ("left", "right")
        if any(major is None or axis.get_label_position() not in sides for axis, major, _ in found):
            continue
        for axis, major, minor in found:
            axis.axes.add_artist(_LightTicks(axis, [g for g in (major, minor) if g is not None]))
        for axis, major, minor in found:  # shared axes share these: set once, read by each
            axis.set_major_locator(NullLocator())
            if minor is not None:
                axis.set_minor_locator(NullLocator())
        for axis, major, minor in found:
            for locator, formatter, _ in (g for g in (major, minor) if g is not None):
                locator.set_axis(axis)  # still read an axis' view interval
                formatter.set_axis(axis)
