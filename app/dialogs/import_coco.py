"""File ▸ Import COCO…: a confirmation that says what will be merged and what skipped (and why), then the
merge in one store transaction (segmentation.project.importing; the same merge as `protolabel import`).

The confirmation comes first instead of an undo step: the import touches many images at once, and
`protolabel import` does the same merge headless, so the rule is "look, then do"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from segmentation.coco.reader import CocoFormatError
from segmentation.project.importing import ImportPlan, ImportSummary, apply_import, plan_import
from segmentation.project.store import ProjectStoreError


class ImportCocoDialog(QDialog):
    """What importing `plan` into `folder` will do; Import (disabled when nothing would merge) or Cancel."""

    def __init__(self, plan: ImportPlan, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Import COCO")
        self.setObjectName("import_dialog")
        heading = QLabel(f"Merge <b>{plan.coco_path.name}</b> into the project of <b>{folder}</b>?<br>"
                         "Images already edited or verified here are never overwritten.")
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
    path, _ = QFileDialog.getOpenFileName(window, "Import a COCO file", str(project.folder),
                                          "COCO JSON (*.json);;All files (*)")
    if path:
        start_import(window, path)


def start_import(window, path: str | Path) -> ImportCocoDialog | None:
    """Plan the import of `path` and open the confirmation (window-modal, not blocking); accepting it
    merges. Returns the dialog, or None after an error message (unreadable or not COCO)."""
    project = window.projects.project
    if project is None:
        window.show_error("Open a folder first")
        return None
    try:
        plan = plan_import(project.store, path, project.labels)
    except CocoFormatError as exc:
        window.show_error(f"Nothing was imported. {exc}")
        return None
    except (OSError, ProjectStoreError) as exc:
        window.show_error(f"Nothing was imported: {path}: {getattr(exc, 'strerror', None) or exc}")
        return None
    dialog = ImportCocoDialog(plan, project.folder, window)
    dialog.accepted.connect(lambda: _apply(window, project, plan))
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def import_after_open(window, path: str | Path) -> ImportCocoDialog | None:
    """`protolabel FOLDER --coco FILE`: once the folder is open (its walk finished), the import's confirmation."""
    window.projects.wait_for_scan()
    return start_import(window, path)


def _apply(window, project, plan: ImportPlan) -> ImportSummary | None:
    if window.projects.project is not project:  # the folder was closed meanwhile
        return None
    try:
        summary = apply_import(project.store, plan)
    except ProjectStoreError as exc:  # e.g. locked by another program: the transaction wrote nothing
        window.show_error(f"Nothing was imported: {exc}")
        return None
    for name in summary.merged:
        window.history.forget(name)  # its objects were replaced: old undo steps no longer apply
    project.record_import(summary.merged, plan.labels)
    window.statusBar().showMessage("  ·  ".join(summary.lines(limit=3)), 20000)
    return summary
