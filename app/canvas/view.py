"""CanvasView: one image and its objects; zoom to the cursor, pan, fit, hide all; tools for editing."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPixmap, QPixmapCache, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsTextItem, QGraphicsView

from protolabel.app.canvas.items import ObjectItem, bgr_to_qimage
from protolabel.app.canvas.object_zoom import object_view
from protolabel.app.canvas.paint_tools import MAX_RADIUS, MIN_RADIUS, BoxShapeTool, BrushTool
from protolabel.app.canvas.tools import CanvasTool, DrawTool, EditTool
from protolabel.app.colors import label_color
from protolabel.segmentation.geometry import shape_edits as se
from protolabel.segmentation.project.document import Change, ImageAnnotations
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.visibility import Visibility

MIN_SCALE, MAX_SCALE = 0.02, 64.0
REBUILD_CHUNK = 10  # objects added per event-loop turn when a document reloads (keeps each UI block short)
PIXMAP_CACHE_KB = 256 * 1024  # object item caches (QPixmapCache's default, 10 MB, thrashes at 200 objects)
DEFAULT_BRUSH_RADIUS = 8.0  # image pixels
FIT_MARGIN = 2  # view pixels fitInView leaves on each side: the object zoom's "whole image" is the same as Fit's
PLACEHOLDER_Z = 10  # "Cannot show this image" sits over the objects (1, selected 2) and the tools' marks


class CanvasView(QGraphicsView):
    """Shows the current document as the visibility model says; emits what the user did, never edits the
    document itself."""

    shape_edited = Signal(int, object, str)  # object id, new Shape, undo text
    polygon_drawn = Signal(object)  # ring (N, 2) float64, image pixels
    delete_requested = Signal(object)  # list of object ids
    stroke_painted = Signal(object, object, bool)  # object id or None (a new object), BrushStroke, erase
    leave_mode_requested = Signal()  # Esc with nothing to cancel in a tool other than the edit tool
    zoom_changed = Signal(float)
    cursor_moved = Signal(float, float)  # image coordinates under the mouse
    context_menu_requested = Signal(object, object)  # object id under the mouse (or None), global QPoint

    def __init__(self, visibility: Visibility | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setScene(QGraphicsScene(self))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # zoom_by anchors itself
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), PIXMAP_CACHE_KB))
        self.setBackgroundBrush(QBrush(QColor("#1e1f22")))
        self.setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pan by dragging
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.document: ImageAnnotations | None = None
        self.selection: Selection | None = None
        self.items_by_id: dict[int, ObjectItem] = {}
        self._pending_objects: list = []
        self._build_generation = 0
        self.visibility = visibility if visibility is not None else Visibility()
        self.visibility.events.changed.connect(self._update_visibility)
        self._image_item: QGraphicsPixmapItem | None = None
        self._image_wh = (0, 0)
        self._placeholder: QGraphicsTextItem | None = None
        self.edit_tool = EditTool(self)
        self.draw_tool = DrawTool(self)
        self.brush_radius = DEFAULT_BRUSH_RADIUS
        self.tools: dict[str, CanvasTool] = {
            "edit": self.edit_tool,
            "draw": self.draw_tool,
            "brush": BrushTool(self, erase=False),
            "eraser": BrushTool(self, erase=True),
            "rectangle": BoxShapeTool(self, ellipse=False),
            "ellipse": BoxShapeTool(self, ellipse=True),
        }
        self.tool: CanvasTool = self.edit_tool

    # ---------------------------------------------------------------- content
    def show_image(
        self,
        image: np.ndarray | None,
        document: ImageAnnotations | None,
        selection: Selection | None,
        error: str | None = None,
    ) -> None:
        """Show an image (or a placeholder with the reason it cannot be shown) and the document's objects."""
        self._unbind()
        self.tool.cancel()
        scene = self.scene()
        scene.clear()
        self.items_by_id = {}
        self._image_item = self._placeholder = None
        self.document, self.selection = document, selection
        if image is not None:
            self._image_item = scene.addPixmap(QPixmap.fromImage(bgr_to_qimage(image)))
            self._image_item.setZValue(0)
            self._image_wh = (image.shape[1], image.shape[0])
        else:
            self._image_wh = (0, 0)
            if error is not None:
                self._placeholder = scene.addText(f"Cannot show this image\n\n{error}", QFont("Sans", 12))
                self._placeholder.setDefaultTextColor(QColor("#e5e7eb"))
                self._placeholder.setTextWidth(520)
                # Over the image's objects (still drawn and listed: a moved file loses none), on a dark plate
                # so the reason reads; clicks go through to the objects.
                self._placeholder.setZValue(PLACEHOLDER_Z)
                self._placeholder.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
                plate = scene.addRect(self._placeholder.boundingRect(), Qt.PenStyle.NoPen, QColor(17, 24, 39, 225))
                plate.setZValue(PLACEHOLDER_Z - 0.5)
                plate.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        rect = self._content_rect()
        margin = max(rect.width(), rect.height())  # room to pan past the edges and zoom anywhere
        scene.setSceneRect(rect.adjusted(-margin, -margin, margin, margin))
        if document is not None:
            document.events.changed.connect(self._on_change)
            document.events.reloaded.connect(self._rebuild_in_steps)
        if selection is not None:
            selection.events.changed.connect(self._on_selection)
        self._rebuild()
        self.fit()

    def _unbind(self) -> None:
        if self.document is not None:
            self.document.events.changed.disconnect(self._on_change)
            self.document.events.reloaded.disconnect(self._rebuild_in_steps)
        if self.selection is not None:
            self.selection.events.changed.disconnect(self._on_selection)

    def _content_rect(self) -> QRectF:
        if self._image_item is not None:
            return QRectF(0, 0, *self._image_wh)
        if self._placeholder is not None:
            return self._placeholder.boundingRect()
        return QRectF(0, 0, 1, 1)

    def image_size_wh(self) -> tuple[int, int]:
        return self._image_wh

    def _rebuild(self) -> None:
        """Replace every item at once (a newly shown image)."""
        self._start_rebuild()
        self.finish_building()

    def _rebuild_in_steps(self) -> None:
        """Replace every item, REBUILD_CHUNK per event-loop turn: an auto-label result for the image on
        screen (100 objects) would otherwise block the UI for ~80 ms while items are built and painted."""
        self._start_rebuild()
        self._build_step(self._build_generation)

    def _start_rebuild(self) -> None:
        self._build_generation += 1
        for item in self.items_by_id.values():
            self.scene().removeItem(item)
        self.items_by_id = {}
        self._pending_objects = [] if self.document is None else self.document.objects

    def _build_step(self, generation: int) -> None:
        if generation != self._build_generation:
            return  # a newer rebuild (or a change that finished this one) took over
        for obj in self._pending_objects[:REBUILD_CHUNK]:
            self._add_item(obj)
        del self._pending_objects[:REBUILD_CHUNK]
        if self._pending_objects:
            QTimer.singleShot(0, lambda: self._build_step(generation))
        else:
            self._built()

    def finish_building(self) -> None:
        """Add every item still waiting (before an edit touches them, or when a test needs them all)."""
        self._build_generation += 1
        for obj in self._pending_objects:
            self._add_item(obj)
        self._pending_objects = []
        self._built()

    @property
    def building(self) -> bool:
        return bool(self._pending_objects)

    def _built(self) -> None:
        if self.selection is not None:
            self.selection.discard_missing(self.items_by_id)
            self._on_selection(self.selection.ids)
        self.viewport().update()

    def _add_item(self, obj) -> ObjectItem:
        item = ObjectItem(obj, label_color(obj.label))
        item.setZValue(1)
        item.set_shown(not self.visibility.hides(obj))
        self.scene().addItem(item)
        self.items_by_id[obj.id] = item
        return item

    def _on_change(self, change: Change) -> None:
        self.tool.cancel()
        if self._pending_objects:
            self.finish_building()
        for object_id in change.removed_ids:
            item = self.items_by_id.pop(object_id, None)
            if item is not None:
                self.scene().removeItem(item)
        for obj in change.after:
            item = self.items_by_id.get(obj.id)
            if item is None:
                self._add_item(obj)
            else:
                item.set_object(obj, label_color(obj.label))
                item.set_shown(not self.visibility.hides(obj))  # its class or score may hide it now
        if self.selection is not None:
            self.selection.discard_missing(self.items_by_id)
            self._on_selection(self.selection.ids)
        self.viewport().update()

    def _on_selection(self, ids) -> None:
        for object_id, item in self.items_by_id.items():
            item.set_selected(object_id in ids)
        self.viewport().update()

    @property
    def objects_visible(self) -> bool:
        """False while every object is hidden (View ▸ Hide objects)."""
        return self.visibility.all_shown

    def _update_visibility(self) -> None:
        """Draw each object as the visibility model says (its class, eye toggle, score, or all hidden)."""
        for item in self.items_by_id.values():
            item.set_shown(not self.visibility.hides(item.obj))
        self.viewport().update()

    def zoom_to(self, object_id: int) -> bool:
        """Show the object with room around it, the zoom bounded by `object_zoom` (never past the whole image,
        never so close that a tiny object loses its surroundings). False if it is not shown."""
        item = self.items_by_id.get(object_id)
        if item is None or item.shape_now.is_empty():
            return False
        rect = self._content_rect()
        viewport = self.viewport().rect().adjusted(FIT_MARGIN, FIT_MARGIN, -FIT_MARGIN, -FIT_MARGIN)
        view = object_view(
            item.shape_now.bounds(), (viewport.width(), viewport.height()), (rect.width(), rect.height()), MAX_SCALE
        )
        self.setTransform(QTransform.fromScale(view.scale, view.scale))
        self.centerOn(view.centre_x, view.centre_y)
        self._zoomed()
        return True

    def set_tool(self, tool: CanvasTool) -> None:
        if tool is not self.tool:
            self.tool.cancel()
            self.tool = tool
            self.viewport().setCursor(tool.cursor)
            self.viewport().update()

    def object_at(self, pos: QPointF) -> int | None:
        """The topmost visible object under a scene point (holes do not count as inside)."""
        if not self.objects_visible:
            return None
        xy = (pos.x(), pos.y())
        candidates = [i for i in self.scene().items(pos) if isinstance(i, ObjectItem) and i.shown]
        for item in candidates:  # scene.items() is topmost first
            if se.contains(item.shape_now, xy):
                return item.object_id
        return None

    # ---------------------------------------------------------------- zoom and fit
    def scale_factor(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        rect = self._content_rect()
        if rect.width() > 0 and rect.height() > 0:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            self._zoomed()

    def _zoomed(self) -> None:
        """Smooth the image only when it is shrunk; zoomed in, a person wants to see the pixels."""
        if self._image_item is not None:
            smooth = self.scale_factor() < 1.0
            self._image_item.setTransformationMode(
                Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
            )
        self.zoom_changed.emit(self.scale_factor())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the scene point under `anchor` (viewport coordinates; default: the centre) in place."""
        current = self.scale_factor()
        factor = min(max(current * factor, MIN_SCALE), MAX_SCALE) / current
        if factor == 1.0:
            return
        at = anchor.toPoint() if anchor is not None else self.viewport().rect().center()
        fixed = self.mapToScene(at)
        self.scale(factor, factor)
        moved = self.mapFromScene(fixed) - at
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())
        self._zoomed()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt name)
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015**delta, event.position())  # one notch (120) = x1.2, at the cursor
        event.accept()

    # ---------------------------------------------------------------- events to the tool
    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setFocus()
        if not self.tool.press(event, self.mapToScene(event.position().toPoint())):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = self.mapToScene(event.position().toPoint())
        self.cursor_moved.emit(pos.x(), pos.y())
        if not self.tool.move(event, pos):
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if not self.tool.release(event, self.mapToScene(event.position().toPoint())):
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if not self.tool.double_click(event, self.mapToScene(event.position().toPoint())):
            super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        if self.tool is not self.edit_tool:
            return  # right click while drawing removes the last point (the tool handled the press)
        self.context_menu_requested.emit(self.object_at(self.mapToScene(event.pos())), event.globalPos())
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if self.tool.key(event):
            return
        if event.key() == Qt.Key.Key_Escape and self.tool is not self.edit_tool:
            self.leave_mode_requested.emit()  # Esc leaves any mode back to editing
            return
        super().keyPressEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        self.tool.paint(painter, max(self.scale_factor(), 1e-6))

    def use_tool(self, name: str) -> None:
        """Switch to a tool by name (`tools`: edit, draw, brush, eraser, rectangle, ellipse)."""
        self.set_tool(self.tools[name])

    def set_brush_radius(self, radius: float) -> None:
        """The brush and eraser radius in image pixels (the cursor circle shows it)."""
        self.brush_radius = float(min(max(radius, MIN_RADIUS), MAX_RADIUS))
        self.viewport().update()
