"""The report's PNG files hold the pixels ``savefig`` draws, as RGB where every pixel is opaque."""
from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from forensics.report.figures import DPI, _png


def _figure(transparent: bool) -> Figure:
    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [2, 0, 1], label="a line")
    ax.bar([0.5, 1.5], [1, 2], alpha=0.5)
    ax.set_title("Жж 10%")
    ax.legend()
    if transparent:
        fig.patch.set_alpha(0.0)
    return fig


def test_png_pixels_are_savefigs():
    for transparent in (False, True):
        ours = Image.open(io.BytesIO(_png(_figure(transparent))))
        buffer = io.BytesIO()
        _figure(transparent).savefig(buffer, format="png", dpi=DPI)
        theirs = Image.open(io.BytesIO(buffer.getvalue()))
        assert ours.mode == ("RGBA" if transparent else "RGB")
        assert ours.info["dpi"] == theirs.info["dpi"]
        assert np.array_equal(np.asarray(ours.convert("RGBA")), np.asarray(theirs.convert("RGBA")))
