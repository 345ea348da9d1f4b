"""Drawing widgets of the inspector: a grid of captioned image tiles, a signed bar chart, coefficient sliders.

They show what they are given and report what the user did (signals); the dock binds them to the
InspectorState. None of them keeps model data of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QSlider, QToolButton, QWidget

from protolabel.segmentation.inspection.state import COEFFICIENT_LIMIT

CAPTION_H = 13
GAP = 4
POSITIVE = QColor("#e8743b")
NEGATIVE = QColor("#4f7fd8")
SLIDER_STEPS = 1000  # slider units per 1.0 of coefficient


@dataclass
class Tile:
    image: QImage
    caption: str
    border: QColor | None = None  # a mark (most relied on, dead)
    box: tuple[float, float, float, float] | None = None  # (x1, y1, x2, y2) in 0..1 of the tile, drawn dashed
    dim: bool = False
    label: str = ""  # drawn in the image's top-left corner (e.g. the prototype index)


class TileGrid(QWidget):
    """Captioned image tiles in as many columns as fit; reports clicks and the point under the mouse."""

    clicked = Signal(int)
    hovered = Signal(int, float, float)  # tile, x and y in 0..1 of its image; tile -1 when the mouse left

    def __init__(self, min_tile: int = 64, aspect: float = 1.0, max_columns: int = 12, parent=None) -> None:
        super().__init__(parent)
        self.min_tile, self.aspect, self.max_columns = min_tile, aspect, max_columns
        self.tiles: list[Tile] = []
        self.highlight: int | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._font = QFont(self.font())
        self._font.setPointSizeF(7)

    def set_tiles(self, tiles: Sequence[Tile], aspect: float | None = None) -> None:
        self.tiles = list(tiles)
        if aspect is not None:
            self.aspect = aspect
        self._fit_height()
        self.update()

    def set_highlight(self, index: int | None) -> None:
        if index != self.highlight:
            self.highlight = index
            self.update()

    # ---------------------------------------------------------------- geometry
    def _layout(self, width: int) -> tuple[int, float, float]:
        columns = max(1, min(self.max_columns, (width + GAP) // (self.min_tile + GAP), len(self.tiles) or 1))
        tile_w = (width - GAP * (columns - 1)) / columns
        return columns, tile_w, tile_w * self.aspect

    def _height_for(self, width: int) -> int:
        if not self.tiles:
            return 0
        columns, _, tile_h = self._layout(width)
        rows = math.ceil(len(self.tiles) / columns)
        return int(rows * (tile_h + CAPTION_H) + (rows - 1) * GAP) + 1

    def rows_height(self, rows: int) -> int:
        """The least height that shows `rows` rows of tiles (each tile at least `min_tile` wide)."""
        return int(rows * (self.min_tile * self.aspect + CAPTION_H) + (rows - 1) * GAP) + 1

    def _fit_height(self) -> None:
        self.setFixedHeight(self._height_for(max(self.width(), self.min_tile)))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_height()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(4 * (self.min_tile + GAP), self._height_for(4 * (self.min_tile + GAP)))

    def tile_rect(self, index: int) -> QRectF:
        """Where tile `index`'s image is drawn (its caption is below)."""
        columns, tile_w, tile_h = self._layout(self.width())
        row, col = divmod(index, columns)
        return QRectF(col * (tile_w + GAP), row * (tile_h + CAPTION_H + GAP), tile_w, tile_h)

    def tile_at(self, pos: QPointF) -> tuple[int, float, float] | None:
        for i in range(len(self.tiles)):
            rect = self.tile_rect(i)
            if rect.contains(pos):
                return i, (pos.x() - rect.x()) / rect.width(), (pos.y() - rect.y()) / rect.height()
        return None

    # ---------------------------------------------------------------- painting and mouse
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setFont(self._font)
        for i, tile in enumerate(self.tiles):
            rect = self.tile_rect(i)
            if not rect.intersects(QRectF(event.rect())):
                continue
            painter.setOpacity(0.35 if tile.dim else 1.0)
            painter.drawImage(rect, tile.image)
            painter.setOpacity(1.0)
            if tile.box is not None:
                x1, y1, x2, y2 = tile.box
                pen = QPen(QColor("#ffd60a"), 1, Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(
                    QRectF(
                        rect.x() + x1 * rect.width(),
                        rect.y() + y1 * rect.height(),
                        (x2 - x1) * rect.width(),
                        (y2 - y1) * rect.height(),
                    )
                )
            if tile.label:
                width = painter.fontMetrics().horizontalAdvance(tile.label) + 4
                corner = QRectF(rect.x(), rect.y(), width, painter.fontMetrics().height())
                painter.fillRect(corner, QColor(0, 0, 0, 150))
                painter.setPen(QColor("white"))
                painter.drawText(corner, Qt.AlignmentFlag.AlignCenter, tile.label)
            border = QColor("white") if i == self.highlight else tile.border
            if border is not None:
                painter.setPen(QPen(border, 2.5 if i == self.highlight else 2))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect.adjusted(1, 1, -1, -1))
            painter.setPen(self.palette().color(self.foregroundRole()))
            caption = QRectF(rect.x(), rect.bottom(), rect.width(), CAPTION_H)
            text = painter.fontMetrics().elidedText(tile.caption, Qt.TextElideMode.ElideRight, int(rect.width()))
            painter.drawText(caption, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text)
        painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        hit = self.tile_at(event.position())
        if hit is None:
            self.hovered.emit(-1, 0.0, 0.0)
        else:
            self.hovered.emit(*hit)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hovered.emit(-1, 0.0, 0.0)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        hit = self.tile_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(hit[0])


class CoefficientChart(QWidget):
    """Signed vertical bars, one per prototype, in a given order; the unedited value is a tick mark."""

    clicked = Signal(int)  # prototype index

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.order = np.zeros(0, dtype=np.int64)
        self.values = np.zeros(0, np.float32)
        self.original = np.zeros(0, np.float32)
        self.setMinimumHeight(118)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self._font = QFont(self.font())
        self._font.setPointSizeF(7)

    def set_data(self, order: np.ndarray, values: np.ndarray | None, original: np.ndarray | None) -> None:
        if values is None:
            self.order, self.values, self.original = np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0)
        else:
            self.order, self.values, self.original = np.asarray(order), np.asarray(values), np.asarray(original)
        self.update()

    def _bar_width(self) -> float:
        return (self.width() - 8) / max(len(self.order), 1)

    def _scale(self) -> float:
        """Pixels per unit: the axis spans the coefficient range the model produces (tanh: -1..1)."""
        return (self.height() - 34) / (2 * COEFFICIENT_LIMIT)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setFont(self._font)
        mid = 6 + (self.height() - 34) / 2
        painter.setPen(QPen(QColor("#6b7280"), 1))
        painter.drawLine(QPointF(4, mid), QPointF(self.width() - 4, mid))
        bar_w, scale = self._bar_width(), self._scale()
        text_color = self.palette().color(self.foregroundRole())
        for slot, j in enumerate(self.order):
            x = 4 + slot * bar_w
            value = float(self.values[j])
            top = mid - max(value, 0) * scale
            painter.fillRect(
                QRectF(x + 1, top, max(bar_w - 2, 1), abs(value) * scale), POSITIVE if value >= 0 else NEGATIVE
            )
            if abs(float(self.original[j]) - value) > 1e-6:
                painter.setPen(QPen(text_color, 1.5))
                y = mid - float(self.original[j]) * scale
                painter.drawLine(QPointF(x, y), QPointF(x + bar_w, y))
            painter.setPen(text_color)
            # two staggered label rows when two-digit indices do not fit under one bar
            row = slot % 2 if bar_w < painter.fontMetrics().horizontalAdvance("00") + 3 else 0
            painter.drawText(
                QRectF(x - 4, self.height() - 26 + 11 * row, bar_w + 8, 11), Qt.AlignmentFlag.AlignHCenter, str(int(j))
            )
        painter.end()

    def slot_at(self, x: float) -> int | None:
        slot = int((x - 4) // self._bar_width())
        return int(self.order[slot]) if 0 <= slot < len(self.order) else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        j = self.slot_at(event.position().x())
        if j is None:
            self.setToolTip("")
            return
        edited = "" if abs(self.values[j] - self.original[j]) < 1e-6 else f" (was {self.original[j]:+.3f})"
        self.setToolTip(f"prototype #{j}: coefficient {self.values[j]:+.3f}{edited}")

    def mousePressEvent(self, event) -> None:  # noqa: N802
        j = self.slot_at(event.position().x())
        if j is not None:
            self.clicked.emit(j)


class WheelSafeSlider(QSlider):
    """A slider the mouse wheel moves only once it has focus (a click or Tab gives it): scrolling the panel
    over a column of sliders must not edit a coefficient. Unfocused, the wheel goes on to the scroll area."""

    def __init__(self, orientation: Qt.Orientation, parent=None) -> None:
        super().__init__(orientation, parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def wheelEvent(self, event) -> None:  # noqa: N802
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class CoefficientSliders(QWidget):
    """One slider per coefficient (with its value and a "zero" button), rows in the chart's order."""

    edited = Signal(int, float)  # prototype, new value
    zero_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setVerticalSpacing(1)
        self._grid.setHorizontalSpacing(6)
        self.sliders: list[QSlider] = []
        self._names: list[QLabel] = []
        self._values: list[QLabel] = []
        self._zeros: list[QToolButton] = []
        self.order: list[int] = []

    def _ensure(self, k: int) -> None:
        while len(self.sliders) < k:
            j = len(self.sliders)
            name = QLabel(f"#{j}")
            name.setMinimumWidth(28)
            slider = WheelSafeSlider(Qt.Orientation.Horizontal)
            slider.setObjectName(f"coefficient_slider_{j}")
            slider.setRange(-SLIDER_STEPS, SLIDER_STEPS)
            slider.setPageStep(SLIDER_STEPS // 10)
            slider.valueChanged.connect(lambda v, j=j: self.edited.emit(j, v / SLIDER_STEPS))
            value = QLabel()
            value.setMinimumWidth(46)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            zero = QToolButton()
            zero.setText("0")
            zero.setToolTip(f"Zero prototype #{j} in this mask")
            zero.clicked.connect(lambda _=False, j=j: self.zero_requested.emit(j))
            self._names.append(name)
            self.sliders.append(slider)
            self._values.append(value)
            self._zeros.append(zero)

    def set_order(self, order: Sequence[int]) -> None:
        """Lay the rows out in this order (kept while the user edits, so rows never jump under the mouse)."""
        order = [int(j) for j in order]
        self._ensure(len(order))
        for widgets in (self._names, self.sliders, self._values, self._zeros):
            for w in widgets:
                self._grid.removeWidget(w)
                w.setVisible(False)
        for row, j in enumerate(order):
            for col, w in enumerate((self._names[j], self.sliders[j], self._values[j], self._zeros[j])):
                self._grid.addWidget(w, row, col)
                w.setVisible(True)
        self.order = order

    def set_values(self, values: np.ndarray | None, original: np.ndarray | None) -> None:
        if values is None:
            return
        for j in self.order:
            slider = self.sliders[j]
            position = int(round(float(values[j]) * SLIDER_STEPS))
            if slider.value() != position:
                slider.blockSignals(True)
                slider.setValue(position)
                slider.blockSignals(False)
            changed = abs(float(values[j]) - float(original[j])) > 1e-6
            self._values[j].setText(f"{float(values[j]):+.3f}")
            style = "color:#f59e0b; font-weight:bold" if changed else ""
            self._names[j].setStyleSheet(style)
            self._values[j].setStyleSheet(style)

    def row_widget(self, j: int) -> QWidget:
        return self.sliders[j]
