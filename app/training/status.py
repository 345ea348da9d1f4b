"""The training run in the status bar while its window is closed: progress at a glance, a click reopens it."""

from __future__ import annotations

from PySide6.QtWidgets import QToolButton

from protolabel.app.job_progress import format_eta
from protolabel.segmentation.training.run_monitor import RunState


def run_summary(monitor) -> str:
    """One short line for the status bar: where the run stands."""
    state = monitor.state
    if state is RunState.STARTING:
        return "Training: starting…"
    if state is RunState.RUNNING:
        total = f"{monitor.iteration:,} / {monitor.total:,}" if monitor.total else f"{monitor.iteration:,}"
        return f"Training {total} · {format_eta(monitor.eta_seconds)}"
    if state is RunState.STOPPING:
        return "Training: stopping…"
    if state is RunState.FINISHED:
        return "Training finished"
    if state is RunState.STOPPED:
        return "Training stopped"
    if state is RunState.FAILED:
        return "Training failed"
    return ""


class TrainingStatusButton(QToolButton):
    """Shown while a run exists and its window is hidden (an ended run: until the window was seen once)."""

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("training_status")
        self.setAutoRaise(True)
        self.setToolTip("The training run: click to open its window")
        self.controller = controller
        self._ended_seen = False
        self.clicked.connect(controller.show_dialog)
        controller.monitor.events.connect(self.refresh)
        controller.dialog_visibility_changed.connect(self._on_dialog_visibility)
        self.refresh()

    def _dialog_visible(self) -> bool:
        dialog = self.controller.dialog
        return dialog is not None and dialog.isVisible()

    def _on_dialog_visibility(self, visible: bool) -> None:
        if visible and not self.controller.monitor.state.active:
            self._ended_seen = True
        self.refresh()

    def refresh(self, *args) -> None:
        monitor = self.controller.monitor
        state = monitor.state
        if state is RunState.STARTING:
            self._ended_seen = False
        if not state.active and self._dialog_visible():
            self._ended_seen = True
        shown = state is not RunState.IDLE and not self._dialog_visible() and (state.active or not self._ended_seen)
        self.setText(run_summary(monitor))
        self.setVisible(shown)
