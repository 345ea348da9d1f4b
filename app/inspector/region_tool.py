"""The region tool: drag a rectangle on the canvas to run the model again on that part of the image."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel, QWidget

from protolabel.app.canvas.paint_tools import BoxDragTool
from protolabel.segmentation.geometry.boxes import ordered_box
from protolabel.segmentation.inspection.region import MIN_REGION_SIDE

REGION_HINT = (
    "Re-detect in region: drag a rectangle over the part of the image to run the model on again "
    "(small objects come out better). Esc leaves."
)


class RegionHint(QLabel):
    """A note in the canvas's top-left corner while the region tool is active (a child of the view, not of
    its viewport, so it stays put when the image scrolls)."""

    def __init__(self, canvas: QWidget) -> None:
        super().__init__(REGION_HINT, canvas)
        self.setObjectName("region_hint")
        self.setWordWrap(True)
        self.setStyleSheet(
            "QLabel#region_hint { background: rgba(20, 20, 24, 200); color: #ffd60a;"
            " padding: 6px 10px; border-radius: 4px; }"
        )
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


class RegionTool(BoxDragTool):
    """Press, drag, release: `on_region((x0, y0, x1, y1))` in image pixels. Esc cancels the drag."""

    def __init__(self, canvas, on_region: Callable[[tuple[float, float, float, float]], None]) -> None:
        super().__init__(canvas)
        self.on_region = on_region

    def finish(self, start: QPointF, end: QPointF) -> None:
        x0, y0, x1, y1 = ordered_box((start.x(), start.y(), end.x(), end.y()))
        if x1 - x0 >= MIN_REGION_SIDE and y1 - y0 >= MIN_REGION_SIDE:
            self.on_region((x0, y0, x1, y1))
