"""A small line chart of the training loss, drawn with QPainter (no chart library).

The loss of single small batches jumps around; the chart draws it faintly, with a smoothed
curve (an exponential moving average, as TensorBoard's smoothing) on top, and a dot on the
latest value.

The x axis spans the whole run (0..total iterations), so the curve grows from left to right
as training goes on. The y axis is logarithmic when the loss spans a factor of 10 or more
(the first iterations of a fine-tune are often ten times the rest), else linear.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

LOG_SCALE_RATIO = 10.0
SMOOTHING = 0.6  # weight of the past in the moving average
MARGINS = (52, 12, 14, 26)  # left, top, right, bottom: room for the tick labels
RAW = QColor("#93c5fd")
CURVE = QColor("#1d4ed8")
GRID = QColor("#e5e7eb")
TEXT = QColor("#4b5563")


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About `count` round values (1, 2, 5 x 10^n steps) covering [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """1-2-5 values between low and high (both > 0), thinned to at most 6."""
    values = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        values += [m * 10.0**exponent for m in (1, 2, 5)]
    inside = [v for v in values if low <= v <= high]
    while len(inside) > 6:
        inside = inside[::2]
    return inside


def smoothed(values: Sequence[float], weight: float = SMOOTHING) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled towards 0)."""
    out, average = [], 0.0
    for n, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**n))
    return out


def format_tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:.3g}"


class LossChart(QWidget):
    """Total loss against iteration; `set_points(points, total)` after each progress line."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("loss_chart")
        self._points: list[tuple[int, float]] = []
        self._total = 0
        self.log_scale = False
        self._y_low, self._y_high = 0.0, 1.0
        self.setMinimumSize(280, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, 220)

    @property
    def points(self) -> list[tuple[int, float]]:
        return list(self._points)

    def set_points(self, points: Sequence[tuple[int, float]], total: int) -> None:
        self._points = [(int(i), float(v)) for i, v in points if math.isfinite(v)]
        self._total = int(total)
        if self._points:
            self._y_low, self._y_high = self._y_range()
        self.update()

    def plot_rect(self) -> QRectF:
        left, top, right, bottom = MARGINS
        return QRectF(self.rect()).adjusted(left, top, -right, -bottom)

    def _y_range(self) -> tuple[float, float]:
        """(low, high) of the y axis (log10 values on a log scale); decides the scale."""
        values = [v for _, v in self._points]
        low, high = min(values), max(values)
        self.log_scale = low > 0 and high / low >= LOG_SCALE_RATIO
        if self.log_scale:
            return math.log10(low) - 0.05, math.log10(high) + 0.05
        pad = (high - low) * 0.08 or max(abs(high) * 0.1, 1e-3)
        return max(low - pad, 0.0) if low >= 0 else low - pad, high + pad

    def map_point(self, iteration: float, value: float) -> QPointF:
        """Where (iteration, loss) is drawn, in widget pixels."""
        rect = self.plot_rect()
        y_low, y_high = self._y_low, self._y_high
        x_high = max(self._total, self._points[-1][0] if self._points else 1, 1)
        y = math.log10(value) if self.log_scale else value
        return QPointF(
            rect.left() + rect.width() * iteration / x_high,
            rect.bottom() - rect.height() * (y - y_low) / ((y_high - y_low) or 1.0),
        )

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        rect = self.plot_rect()
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() - 1.5, 7.0))
        painter.setFont(font)
        if not self._points:
            painter.setPen(TEXT)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "The loss curve appears with the first iterations")
            return
        self._draw_axes(painter, rect)
        painter.setClipRect(rect.adjusted(-4, -4, 4, 4))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        iterations = [i for i, _ in self._points]
        for values, pen in (
            ([v for _, v in self._points], QPen(RAW, 1.2)),
            (smoothed([v for _, v in self._points]), QPen(CURVE, 2.2)),
        ):
            path = QPainterPath(self.map_point(iterations[0], values[0]))
            for iteration, value in zip(iterations[1:], values[1:]):
                path.lineTo(self.map_point(iteration, value))
            painter.setPen(pen)
            painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(CURVE)
        painter.drawEllipse(self.map_point(*self._points[-1]), 3.5, 3.5)

    def _draw_axes(self, painter: QPainter, rect: QRectF) -> None:
        y_low, y_high = self._y_low, self._y_high
        if self.log_scale:
            y_ticks = log_ticks(10**y_low, 10**y_high)
        else:
            y_ticks = nice_ticks(y_low, y_high)
        x_high = max(self._total, self._points[-1][0], 1)
        metrics = painter.fontMetrics()
        for value in y_ticks:
            y = self.map_point(0, value).y()
            if rect.top() - 1 <= y <= rect.bottom() + 1:
                painter.setPen(QPen(GRID, 1))
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                painter.setPen(TEXT)
                label = format_tick(value)
                painter.drawText(
                    QPointF(rect.left() - 6 - metrics.horizontalAdvance(label), y + metrics.ascent() / 2.5), label
                )
        for value in nice_ticks(0, x_high, 5):
            x = rect.left() + rect.width() * value / x_high
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            painter.setPen(TEXT)
            label = format_tick(value)
            painter.drawText(QPointF(x - metrics.horizontalAdvance(label) / 2, rect.bottom() + metrics.height()), label)
        painter.setPen(QPen(QColor("#9ca3af"), 1))
        painter.drawRect(rect)
        painter.setPen(TEXT)
        caption = "total loss, smoothed" + (" (log scale)" if self.log_scale else "")
        painter.drawText(
            QPointF(rect.right() - metrics.horizontalAdvance(caption) - 4, rect.top() + metrics.ascent() + 2), caption
        )
