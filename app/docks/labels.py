"""The class dock: the project's classes with counts and colours; rename, merge, delete, colour, hide, keep.

Rename, merge and delete change every image of the project in one store transaction; merge and delete
ask first. Each is one step of the project's undo history (`classes_changed` hands it to UndoHistory), so
Ctrl+Z puts every object, the class list, colours and keep flags back at once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QColorDialog, QDockWidget, QGridLayout, QInputDialog, QMessageBox, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.colors import label_color, set_project_colors
from segmentation.project.project import Project
from segmentation.project.store import ProjectStoreError

NAME, COUNT, KEEP = range(3)


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(color)
    return QIcon(pixmap)


class LabelsDock(QDockWidget):
    """Lists the open project's classes; the checkbox by a name shows or hides that class on the canvas."""

    hidden_changed = Signal(object)  # frozenset of hidden class names
    classes_changed = Signal(object, object)  # (project, ClassEdit): a project-wide rename, merge or delete, undoable
    colors_changed = Signal()
    error = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("labels_dock")
        self.project: Project | None = None
        self.hidden: frozenset[str] = frozenset()
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("class_table")
        self.table.setHorizontalHeaderLabels(["Class (shown)", "Objects", "Keep"])
        self.table.horizontalHeaderItem(KEEP).setToolTip("Write this class to the export even with no objects")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.horizontalHeader().setSectionResizeMode(NAME, self.table.horizontalHeader().ResizeMode.Stretch)
        self.table.itemChanged.connect(self._on_item_changed)
        buttons = QGridLayout()  # two by two: the dock stays narrow
        self.buttons = {}
        for i, (name, text, slot) in enumerate((("rename", "Rename…", self.rename), ("merge", "Merge…", self.merge),
                                                ("color", "Colour…", self.choose_color),
                                                ("delete", "Delete…", self.delete))):
            button = QPushButton(text)
            button.setObjectName(f"class_{name}")
            button.clicked.connect(lambda _checked=False, s=slot: s())
            buttons.addWidget(button, i // 2, i % 2)
            self.buttons[name] = button
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._update_buttons()
        self.table.itemSelectionChanged.connect(self._update_buttons)

    # ---------------------------------------------------------------- showing
    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.labels_changed.disconnect(self.refresh)
        self.project = project
        self.hidden = frozenset()
        if project is not None:
            project.events.labels_changed.connect(self.refresh)
        self.refresh()
        self.hidden_changed.emit(self.hidden)

    def refresh(self, *args) -> None:
        """Re-read classes, counts, colours and keep flags (cheap: one grouped query)."""
        project = self.project
        selected = self.selected_class()
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        if project is not None:
            set_project_colors(project.labels, project.class_colors_chosen)
            counts, kept = project.class_counts(), project.kept_classes
            for row, (label, count) in enumerate(counts.items()):
                self.table.insertRow(row)
                name = QTableWidgetItem(_swatch(label_color(label)), label)
                name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
                name.setCheckState(Qt.CheckState.Unchecked if label in self.hidden else Qt.CheckState.Checked)
                name.setToolTip(f"{label}: key {row + 1} gives the selected object this class" if row < 9 else label)
                number = QTableWidgetItem(f"{count:,}")
                number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                number.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                keep = QTableWidgetItem()
                keep.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
                keep.setCheckState(Qt.CheckState.Checked if label in kept else Qt.CheckState.Unchecked)
                for column, item in ((NAME, name), (COUNT, number), (KEEP, keep)):
                    self.table.setItem(row, column, item)
                if label == selected:
                    self.table.selectRow(row)
        self.table.blockSignals(False)
        self.table.resizeColumnToContents(COUNT)
        self.table.resizeColumnToContents(KEEP)
        self._update_buttons()

    def classes(self) -> list[str]:
        return [self.table.item(row, NAME).text() for row in range(self.table.rowCount())]

    def row_of(self, label: str) -> int:
        return self.classes().index(label)

    def selected_class(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.table.item(rows[0].row(), NAME).text() if rows else None

    def select_class(self, label: str) -> None:
        self.table.selectRow(self.row_of(label))

    def _update_buttons(self) -> None:
        for button in self.buttons.values():
            button.setEnabled(self.selected_class() is not None)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        label = self.table.item(item.row(), NAME).text()
        checked = item.checkState() == Qt.CheckState.Checked
        if item.column() == NAME:
            self.hidden = self.hidden - {label} if checked else self.hidden | {label}
            self.hidden_changed.emit(self.hidden)
        elif item.column() == KEEP and self.project is not None:
            self._store_step(lambda: self.project.set_kept(label, checked))

    # ---------------------------------------------------------------- project-wide changes
    def _store_step(self, step) -> bool:
        try:
            step()
        except (ProjectStoreError, ValueError) as exc:
            self.error.emit(str(exc))
            self.refresh()
            return False
        return True

    def rename(self, new: str | None = None) -> None:
        """Rename the selected class everywhere (to another class's name: merge, after asking)."""
        label = self.selected_class()
        if label is None or self.project is None:
            return
        if new is None:
            new, ok = QInputDialog.getText(self, "Rename class", f"New name for '{label}' in every image:", text=label)
            if not ok:
                return
        new = new.strip()
        if not new or new == label:
            return
        if new in self.classes():
            self.merge(new)
            return
        self._relabel(label, new, f"Renamed '{label}' to '{new}'")

    def merge(self, target: str | None = None) -> None:
        """Give every object of the selected class another existing class (asks which, then confirms)."""
        label = self.selected_class()
        if label is None or self.project is None:
            return
        others = [c for c in self.classes() if c != label]
        if not others:
            self.message.emit("There is no other class to merge into")
            return
        if target is None:
            target, ok = QInputDialog.getItem(self, "Merge class", f"Merge '{label}' into:", others, 0, False)
            if not ok:
                return
        count = self.project.class_counts().get(label, 0)
        if not self._confirm("Merge class", f"Give all {count:,} '{label}' objects the class '{target}' and remove "
                             f"'{label}'? This changes every image at once (Ctrl+Z undoes it)."):
            return
        self._relabel(label, target, f"Merged '{label}' into '{target}'")

    def _relabel(self, label: str, new: str, done: str) -> None:
        edits = []
        if self._store_step(lambda: edits.append(self.project.rename_class(label, new))):
            self.hidden = frozenset(new if h == label else h for h in self.hidden)
            self.classes_changed.emit(self.project, edits[0])
            self.hidden_changed.emit(self.hidden)
            self.message.emit(f"{done}: {edits[0].count:,} objects (Ctrl+Z undoes it)")

    def delete(self) -> None:
        """Delete the selected class and every object of it, after asking."""
        label = self.selected_class()
        if label is None or self.project is None:
            return
        count = self.project.class_counts().get(label, 0)
        if not self._confirm("Delete class", f"Delete the class '{label}' and its {count:,} objects in every image? "
                             "Ctrl+Z undoes it."):
            return
        edits = []
        if self._store_step(lambda: edits.append(self.project.delete_class(label))):
            self.hidden = self.hidden - {label}
            self.classes_changed.emit(self.project, edits[0])
            self.hidden_changed.emit(self.hidden)
            self.message.emit(f"Deleted '{label}' and {edits[0].count:,} objects (Ctrl+Z undoes it)")

    def choose_color(self, color: QColor | None = None) -> None:
        """Give the selected class another colour (kept with the project)."""
        label = self.selected_class()
        if label is None or self.project is None:
            return
        if color is None:
            color = QColorDialog.getColor(label_color(label), self, f"Colour of '{label}'")
            if not color.isValid():
                return
        if self._store_step(lambda: self.project.set_class_color(label, color.name())):
            self.colors_changed.emit()

    def _confirm(self, title: str, text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("class_confirm")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Yes
