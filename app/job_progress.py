"""Status-bar widget for a running auto-label job: progress bar, count, ETA, Cancel."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from protolabel.segmentation.project.autolabel import JobProgress


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m left"
    return f"{seconds // 60}:{seconds % 60:02d} left"


class ProgressStrip(QWidget):
    """A thin progress bar that repaints lazily (QProgressBar.setValue repaints synchronously, ~15 ms a call)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._value, self._maximum = 0, 1
        self.setMinimumWidth(160)
        self.setMaximumWidth(220)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 14)

    def setRange(self, minimum: int, maximum: int) -> None:  # noqa: N802 (QProgressBar's API)
        self._maximum = max(maximum - minimum, 1)
        self.update()

    def setValue(self, value: int) -> None:  # noqa: N802
        self._value = value
        self.update()

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._maximum

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 3, -1, -3)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#d1d5db"))
        painter.drawRoundedRect(rect, 4, 4)
        done = rect.adjusted(0, 0, -rect.width() * (1 - min(self._value / self._maximum, 1.0)), 0)
        painter.setBrush(QColor("#3b82f6"))
        painter.drawRoundedRect(done, 4, 4)


class JobProgressWidget(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("job_progress")
        self.bar = ProgressStrip()
        self.label = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_job")
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def start(self, total: int, text: str = "Loading the model…") -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(0)
        self.label.setText(text)
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def update_progress(self, progress: JobProgress) -> None:
        self.bar.setRange(0, max(progress.total, 1))
        self.bar.setValue(progress.done)
        failed = f", {progress.failed} failed" if progress.failed else ""
        self.label.setText(f"{progress.done}/{progress.total}{failed} · {format_eta(progress.eta_s)}")

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling after this image…")

    def finish(self) -> None:
        self.setVisible(False)
