"""The class dock: the project's classes with counts and colours; rename, merge, delete, colour, hide, keep.

It renders two Qt-free models it does not own: the class list (names, counts, keep flags) and the
visibility model (which classes are hidden).

Rename, merge and delete change every image of the project in one store transaction; merge and delete
ask first. A rename or merge also changes the class mapping, so later model runs give the new name. Each
is one step of the project's undo history (`classes_changed` hands it to UndoHistory), so
Ctrl+Z puts every object, the class list, colours and keep flags back at once.
"""

from __future__ import annotations

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
from protolabel.segmentation.project.class_list import ClassList
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError
from protolabel.segmentation.project.visibility import Visibility

NAME, COUNT, KEEP = range(3)


def _objects(count: int) -> str:
    return f"{count:,} object{'s' if count != 1 else ''}"


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(color)
    return QIcon(pixmap)


class LabelsDock(QDockWidget):
    """Renders the class list (names, counts, keep flags) and which classes are hidden; the checkbox by a
    name shows or hides that class through the visibility model."""

    classes_changed = Signal(object, object)  # (project, ClassEdit): a project-wide rename, merge or delete, undoable
    colors_changed = Signal()
    error = Signal(str)
    message = Signal(str)

    def __init__(self, class_list: ClassList, visibility: Visibility, parent: QWidget | None = None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("labels_dock")
        self.class_list = class_list
        self.visibility = visibility
        self._rows: tuple[str, ...] = ()  # the class of each table row, as last rendered
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
        class_list.events.changed.connect(self.render)
        class_list.events.counts.connect(self._show_counts)
        class_list.events.stale.connect(lambda: QTimer.singleShot(0, class_list.refresh_if_stale))
        visibility.events.classes.connect(self._show_eyes)
        self.render()

    @property
    def project(self) -> Project | None:
        return self.class_list.project

    # ---------------------------------------------------------------- showing
    def render(self) -> None:
        """Show the class list: rows whose class is already listed are updated in place (only the cells
        that differ); the table is rebuilt only when the classes or their order changed."""
        names, project = self.class_list.names, self.class_list.project
        # Every class listed takes a palette colour in list order, those objects carry without being in the
        # project's class list included (an auto-label run's): hashed colours gave 8 classes 3 hues.
        recoloured = project is not None and set_project_colors(list(names), project.class_colors_chosen)
        self.table.blockSignals(True)
        if names == self._rows:
            if any([self._fill_row(row, label) for row, label in enumerate(names)]):
                self.table.resizeColumnToContents(COUNT)
        else:
            self._rebuild(names)
        self.table.blockSignals(False)
        self._update_buttons()
        if recoloured:  # e.g. classes an import brought: the canvas and lists drew them before they had colours
            self.colors_changed.emit()

    def _rebuild(self, names: tuple[str, ...]) -> None:
        selected = self.selected_class()
        self.table.setRowCount(0)
        self.table.setRowCount(len(names))
        self._rows = names
        for row, label in enumerate(names):
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
            self._fill_row(row, label)
            if label == selected:
                self.table.selectRow(row)
        self.table.resizeColumnToContents(COUNT)
        self.table.resizeColumnToContents(KEEP)

    def _fill_row(self, row: int, label: str) -> bool:
        """Set the row's swatch, eye, count and keep flag where they differ from what is shown; True when
        the count's text changed (its column may need another width)."""
        name, keep = self.table.item(row, NAME), self.table.item(row, KEEP)
        color = label_color(label).name()
        if name.data(Qt.ItemDataRole.UserRole) != color:
            name.setData(Qt.ItemDataRole.UserRole, color)
            name.setIcon(_swatch(QColor(color)))
        shown = Qt.CheckState.Unchecked if label in self.visibility.hidden_classes else Qt.CheckState.Checked
        if name.checkState() != shown:
            name.setCheckState(shown)
        flag = Qt.CheckState.Checked if label in self.class_list.kept else Qt.CheckState.Unchecked
        if keep.checkState() != flag:
            keep.setCheckState(flag)
        return self._show_count(row, self.class_list.count(label))

    def _show_count(self, row: int, count: int) -> bool:
        item, text = self.table.item(row, COUNT), f"{count:,}"
        if item.text() == text:
            return False
        item.setText(text)
        return True

    def _show_eyes(self, hidden: frozenset[str]) -> None:
        self.table.blockSignals(True)
        for row, label in enumerate(self._rows):
            shown = Qt.CheckState.Unchecked if label in hidden else Qt.CheckState.Checked
            if self.table.item(row, NAME).checkState() != shown:
                self.table.item(row, NAME).setCheckState(shown)
        self.table.blockSignals(False)

    def _show_counts(self, counts: dict[str, int]) -> None:
        """An edit changed these classes' counts: their cells only."""
        self.table.blockSignals(True)
        changed = False
        for label, count in counts.items():
            if label in self._rows:
                changed |= self._show_count(self._rows.index(label), count)
        self.table.blockSignals(False)
        if changed:
            self.table.resizeColumnToContents(COUNT)

    def classes(self) -> list[str]:
        """The classes listed, in order (the class list model's)."""
        return list(self.class_list.names)

    def row_of(self, label: str) -> int:
        return self._rows.index(label)

    def selected_class(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._rows[rows[0].row()] if rows and rows[0].row() < len(self._rows) else None

    def select_class(self, label: str) -> None:
        self.table.selectRow(self.row_of(label))

    def _update_buttons(self) -> None:
        for button in self.buttons.values():
            button.setEnabled(self.selected_class() is not None)

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        label = self._rows[item.row()]
        checked = item.checkState() == Qt.CheckState.Checked
        if item.column() == NAME:
            self.visibility.set_class_shown(label, checked)
        elif item.column() == KEEP and self.project is not None:
            self._store_step(lambda: self.project.set_kept(label, checked))

    # ---------------------------------------------------------------- project-wide changes
    def _store_step(self, step) -> bool:
        try:
            step()
        except (ProjectStoreError, ValueError) as exc:
            self.error.emit(str(exc))
            self.class_list.refresh()  # the table shows the store again (an unchecked Keep box comes back)
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
            self.visibility.follow_class_edit(edits[0])
            self.classes_changed.emit(self.project, edits[0])
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
            self.visibility.follow_class_edit(edits[0])
            self.classes_changed.emit(self.project, edits[0])
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
