"""The inspector's pictures on the canvas, at the image's geometry: the live mask, the leakage view,
an enlarged prototype, and the region re-inference's rectangle and candidates.

Only scene items live here; what they show comes from the InspectorState. Masks are computed in
the detection's box window (LiveMask) and shown as indexed pixmaps; prototype-resolution pictures
are drawn with a scale transform, so Qt does the resizing. Updates are coalesced: a burst of slider
moves within one event-loop turn costs one recomputation.
"""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QImage, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem

from protolabel.app.canvas.items import shape_path
from protolabel.app.inspector.pictures import heatmap_qimage, indexed_qimage, mask_indices, with_alpha
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.inspection.cache import NO_OBJECT
from protolabel.segmentation.inspection.live import LiveMask
from protolabel.segmentation.inspection.state import InspectorState

Z_ENLARGED, Z_LEAK, Z_PREVIEW, Z_REGION = 4, 5, 6, 7
PREVIEW = QColor("#22d3ee")
LEAK_INSIDE = QColor("#34d399")
LEAK_OUTSIDE = QColor("#f43f5e")
CANDIDATE = QColor("#ffd60a")
EDITED_OBJECT_OPACITY = 0.3  # the object's polygon stays visible, faintly, under its edited mask
WHOLE_FRAME = np.array([0.0, 0.0, 1.0, 1.0], np.float32)  # a "box" that crops nothing: the uncropped mask

_PREVIEW_COLORS = [QColor(0, 0, 0, 0), with_alpha(PREVIEW, 110), with_alpha(PREVIEW, 255)]
_LEAK_COLORS = [
    QColor(0, 0, 0, 0),
    with_alpha(LEAK_INSIDE, 80),
    with_alpha(LEAK_INSIDE, 230),
    with_alpha(LEAK_OUTSIDE, 130),
    with_alpha(LEAK_OUTSIDE, 255),
]


def _cosmetic_pen(color: QColor, width: float = 1.5, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class CanvasOverlay(QObject):
    """Keeps the canvas's inspector items in step with the state (the canvas clears its scene per image)."""

    def __init__(self, canvas, state: InspectorState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.state = state
        self._items: dict[str, QGraphicsItem] = {}
        self._candidates: list[QGraphicsPathItem] = []
        self._region: tuple[tuple[int, int, int, int], list[Shape]] | None = None
        self._dimmed: int | None = None
        self._uncropped: tuple[object, int, LiveMask] | None = None
        self._dirty: set[str] = set()
        self.preview_visible = False
        e = state.events
        e.coefficients_changed.connect(lambda *_: self.schedule("preview", "leak"))
        e.detection_changed.connect(lambda *_: self.schedule("preview", "leak"))
        e.leakage_changed.connect(lambda *_: self.schedule("leak"))
        e.enlarged_changed.connect(lambda *_: self.schedule("enlarged"))
        e.scaling_changed.connect(lambda *_: self.schedule("enlarged"))
        e.record_changed.connect(lambda *_: self.schedule("preview", "leak", "enlarged"))

    # ---------------------------------------------------------------- scheduling
    def schedule(self, *parts: str) -> None:
        if not self._dirty:
            QTimer.singleShot(0, self.flush)
        self._dirty.update(parts)

    def flush(self) -> None:
        """Bring the scheduled parts up to date now."""
        dirty, self._dirty = self._dirty, set()
        if "preview" in dirty:
            self.update_preview()
        if "leak" in dirty:
            self.update_leak()
        if "enlarged" in dirty:
            self.update_enlarged()

    def refresh(self) -> None:
        """Everything again (a new image is on the canvas: its scene was cleared)."""
        self._dimmed = None
        self._region = None
        self._candidates = []
        self.schedule("preview", "leak", "enlarged")

    # ---------------------------------------------------------------- items
    def _item(self, key: str, factory) -> QGraphicsItem:
        item = self._items.get(key)
        if item is None or not shiboken6.isValid(item) or item.scene() is not self.canvas.scene():
            item = factory()
            self.canvas.scene().addItem(item)
            self._items[key] = item
        return item

    def _hide(self, *keys: str) -> None:
        for key in keys:
            item = self._items.get(key)
            if item is not None and shiboken6.isValid(item):
                item.setVisible(False)

    def item(self, key: str) -> QGraphicsItem | None:
        """A live overlay item ('preview', 'leak', 'box', 'enlarged', 'region'), or None."""
        item = self._items.get(key)
        return item if item is not None and shiboken6.isValid(item) and item.scene() is self.canvas.scene() else None

    def _pixmap_item(self, key: str, z: float) -> QGraphicsPixmapItem:
        def make() -> QGraphicsPixmapItem:
            item = QGraphicsPixmapItem()
            item.setZValue(z)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            return item

        return self._item(key, make)

    # ---------------------------------------------------------------- the live mask
    def _shows_preview(self) -> bool:
        """The edited mask, or a detection that is no object yet (nothing else shows it on the canvas)."""
        state = self.state
        if state.detection is None or state.record is None or self.canvas.image_size_wh() == (0, 0):
            return False
        return state.edited or state.record.object_ids[state.detection] == NO_OBJECT

    def update_preview(self) -> None:
        self._dim_object(self.state.selected_object_id if self.state.edited else None)
        if not self._shows_preview():
            self._hide("preview")
            self.preview_visible = False
            return
        window = self.state.live_mask()
        item = self._pixmap_item("preview", Z_PREVIEW)
        origin = self.state.record.origin
        if window.empty:
            item.setVisible(False)
        else:
            item.setPixmap(QPixmap.fromImage(indexed_qimage(mask_indices(window.mask), _PREVIEW_COLORS)))
            item.setPos(origin[0] + window.x0, origin[1] + window.y0)
            item.setVisible(True)
        self.preview_visible = True

    def _dim_object(self, object_id: int | None) -> None:
        if object_id == self._dimmed:
            return
        for oid, opacity in ((self._dimmed, 1.0), (object_id, EDITED_OBJECT_OPACITY)):
            item = self.canvas.items_by_id.get(oid) if oid is not None else None
            if item is not None and shiboken6.isValid(item):
                item.setOpacity(opacity)
        self._dimmed = object_id

    # ---------------------------------------------------------------- leakage
    def update_leak(self) -> None:
        state = self.state
        record, i = state.record, state.detection
        if not state.show_leakage or record is None or i is None or self.canvas.image_size_wh() == (0, 0):
            self._hide("leak", "box")
            return
        if self._uncropped is None or self._uncropped[0] is not record or self._uncropped[1] != i:
            self._uncropped = (record, i, LiveMask(record.prototypes, WHOLE_FRAME, record.frame_size))
        window = self._uncropped[2].compute(state.coefficients)
        indices = mask_indices(window.mask)
        x1, y1, x2, y2 = record.box_in_image(i)
        ox, oy = record.origin[0] + window.x0, record.origin[1] + window.y0
        outside = np.where(indices > 0, indices + 2, 0).astype(np.uint8)
        rows, cols = indices.shape
        c0, c1 = (int(np.clip(v, 0, cols)) for v in (np.floor(x1 - ox), np.ceil(x2 - ox)))
        r0, r1 = (int(np.clip(v, 0, rows)) for v in (np.floor(y1 - oy), np.ceil(y2 - oy)))
        outside[r0:r1, c0:c1] = indices[r0:r1, c0:c1]  # inside the box: the colours of what the crop keeps
        item = self._pixmap_item("leak", Z_LEAK)
        item.setPixmap(QPixmap.fromImage(indexed_qimage(outside, _LEAK_COLORS)))
        item.setPos(ox, oy)
        item.setVisible(True)

        def make_box() -> QGraphicsRectItem:
            box = QGraphicsRectItem()
            box.setZValue(Z_LEAK + 0.5)
            box.setPen(_cosmetic_pen(QColor("#ffd60a"), 2, Qt.PenStyle.DashLine))
            box.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            return box

        box = self._item("box", make_box)
        box.setRect(QRectF(x1, y1, x2 - x1, y2 - y1))
        box.setVisible(True)

    def leaked_pixels(self) -> int:
        """Pixels of the uncropped mask outside the box (what the leakage view paints red)."""
        item = self.item("leak")
        if item is None or not item.isVisible():
            return 0
        image = item.pixmap().toImage().convertToFormat(QImage.Format.Format_ARGB32)
        bgra = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
        bgra = bgra[:, : image.width()]
        return int(np.count_nonzero((bgra[..., 3] > 0) & (bgra[..., 2] > bgra[..., 1])))  # red, not green

    # ---------------------------------------------------------------- enlarged prototype
    def update_enlarged(self) -> None:
        state = self.state
        record, j = state.record, state.enlarged
        if record is None or j is None or self.canvas.image_size_wh() == (0, 0):
            self._hide("enlarged")
            return
        lo, hi = state.prototype_ranges()
        item = self._pixmap_item("enlarged", Z_ENLARGED)
        item.setPixmap(QPixmap.fromImage(heatmap_qimage(record.prototypes[:, :, j], float(lo[j]), float(hi[j]))))
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        h, w = record.prototypes.shape[:2]
        fh, fw = record.frame_size
        item.setTransform(QTransform.fromScale(fw / w, fh / h))  # prototypes cover the frame, stretched
        item.setPos(*record.origin)
        item.setOpacity(0.75)
        item.setVisible(True)

    # ---------------------------------------------------------------- region re-inference
    def show_region(self, rect: tuple[int, int, int, int], candidates: list[Shape]) -> None:
        """The re-inferred rectangle and the outlines of the detections offered for adding."""
        self.clear_region()
        x0, y0, x1, y1 = rect

        def make_rect() -> QGraphicsRectItem:
            item = QGraphicsRectItem()
            item.setZValue(Z_REGION)
            item.setPen(_cosmetic_pen(QColor("white"), 1.5, Qt.PenStyle.DashDotLine))
            return item

        region = self._item("region", make_rect)
        region.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        region.setVisible(True)
        for shape in candidates:
            item = QGraphicsPathItem(shape_path(shape))
            item.setZValue(Z_REGION)
            item.setPen(_cosmetic_pen(CANDIDATE, 2, Qt.PenStyle.DashLine))
            item.setBrush(QBrush(with_alpha(CANDIDATE, 50)))
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.canvas.scene().addItem(item)
            self._candidates.append(item)
        self._region = (rect, list(candidates))

    def clear_region(self) -> None:
        for item in self._candidates:
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self._candidates = []
        self._hide("region")
        self._region = None

    @property
    def candidate_count(self) -> int:
        return sum(1 for i in self._candidates if shiboken6.isValid(i) and i.scene() is self.canvas.scene())
