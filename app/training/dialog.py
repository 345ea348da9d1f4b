"""The "Train on this project" window: the run's settings, then (same window) its progress view."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.device_text import device_in_use, uses_cuda
from protolabel.app.docks.autolabel_panel import DEVICES
from protolabel.app.training.progress_view import TrainingProgressView, validation_hint
from protolabel.segmentation.project.fine_tune import TrainingRequest
from protolabel.segmentation.training.run_monitor import RunMonitor

DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainingRequest)}  # protolabel train's defaults
SUGGESTED_MAX_SIZE = 550  # shown when the user unticks "the model's own" (the official ResNet models' size)
INTRO = (
    "Fine-tunes a YOLACT model on this project's annotations in a separate process: you can keep labelling "
    "meanwhile. When it is done, use the new model to auto-label the remaining images."
)


class TrainSettingsPage(QWidget):
    """What to train: start model, which images, and the `protolabel train` options."""

    start_requested = Signal(object)  # TrainingRequest
    close_requested = Signal()
    cleanup_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("training_settings")
        self.folder: Path | None = None
        self.counts = {"all": 0, "verified": 0, "verified_objects": 0}
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.weights_edit = QLineEdit()
        self.weights_edit.setObjectName("training_weights")
        weights_browse = QPushButton("Browse…")
        weights_browse.clicked.connect(self._browse_weights)
        self.verified_radio = QRadioButton()
        self.verified_radio.setObjectName("train_verified_only")
        self.all_radio = QRadioButton()
        self.all_radio.setObjectName("train_all_labelled")
        self.val_split_box = QSpinBox()
        self.val_split_box.setObjectName("training_val_split")
        self.val_split_box.setRange(0, 50)
        self.val_split_box.setSuffix(" %")
        self.iterations_box = QSpinBox()
        self.iterations_box.setObjectName("training_iterations")
        self.iterations_box.setRange(1, 10_000_000)
        self.iterations_box.setSingleStep(100)
        self.iterations_box.setGroupSeparatorShown(True)
        self.batch_box = QSpinBox()
        self.batch_box.setObjectName("training_batch_size")
        self.batch_box.setRange(1, 256)
        self.max_size_own = QCheckBox("the start model's own")
        self.max_size_own.setObjectName("training_max_size_own")
        self.max_size_box = QSpinBox()
        self.max_size_box.setObjectName("training_max_size")
        self.max_size_box.setRange(64, 4096)
        self.max_size_box.setSingleStep(32)
        self.max_size_box.setSuffix(" px")
        self.max_size_own.toggled.connect(lambda own: self.max_size_box.setEnabled(not own))
        self.lr_box = QDoubleSpinBox()
        self.lr_box.setObjectName("training_lr")
        self.lr_box.setDecimals(5)
        self.lr_box.setRange(0.00001, 1.0)
        self.lr_box.setSingleStep(0.0001)
        self.device_box = QComboBox()
        self.device_box.setObjectName("training_device")
        self.device_box.setEditable(True)
        self.device_box.addItems(DEVICES)
        self.device_hint = QLabel()
        self.device_hint.setObjectName("training_device_hint")
        self.device_hint.setStyleSheet("color: #6b7280;")
        self.device_hint.setWordWrap(True)
        self.device_box.currentTextChanged.connect(self._show_device_hint)
        self.val_hint = QLabel()
        self.val_hint.setObjectName("training_val_hint")
        self.val_hint.setStyleSheet("color: #6b7280;")
        self.val_hint.setWordWrap(True)
        self.val_split_box.valueChanged.connect(self._show_val_hint)
        self.verified_radio.toggled.connect(self._show_val_hint)
        self.run_dir_edit = QLineEdit()
        self.run_dir_edit.setObjectName("training_run_dir")
        run_dir_browse = QPushButton("Browse…")
        run_dir_browse.clicked.connect(self._browse_run_dir)
        self.error_label = QLabel()
        self.error_label.setObjectName("training_settings_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("start_training")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._start)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close_requested)
        self.cleanup_button = QPushButton("Clean up old runs…")
        self.cleanup_button.setObjectName("cleanup_runs")
        self.cleanup_button.setToolTip(
            "Delete the project's earlier training runs (each keeps a checkpoint of "
            "~245 MB in .protolabel/training/); asks first"
        )
        self.cleanup_button.clicked.connect(self.cleanup_requested)

        def row(*widgets, hint: str = "", stretch: bool = False) -> QHBoxLayout:
            box = QHBoxLayout()
            for widget in widgets:
                box.addWidget(widget)
            if hint:
                note = QLabel(hint)
                note.setStyleSheet("color: #6b7280;")
                box.addWidget(note)
            if stretch:
                box.addStretch(1)
            return box

        for box in (
            self.val_split_box,
            self.iterations_box,
            self.batch_box,
            self.max_size_box,
            self.lr_box,
            self.device_box,
        ):
            box.setFixedWidth(170)
        images = QVBoxLayout()
        images.addWidget(self.verified_radio)
        images.addWidget(self.all_radio)
        form = QFormLayout()
        form.addRow("Start from:", row(self.weights_edit, weights_browse))
        form.addRow("Train on:", images)
        form.addRow("Validation:", row(self.val_split_box, self.val_hint))
        form.addRow("Iterations:", row(self.iterations_box, hint="one batch each", stretch=True))
        form.addRow("Batch size:", row(self.batch_box, hint="images per iteration", stretch=True))
        form.addRow("Input size:", row(self.max_size_box, self.max_size_own, stretch=True))
        form.addRow("Learning rate:", row(self.lr_box, hint="after the warm-up; drops 10x in steps", stretch=True))
        form.addRow("Device:", row(self.device_box, self.device_hint))
        form.addRow("Run folder:", row(self.run_dir_edit, run_dir_browse))
        buttons = QHBoxLayout()
        buttons.addWidget(self.cleanup_button)
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(close_button)
        # A message about the settings (or the project) as they were at Start: any change makes it stale.
        for edit in (self.weights_edit, self.run_dir_edit):
            edit.textChanged.connect(self._clear_error)
        for box in (self.val_split_box, self.iterations_box, self.batch_box, self.max_size_box, self.lr_box):
            box.valueChanged.connect(self._clear_error)
        self.verified_radio.toggled.connect(self._clear_error)
        self.max_size_own.toggled.connect(self._clear_error)
        self.device_box.currentTextChanged.connect(self._clear_error)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addLayout(buttons)

    def reset(self, folder: Path, weights: str, device: str, counts: dict, run_dir: Path) -> None:
        """Fresh settings for a new run: the auto-label panel's model and device, the defaults, a new run folder."""
        self.folder = Path(folder)
        self.counts = dict(counts)
        self.weights_edit.setText(weights)
        objects, images = counts.get("verified_objects", 0), counts["verified"]
        self.verified_radio.setText(
            f"Verified objects only ({objects:,} in {images:,} image{'s' if images != 1 else ''})"
        )
        self.verified_radio.setToolTip(
            "Objects a person accepted (Y, or V for a whole image). Their images' other "
            "objects are ignored by training: neither taught nor taught as background."
        )
        self.all_radio.setText(f"All labelled images ({counts['all']:,}: auto-labeled, edited and verified)")
        self.verified_radio.setChecked(DEFAULTS["verified_only"])
        self.all_radio.setChecked(not DEFAULTS["verified_only"])
        self.val_split_box.setValue(round(DEFAULTS["val_split"] * 100))
        self.iterations_box.setValue(DEFAULTS["iterations"])
        self.batch_box.setValue(DEFAULTS["batch_size"])
        self.max_size_own.setChecked(True)
        self.max_size_box.setValue(SUGGESTED_MAX_SIZE)
        self.max_size_box.setEnabled(False)
        self.lr_box.setValue(DEFAULTS["lr"])
        self.device_box.setCurrentText(device or DEFAULTS["device"])
        self.run_dir_edit.setText(str(run_dir))
        self.show_error("")
        self.set_busy(False)
        self._show_device_hint(self.device_box.currentText())
        self._show_val_hint()

    def _show_device_hint(self, device: str) -> None:
        """Where the run will really train (the engine's own device rule), not what the box says."""
        device = device.strip() or "auto"
        where = device_in_use(device)
        if uses_cuda(device):
            self.device_hint.setText(f"{where}: trains with mixed precision")
        elif where.startswith("CPU"):
            self.device_hint.setText(f"{where}: slow, a few hundred iterations take minutes")
        else:
            self.device_hint.setText(where)

    def _show_val_hint(self, *args) -> None:
        images = self.counts["verified" if self.verified_radio.isChecked() else "all"]
        self.val_hint.setText(validation_hint(images, self.val_split_box.value() / 100))

    def request(self) -> TrainingRequest | None:
        """The settings as a request, or None (with the reason shown) when they cannot be used."""
        weights = Path(self.weights_edit.text().strip()).expanduser()
        run_dir = Path(self.run_dir_edit.text().strip()).expanduser()
        if self.folder is None:
            problem = "Open a folder first"
        elif not self.weights_edit.text().strip():
            problem = "Choose a start model (.pth): an official checkpoint or an earlier fine-tune"
        elif not weights.is_file():
            problem = f"Start model not found: {weights}"
        elif not self.run_dir_edit.text().strip():
            problem = "Choose a run folder"
        else:
            problem = ""
        self.show_error(problem)
        if problem:
            return None
        return TrainingRequest(
            folder=self.folder,
            weights=weights,
            run_dir=run_dir,
            verified_only=self.verified_radio.isChecked(),
            val_split=self.val_split_box.value() / 100,
            iterations=self.iterations_box.value(),
            batch_size=self.batch_box.value(),
            max_size=None if self.max_size_own.isChecked() else self.max_size_box.value(),
            lr=self.lr_box.value(),
            device=self.device_box.currentText().strip() or "auto",
        )

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _clear_error(self, *_changed) -> None:
        self.show_error("")

    def set_busy(self, busy: bool) -> None:
        """While the annotations are exported the run cannot be started twice."""
        self.start_button.setEnabled(not busy)
        self.start_button.setText("Exporting the annotations…" if busy else "Start training")

    def _start(self) -> None:
        request = self.request()
        if request is not None:
            self.start_requested.emit(request)

    def _browse_weights(self) -> None:
        start = self.weights_edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Start model", start, "PyTorch weights (*.pth *.pt)")
        if path:
            self.weights_edit.setText(path)

    def _browse_run_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run folder (empty or new)", self.run_dir_edit.text())
        if folder:
            self.run_dir_edit.setText(folder)


class TrainDialog(QDialog):
    """Not modal: labelling goes on while a run trains; closing the window only hides it."""

    visibility_changed = Signal(bool)

    def __init__(self, monitor: RunMonitor, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("train_dialog")
        self.setWindowTitle("Train on this project")
        self.setModal(False)
        self.settings_page = TrainSettingsPage()
        self.progress_view = TrainingProgressView(monitor)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.settings_page)
        self.pages.addWidget(self.progress_view)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self.settings_page.close_requested.connect(self.hide)
        self.progress_view.close_requested.connect(self.hide)
        self.resize(760, 640)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.visibility_changed.emit(True)

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.visibility_changed.emit(False)

    def show_settings(self) -> None:
        self.pages.setCurrentWidget(self.settings_page)

    def show_progress(self) -> None:
        self.pages.setCurrentWidget(self.progress_view)

    @property
    def showing_progress(self) -> bool:
        return self.pages.currentWidget() is self.progress_view
