"""Brush, eraser, rectangle and ellipse tools: gestures that paint pixels or drag out a shape.

Like the other tools they never change a document: a finished stroke is emitted as
`canvas.stroke_painted(object_id or None, BrushStroke, erase)` and a finished box as
`canvas.polygon_drawn(ring)`, which the editing controller turns into undoable changes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPen

from protolabel.app.canvas.tools import CanvasTool
from protolabel.segmentation.geometry.brush import BrushStroke
from protolabel.segmentation.geometry.combine import ellipse_shape, rectangle_shape

MIN_RADIUS, MAX_RADIUS = 1.0, 256.0
RADIUS_STEP = 1.25  # [ and ] scale the radius by this
MIN_BOX_SIDE = 2.0  # image pixels: a smaller drag is a click, not a box
BRUSH_ARGB = 0x78FFD60A  # translucent yellow overlay of the painted pixels
ERASER_ARGB = 0x78FF3B30  # translucent red


class BrushTool(CanvasTool):
    """Paint (or erase) a disc stroke at image resolution; the radius lives on the canvas (shared by both)."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas, *, erase: bool) -> None:
        super().__init__(canvas)
        self.erase = erase
        self.stroke: BrushStroke | None = None
        self.target: int | None = None
        self.overlay: np.ndarray | None = None  # uint32 ARGB, same box as the stroke's mask
        self._image: QImage | None = None
        self._cursor_pos: QPointF | None = None
        self._panning = False

    # ---------------------------------------------------------------- events
    def press(self, event: QMouseEvent, pos: QPointF) -> bool:
        if event.button() == Qt.MouseButton.MiddleButton:  # pan, as in the edit tool
            self._panning = self.canvas.edit_tool.press(event, pos)
            return self._panning
        if event.button() != Qt.MouseButton.LeftButton or self.canvas.image_size_wh() == (0, 0):
            return False
        selection = self.canvas.selection
        self.target = selection.single if selection is not None else None
        self.stroke = BrushStroke(self.canvas.brush_radius, self.canvas.image_size_wh())
        self._extend(pos)
        return True

    def move(self, event: QMouseEvent, pos: QPointF) -> bool:
        if self._panning:
            return self.canvas.edit_tool.move(event, pos)
        old = self._cursor_pos
        self._cursor_pos = QPointF(pos)
        if self.stroke is not None:
            self._extend(pos)
        self._update_around(old)
        self._update_around(self._cursor_pos)
        return True

    def release(self, event: QMouseEvent, pos: QPointF) -> bool:
        if self._panning:
            self._panning = False
            return self.canvas.edit_tool.release(event, pos)
        if self.stroke is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        stroke, target = self.stroke, self.target
        self.cancel()
        if not stroke.is_empty():
            self.canvas.stroke_painted.emit(target, stroke, self.erase)
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            factor = RADIUS_STEP if event.key() == Qt.Key.Key_BracketRight else 1 / RADIUS_STEP
            self.canvas.set_brush_radius(self.canvas.brush_radius * factor)
            return True
        if event.key() == Qt.Key.Key_Escape and self.stroke is not None:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self.stroke = self.target = None
        self.overlay = self._image = None
        self.canvas.viewport().update()

    # ---------------------------------------------------------------- stroke and overlay
    def _extend(self, pos: QPointF) -> None:
        stroke = self.stroke
        box_before = stroke.box
        window = stroke.add_point(pos.x(), pos.y())
        if window is None:
            return
        color = np.uint32(ERASER_ARGB if self.erase else BRUSH_ARGB)
        if stroke.box != box_before or self.overlay is None:  # the mask grew: move the overlay into a new box
            grown = np.zeros(stroke.mask.shape, np.uint32)
            if self.overlay is not None:
                bx0, by0, bx1, by1 = box_before
                grown[by0 - stroke.y0 : by1 - stroke.y0, bx0 - stroke.x0 : bx1 - stroke.x0] = self.overlay
            self.overlay = grown
            h, w = grown.shape
            self._image = QImage(grown.data, w, h, 4 * w, QImage.Format.Format_ARGB32)
        x0, y0, x1, y1 = window  # only the segment's window changed
        sy, sx = slice(y0 - stroke.y0, y1 - stroke.y0), slice(x0 - stroke.x0, x1 - stroke.x0)
        self.overlay[sy, sx] = np.where(stroke.mask[sy, sx], color, np.uint32(0))
        self.canvas.viewport().update(self._view_rect(QRectF(x0, y0, x1 - x0, y1 - y0)))

    def _view_rect(self, scene_rect: QRectF) -> QRect:
        return self.canvas.mapFromScene(scene_rect).boundingRect().adjusted(-3, -3, 3, 3)

    def _update_around(self, pos: QPointF | None) -> None:
        if pos is not None:
            r = self.canvas.brush_radius
            self.canvas.viewport().update(self._view_rect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r)))

    def paint(self, painter: QPainter, scale: float) -> None:
        stroke = self.stroke
        if stroke is not None and self._image is not None:
            x0, y0, x1, y1 = stroke.box
            painter.drawImage(QRectF(x0, y0, x1 - x0, y1 - y0), self._image)
        if self._cursor_pos is not None:
            r = self.canvas.brush_radius
            pen = QPen(QColor("#ff3b30") if self.erase else QColor("#ffd60a"), 1.5)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self._cursor_pos, r, r)


class BoxDragTool(CanvasTool):
    """Press, drag, release: a box in image pixels (clamped to the image), drawn while dragging; Esc
    cancels. Subclasses say what the finished box becomes (`finish`) and how it is drawn (`draw_box`)."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._start: QPointF | None = None
        self._end: QPointF | None = None

    def _clamp(self, pos: QPointF) -> QPointF:
        w, h = self.canvas.image_size_wh()
        return QPointF(float(np.clip(pos.x(), 0, w)), float(np.clip(pos.y(), 0, h)))

    def press(self, event: QMouseEvent, pos: QPointF) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self.canvas.image_size_wh() == (0, 0):
            return False
        self._start = self._end = self._clamp(pos)
        return True

    def move(self, event: QMouseEvent, pos: QPointF) -> bool:
        if self._start is None:
            return False
        self._end = self._clamp(pos)
        self.canvas.viewport().update()
        return True

    def release(self, event: QMouseEvent, pos: QPointF) -> bool:
        if self._start is None:
            return False
        start, end = self._start, self._clamp(pos)
        self.cancel()
        self.finish(start, end)
        return True

    def finish(self, start: QPointF, end: QPointF) -> None:
        """The drag ended with these corners (in any order)."""
        raise NotImplementedError

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._start is not None:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        self._start = self._end = None
        self.canvas.viewport().update()

    def paint(self, painter: QPainter, scale: float) -> None:
        if self._start is None or self._end is None:
            return
        pen = QPen(QColor("#ffd60a"), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor(255, 214, 10, 40))
        self.draw_box(painter, QRectF(self._start, self._end).normalized())

    def draw_box(self, painter: QPainter, rect: QRectF) -> None:
        painter.drawRect(rect)


class BoxShapeTool(BoxDragTool):
    """Drag a box: a rectangle (four vertices) or the ellipse inscribed in it becomes a new object."""

    def __init__(self, canvas, *, ellipse: bool) -> None:
        super().__init__(canvas)
        self.ellipse = ellipse

    def finish(self, start: QPointF, end: QPointF) -> None:
        if abs(end.x() - start.x()) >= MIN_BOX_SIDE and abs(end.y() - start.y()) >= MIN_BOX_SIDE:
            make = ellipse_shape if self.ellipse else rectangle_shape
            shape = make(start.x(), start.y(), end.x(), end.y())
            self.canvas.polygon_drawn.emit(np.array(shape.polygons[0].exterior))

    def draw_box(self, painter: QPainter, rect: QRectF) -> None:
        if self.ellipse:
            painter.drawEllipse(rect)
        else:
            painter.drawRect(rect)
