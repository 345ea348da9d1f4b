"""File ▸ Import…: a dialog that takes a file or folder and recognises its format (COCO, labelme, YOLO, ...: the
registry of segmentation.formats), then a confirmation that says what will be merged and what skipped (and why),
then the merge in one store transaction (segmentation.project.importing; the same merge as `protolabel import`).

The confirmation comes first instead of an undo step: the import touches many images at once, and
`protolabel import` does the same merge headless, so the rule is "look, then do"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.coco.reader import CocoFormatError
from protolabel.segmentation.formats.base import AnnotationFormat, FormatError
from protolabel.segmentation.formats.registry import all_formats, by_name, detect
from protolabel.segmentation.formats.youtube_vis import FORMAT_NAME as VIS_FORMAT_NAME
from protolabel.segmentation.project.importing import ImportPlan, ImportSummary, apply_import, plan_import
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.project.video_store import VideoStore
from protolabel.segmentation.project.youtube_vis import VisImportPlan, apply_vis_import, plan_vis_import

logger = logging.getLogger(__name__)


class ImportCocoDialog(QDialog):
    """What importing `plan` into `folder` will do; Import (disabled when nothing would merge) or Cancel."""

    def __init__(
        self,
        plan: ImportPlan | VisImportPlan,
        folder: Path,
        parent: QWidget | None = None,
        fmt: AnnotationFormat | None = None,
    ) -> None:
        super().__init__(parent)
        self.plan = plan
        title = (fmt or by_name("coco")).title
        self.setWindowTitle(f"Import {title}")
        self.setObjectName("import_dialog")
        worked = "Frames and images" if isinstance(plan, VisImportPlan) else "Images"
        heading = QLabel(
            f"Merge <b>{plan.coco_path.name}</b>, read as {title}, into the project of <b>{folder}</b>?<br>"
            f"{worked} already edited or verified here are never overwritten."
        )
        heading.setWordWrap(True)
        self.text = QPlainTextEdit("\n".join(plan.preview().lines(planned=True)))
        self.text.setObjectName("import_summary")
        self.text.setReadOnly(True)
        self.text.setMinimumSize(560, 180)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.import_button.setText("Import")
        self.import_button.setEnabled(bool(plan.images))
        if not plan.images:
            heading.setText(f"Nothing in <b>{plan.coco_path.name}</b> can be merged into <b>{folder}</b>:")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


AUTO = "Recognise from the content"


class ImportSourceDialog(QDialog):
    """Which file or folder to import, and in which format: recognised as the path changes (the registry's
    `detect`, which reads a header at most), or chosen when the content is ambiguous or not recognised."""

    def __init__(self, start: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import annotations")
        self.setObjectName("import_source_dialog")
        self.start = start
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(
            "a COCO .json, a labelme file or folder, a YOLO data.yaml or folder, a YouTube-VIS .json, ..."
        )
        file_button, folder_button = QPushButton("File…"), QPushButton("Folder…")
        file_button.clicked.connect(self._choose_file)
        folder_button.clicked.connect(self._choose_folder)
        self.format_box = QComboBox()
        self.format_box.addItem(AUTO, None)
        for fmt in all_formats():
            self.format_box.addItem(fmt.title, fmt.name)
        self.found = QLabel()
        self.found.setObjectName("import_format")
        self.found.setWordWrap(True)
        self.found.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.next_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.next_button.setText("Next…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(file_button)
        row.addWidget(folder_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Annotations to merge into this folder's project (a file or a folder):"))
        layout.addLayout(row)
        form = QHBoxLayout()
        form.addWidget(QLabel("Format:"))
        form.addWidget(self.format_box, 1)
        layout.addLayout(form)
        layout.addWidget(self.found)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        self.path_edit.textChanged.connect(self._update)
        self.format_box.currentIndexChanged.connect(self._update)
        self._update()

    @property
    def path(self) -> Path:
        return Path(self.path_edit.text().strip()).expanduser()

    @property
    def format(self) -> AnnotationFormat | None:
        """The chosen format, else the recognised one; None when neither (the label says why)."""
        chosen = self.format_box.currentData()
        if chosen:
            return by_name(chosen)
        if not self.path_edit.text().strip():
            return None
        try:
            return detect(self.path)
        except FormatError:
            return None

    def _update(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self.found.setText("Choose a file or a folder.")
            self.next_button.setEnabled(False)
            return
        if not self.path.exists():
            self.found.setText(f"{self.path}: no such file or folder")
            self.next_button.setEnabled(False)
            return
        if self.format_box.currentData():
            self.found.setText(f"Read as {by_name(self.format_box.currentData()).title} (chosen).")
            self.next_button.setEnabled(True)
            return
        try:
            self.found.setText(f"Recognised: <b>{detect(self.path).title}</b>")
            self.next_button.setEnabled(True)
        except FormatError as exc:
            self.found.setText(f"{exc}: choose the format above".replace("; name one with --from", ""))
            self.next_button.setEnabled(False)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import annotations", str(self.start), "Annotations (*.json *.yaml *.yml *.xml);;All files (*)"
        )
        if path:
            self.path_edit.setText(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Import annotations (a folder)", str(self.start))
        if path:
            self.path_edit.setText(path)


def choose_and_import(window) -> None:
    """Ask for a file or folder (its format recognised), then `start_import` it into the window's open project."""
    project = window.projects.project
    if project is None:
        window.show_error("Open a folder first")
        return
    dialog = ImportSourceDialog(project.folder, window)

    def chosen() -> None:
        fmt = dialog.format
        if fmt is not None:
            start_import(window, dialog.path, fmt)

    dialog.accepted.connect(chosen)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()


class _Work(QRunnable):
    """Run `work()` on the pool; hand (result, error) to `done` (queued to the UI thread)."""

    def __init__(self, work: Callable[[], object], done: Callable[[object, Exception | None], None]) -> None:
        super().__init__()
        self.work, self.done = work, done

    def run(self) -> None:
        try:
            result, error = self.work(), None
        except Exception as exc:  # every failure becomes a message in the window, never a crash
            logger.exception("the import failed")
            result, error = None, exc
        self.done(result, error)


class ImportController(QObject):
    """Reads and plans the file, then writes the merge, on a worker thread with its own store
    connection: a 10,000-image file takes seconds, the window stays responsive meanwhile."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("import_controller")
        self.window = window
        self.busy = False
        self.dialog: ImportCocoDialog | None = None
        self.last_summary: ImportSummary | None = None
        self._invoker = MainThreadInvoker(self)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    @classmethod
    def of(cls, window) -> ImportController:
        return window.findChild(cls, "import_controller") or cls(window)

    def start(self, path: str | Path, fmt: AnnotationFormat | None = None) -> None:
        project = self.window.projects.project
        if project is None:
            self.window.show_error("Open a folder first")
            return
        if self.busy:
            self.window.show_error("An import is already running; wait for it to finish")
            return
        self.busy = True
        folder, labels = project.folder, project.labels
        self.window.statusBar().showMessage(f"Reading {path}…", 8000)

        def plan() -> ImportPlan | VisImportPlan:
            if fmt is not None and fmt.name == VIS_FORMAT_NAME:  # videos' frames and tracks
                with VideoStore.open(folder) as videos:
                    return plan_vis_import(videos, path, labels)
            with ProjectStore.open(folder) as store:
                return plan_import(store, path, labels, fmt)

        self._pool.start(_Work(plan, self._invoker.wrap(lambda p, e: self._planned(project, path, p, e, fmt))))

    def wait(self) -> None:
        self._pool.waitForDone(-1)

    def _planned(
        self,
        project,
        path,
        plan: ImportPlan | VisImportPlan | None,
        error: Exception | None,
        fmt: AnnotationFormat | None = None,
    ) -> None:
        if error is not None or self.window.projects.project is not project:
            self.busy = False
            if error is not None:
                self.window.show_error(f"Nothing was imported. {_reason(path, error)}")
            return
        self.window.statusBar().clearMessage()
        self.dialog = ImportCocoDialog(plan, project.folder, self.window, fmt)
        self.dialog.accepted.connect(lambda: self._apply(project, plan))
        self.dialog.rejected.connect(lambda: setattr(self, "busy", False))
        self.dialog.finished.connect(self.dialog.deleteLater)
        self.dialog.open()

    def _apply(self, project, plan: ImportPlan | VisImportPlan) -> None:
        self.window.statusBar().showMessage(f"Importing {plan.coco_path.name}…", 8000)
        folder = project.folder

        def apply() -> ImportSummary:
            if isinstance(plan, VisImportPlan):
                with VideoStore.open(folder) as videos:
                    return apply_vis_import(videos, plan)
            with ProjectStore.open(folder) as store:
                return apply_import(store, plan)

        self._pool.start(_Work(apply, self._invoker.wrap(lambda s, e: self._applied(project, s, e))))

    def _applied(self, project, summary: ImportSummary | None, error: Exception | None) -> None:
        self.busy = False
        if error is not None:  # e.g. locked by another program: the transaction wrote nothing
            self.window.show_error(f"Nothing was imported: {error}")
            return
        self.last_summary = summary
        if self.window.projects.project is project:
            for name in summary.merged:
                self.window.history.forget(name)  # its objects were replaced: old undo steps no longer apply
            project.record_import(summary.merged, project.labels)  # as stored by the import
        self.window.statusBar().showMessage("  ·  ".join(summary.lines(limit=3)), 20000)


def start_import(window, path: str | Path, fmt: AnnotationFormat | None = None) -> None:
    """Read and plan `path` (in format `fmt`, default COCO) off the UI thread, then open the confirmation
    (window-modal, not blocking); accepting it merges (also off the UI thread). Errors (unreadable, not of the
    format) become one message."""
    ImportController.of(window).start(path, fmt)


def _reason(path, error: Exception) -> str:
    if isinstance(error, (CocoFormatError, FormatError)):
        return str(error)
    if isinstance(error, OSError):
        return f"{path}: {error.strerror or error}"
    return str(error)


def import_after_open(window, path: str | Path) -> None:
    """`protolabel FOLDER --coco FILE`: once the folder is open (its walk finished), the import's confirmation."""
    window.projects.wait_for_scan()
    start_import(window, path)
