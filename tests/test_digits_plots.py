"""Digit figures: drawn from the tests' own tables, one panel per group."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import forensics  # noqa: E402
from forensics.levels import by_level  # noqa: E402
from forensics.plots.digits import digit_frame, plot_digit_grid, plot_digits  # noqa: E402
from forensics.stats import digits as D  # noqa: E402


def test_digit_frame_and_figures():
    e = forensics.simulate(n_pec=600, n_regions=3, rng=2)
    last = D.last_digit_test(e, rng=1)
    frame = digit_frame(last)
    assert len(frame) == 10 and frame["n"].iloc[0] == last.n_used
    np.testing.assert_allclose(frame["share"].sum(), 1.0)
    assert (frame.ci_low <= frame.share).all() and (frame.share <= frame.ci_high).all()
    assert len(digit_frame(D.first_digit_test(e, rng=1))) == 9
    fig = plot_digits(D.second_digit_test(e, rng=1))
    assert fig.axes and len(fig.axes[0].patches) == 10
    grid = plot_digit_grid(by_level(e, D.last_digit_test, "region", rng=1))
    assert len([ax for ax in grid.axes if ax.patches]) == 3
    host = Figure()
    ax = host.add_subplot()
    assert plot_digits(last, ax=ax) is host and len(ax.patches) == 10
    # built as Figure objects, never through pyplot (no second copy shown in notebooks)
    assert isinstance(fig, Figure) and isinstance(grid, Figure) and plt.get_fignums() == []
