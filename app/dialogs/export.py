"""Export dialog: which format (COCO, labelme, YOLO, ...: the registry of segmentation.formats), where to write
(a file or a folder, as the format has it), all labelled images or verified only. A path that cannot be written
(no such folder, read-only, a folder for a file, inside the project for a folder) is refused in the dialog, with
the reason, before any work."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
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

from protolabel.segmentation.formats.base import AnnotationFormat
from protolabel.segmentation.formats.registry import all_formats, by_name
from protolabel.segmentation.formats.youtube_vis import FORMAT_NAME as VIS_FORMAT_NAME
from protolabel.segmentation.output_paths import OutputPathError
from protolabel.segmentation.project.export import check_export_path

MIN_WIDTH = 520  # room for a path and for a message about it on a few lines
# Said before choosing a format; the export's summary then gives the counts.
CARRIES = {
    "labelme": "labelme polygons cannot cut holes: objects with holes are written filled (counted after).",
    "yolo": "One polygon per object: parts are joined by a seam (as Ultralytics does) and holes are filled; "
    "the images are linked or copied into images/.",
    "voc": "One object per pixel: where objects overlap the later one keeps the pixels; no crowd flag, no mark for "
    "objects the model made (counted after). The images are linked or copied into JPEGImages/.",
    "cvat": "Objects with holes or several parts are written as CVAT masks (pixels kept exactly). "
    "Put the images in images/ beside annotations.xml: CVAT and Datumaro look for them there.",
    VIS_FORMAT_NAME: "Videos only: one annotation per track (RLE masks or polygons, null where not seen), every "
    "frame written into JPEGImages/. Objects without a track are not carried (counted after).",
}
# The one-file formats other than COCO: the file a default path ends in, and the browse filter.
FILE_KINDS = {"cvat": (".xml", "CVAT XML (*.xml)")}


class ExportDialog(QDialog):
    def __init__(self, default_path: Path, counts: dict, project_folder: Path, parent=None) -> None:
        super().__init__(parent)
        self.project_folder = project_folder
        self.default_path = default_path
        self.setWindowTitle("Export")
        self.setObjectName("export_dialog")
        self.format_box = QComboBox()
        self.format_box.setObjectName("export_format")
        for fmt in self._formats(counts):
            self.format_box.addItem(fmt.title, fmt.name)
        self.path_label = QLabel()
        self.path_edit = QLineEdit(str(default_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.all_radio = QRadioButton(f"All labelled images ({counts['all']:,}: auto-labeled, edited, verified)")
        self.verified_radio = QRadioButton(f"Verified images only ({counts['verified']:,})")
        self.all_radio.setChecked(True)
        self.validate_box = QCheckBox("Check the file with pycocotools after writing")
        self.validate_box.setChecked(True)
        # the CLI's --polygons: some YouTube-VIS readers take polygons only; a shape with holes stays RLE
        self.polygons_box = QCheckBox("Polygons instead of RLE masks (a shape with holes stays RLE)")
        self.polygons_box.setObjectName("export_polygons")
        self.carries = QLabel()  # what the chosen format cannot carry, before choosing it
        self.carries.setWordWrap(True)
        self.carries.setStyleSheet("color: palette(mid);")
        self.error_label = QLabel()
        self.error_label.setObjectName("export_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b91c1c;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # a path to copy
        self.error_label.setVisible(False)
        self.path_edit.textChanged.connect(lambda _text: self.error_label.setVisible(False))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit)
        path_row.addWidget(browse)
        format_row = QHBoxLayout()
        format_row.addWidget(QLabel("Format:"))
        format_row.addWidget(self.format_box, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(format_row)
        layout.addWidget(self.carries)
        layout.addWidget(self.path_label)
        layout.addLayout(path_row)
        layout.addWidget(self.all_radio)
        layout.addWidget(self.verified_radio)
        layout.addWidget(self.validate_box)
        layout.addWidget(self.polygons_box)
        layout.addWidget(self.error_label)
        layout.addStretch(1)  # spare height (the dialog sized to a wrapped message) goes above the buttons
        layout.addWidget(buttons)
        self.setMinimumWidth(MIN_WIDTH)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    @staticmethod
    def _formats(counts: dict) -> list[AnnotationFormat]:
        """The formats to offer: YouTube-VIS (videos and tracks) only for a project with videos."""
        return [f for f in all_formats() if f.name != VIS_FORMAT_NAME or counts.get("videos")]

    @property
    def format(self) -> AnnotationFormat:
        return by_name(self.format_box.currentData())

    @property
    def polygons(self) -> bool:
        """Polygons instead of RLE: only for YouTube-VIS, the format that offers the choice."""
        return self.format.name == VIS_FORMAT_NAME and self.polygons_box.isChecked()

    def _format_changed(self) -> None:
        """The path's wording and default follow the format: a file for COCO, a folder beside the project's."""
        fmt = self.format
        self.path_label.setText(f"{fmt.title}: {'folder to write' if fmt.writes_folder else 'file to write'}")
        self.carries.setText(CARRIES.get(fmt.name, ""))
        self.carries.setVisible(fmt.name in CARRIES)
        self.validate_box.setVisible(fmt.name == "coco")
        self.polygons_box.setVisible(fmt.name == VIS_FORMAT_NAME)
        current = self.path_edit.text().strip()
        defaults = {str(self._default(f)) for f in all_formats()}
        if not current or current in defaults:  # a path the user typed is kept
            self.path_edit.setText(str(self._default(fmt)))
        self.error_label.setVisible(False)
        self.adjustSize()  # a shown dialog keeps its size: grow to the format's note, or it is cut off

    def _default(self, fmt: AnnotationFormat) -> Path:
        """COCO's default file; for another format a folder or file named after it beside the project's folder."""
        if not fmt.writes_folder and fmt.name not in FILE_KINDS:
            return self.default_path
        folder = Path(self.project_folder)
        return folder.parent / f"{folder.name}-{fmt.name}{FILE_KINDS.get(fmt.name, ('',))[0]}"

    def problem(self) -> str:
        """Why the chosen path cannot be written ('' when it can): the one output-path check of every command."""
        if not self.path_edit.text().strip():
            return f"Choose where to write the {self.format.title}"
        try:
            check_export_path(self.project_folder, self.path, self.format)
        except OutputPathError as exc:
            return str(exc)
        return ""

    def accept(self) -> None:
        problem = self.problem()
        if problem:
            self.error_label.setText(problem)
            self.error_label.setVisible(True)
            self.adjustSize()  # grow to the wrapped message: a shown dialog keeps its size, and cut it off
            return
        super().accept()

    def _browse(self) -> None:
        if self.format.writes_folder:
            path = QFileDialog.getExistingDirectory(self, f"Export {self.format.title}", self.path_edit.text())
        else:
            kind = FILE_KINDS.get(self.format.name, (".json", "COCO JSON (*.json)"))[1]
            path, _ = QFileDialog.getSaveFileName(self, f"Export {self.format.title}", self.path_edit.text(), kind)
        if path:
            self.path_edit.setText(path)

    @property
    def path(self) -> Path:
        return Path(self.path_edit.text()).expanduser()

    @property
    def verified_only(self) -> bool:
        return self.verified_radio.isChecked()
