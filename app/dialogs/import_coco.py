"""File ▸ Import COCO…: a confirmation that says what will be merged and what skipped (and why), then the
merge in one store transaction (segmentation.project.importing; the same merge as `protolabel import`).

The confirmation comes first instead of an undo step: the import touches many images at once, and
`protolabel import` does the same merge headless, so the rule is "look, then do"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.qt_bridge import MainThreadInvoker
from protolabel.segmentation.coco.reader import CocoFormatError
from protolabel.segmentation.project.importing import ImportPlan, ImportSummary, apply_import, plan_import
from protolabel.segmentation.project.store import ProjectStore

logger = logging.getLogger(__name__)


class ImportCocoDialog(QDialog):
    """What importing `plan` into `folder` will do; Import (disabled when nothing would merge) or Cancel."""

    def __init__(self, plan: ImportPlan, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Import COCO")
        self.setObjectName("import_dialog")
        heading = QLabel(
            f"Merge <b>{plan.coco_path.name}</b> into the project of <b>{folder}</b>?<br>"
            "Images already edited or verified here are never overwritten."
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


def choose_and_import(window) -> None:
    """Ask for a COCO file, then `start_import` it into the window's open project."""
    project = window.projects.project
    if project is None:
        window.show_error("Open a folder first")
        return
    path, _ = QFileDialog.getOpenFileName(
        window, "Import a COCO file", str(project.folder), "COCO JSON (*.json);;All files (*)"
    )
    if path:
        start_import(window, path)


class _Work(QRunnable):
    """Run `work()` on the pool; hand (result, error) to `done` (queued to the UI thread)."""

    def __init__(self, work: Callable[[], object], done: Callable[[object, Exception | None], None]) -> None:
        super().__init__()
        self.work, self.done = work, done

    def run(self) -> None:
        try:
            result, error = self.work(), None
        except Exception as exc:  # every failure becomes a message in the window, never a crash
            logger.exception("the COCO import failed")
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

    def start(self, path: str | Path) -> None:
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

        def plan() -> ImportPlan:
            with ProjectStore.open(folder) as store:
                return plan_import(store, path, labels)

        self._pool.start(_Work(plan, self._invoker.wrap(lambda p, e: self._planned(project, path, p, e))))

    def wait(self) -> None:
        self._pool.waitForDone(-1)

    def _planned(self, project, path, plan: ImportPlan | None, error: Exception | None) -> None:
        if error is not None or self.window.projects.project is not project:
            self.busy = False
            if error is not None:
                self.window.show_error(f"Nothing was imported. {_reason(path, error)}")
            return
        self.window.statusBar().clearMessage()
        self.dialog = ImportCocoDialog(plan, project.folder, self.window)
        self.dialog.accepted.connect(lambda: self._apply(project, plan))
        self.dialog.rejected.connect(lambda: setattr(self, "busy", False))
        self.dialog.finished.connect(self.dialog.deleteLater)
        self.dialog.open()

    def _apply(self, project, plan: ImportPlan) -> None:
        self.window.statusBar().showMessage(f"Importing {plan.coco_path.name}…", 8000)
        folder = project.folder

        def apply() -> ImportSummary:
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


def start_import(window, path: str | Path) -> None:
    """Read and plan `path` off the UI thread, then open the confirmation (window-modal, not blocking);
    accepting it merges (also off the UI thread). Errors (unreadable, not COCO) become one message."""
    ImportController.of(window).start(path)


def _reason(path, error: Exception) -> str:
    if isinstance(error, CocoFormatError):
        return str(error)
    if isinstance(error, OSError):
        return f"{path}: {error.strerror or error}"
    return str(error)


def import_after_open(window, path: str | Path) -> None:
    """`protolabel FOLDER --coco FILE`: once the folder is open (its walk finished), the import's confirmation."""
    window.projects.wait_for_scan()
    start_import(window, path)
