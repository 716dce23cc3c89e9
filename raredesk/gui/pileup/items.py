"""Graphics items that draw whole arrays per style, and the genomic axis.

One :class:`ArrayItem` per track draws every layer of that track: a layer is
one style (brush or pen) and one numpy array of rectangles or lines, drawn
with a single ``QPainter.drawRects``/``drawLines`` call over the visible range
(pyqtgraph's ``BarGraphItem`` technique: the numpy buffer is handed to Qt as a
``QRectF*`` without a Python object per rectangle). So a pileup of thousands of
reads is a handful of items and a few dozen draw calls, and long reads cost no
more than short ones.

Each layer is sorted by x once when set; painting then takes the contiguous
slice that can reach the visible range (two binary searches, no copy), which
keeps a repaint while panning cheap whatever the loaded window.

Rectangles narrower than a pixel are widened at paint time (``min_px``) so a
mismatch or an insertion stays visible when zoomed out, as in IGV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import compat
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen

from raredesk.gui.pileup.layout import XMap
from raredesk.gui.qt_compat import guard_singleton_refcounts

# PySide6 6.12 on CPython 3.11 drops a reference to None (and True) on many calls, and
# every QPainter call here is one of them: pin the singletons before the first paint.
guard_singleton_refcounts()

__all__ = ["RectLayer", "LineLayer", "ArrowLayer", "TextLayer", "ArrayItem", "GenomeAxis", "qcolor"]


def qcolor(rgba, alpha: float = 1.0) -> QColor:
    """A QColor from an (r, g, b, a) tuple, with the alpha scaled by ``alpha``."""
    r, g, b, a = rgba
    return QColor(int(r), int(g), int(b), int(round(a * alpha)))


@dataclass
class RectLayer:
    """Rectangles ``(n, 4)`` = x, y, w, h (data units) in one style.

    ``min_px`` widens narrower rectangles about their centre; ``pen`` draws
    outlines (cosmetic, so their width is in pixels).
    """

    rects: np.ndarray
    brush: QBrush | QColor | None = None
    pen: QPen | None = None
    min_px: float = 0.0
    min_px_h: float = 0.0
    name: str = ""


@dataclass
class LineLayer:
    """Lines ``(n, 4)`` = x0, y0, x1, y1 in one cosmetic pen."""

    lines: np.ndarray
    pen: QPen = field(default_factory=lambda: QPen(Qt.GlobalColor.black))
    name: str = ""


@dataclass
class ArrowLayer:
    """Strand arrow tips: ``(n, 3)`` = tip x, row top y, direction (+1 right, -1 left).

    Drawn as one filled path, only when rows are tall enough to see them.
    """

    tips: np.ndarray
    brush: QBrush | QColor
    length_px: float = 5.0
    pad: float = 0.1
    name: str = ""


@dataclass
class TextLayer:
    """Labels centred at (x, y) in data units, drawn in device pixels.

    Shown only when a data unit is at least ``min_px_x`` pixels wide and at
    most ``max_items`` labels are visible. With ``pin_left`` the labels sit
    at the left edge of the view whatever ``x`` (group titles).
    """

    x: np.ndarray
    y: np.ndarray
    labels: list
    colour: QColor = field(default_factory=lambda: QColor(Qt.GlobalColor.black))
    min_px_x: float = 7.0
    min_px_y: float = 0.0
    max_items: int = 4000
    bold: bool = False
    box: QColor | None = None
    name: str = ""
    pin_left: bool = False


class ArrayItem(pg.GraphicsObject):
    """Draws a list of layers (see module docstring); one item per track."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._layers: list = []
        self._bounds = QRectF()
        self._rect_buf = PrimitiveArray(QRectF, 4)
        self.font = QFont()
        self.font.setPixelSize(11)

    # -- content -----------------------------------------------------------

    def set_layers(self, layers: list, bounds: QRectF) -> None:
        """Replace what is drawn (empty layers are dropped)."""
        self.prepareGeometryChange()
        self._layers = [lay for lay in layers if _size(lay)]
        for lay in self._layers:
            if isinstance(lay, RectLayer):
                _prepare(lay, lay.rects, lay.rects[:, 0], lay.rects[:, 2])
            elif isinstance(lay, LineLayer):
                lo = np.minimum(lay.lines[:, 0], lay.lines[:, 2])
                _prepare(lay, lay.lines, lo, np.abs(lay.lines[:, 2] - lay.lines[:, 0]))
        self._bounds = QRectF(bounds)
        self.update()

    def layers(self) -> list:
        return list(self._layers)

    def layer(self, name: str):
        """The first layer with this name, or None."""
        return next((lay for lay in self._layers if lay.name == name), None)

    def boundingRect(self) -> QRectF:  # Qt override
        return QRectF(self._bounds)

    # -- painting ----------------------------------------------------------

    def paint(self, p: QPainter, opt, widget=None) -> None:  # Qt override
        if not self._layers:
            return
        t = p.transform()
        sx, sy = abs(t.m11()) or 1e-9, abs(t.m22()) or 1e-9
        view = self.viewRect()
        if view is None:
            view = self._bounds
        vx0, vx1 = view.left(), view.right()
        vy0, vy1 = min(view.top(), view.bottom()), max(view.top(), view.bottom())
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for lay in self._layers:
            if isinstance(lay, RectLayer):
                self._paint_rects(p, lay, sx, sy, vx0, vx1, vy0, vy1)
            elif isinstance(lay, LineLayer):
                self._paint_lines(p, lay, vx0, vx1, vy0, vy1)
            elif isinstance(lay, ArrowLayer):
                self._paint_arrows(p, lay, sx, sy, vx0, vx1, vy0, vy1)
            elif isinstance(lay, TextLayer):
                self._paint_text(p, lay, t, sx, sy, vx0, vx1, vy0, vy1)

    def _paint_rects(self, p, lay: RectLayer, sx, sy, vx0, vx1, vy0, vy1) -> None:
        data = lay._sorted
        minw = lay.min_px / sx if lay.min_px > 0 else 0.0
        reach = max(lay._max_w, minw)
        i0 = int(np.searchsorted(lay._x0, vx0 - reach, side="left"))
        i1 = int(np.searchsorted(lay._x0, vx1 + minw, side="right"))
        if i1 <= i0:
            return
        if (minw and lay._min_w < minw) or (lay.min_px_h > 0 and lay._min_h < lay.min_px_h / sy):
            r = data[i0:i1].copy()
            x, y, w, h = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
            if minw:
                narrow = w < minw
                x[narrow] += w[narrow] / 2 - minw / 2
                w[narrow] = minw
            if lay.min_px_h > 0:
                minh = lay.min_px_h / sy
                low = h < minh
                y[low] += h[low] / 2 - minh / 2
                h[low] = minh
            self._rect_buf.resize(r.shape[0])
            self._rect_buf.ndarray()[:] = r
            args = self._rect_buf.drawargs()
        else:
            # A view of the sorted layer: Qt reads the rectangles in place.
            args = (compat.wrapinstance(data.ctypes.data + i0 * data.strides[0], QRectF), i1 - i0)
        p.setPen(lay.pen if lay.pen is not None else QPen(Qt.PenStyle.NoPen))
        p.setBrush(lay.brush if lay.brush is not None else QBrush(Qt.BrushStyle.NoBrush))
        p.drawRects(*args)

    def _paint_lines(self, p, lay: LineLayer, vx0, vx1, vy0, vy1) -> None:
        data = lay._sorted
        i0 = int(np.searchsorted(lay._x0, vx0 - lay._max_w, side="left"))
        i1 = int(np.searchsorted(lay._x0, vx1, side="right"))
        if i1 <= i0:
            return
        p.setPen(lay.pen)
        p.drawLines(compat.wrapinstance(data.ctypes.data + i0 * data.strides[0], QLineF), i1 - i0)

    def _paint_arrows(self, p, lay: ArrowLayer, sx, sy, vx0, vx1, vy0, vy1) -> None:
        if sy * (1 - 2 * lay.pad) < 4:
            return   # rows too thin to show a direction
        t = lay.tips
        vis = (t[:, 0] >= vx0 - 1) & (t[:, 0] <= vx1 + 1) & (t[:, 1] + 1 >= vy0) & (t[:, 1] <= vy1)
        t = t[vis]
        if not t.size:
            return
        length = min(lay.length_px, 0.4 * sy) / sx
        n = t.shape[0]
        xs = np.empty((n, 3))
        ys = np.empty((n, 3))
        xs[:, 0] = t[:, 0]
        xs[:, 1] = t[:, 0] + t[:, 2] * length
        xs[:, 2] = t[:, 0]
        ys[:, 0] = t[:, 1] + lay.pad
        ys[:, 1] = t[:, 1] + 0.5
        ys[:, 2] = t[:, 1] + 1 - lay.pad
        connect = np.ones((n, 3), dtype=bool)
        connect[:, 2] = False
        path = pg.arrayToQPath(xs.ravel(), ys.ravel(), connect=connect.ravel())
        p.setPen(QPen(Qt.PenStyle.NoPen))
        p.fillPath(path, lay.brush if isinstance(lay.brush, QBrush) else QBrush(lay.brush))

    def _paint_text(self, p, lay: TextLayer, t, sx, sy, vx0, vx1, vy0, vy1) -> None:
        if sx < lay.min_px_x or sy < lay.min_px_y:
            return
        lx = np.full(np.shape(lay.y), vx0) if lay.pin_left else lay.x
        vis = np.flatnonzero((lx >= vx0 - 1) & (lx <= vx1 + 1) & (lay.y >= vy0 - 1) & (lay.y <= vy1 + 1))
        if vis.size == 0 or vis.size > lay.max_items:
            return
        x, y = lx[vis], lay.y[vis]
        dx = t.m11() * x + t.m21() * y + t.dx()
        dy = t.m12() * x + t.m22() * y + t.dy()
        font = QFont(self.font)
        font.setPixelSize(11 if lay.pin_left else int(max(8, min(12, sy * 0.9, sx * 0.95))))
        font.setBold(lay.bold)
        fm = QFontMetricsF(font)
        if lay.pin_left:
            dx = dx + np.array([fm.horizontalAdvance(str(lay.labels[i])) / 2 + 6 for i in vis])
        p.save()
        p.resetTransform()
        p.setFont(font)
        for i, (px, py) in enumerate(zip(dx.tolist(), dy.tolist())):
            text = str(lay.labels[vis[i]])
            w = fm.horizontalAdvance(text) + 4
            h = fm.height()
            box = QRectF(px - w / 2, py - h / 2, w, h)
            if lay.box is not None:
                p.setPen(QPen(Qt.PenStyle.NoPen))
                p.setBrush(lay.box)
                p.drawRect(box)
            p.setPen(lay.colour)
            p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
        p.restore()


def _prepare(lay, arr: np.ndarray, x0: np.ndarray, width: np.ndarray) -> None:
    """Sort a layer's rows by their left x and remember what painting needs."""
    order = np.argsort(x0, kind="stable")
    lay._sorted = np.ascontiguousarray(arr[order], dtype=np.float64)
    lay._x0 = np.ascontiguousarray(x0[order], dtype=np.float64)
    lay._max_w = float(width.max())
    lay._min_w = float(width.min())
    lay._min_h = float(arr[:, 3].min()) if isinstance(lay, RectLayer) else 0.0


def _size(layer) -> int:
    if isinstance(layer, RectLayer):
        return int(layer.rects.shape[0])
    if isinstance(layer, LineLayer):
        return int(layer.lines.shape[0])
    if isinstance(layer, ArrowLayer):
        return int(layer.tips.shape[0])
    if isinstance(layer, TextLayer):
        return int(np.asarray(layer.x).size)
    return 0


class GenomeAxis(pg.AxisItem):
    """A bottom/top axis labelled with 1-based genomic positions (commas), aware of inserted columns."""

    def __init__(self, orientation: str = "top", **kw):
        super().__init__(orientation, **kw)
        self.xmap = XMap()
        self.enableAutoSIPrefix(False)

    def set_xmap(self, xmap: XMap) -> None:
        self.xmap = xmap
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):  # pyqtgraph override
        g0 = self.xmap.to_genome(minVal)
        g1 = self.xmap.to_genome(maxVal)
        if g1 <= g0:
            return []
        levels = self.tickSpacing(g0, g1, size)
        out = []
        for spacing, offset in levels[:2]:
            spacing = max(1.0, round(spacing))
            # Round 1-based positions p; the tick marks the centre of base p.
            first = np.ceil((g0 + 1) / spacing) * spacing
            ps = np.arange(first, g1 + 1, spacing)
            if ps.size > 200:
                continue
            vals = self.xmap.left(ps.astype(np.int64) - 1) + 0.5
            out.append((spacing, vals.tolist()))
        return out

    def tickStrings(self, values, scale, spacing):  # pyqtgraph override
        return [f"{int(round(self.xmap.to_genome(v - 0.5))) + 1:,}" for v in values]
