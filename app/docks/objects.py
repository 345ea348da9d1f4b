"""The objects dock: the current image's objects (class, provenance, score), the class for new polygons."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.colors import STATUS_COLORS, STATUS_TEXT, label_color
from segmentation.project.document import ImageAnnotations
from segmentation.project.selection import Selection

_PROVENANCE_MARK = {"auto": "auto", "edited": "edited", "verified": "✓ verified"}


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(color)
    return QIcon(pixmap)


class ObjectsDock(QDockWidget):
    """Lists the document's objects and mirrors the shared selection both ways."""

    new_label_changed = Signal(str)

    def __init__(self, selection: Selection, parent=None) -> None:
        super().__init__("Objects", parent)
        self.setObjectName("objects_dock")
        self.selection = selection
        self.document: ImageAnnotations | None = None
        self.status_label = QLabel("No image")
        self.label_box = QComboBox()
        self.label_box.setObjectName("new_object_label")
        self.label_box.setEditable(True)
        self.label_box.setToolTip("Class given to new polygons; type a new name to add a class")
        self.label_box.currentTextChanged.connect(self.new_label_changed)
        self.list = QListWidget()
        self.list.setObjectName("object_list")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._on_list_selection)
        form = QFormLayout()
        form.addRow("Image:", self.status_label)
        form.addRow("New polygons:", self.label_box)
        layout = QVBoxLayout()
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.list)
        body = QWidget()
        body.setLayout(layout)
        self.setWidget(body)
        self._syncing = False
        selection.events.changed.connect(self._on_selection)

    def set_labels(self, labels) -> None:
        current = self.label_box.currentText()
        self.label_box.blockSignals(True)
        self.label_box.clear()
        for label in labels:
            self.label_box.addItem(_swatch(label_color(label)), label)
        wanted = current or (labels[0] if labels else "object")
        index = self.label_box.findText(wanted)
        if index >= 0:
            self.label_box.setCurrentIndex(index)  # shows the label's colour swatch too
        else:
            self.label_box.setEditText(wanted)
        self.label_box.blockSignals(False)

    def set_document(self, document: ImageAnnotations | None) -> None:
        if self.document is not None:
            self.document.events.changed.disconnect(self._refresh)
            self.document.events.reloaded.disconnect(self._refresh)
        self.document = document
        if document is not None:
            document.events.changed.connect(self._refresh)
            document.events.reloaded.connect(self._refresh)
        self._refresh()

    def _refresh(self, *args) -> None:
        self._syncing = True
        try:
            self.list.clear()
            if self.document is None:
                self.status_label.setText("No image")
                return
            status = self.document.status
            self.status_label.setText(
                f"<span style='color:{STATUS_COLORS[status].name()}'>■</span> {STATUS_TEXT[status]}, "
                f"{len(self.document)} objects"
            )
            for obj in self.document.objects:
                score = "" if obj.score is None else f"  {obj.score:.2f}"
                item = QListWidgetItem(_swatch(label_color(obj.label)),
                                       f"{obj.label}  ·  {_PROVENANCE_MARK[obj.provenance.value]}{score}")
                item.setData(Qt.ItemDataRole.UserRole, obj.id)
                self.list.addItem(item)
                item.setSelected(obj.id in self.selection.ids)
        finally:
            self._syncing = False

    def _on_list_selection(self) -> None:
        if not self._syncing:
            self.selection.set(item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems())

    def _on_selection(self, ids) -> None:
        self._syncing = True
        try:
            last = None
            for row in range(self.list.count()):
                item = self.list.item(row)
                selected = item.data(Qt.ItemDataRole.UserRole) in ids
                item.setSelected(selected)
                if selected:
                    last = item
            if last is not None:
                self.list.scrollToItem(last)
        finally:
            self._syncing = False
