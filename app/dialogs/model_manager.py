"""Official models: list the published checkpoints, download (progress, resume, cancel), use one."""

from __future__ import annotations

import html
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.model_manager import (
    MIRROR_ENV,
    DownloadCancelled,
    ModelDownloadError,
    ModelManager,
    NoNetworkError,
    OfficialModel,
    check_mirror,
)

logger = logging.getLogger(__name__)

# What Open model takes: official-layout checkpoints and the .onnx files `protolabel export-onnx` writes.
MODEL_FILES = "YOLACT models (*.pth *.pt *.onnx);;PyTorch weights (*.pth *.pt);;ONNX models (*.onnx)"


class _Download(QRunnable):
    def __init__(self, manager: ModelManager, model: OfficialModel, cancel: threading.Event, on_progress, on_done):
        super().__init__()
        self.manager, self.model, self.cancel = manager, model, cancel
        self.on_progress, self.on_done = on_progress, on_done

    def run(self) -> None:
        try:
            path = self.manager.download(self.model, progress=self.on_progress, cancel=self.cancel)
        except ModelDownloadError as exc:
            self.on_done(None, exc)
        except Exception as exc:  # never let a worker die silently
            logger.exception("the model download failed")
            self.on_done(None, ModelDownloadError(f"Download failed: {exc}"))
        else:
            self.on_done(path, None)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class ModelManagerDialog(QDialog):
    """`chosen` carries the path of the checkpoint the user picked (downloaded or local); `mirror_changed`
    the mirror address the user set ('' for none), for the window to keep."""

    chosen = Signal(str)
    mirror_changed = Signal(str)

    def __init__(self, manager: ModelManager, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Official YOLACT models")
        self.setObjectName("model_manager_dialog")
        self.resize(720, 380)
        self.manager = manager
        self._invoker = MainThreadInvoker(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cancel: threading.Event | None = None
        self.table = QTableWidget(len(manager.models), 4)
        self.table.setObjectName("models_table")
        self.table.setHorizontalHeaderLabels(["Model", "Mask mAP", "FPS (Titan Xp)", "Status"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # whole model names, never cut
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # the status takes what is left
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.mirror_edit = QLineEdit(manager.mirror)
        self.mirror_edit.setObjectName("model_mirror")
        self.mirror_edit.setPlaceholderText("none: the authors' addresses")
        self.mirror_edit.setToolTip(
            f"Fetch official files from MIRROR/<file name> (a site's own copy, behind a "
            f"firewall); verified the same way. Default: ${MIRROR_ENV}"
        )
        self.mirror_edit.editingFinished.connect(self._set_mirror)
        mirror_row = QHBoxLayout()
        mirror_row.addWidget(QLabel("Mirror:"))
        mirror_row.addWidget(self.mirror_edit, 1)
        self.message = QLabel()
        self.message.setObjectName("model_message")
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self._say(f"Downloads go to {manager.cache_dir}")
        self.message.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(self.cancel_download)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self._use_selected)
        local_button = QPushButton("Open a model file…")
        local_button.clicked.connect(self._open_local)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.download_button, self.cancel_button, self.use_button, local_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(mirror_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.refresh()
        self.table.selectRow(0)
        self.resize(max(self.width(), self._table_width() + 40), self.height())

    def _say(self, text: str, lead: str = "") -> None:
        """Show `text` under the table after a bold `lead`, escaped: messages quote '<official file name>' and
        paths."""
        self.message.setText((f"<b>{html.escape(lead)}</b> " if lead else "") + html.escape(text))

    def _table_width(self) -> int:
        """Width the table needs to show every column whole (no horizontal scroll bar)."""
        header = self.table.horizontalHeader()
        columns = range(self.table.columnCount())
        return (
            sum(max(header.sectionSizeHint(c), self.table.sizeHintForColumn(c)) for c in columns)
            + 2 * self.table.frameWidth()
        )

    def refresh(self) -> None:
        for row, model in enumerate(self.manager.models):
            if self.manager.is_downloaded(model):
                status = "downloaded"
            elif part := self.manager.partial_bytes(model):
                status = f"partial ({_size(part)}), resumes"
            else:
                status = "not downloaded"
            for col, text in enumerate((model.file_name, f"{model.mask_ap}", f"{model.fps}", status)):
                item = QTableWidgetItem(text)
                item.setToolTip(model.url if col == 0 else text)
                self.table.setItem(row, col, item)
        self._update_buttons()

    def selected_model(self) -> OfficialModel | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self.manager.models[rows.pop()] if rows else None

    def _update_buttons(self) -> None:
        model = self.selected_model()
        busy = self._cancel is not None
        self.download_button.setEnabled(model is not None and not busy and not self.manager.is_downloaded(model))
        self.cancel_button.setEnabled(busy)
        self.use_button.setEnabled(model is not None and not busy and self.manager.is_downloaded(model))

    def _set_mirror(self) -> None:
        text = self.mirror_edit.text().strip()
        try:
            url = check_mirror(text) if text else ""
        except ValueError as exc:
            self._say(str(exc), "Mirror not changed.")
            return
        if url != self.manager.mirror:
            self.manager.mirror = url
            self.mirror_changed.emit(url)
        self.mirror_edit.setText(url)
        self._say(
            f"Official files come from {url}/<file name>" if url else "Official files come from the authors' addresses"
        )

    def start_download(self) -> None:
        model = self.selected_model()
        if model is None or self._cancel is not None:
            return
        try:
            source = self.manager.url_for(model)
        except ModelDownloadError as exc:  # a malformed $PROTOLABEL_MODEL_MIRROR
            self._say(str(exc), "Download failed.")
            return
        self._cancel = threading.Event()
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._say(f"Downloading {model.file_name} from {source.split('/resolve')[0]}…")
        self._update_buttons()
        self._pool.start(
            _Download(
                self.manager,
                model,
                self._cancel,
                self._invoker.wrap(self._on_progress),
                self._invoker.wrap(self._on_done),
            )
        )

    def cancel_download(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._say("Cancelling…")

    def _on_progress(self, done: int, total: int | None) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.progress.setFormat(f"{_size(done)} of {_size(total)}")
        else:
            self.progress.setFormat(_size(done))

    def _on_done(self, path: Path | None, error: ModelDownloadError | None) -> None:
        self._cancel = None
        self.progress.setVisible(False)
        if error is None:
            model = next(m for m in self.manager.models if m.file_name == path.name)
            self._say(f"Downloaded {path}: {model.checks}")
        elif isinstance(error, NoNetworkError):
            self._say(str(error), "No network.")
        elif isinstance(error, DownloadCancelled):
            self._say(str(error))
        else:
            self._say(str(error), "Download failed.")
        self.refresh()

    def _use_selected(self) -> None:
        model = self.selected_model()
        if model is None or not self.manager.is_downloaded(model):
            return
        if not self.manager.is_verified(model):
            self._say(f"Checking {model.file_name}…")
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            path = self.manager.verified_path(model)  # a corrupt cached file is caught here, not handed on
        except ModelDownloadError as exc:
            self._say(str(exc), "Cannot use it.")
            self.refresh()
            return
        finally:
            QApplication.restoreOverrideCursor()
        self.chosen.emit(str(path))
        self.accept()

    def _open_local(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a YOLACT model", str(Path.home()), MODEL_FILES)
        if path:
            self.chosen.emit(path)
            self.accept()

    def done(self, result: int) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self._pool.waitForDone(5000)
        super().done(result)
