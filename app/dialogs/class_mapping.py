"""Class filter and mapping: tick the model classes to keep and type the project label each becomes."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from protolabel.segmentation.project.labels import ClassMapping


class ClassMappingDialog(QDialog):
    """Edits a ClassMapping for a model's class list; `mapping()` reads the result."""

    def __init__(self, model_classes: Sequence[str], mapping: ClassMapping, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Class filter and mapping")
        self.setObjectName("class_mapping_dialog")
        self.resize(520, 600)
        self.model_classes = list(model_classes)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes…")
        self.search.textChanged.connect(self._filter_rows)
        self.table = QTableWidget(len(self.model_classes), 2)
        self.table.setObjectName("mapping_table")
        self.table.setHorizontalHeaderLabels(["Model class (tick to keep)", "Project label"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        for row, name in enumerate(self.model_classes):
            keep = QTableWidgetItem(name)
            keep.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            keep.setCheckState(
                Qt.CheckState.Checked if mapping.label_for(name) is not None else Qt.CheckState.Unchecked
            )
            self.table.setItem(row, 0, keep)
            self.table.setItem(row, 1, QTableWidgetItem(mapping.rename.get(name, name)))
        all_button = QPushButton("Keep all")
        all_button.clicked.connect(lambda: self._check_all(True))
        none_button = QPushButton("Keep none")
        none_button.clicked.connect(lambda: self._check_all(False))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #dc2626")
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(all_button)
        row_buttons.addWidget(none_button)
        row_buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Auto-labels keep only the ticked classes, under the label on the right "
                "(e.g. rename person → pedestrian)."
            )
        )
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addLayout(row_buttons)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)

    def _filter_rows(self, text: str) -> None:
        text = text.strip().casefold()
        for row, name in enumerate(self.model_classes):
            label = self.table.item(row, 1).text().casefold()
            self.table.setRowHidden(row, bool(text) and text not in name.casefold() and text not in label)

    def _check_all(self, keep: bool) -> None:
        state = Qt.CheckState.Checked if keep else Qt.CheckState.Unchecked
        for row in range(self.table.rowCount()):
            if not self.table.isRowHidden(row):
                self.table.item(row, 0).setCheckState(state)

    def set_row(self, model_class: str, keep: bool, label: str | None = None) -> None:
        """Set one row (what a person does with the mouse; tests use it too)."""
        row = self.model_classes.index(model_class)
        self.table.item(row, 0).setCheckState(Qt.CheckState.Checked if keep else Qt.CheckState.Unchecked)
        if label is not None:
            self.table.item(row, 1).setText(label)

    def mapping(self) -> ClassMapping:
        keep, rename = set(), {}
        for row, name in enumerate(self.model_classes):
            if self.table.item(row, 0).checkState() == Qt.CheckState.Checked:
                keep.add(name)
            label = self.table.item(row, 1).text().strip()
            if label and label != name:
                rename[name] = label
        return ClassMapping(keep=None if len(keep) == len(self.model_classes) else frozenset(keep), rename=rename)

    def accept(self) -> None:
        for row, name in enumerate(self.model_classes):
            if (
                self.table.item(row, 0).checkState() == Qt.CheckState.Checked
                and not self.table.item(row, 1).text().strip()
            ):
                self.error_label.setText(f"The project label for {name!r} is empty")
                return
        super().accept()
