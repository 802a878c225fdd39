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
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.markers import TICKDOWN


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
