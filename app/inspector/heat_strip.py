"""A track's mask coefficients over time as a heat strip: frame on x, coefficient index on y, a cursor line.

Signed values use the inspector's diverging colours (blue negative, dark grey zero, red positive) on the
fixed range the model can produce (its coefficients come out of tanh), so two tracks' strips compare.
Frames where the track has no object are left empty. Hovering reports frame, index and value; a click
asks for that frame. The strip only shows what it is given.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from protolabel.app.inspector.pictures import diverging_bgr
from protolabel.segmentation.inspection.state import COEFFICIENT_LIMIT

LEFT = 34  # coefficient indices
BOTTOM = 14  # first and last frame numbers
ROW_H = 4  # pixels per coefficient row
CURSOR_COLOR = QColor("#d62f2f")


def strip_rgba(values: np.ndarray, limit: float) -> np.ndarray:
    """[frames, k] values as a [k, frames, 4] RGBA picture; rows of NaN (no object) are transparent."""
    absent = np.isnan(values).all(axis=1)
    bgr = diverging_bgr(np.nan_to_num(values, nan=0.0).T, limit)
    rgba = np.empty((*bgr.shape[:2], 4), np.uint8)
    rgba[..., :3] = bgr[..., ::-1]
    rgba[..., 3] = 255
    rgba[:, absent, 3] = 0
    return rgba


def peak_columns(values: np.ndarray, columns: int) -> np.ndarray:
    """[frames, k] values reduced to [columns, k] (columns < frames): each column keeps the value of largest
    magnitude among its frames, so a one-frame jump is not lost when many frames share a pixel; a column is
    NaN only where all its frames are."""
    starts = (np.arange(columns) * values.shape[0]) // columns
    with np.errstate(invalid="ignore"):
        high = np.fmax.reduceat(values, starts, axis=0)
        low = np.fmin.reduceat(values, starts, axis=0)
    return np.where(np.abs(low) > np.abs(high), low, high)


class CoefficientStrip(QWidget):
    """Draws one track's coefficient vectors frame by frame; reports the cell under the mouse."""

    hovered = Signal(int, int, float)  # frame, coefficient index, value (NaN: no object there); -1, -1 on leaving
    frame_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, limit: float = COEFFICIENT_LIMIT) -> None:
        super().__init__(parent)
        self.setObjectName("coefficient_strip")
        self.limit = limit
        self.first_frame = 0
        self.values = np.zeros((0, 0), np.float32)
        self.cursor: int | None = None
        self._image = QImage()
        self._font = QFont(self.font())
        self._font.setPointSizeF(7)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.sizeHint().height())

    # ------------------------------------------------------------------ input
    def set_coefficients(self, first_frame: int, values: np.ndarray) -> None:
        """Row i of values ([frames, k] floats) is frame first_frame + i; a row of NaN: no object on that frame."""
        values = np.asarray(values, np.float32)
        if values.ndim != 2:
            raise ValueError(f"coefficients must be a frames x k array, not of shape {values.shape}")
        if np.isinf(values).any():
            raise ValueError("coefficients must be finite (NaN marks a frame without the object)")
        absent = np.isnan(values)
        if (absent.any(axis=1) != absent.all(axis=1)).any():
            frame = first_frame + int(np.flatnonzero(absent.any(axis=1) != absent.all(axis=1))[0])
            raise ValueError(f"frame {frame} has some coefficients and not others: give all or none (NaN)")
        if first_frame < 0:
            raise ValueError(f"the first frame is {first_frame}: frames count from 0")
        self.first_frame, self.values = int(first_frame), values
        self._image = QImage()  # drawn for the strip's width at the next paint
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def clear(self) -> None:
        self.set_coefficients(0, np.zeros((0, 0), np.float32))

    def set_cursor(self, frame: int | None) -> None:
        if frame != self.cursor:
            self.cursor = frame
            self.update()

    # ------------------------------------------------------------------ geometry
    def sizeHint(self) -> QSize:
        rows = max(self.values.shape[1], 1)
        return QSize(320, rows * ROW_H + BOTTOM + 4)

    def strip_rect(self) -> QRect:
        return QRect(LEFT, 2, max(self.width() - LEFT - 4, 1), max(self.values.shape[1], 1) * ROW_H)

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        """(frame, coefficient index) under a widget point, None off the strip or with nothing shown."""
        frames, k = self.values.shape
        rect = self.strip_rect()
        if not frames or not k or not rect.contains(point):
            return None
        column = min(math.floor((point.x() - rect.left()) * frames / rect.width()), frames - 1)
        row = min(math.floor((point.y() - rect.top()) * k / rect.height()), k - 1)
        return self.first_frame + column, row

    def text_at(self, point: QPoint) -> str:
        cell = self.cell_at(point)
        if cell is None:
            return ""
        frame, index = cell
        value = float(self.values[frame - self.first_frame, index])
        if math.isnan(value):
            return f"Frame {frame:,}: the track has no object"
        return f"Frame {frame:,} · coefficient {index} · {value:+.3f}"

    def frame_x(self, frame: float) -> float:
        """The x of a frame's left edge on the strip."""
        rect = self.strip_rect()
        return rect.left() + (frame - self.first_frame) * rect.width() / max(self.values.shape[0], 1)

    # ------------------------------------------------------------------ mouse
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        cell = self.cell_at(point)
        if cell is None:
            QToolTip.hideText()
            self.hovered.emit(-1, -1, math.nan)
            return
        frame, index = cell
        self.hovered.emit(frame, index, float(self.values[frame - self.first_frame, index]))
        QToolTip.showText(event.globalPosition().toPoint(), self.text_at(point), self)

    def leaveEvent(self, event: object) -> None:
        self.hovered.emit(-1, -1, math.nan)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.frame_clicked.emit(cell[0])

    # ------------------------------------------------------------------ drawing
    def _picture(self, width: int) -> QImage:
        """One pixel per frame and coefficient, or per pixel column when frames outnumber the strip's pixels."""
        frames = self.values.shape[0]
        columns = min(frames, width)
        if self._image.isNull() or self._image.width() != columns:
            values = self.values if columns == frames else peak_columns(self.values, columns)
            rgba = np.ascontiguousarray(strip_rgba(values, self.limit))
            height, width = rgba.shape[:2]
            self._image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
        return self._image

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setFont(self._font)
        rect = self.strip_rect()
        palette = self.palette()
        painter.fillRect(rect, palette.alternateBase())
        frames, k = self.values.shape
        painter.setPen(QPen(palette.text().color()))
        if not frames or not k:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "No coefficients for this track")
            painter.end()
            return
        painter.drawImage(rect, self._picture(rect.width()))  # no smoothing: cells stay cells
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRect(0, rect.top(), LEFT - 4, ROW_H * 2), right, "0")
        painter.drawText(QRect(0, rect.bottom() - ROW_H * 2, LEFT - 4, ROW_H * 2 + 1), right, str(k - 1))
        below = QRect(rect.left(), rect.bottom() + 1, rect.width(), BOTTOM)
        painter.drawText(below, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{self.first_frame:,}")
        last = self.first_frame + frames - 1
        painter.drawText(below, right, f"{last:,}")
        if self.cursor is not None and self.first_frame <= self.cursor <= last:
            x = round(self.frame_x(self.cursor + 0.5))
            painter.setPen(QPen(QColor(255, 255, 255, 200), 3))  # a light edge: red on red cells stays visible
            painter.drawLine(x, rect.top(), x, rect.bottom())
            painter.setPen(QPen(CURSOR_COLOR, 1))
            painter.drawLine(x, rect.top() - 2, x, rect.bottom() + 3)
        painter.end()
