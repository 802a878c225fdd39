"""An Agg canvas that lays out and renders each piece of text once per process, for the report's PNG files.

Matplotlib's Agg renderer measures a string (one FreeType pass over its
glyphs), lays it out again to draw it (a second pass) and then loads,
hints and renders every glyph (a third), on every draw of every figure:
about half a millisecond per character, most of a figure's drawing.  The
report draws the same strings (tick labels, axis labels) and the same
glyphs over and over, so this renderer keeps, for the life of the process:

- each string's measure (width, height, descent) and its layout (the
  glyphs and their offsets), keyed by the font object, its size, the
  resolution, the string and the hinting flags;
- each glyph's rendered bitmap, keyed by the font object, size,
  resolution, glyph, hinting, rotation and the fractional (1/64 pixel) part
  of its position: FreeType renders a glyph moved by whole pixels as the
  same bitmap moved by those pixels, so the cached bitmap is placed where
  FreeType would have put it.

A string is shaped once: its measure keeps the glyph origins FreeType
found, which are the layout the drawing needs where each character is one
glyph of the font (other strings are laid out once and kept), and a font's
size is set once per string, not once per glyph (FreeType redoes its
hinting set-up on every size change).  The pixels are those of
matplotlib's own renderer (``tests/test_canvas.py`` compares every report
figure and text of every kind).  Mathtext and TeX go to matplotlib's
renderer, and so does everything where this matplotlib lacks the FreeType
calls used here (``SUPPORTED``).
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ft2font import FT2Font, RenderMode

__all__ = ["CachedTextCanvas", "forget"]

#: whether this matplotlib has the FreeType calls the renderer uses (those of its own Agg renderer)
SUPPORTED = all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph", "_set_transform", "set_text"))
#: entries kept per cache before it is emptied (a report holds a few thousand; a bound keeps a long session's small)
LIMIT = 200_000
_MEASURES: dict = {}
_LAYOUTS: dict = {}
_GLYPHS: dict = {}
_HEIGHTS: dict = {}


def forget() -> None:
    """Empty the caches (text is then measured, laid out and rendered anew, as on a process's first figure)."""
    for cache in (_MEASURES, _LAYOUTS, _GLYPHS, _HEIGHTS):
        cache.clear()


def _remember(cache: dict, key, value):
    if len(cache) >= LIMIT:
        cache.clear()
    cache[key] = value
    return value


class CachedTextRenderer(RendererAgg):
    """``RendererAgg`` whose plain text (not mathtext or TeX) reuses measures, layouts and glyph bitmaps."""

    def __init__(self, width, height, dpi):
        super().__init__(width, height, dpi)
        self._fonts: dict = {}  # font properties -> font, for this figure's draw (its rcParams)

    def _font(self, prop):
        font = self._fonts.get(prop)
        if font is None:
            font = self._fonts[prop.copy()] = get_font(fontManager._find_fonts_by_props(prop))
        return font

    def _get_font_height_metrics(self, prop):
        """(ascent, descent, line gap) in pixels from the font's tables, as ``Text`` computes them without it.

        ``Text`` asks a renderer that has this method instead of finding the
        font and reading its tables for every text it lays out.
        """
        key = (self._font(prop), prop.get_size_in_points(), self.dpi)
        found = _HEIGHTS.get(key)
        if found is None:
            font, size, dpi = key
            found = (None, None, None)
            for table_name, gap, ascent, descent in (("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                                                     ("hhea", "lineGap", "ascent", "descent")):
                table = font.get_sfnt_table(table_name)
                if table is not None:
                    scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * size * dpi / 72
                    found = (table[ascent] * scale, -table[descent] * scale, table[gap] * scale)
                    break
            _remember(_HEIGHTS, key, found)
        return found

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        flags = get_hinting_flag()
        font, size = self._font(prop), prop.get_size_in_points()
        key = (font, size, self.dpi, s, flags)
        found = _MEASURES.get(key)
        if found is None:
            font = self._prepare_font(prop)
            positions = font.set_text(s, 0.0, flags=flags)  # the glyphs' origins, in 1/64 pixels
            width, height = font.get_width_height()
            found = _remember(_MEASURES, key, (width / 64.0, height / 64.0, font.get_descent() / 64.0))
            layout = (font, size, self.dpi, s, flags, None, None)
            if layout not in _LAYOUTS and len(positions) == len(s):
                # one glyph per character: the layout ``draw_text`` would make (the same shaping, one glyph
                # from this font per character at these origins), kept so that the string is not shaped again
                glyphs = [font.get_char_index(ord(c)) for c in s]
                if all(glyphs):
                    _remember(_LAYOUTS, layout, tuple(
                        (font, glyph, x / 64, y / 64) for glyph, (x, y) in zip(glyphs, positions.tolist())))
        return found

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        flags = get_hinting_flag()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        size = prop.get_size_in_points()
        key = (self._font(prop), size, self.dpi, s, flags,
               tuple(features) if features is not None else None, language)
        items = _LAYOUTS.get(key)
        if items is None:
            font = self._prepare_font(prop)
            items = _remember(_LAYOUTS, key, tuple(
                (item.ft_object, item.glyph_index, item.x, item.y)
                for item in font._layout(s, flags=flags, features=features, language=language)))
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        matrix = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
        antialiased = gc.get_antialiased()
        mode = RenderMode.NORMAL if antialiased else RenderMode.MONO
        turn = (tuple(matrix.ravel().tolist()), antialiased)
        height, dpi, draw, cached = self.height, self.dpi, self._renderer.draw_text_image, _GLYPHS.get
        sized = set()  # fonts set to this size in this call: setting a size again makes FreeType redo its hinting
        for font, glyph, dx, dy in items:  # dy is upwards, as FreeType's y
            whole_x, part_x = divmod(round(0x40 * (x + dx * cos - dy * sin)), 0x40)
            whole_y, part_y = divmod(round(0x40 * (height - y + dx * sin + dy * cos)), 0x40)
            gkey = (font, size, dpi, glyph, flags, turn, part_x, part_y)
            found = cached(gkey)
            if found is None:
                if font not in sized:
                    font.set_size(size, dpi)
                    sized.add(font)
                font._set_transform(matrix, [part_x, part_y])
                bitmap = font._render_glyph(glyph, flags, mode)
                buffer = bitmap.buffer if antialiased else bitmap.buffer * 0xff
                found = _remember(_GLYPHS, gkey, (buffer, bitmap.left, bitmap.top))
            buffer, left, top = found
            draw(buffer, left + whole_x, int(height) - (top + whole_y) + buffer.shape[0], 0, gc)


class CachedTextCanvas(FigureCanvasAgg):
    """``FigureCanvasAgg`` drawing with ``CachedTextRenderer``: the same pixels, each text set once per process."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = (CachedTextRenderer if SUPPORTED else RendererAgg)(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
