"""The view of a training run: progress, live loss, ETA, AP, and the buttons that act on the run.

A view of `RunMonitor` (Qt-free, evented): every monitor event re-reads the monitor; the
buttons only emit signals, the controller acts on the run.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.job_progress import format_eta
from protolabel.app.training.loss_chart import LossChart
from protolabel.segmentation.training.dataset import validation_count
from protolabel.segmentation.training.run_monitor import EvaluationResult, RunMonitor, RunState

LOSS_TERMS = (("box", "Box"), ("conf", "Class"), ("mask", "Mask"), ("semantic", "Semantic"), ("maskiou", "Mask IoU"))


MAX_SPLIT_PERCENT = 50  # the settings' validation split goes up to this
NO_VALIDATION_NOTE = "no validation images"  # how the trainer's note about it begins (said once, by the view)


def smallest_split(images: int) -> int | None:
    """The smallest split (percent, up to MAX_SPLIT_PERCENT) that holds out an image of `images`, or None."""
    for percent in range(1, MAX_SPLIT_PERCENT + 1):
        if validation_count(images, percent / 100) >= 1:
            return percent
    return None


def no_validation_text(images: int) -> str:
    """The one plain sentence for a run without validation images: why, and whether raising the split helps."""
    if images <= 1:
        return (
            "No AP: with one image there is none to hold out for measuring it. Verify more images to "
            "measure how well the model does."
        )
    percent = smallest_split(images)
    if percent is None:
        return f"No AP: {images} images are too few to hold one out for measuring it."
    return (
        f"No AP: no image is held out for validation. With {images} images, a validation split of "
        f"{percent}% or more holds one out."
    )


def validation_hint(images: int, fraction: float) -> str:
    """The settings' note beside the split: how many of the images it holds out (the trainer's rule)."""
    held = validation_count(images, fraction) if images > 0 else 0
    if held:
        return f"holds out {held} of {images:,} image{'s' if images != 1 else ''}: box and mask AP are measured on them"
    return no_validation_text(images)


def format_ap(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}"


def describe_evaluation(result: EvaluationResult) -> str:
    images = f"{result.images} validation image{'s' if result.images != 1 else ''}"
    return (
        f"<b>Box AP {format_ap(result.box_ap)}</b> (AP50 {format_ap(result.box_ap50)}, "
        f"AP75 {format_ap(result.box_ap75)}) · <b>Mask AP {format_ap(result.mask_ap)}</b> "
        f"(AP50 {format_ap(result.mask_ap50)}, AP75 {format_ap(result.mask_ap75)}) "
        f"<span style='color:#6b7280'>on {images}, iteration {result.iteration:,}</span>"
    )


class TrainingProgressView(QWidget):
    cancel_requested = Signal()
    resume_requested = Signal()
    use_model_requested = Signal()
    new_run_requested = Signal()
    close_requested = Signal()

    def __init__(self, monitor: RunMonitor, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("training_progress")
        self.monitor = monitor
        self.title_label = QLabel()
        self.title_label.setObjectName("training_title")
        self.title_label.setWordWrap(True)
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.state_label = QLabel()
        self.state_label.setObjectName("training_state")
        bold = QFont(self.state_label.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() + 1.5)
        self.state_label.setFont(bold)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("training_bar")
        self.progress_bar.setTextVisible(True)
        self.eta_label = QLabel()
        self.eta_label.setObjectName("training_eta")
        self.chart = LossChart()
        self.loss_labels: dict[str, QLabel] = {}
        self._loss_titles: dict[str, QLabel] = {}
        losses = QGridLayout()
        losses.setHorizontalSpacing(18)
        for column, (key, title) in enumerate((("loss", "Total"), *LOSS_TERMS)):
            name = QLabel(title)
            name.setStyleSheet("color: #6b7280;")
            value = QLabel("–")
            value.setObjectName(f"loss_{key}")
            value.setFont(bold if key == "loss" else value.font())
            losses.addWidget(name, 0, column)
            losses.addWidget(value, 1, column)
            self.loss_labels[key] = value
            self._loss_titles[key] = name
        losses.setColumnStretch(len(LOSS_TERMS) + 1, 1)
        self.metrics_label = QLabel()
        self.metrics_label.setObjectName("training_metrics")
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setTextFormat(Qt.TextFormat.RichText)
        self.checkpoint_label = QLabel()
        self.checkpoint_label.setObjectName("training_checkpoint")
        self.checkpoint_label.setWordWrap(True)
        self.checkpoint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label = QLabel()
        self.notes_label.setObjectName("training_notes")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextFormat(Qt.TextFormat.RichText)
        self.notes_label.setStyleSheet("color: #6b7280;")
        self.error_text = QPlainTextEdit()
        self.error_text.setObjectName("training_errors")
        self.error_text.setReadOnly(True)
        self.error_text.setMaximumHeight(120)

        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_training")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setObjectName("resume_training")
        self.use_model_button = QPushButton("Use this model for auto-labeling")
        self.use_model_button.setObjectName("use_trained_model")
        self.new_run_button = QPushButton("New run…")
        self.new_run_button.setObjectName("new_training_run")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide this window; training goes on")
        for button, signal in (
            (self.cancel_button, self.cancel_requested),
            (self.resume_button, self.resume_requested),
            (self.use_model_button, self.use_model_requested),
            (self.new_run_button, self.new_run_requested),
            (self.close_button, self.close_requested),
        ):
            button.clicked.connect(signal)
            button.setAutoDefault(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.use_model_button)
        buttons.addStretch(1)
        buttons.addWidget(self.new_run_button)
        buttons.addWidget(self.close_button)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("color: #e5e7eb;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.state_label)
        layout.addWidget(self.title_label)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.chart, 1)
        layout.addLayout(losses)
        layout.addWidget(line)
        layout.addWidget(self.metrics_label)
        layout.addWidget(self.checkpoint_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.error_text)
        layout.addLayout(buttons)

        self.model_in_use = False
        monitor.events.connect(self.refresh)
        self.refresh()

    def set_model_in_use(self, in_use: bool) -> None:
        """The finished run's checkpoint is now the auto-label model (the button says so)."""
        self.model_in_use = in_use
        self.refresh()

    # ---------------------------------------------------------------- rendering
    def refresh(self, *args) -> None:
        m = self.monitor
        self.state_label.setText(self._state_text())
        self.title_label.setText(self._title_text())
        self.progress_bar.setRange(0, max(m.total, 1))
        self.progress_bar.setValue(min(m.iteration, max(m.total, 1)))
        self.progress_bar.setFormat(f"{m.iteration:,} / {m.total:,} iterations" if m.total else "starting…")
        self.eta_label.setText(self._speed_text())
        self.chart.set_points(m.loss_history, m.total)
        self.loss_labels["loss"].setText("–" if m.loss is None else f"{m.loss:.3f}")
        for key, _ in LOSS_TERMS:
            value = m.losses.get(key)
            self.loss_labels[key].setText("–" if value is None else f"{value:.3f}")
        for label in (self.loss_labels["maskiou"], self._loss_titles["maskiou"]):  # YOLACT++ only
            label.setVisible("maskiou" in m.losses)
        self._set_metrics()
        checkpoint = m.final_checkpoint or m.checkpoint
        self.checkpoint_label.setText("" if checkpoint is None else f"Checkpoint: {checkpoint}")
        self.checkpoint_label.setVisible(checkpoint is not None)
        notes = [n for n in m.notes if not n.startswith(NO_VALIDATION_NOTE)]  # the metrics line says it plainly
        self.notes_label.setText("<br>".join(escape(n, quote=False) for n in notes[-4:]))
        self.notes_label.setVisible(bool(notes))
        failed = m.state is RunState.FAILED
        self.error_text.setVisible(failed)
        if failed:
            self.error_text.setPlainText("\n".join([m.error or "", "", *m.stderr_tail]).strip())
        self._set_buttons()

    def _state_text(self) -> str:
        m = self.monitor
        if m.state is RunState.STARTING:
            return "Starting: loading the data and the model…"
        if m.state is RunState.RUNNING:
            return f"Training: iteration {m.iteration:,} of {m.total:,} (epoch {m.epoch + 1})"
        if m.state is RunState.STOPPING:
            return "Stopping after this iteration and saving a checkpoint…"
        if m.state is RunState.FINISHED:
            return f"Finished: {m.iteration:,} iterations"
        if m.state is RunState.STOPPED:
            if m.can_resume:
                return f"Stopped at iteration {m.iteration:,}: Resume goes on from the checkpoint"
            return "Stopped before the first checkpoint"
        if m.state is RunState.FAILED:
            return "Training failed"
        return ""

    def _title_text(self) -> str:
        m = self.monitor
        if not m.classes:
            return ""
        validation = f", {m.val_images} for validation" if m.val_images else ""
        classes = ", ".join(m.classes)
        images = f"{m.train_images:,} training image{'s' if m.train_images != 1 else ''}"
        return (
            f"{images}{validation} · classes: {escape(classes, quote=False)} · {escape(m.config)} on {escape(m.device)}"
        )

    def _speed_text(self) -> str:
        m = self.monitor
        if m.state is RunState.RUNNING and m.images_per_second:
            parts = [format_eta(m.eta_seconds), f"{m.images_per_second:.2f} images/s"]
            if m.lr is not None:
                parts.append(f"learning rate {m.lr:.2g}")
            return " · ".join(parts)
        if m.state is RunState.FINISHED and m.images_per_second:
            return f"Done · {m.images_per_second:.2f} images/s"
        return ""

    def _set_metrics(self) -> None:
        m = self.monitor
        if m.evaluations:
            self.metrics_label.setText(describe_evaluation(m.evaluations[-1]))
        elif m.classes and not m.val_images and (m.state.active or m.state is RunState.FINISHED):
            self.metrics_label.setText(escape(no_validation_text(m.train_images), quote=False))
        elif m.state.active and m.classes:
            self.metrics_label.setText(
                "<span style='color:#6b7280'>Box and mask AP on the validation images "
                "come at the end of the run.</span>"
            )
        else:
            self.metrics_label.setText("")

    def _set_buttons(self) -> None:
        m = self.monitor
        active = m.state.active
        self.cancel_button.setVisible(active)
        self.cancel_button.setEnabled(m.state in (RunState.STARTING, RunState.RUNNING))
        self.cancel_button.setText("Stopping…" if m.state is RunState.STOPPING else "Cancel")
        self.resume_button.setVisible(m.can_resume)
        finished = m.state is RunState.FINISHED and m.final_checkpoint is not None
        self.use_model_button.setVisible(finished)
        self.use_model_button.setEnabled(finished and not self.model_in_use)
        self.use_model_button.setText(
            "Auto-labeling uses this model" if self.model_in_use else "Use this model for auto-labeling"
        )
        self.new_run_button.setEnabled(not active)
