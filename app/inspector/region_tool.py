"""The region tool: drag a rectangle on the canvas to run the model again on that part of the image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QLabel, QWidget

from app.canvas.tools import CanvasTool
from segmentation.inspection.region import MIN_REGION_SIDE


REGION_HINT = ("Re-detect in region: drag a rectangle over the part of the image to run the model on again "
               "(small objects come out better). Esc leaves.")


class RegionHint(QLabel):
    """A note in the canvas's top-left corner while the region tool is active (a child of the view, not of
    its viewport, so it stays put when the image scrolls)."""

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(REGION_HINT, canvas)
        self.setObjectName("region_hint")
        self.setWordWrap(True)
        self.setStyleSheet("QLabel#region_hint { background: rgba(20, 20, 24, 200); color: #ffd60a;"
                           " padding: 6px 10px; border-radius: 4px; }")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setVisible(False)

    def set_shown(self, shown: bool) -> None:
        if shown:
            canvas = self.parentWidget()
            self.setFixedWidth(max(200, min(560, canvas.width() - 24)))
            self.adjustSize()
            self.move(12, 12)
            self.raise_()
        self.setVisible(shown)


class RegionTool(CanvasTool):
    """Press, drag, release: `on_region((x0, y0, x1, y1))` in image pixels. Esc cancels the drag."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas, on_region: Callable[[tuple[float, float, float, float]], None]) -> None:
        super().__init__(canvas)
        self.on_region = on_region
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
        x0, x1 = sorted((start.x(), end.x()))
        y0, y1 = sorted((start.y(), end.y()))
        if x1 - x0 >= MIN_REGION_SIDE and y1 - y0 >= MIN_REGION_SIDE:
            self.on_region((x0, y0, x1, y1))
        return True

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
        painter.drawRect(QRectF(self._start, self._end).normalized())
