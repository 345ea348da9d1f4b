"""The class dock: the project's classes with counts and colours; rename, merge, delete, colour, hide, keep.

Rename, merge and delete change every image of the project in one store transaction; merge and delete
ask first. A rename or merge also changes the class mapping, so later model runs give the new name. Each
is one step of the project's undo history (`classes_changed` hands it to UndoHistory), so
Ctrl+Z puts every object, the class list, colours and keep flags back at once.
"""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QGridLayout,
    QInputDialog,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.colors import label_color, set_project_colors
from protolabel.segmentation.project.document import Change
from protolabel.segmentation.project.labels import ClassEdit
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError

NAME, COUNT, KEEP = range(3)


def _objects(count: int) -> str:
    return f"{count:,} object{'s' if count != 1 else ''}"


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(color)
    return QIcon(pixmap)


class LabelsDock(QDockWidget):
    """Lists the open project's classes; the checkbox by a name shows or hides that class on the canvas."""

    hidden_changed = Signal(object)  # frozenset of hidden class names
    classes_changed = Signal(object, object)  # (project, ClassEdit): a project-wide rename, merge or delete, undoable
    colors_changed = Signal()
    classes_listed = Signal(object)  # tuple of the class names listed, each time that list changes
    error = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("labels_dock")
        self.project: Project | None = None
        self.hidden: frozenset[str] = frozenset()
        self._counts: dict[str, int] = {}  # what the Objects column shows, per class
        self._refresh_pending = False
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
        for column in (COUNT, KEEP):  # as wide as their titles until rows fill them: the class column keeps the rest
            self.table.resizeColumnToContents(column)
        self.table.itemChanged.connect(self._on_item_changed)
        buttons = QGridLayout()  # two by two: the dock stays narrow
        self.buttons = {}
        for i, (name, text, slot) in enumerate(
            (
                ("rename", "Rename…", self.rename),
                ("merge", "Merge…", self.merge),
                ("color", "Colour…", self.choose_color),
                ("delete", "Delete…", self.delete),
            )
        ):
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
            self.project.events.objects_changed.disconnect(self._on_objects_changed)
            self.project.events.class_edit_replayed.disconnect(self._on_class_edit_replayed)
        self.project = project
        self.hidden = frozenset()
        if project is not None:
            project.events.labels_changed.connect(self.refresh)
            project.events.objects_changed.connect(self._on_objects_changed)
            project.events.class_edit_replayed.connect(self._on_class_edit_replayed)
        self.refresh()
        self.hidden_changed.emit(self.hidden)

    def refresh(self, *args) -> None:
        """Re-read classes, counts, colours and keep flags from the store. Rows whose class is already
        listed are updated in place (only the cells that differ); the table is rebuilt only when the
        classes or their order changed."""
        self._refresh_pending = False
        project = self.project
        if project is None:
            self._counts = {}
            listed = bool(self.table.rowCount())
            self.table.setRowCount(0)
            self._update_buttons()
            if listed:
                self.classes_listed.emit(())
            return
        counts, kept = project.class_counts(), project.kept_classes
        # Every class listed takes a palette colour in list order, those objects carry without being in the
        # project's class list included (an auto-label run's): hashed colours gave 8 classes 3 hues.
        recoloured = set_project_colors(list(counts), project.class_colors_chosen)
        self._counts = dict(counts)
        self.table.blockSignals(True)
        listed = list(counts) != self.classes()
        if not listed:
            if any([self._fill_row(row, label, kept) for row, label in enumerate(counts)]):
                self.table.resizeColumnToContents(COUNT)
        else:
            self._rebuild(counts, kept)
        self.table.blockSignals(False)
        self._update_buttons()
        if listed:  # e.g. the classes an auto-label run found: the New polygons box lists them too
            self.classes_listed.emit(tuple(counts))
        if recoloured:  # e.g. classes an import brought: the canvas and lists drew them before they had colours
            self.colors_changed.emit()

    def _rebuild(self, counts: dict[str, int], kept: frozenset[str]) -> None:
        selected = self.selected_class()
        self.table.setRowCount(0)
        self.table.setRowCount(len(counts))
        for row, label in enumerate(counts):
            name = QTableWidgetItem(label)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
            name.setToolTip(f"{label}: key {row + 1} gives the selected object this class" if row < 9 else label)
            number = QTableWidgetItem()
            number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            number.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            keep = QTableWidgetItem()
            keep.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
            for column, item in ((NAME, name), (COUNT, number), (KEEP, keep)):
                self.table.setItem(row, column, item)
            self._fill_row(row, label, kept)
            if label == selected:
                self.table.selectRow(row)
        self.table.resizeColumnToContents(COUNT)
        self.table.resizeColumnToContents(KEEP)

    def _fill_row(self, row: int, label: str, kept: frozenset[str]) -> bool:
        """Set the row's swatch, eye, count and keep flag where they differ from what is shown; True when
        the count's text changed (its column may need another width)."""
        name, keep = self.table.item(row, NAME), self.table.item(row, KEEP)
        color = label_color(label).name()
        if name.data(Qt.ItemDataRole.UserRole) != color:
            name.setData(Qt.ItemDataRole.UserRole, color)
            name.setIcon(_swatch(QColor(color)))
        shown = Qt.CheckState.Unchecked if label in self.hidden else Qt.CheckState.Checked
        if name.checkState() != shown:
            name.setCheckState(shown)
        flag = Qt.CheckState.Checked if label in kept else Qt.CheckState.Unchecked
        if keep.checkState() != flag:
            keep.setCheckState(flag)
        return self._show_count(row, self._counts.get(label, 0))

    def _show_count(self, row: int, count: int) -> bool:
        item, text = self.table.item(row, COUNT), f"{count:,}"
        if item.text() == text:
            return False
        item.setText(text)
        return True

    def _on_objects_changed(self, _name: str | None, change: Change | None) -> None:
        """An edit changes the counts of its classes in place; objects re-read from the store (or a class
        not listed yet) mean one re-read, after the current event (a burst of reloads reads once)."""
        if change is not None:
            delta = Counter(o.label for o in change.after)
            delta.subtract(o.label for o in change.before)
            delta = {label: n for label, n in delta.items() if n}
            rows = {label: row for row, label in enumerate(self.classes())}
            if all(label in rows for label in delta):
                self.table.blockSignals(True)
                changed = False
                for label, n in delta.items():
                    self._counts[label] = self._counts.get(label, 0) + n
                    changed |= self._show_count(rows[label], self._counts[label])
                self.table.blockSignals(False)
                if changed:
                    self.table.resizeColumnToContents(COUNT)
                return
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self._refresh_if_pending)

    def _on_class_edit_replayed(self, edit: ClassEdit, undone: bool) -> None:
        """A hidden class stays hidden under its name as the undo or redo of a rename gives it back."""
        if edit.new is None or edit.new in edit.before.labels:
            return  # a delete or a merge: the class that comes back is shown
        old, new = (edit.new, edit.old) if undone else (edit.old, edit.new)
        if old in self.hidden:
            self.hidden = self.hidden - {old} | {new}
            self.refresh()  # the eye of its row
            self.hidden_changed.emit(self.hidden)

    def _refresh_if_pending(self) -> None:
        if self._refresh_pending:
            self.refresh()

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
        if not self._confirm(
            "Merge class",
            f"Give all {count:,} '{label}' objects the class '{target}' and remove "
            f"'{label}'? This changes every image at once (Ctrl+Z undoes it).",
        ):
            return
        self._relabel(label, target, f"Merged '{label}' into '{target}'")

    def _relabel(self, label: str, new: str, done: str) -> None:
        edits = []
        if self._store_step(lambda: edits.append(self.project.rename_class(label, new))):
            self.hidden = frozenset(new if h == label else h for h in self.hidden)
            self.classes_changed.emit(self.project, edits[0])
            self.hidden_changed.emit(self.hidden)
            runs = ", and in later model runs" if edits[0].mapped else ""
            self.message.emit(f"{done}: {_objects(edits[0].count)}{runs} (Ctrl+Z undoes it)")

    def delete(self) -> None:
        """Delete the selected class and every object of it, after asking."""
        label = self.selected_class()
        if label is None or self.project is None:
            return
        count = self.project.class_counts().get(label, 0)
        if not self._confirm(
            "Delete class", f"Delete the class '{label}' and its {_objects(count)} in every image? Ctrl+Z undoes it."
        ):
            return
        edits = []
        if self._store_step(lambda: edits.append(self.project.delete_class(label))):
            self.hidden = self.hidden - {label}
            self.classes_changed.emit(self.project, edits[0])
            self.hidden_changed.emit(self.hidden)
            self.message.emit(f"Deleted '{label}' and {_objects(edits[0].count)} (Ctrl+Z undoes it)")

    def choose_color(self, color: QColor | None = None) -> None:
        """Give the selected class another colour (kept with the project)."""
        label = self.selected_class()
        if label is None or self.project is None:
            return
        if color is None:
            color = QColorDialog.getColor(label_color(label), self, f"Colour of '{label}'")
            if not color.isValid():
                return
        self._store_step(lambda: self.project.set_class_color(label, color.name()))  # refresh says colors_changed

    def _confirm(self, title: str, text: str) -> bool:
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("class_confirm")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Yes
