"""Export COCO dialog: where to write, all labelled images or verified only. A path that cannot be written
(no such folder, read-only, a folder) is refused in the dialog, with the reason, before any work."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from protolabel.segmentation.output_paths import OutputPathError
from protolabel.segmentation.project.export import check_export_path


class ExportDialog(QDialog):
    def __init__(self, default_path: Path, counts: dict, project_folder: Path, parent=None) -> None:
        super().__init__(parent)
        self.project_folder = project_folder
        self.setWindowTitle("Export COCO")
        self.setObjectName("export_dialog")
        self.path_edit = QLineEdit(str(default_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.all_radio = QRadioButton(f"All labelled images ({counts['all']:,}: auto-labeled, edited, verified)")
        self.verified_radio = QRadioButton(f"Verified images only ({counts['verified']:,})")
        self.all_radio.setChecked(True)
        self.validate_box = QCheckBox("Check the file with pycocotools after writing")
        self.validate_box.setChecked(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("export_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.setVisible(False)
        self.path_edit.textChanged.connect(lambda _text: self.error_label.setVisible(False))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit)
        path_row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("COCO instance-segmentation file:"))
        layout.addLayout(path_row)
        layout.addWidget(self.all_radio)
        layout.addWidget(self.verified_radio)
        layout.addWidget(self.validate_box)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def problem(self) -> str:
        """Why the chosen path cannot be written ('' when it can): the one output-path check of every command."""
        if not self.path_edit.text().strip():
            return "Choose a file name for the COCO file"
        try:
            check_export_path(self.project_folder, self.path)
        except OutputPathError as exc:
            return str(exc)
        return ""

    def accept(self) -> None:
        problem = self.problem()
        if problem:
            self.error_label.setText(problem)
            self.error_label.setVisible(True)
            return
        super().accept()

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export COCO", self.path_edit.text(), "COCO JSON (*.json)")
        if path:
            self.path_edit.setText(path)

    @property
    def path(self) -> Path:
        return Path(self.path_edit.text()).expanduser()

    @property
    def verified_only(self) -> bool:
        return self.verified_radio.isChecked()
