"""What mouse and keys do on the canvas: the edit tool (select, move, vertex edits, pan) and the draw tool.

Tools never change a document: a finished gesture is emitted by the canvas as an intent
(`shape_edited`, `polygon_drawn`, `delete_requested`, `stroke_painted`), which a controller turns into an undoable
change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPen

from protolabel.segmentation.geometry import shape_edits as se
from protolabel.segmentation.geometry.shapes import Shape

HANDLE_PX = 7.0  # vertex handle size and pick tolerance, in screen pixels
EDGE_PICK_PX = 6.0


class CanvasTool:
    """Base: ignores everything. `canvas` is the CanvasView."""

    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, canvas) -> None:
        self.canvas = canvas

    def press(self, event: QMouseEvent, pos: QPointF) -> bool:
        return False

    def move(self, event: QMouseEvent, pos: QPointF) -> bool:
        return False

    def release(self, event: QMouseEvent, pos: QPointF) -> bool:
        return False

    def double_click(self, event: QMouseEvent, pos: QPointF) -> bool:
        return False

    def key(self, event: QKeyEvent) -> bool:
        return False

    def paint(self, painter: QPainter, scale: float) -> None:
        pass

    def cancel(self) -> None:
        pass


@dataclass
class _VertexDrag:
    object_id: int
    vertex: se.VertexRef
    original: Shape  # shape before the gesture (the undo point)
    base: Shape  # shape the drag moves a vertex of (original, or with an inserted vertex)
    text: str
    current: Shape | None = None


@dataclass
class _MoveDrag:
    object_id: int
    start: QPointF
    original: Shape
    current: Shape | None = None


@dataclass
class _PanDrag:
    start: QPointF  # viewport coordinates
    h: int
    v: int


class EditTool(CanvasTool):
    """Select, move objects, drag/insert/delete vertices, pan on empty space."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self._drag: _VertexDrag | _MoveDrag | _PanDrag | None = None
        self.hover_vertex: se.VertexRef | None = None
        self.hover_edge: se.EdgeHit | None = None

    # ---------------------------------------------------------------- helpers
    def _selected_item(self):
        object_id = self.canvas.selection.single if self.canvas.selection is not None else None
        return None if object_id is None else self.canvas.items_by_id.get(object_id)

    def _tolerance(self, px: float) -> float:
        return px / max(self.canvas.scale_factor(), 1e-6)

    def _clamp(self, pos: QPointF) -> tuple[float, float]:
        w, h = self.canvas.image_size_wh()
        return float(np.clip(pos.x(), 0, w)), float(np.clip(pos.y(), 0, h))

    # ---------------------------------------------------------------- events
    def press(self, event: QMouseEvent, pos: QPointF) -> bool:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._start_pan(event)
            return True
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        xy = (pos.x(), pos.y())
        modifiers = event.modifiers()
        item = self._selected_item()
        if item is not None:
            shape = item.shape_now
            vertex = se.nearest_vertex(shape, xy, self._tolerance(HANDLE_PX))
            if vertex is not None:
                if modifiers & Qt.KeyboardModifier.ShiftModifier:
                    self._delete_vertex(item, vertex)
                else:
                    self._drag = _VertexDrag(item.object_id, vertex, shape, shape, "Move vertex")
                return True
            edge = se.nearest_edge(shape, xy, self._tolerance(EDGE_PICK_PX))
            # Ctrl+click on an edge inserts a vertex (many Linux window managers take Alt+drag)
            if edge is not None and modifiers & (Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.ControlModifier):
                new_shape, vertex = se.insert_vertex(shape, edge.edge, edge.point)
                item.show_shape(new_shape)
                self._drag = _VertexDrag(item.object_id, vertex, shape, new_shape, "Insert vertex", new_shape)
                self.canvas.viewport().update()
                return True
        hit = self.canvas.object_at(pos)
        if modifiers & Qt.KeyboardModifier.ControlModifier:  # Ctrl+click adds to or removes from the selection
            if hit is not None and self.canvas.selection is not None:
                self.canvas.selection.set(self.canvas.selection.ids ^ {hit})
            return True
        if hit is not None:
            self.canvas.selection.set([hit])
            target = self.canvas.items_by_id[hit]
            self._drag = _MoveDrag(hit, QPointF(pos), target.shape_now)
            return True
        if self.canvas.selection is not None:
            self.canvas.selection.clear()
        self._start_pan(event)
        return True

    def _start_pan(self, event: QMouseEvent) -> None:
        self._drag = _PanDrag(
            event.position(), self.canvas.horizontalScrollBar().value(), self.canvas.verticalScrollBar().value()
        )
        self.canvas.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, event: QMouseEvent, pos: QPointF) -> bool:
        drag = self._drag
        if isinstance(drag, _PanDrag):
            delta = event.position() - drag.start
            self.canvas.horizontalScrollBar().setValue(int(drag.h - delta.x()))
            self.canvas.verticalScrollBar().setValue(int(drag.v - delta.y()))
            return True
        if isinstance(drag, _VertexDrag):
            drag.current = se.move_vertex(drag.base, drag.vertex, self._clamp(pos))
            self.canvas.items_by_id[drag.object_id].show_shape(drag.current)
            self.canvas.viewport().update()
            return True
        if isinstance(drag, _MoveDrag):
            delta = pos - drag.start
            drag.current = drag.original.translated(delta.x(), delta.y())
            self.canvas.items_by_id[drag.object_id].show_shape(drag.current)
            self.canvas.viewport().update()
            return True
        self._update_hover(pos)
        return False

    def release(self, event: QMouseEvent, pos: QPointF) -> bool:
        drag, self._drag = self._drag, None
        self.canvas.viewport().unsetCursor()
        if isinstance(drag, _VertexDrag) and drag.current is not None and drag.current != drag.original:
            self.canvas.shape_edited.emit(drag.object_id, drag.current, drag.text)
        elif isinstance(drag, _MoveDrag) and drag.current is not None and drag.current != drag.original:
            self.canvas.shape_edited.emit(drag.object_id, drag.current, "Move object")
        if isinstance(drag, (_VertexDrag, _MoveDrag)) and drag.object_id in self.canvas.items_by_id:
            item = self.canvas.items_by_id[drag.object_id]
            item.show_shape(item.obj.shape)  # the saved shape: a click, or an edit the store refused, changes nothing
        self._update_hover(pos)
        return drag is not None

    def double_click(self, event: QMouseEvent, pos: QPointF) -> bool:
        item = self._selected_item()
        if item is None or event.button() != Qt.MouseButton.LeftButton:
            return False
        xy = (pos.x(), pos.y())
        if se.nearest_vertex(item.shape_now, xy, self._tolerance(HANDLE_PX)) is not None:
            return False
        edge = se.nearest_edge(item.shape_now, xy, self._tolerance(EDGE_PICK_PX))
        if edge is None:
            return False
        new_shape, _ = se.insert_vertex(item.shape_now, edge.edge, edge.point)
        self.canvas.shape_edited.emit(item.object_id, new_shape, "Insert vertex")
        return True

    def key(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_Backspace and self.hover_vertex is not None:
            item = self._selected_item()
            if item is not None:
                self._delete_vertex(item, self.hover_vertex)
                return True
        if event.key() == Qt.Key.Key_Escape and self.canvas.selection is not None:
            self.cancel()
            self.canvas.selection.clear()
            return True
        return False

    def cancel(self) -> None:
        drag, self._drag = self._drag, None
        if isinstance(drag, (_VertexDrag, _MoveDrag)) and drag.object_id in self.canvas.items_by_id:
            item = self.canvas.items_by_id[drag.object_id]
            item.show_shape(item.obj.shape)

    def _delete_vertex(self, item, vertex: se.VertexRef) -> None:
        new_shape = se.delete_vertex(item.shape_now, vertex)
        self.hover_vertex = None
        if new_shape.is_empty():
            self.canvas.delete_requested.emit([item.object_id])
        else:
            self.canvas.shape_edited.emit(item.object_id, new_shape, "Delete vertex")

    def _update_hover(self, pos: QPointF) -> None:
        item = self._selected_item()
        vertex = edge = None
        if item is not None:
            xy = (pos.x(), pos.y())
            vertex = se.nearest_vertex(item.shape_now, xy, self._tolerance(HANDLE_PX))
            if vertex is None:
                edge = se.nearest_edge(item.shape_now, xy, self._tolerance(EDGE_PICK_PX))
        if vertex != self.hover_vertex or (edge is None) != (self.hover_edge is None) or edge is not None:
            self.hover_vertex, self.hover_edge = vertex, edge
            self.canvas.viewport().update()
        if vertex is not None:
            self.canvas.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        elif edge is not None:
            self.canvas.viewport().setCursor(Qt.CursorShape.CrossCursor)
        elif self.canvas.object_at(pos) is not None:
            self.canvas.viewport().setCursor(Qt.CursorShape.SizeAllCursor)
        else:
            self.canvas.viewport().unsetCursor()

    def paint(self, painter: QPainter, scale: float) -> None:
        """Vertex handles of the selected object, the hovered vertex or edge point highlighted."""
        item = self._selected_item()
        if item is None or not item.shown:
            return
        size = HANDLE_PX / scale
        pen = QPen(QColor("black"), 1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor("white"))
        rects = [
            QRectF(x - size / 2, y - size / 2, size, size) for _, ring in se.rings(item.shape_now) for x, y in ring
        ]
        painter.drawRects(rects)
        if self.hover_vertex is not None and self._drag is None:
            ring = se.ring_of(item.shape_now, self.hover_vertex)
            if self.hover_vertex.index < len(ring):
                x, y = ring[self.hover_vertex.index]
                painter.setBrush(QColor("#ff3b30"))
                painter.drawRect(QRectF(x - size * 0.75, y - size * 0.75, size * 1.5, size * 1.5))
        elif self.hover_edge is not None and self._drag is None:
            x, y = self.hover_edge.point
            painter.setBrush(QColor("#ffd60a"))
            painter.drawEllipse(QPointF(x, y), size * 0.6, size * 0.6)


class DrawTool(CanvasTool):
    """Click points to draw a polygon; closing emits `polygon_drawn(ring)`."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.points: list[tuple[float, float]] = []
        self._cursor_pos: QPointF | None = None

    def _near_first(self, pos: QPointF) -> bool:
        if len(self.points) < 3:
            return False
        x, y = self.points[0]
        return np.hypot(pos.x() - x, pos.y() - y) <= HANDLE_PX / max(self.canvas.scale_factor(), 1e-6)

    def press(self, event: QMouseEvent, pos: QPointF) -> bool:
        if event.button() == Qt.MouseButton.RightButton:
            self.undo_point()
            return True
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if self._near_first(pos):
            self.finish()
            return True
        w, h = self.canvas.image_size_wh()
        point = (float(np.clip(pos.x(), 0, w)), float(np.clip(pos.y(), 0, h)))
        if not self.points or point != self.points[-1]:
            self.points.append(point)
        self.canvas.viewport().update()
        return True

    def move(self, event: QMouseEvent, pos: QPointF) -> bool:
        self._cursor_pos = QPointF(pos)
        if self.points:
            self.canvas.viewport().update()
        return False

    def double_click(self, event: QMouseEvent, pos: QPointF) -> bool:
        if event.button() == Qt.MouseButton.LeftButton and len(self.points) >= 3:
            self.finish()
            return True
        return False

    def key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
            return True
        if event.key() == Qt.Key.Key_Escape and self.points:
            self.cancel()
            return True
        if event.key() == Qt.Key.Key_Backspace:
            self.undo_point()
            return True
        return False

    def undo_point(self) -> None:
        if self.points:
            self.points.pop()
            self.canvas.viewport().update()

    def finish(self) -> None:
        if len(self.points) >= 3:
            ring = np.asarray(self.points, dtype=np.float64)
            self.points = []
            self.canvas.polygon_drawn.emit(ring)
        self.canvas.viewport().update()

    def cancel(self) -> None:
        self.points = []
        self.canvas.viewport().update()

    def paint(self, painter: QPainter, scale: float) -> None:
        if not self.points:
            return
        pen = QPen(QColor("#ffd60a"), 2)
        pen.setCosmetic(True)
        painter.setPen(pen)
        points = [QPointF(x, y) for x, y in self.points]
        if self._cursor_pos is not None:
            points.append(self._cursor_pos)
        painter.drawPolyline(points)
        size = HANDLE_PX / scale
        painter.setBrush(QColor("#ffd60a"))
        for i, p in enumerate(points[: len(self.points)]):
            r = size * (0.9 if i == 0 and len(self.points) >= 3 else 0.5)
            painter.drawEllipse(p, r, r)
