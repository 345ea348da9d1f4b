"""The objects dock: the current image's objects (class, provenance, score), the class for new polygons.

Review tools live here too: sort by score, class or area; an eye toggle per object (the check box);
a score slider that hides auto objects under it, with a button deleting those in one undoable step.
The dock only reports what the person asked for (signals); the review controller acts on it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from protolabel.app.colors import STATUS_COLORS, STATUS_TEXT, label_color
from protolabel.app.docks.attributes_panel import AttributesPanel
from protolabel.segmentation.geometry.measures import shape_area
from protolabel.segmentation.project.attributes import AttributeSchemaError, project_attribute_schema
from protolabel.segmentation.project.document import ImageAnnotations, hidden_by_score
from protolabel.segmentation.project.session import Session

_PROVENANCE_MARK = {"auto": "auto", "edited": "edited", "verified": "✓ verified"}
SCORE_STEPS = 100  # the slider's steps: thresholds 0.00 to 1.00

# Sort orders of the list: name -> key of an object (ties keep id order).
SORT_KEYS = {
    "Order drawn": lambda o: o.id,
    "Score (low first)": lambda o: (o.score if o.score is not None else 2.0, o.id),
    "Score (high first)": lambda o: (-(o.score if o.score is not None else -1.0), o.id),
    "Class": lambda o: (o.label.casefold(), o.id),
    "Area (small first)": lambda o: (shape_area(o.shape), o.id),
    "Area (large first)": lambda o: (-shape_area(o.shape), o.id),
}


def _swatch(color: QColor) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(color)
    return QIcon(pixmap)


class ObjectsDock(QDockWidget):
    """Lists the document's objects and mirrors the shared selection both ways."""

    zoom_requested = Signal(int)  # object id (double-click on its row)
    context_menu_requested = Signal(object, object)  # object id under the mouse (or None), global QPoint
    delete_hidden_requested = Signal()

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__("Objects", parent)
        self.setObjectName("objects_dock")
        self.session = session
        self.selection = selection = session.selection
        self.visibility = visibility = session.visibility
        self.document: ImageAnnotations | None = None
        self.status_label = QLabel("No image")
        self.label_box = QComboBox()
        self.label_box.setObjectName("new_object_label")
        self.label_box.setEditable(True)
        self.label_box.setToolTip("Class given to new polygons; type a new name to add a class")
        self.label_box.currentTextChanged.connect(session.choose_new_object_label)
        session.events.new_object_label.connect(self._show_new_label)
        self.list = QListWidget()
        self.list.setObjectName("object_list")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._on_list_selection)
        self.list.itemDoubleClicked.connect(lambda item: self.zoom_requested.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._on_context_menu)
        self.list.setUniformItemSizes(True)  # fast layout of 80 rows
        self.list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.list.setMinimumHeight(120)
        self.sort_box = QComboBox()
        self.sort_box.setObjectName("object_sort")
        self.sort_box.addItems(list(SORT_KEYS))
        self.sort_box.setToolTip("Order of the list")
        self.sort_box.currentTextChanged.connect(self._refresh)
        self.score_slider = QSlider(Qt.Orientation.Horizontal)
        self.score_slider.setObjectName("score_filter")
        self.score_slider.setRange(0, SCORE_STEPS)
        self.score_slider.setToolTip(
            "Hide auto objects scored under this value (edited and verified objects always show)"
        )
        self.score_slider.valueChanged.connect(self._on_score)
        self.score_label = QLabel()
        self.score_label.setMinimumWidth(96)
        self.delete_hidden_button = QPushButton("Delete hidden")
        self.delete_hidden_button.setObjectName("delete_hidden_auto")
        self.delete_hidden_button.setToolTip(
            "Delete hidden auto objects: those the score filter hides, in one undoable step (Ctrl+Z restores them)"
        )
        self.delete_hidden_button.clicked.connect(self.delete_hidden_requested)
        score_row = QHBoxLayout()
        score_row.addWidget(self.score_slider, 1)
        score_row.addWidget(self.score_label)
        score_row.addWidget(self.delete_hidden_button)
        form = QFormLayout()
        form.addRow("Image:", self.status_label)
        form.addRow("New polygons:", self.label_box)
        form.addRow("Hide auto under:", score_row)
        form.addRow("Sort:", self.sort_box)
        layout = QVBoxLayout()
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.list, 1)  # the list takes every row of height the dock has
        self.attributes = AttributesPanel()
        layout.addWidget(self.attributes)
        body = QWidget()
        body.setLayout(layout)
        self.setWidget(body)
        self._syncing = False
        selection.events.changed.connect(self._on_selection)
        visibility.events.objects.connect(self._refresh)
        visibility.events.score_threshold.connect(self._show_score)
        self._show_score(visibility.score_threshold)

    @property
    def hidden_ids(self) -> frozenset[int]:
        """Ids the eye toggles hide (the visibility model's)."""
        return self.visibility.hidden_objects

    @property
    def score_threshold(self) -> float:
        return self.visibility.score_threshold

    def score_hidden_count(self) -> int:
        if self.document is None:
            return 0
        return sum(hidden_by_score(o, self.score_threshold) for o in self.document.objects)

    def _on_score(self, value: int) -> None:
        """The slider moved: the model's score cut follows (and the model's event repaints the rows)."""
        self.visibility.set_score_threshold(value / SCORE_STEPS)

    def _show_score(self, threshold: float) -> None:
        value = round(threshold * SCORE_STEPS)
        if self.score_slider.value() != value:
            self.score_slider.blockSignals(True)
            self.score_slider.setValue(value)
            self.score_slider.blockSignals(False)
        self._update_score_label()
        if self.document is not None:  # grey the rows the filter hides (in place: no rebuild of the list)
            self._syncing = True
            try:
                for row in range(self.list.count()):
                    item = self.list.item(row)
                    object_id = item.data(Qt.ItemDataRole.UserRole)
                    if object_id in self.document:
                        self._paint_row(item, self.document.get(object_id), threshold)
            finally:
                self._syncing = False

    def _paint_row(self, item: QListWidgetItem, obj, threshold: float) -> None:
        dimmed = obj.id in self.hidden_ids or hidden_by_score(obj, threshold)
        item.setForeground(QColor("#8a8f98") if dimmed else self.list.palette().text().color())

    def _update_score_label(self) -> None:
        hidden = self.score_hidden_count()
        self.score_label.setText(f"{self.score_threshold:.2f}, {hidden} hidden")
        self.delete_hidden_button.setEnabled(hidden > 0)

    def set_object_hidden(self, object_id: int, hidden: bool) -> None:
        """Hide or show one object (its eye toggle)."""
        self.set_objects_hidden([object_id], hidden)

    def set_objects_hidden(self, object_ids, hidden: bool) -> None:
        """Hide or show these objects (their eye toggles), through the visibility model."""
        self.visibility.set_objects_hidden(object_ids, hidden)

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        if not self._syncing:
            self.set_object_hidden(item.data(Qt.ItemDataRole.UserRole), item.checkState() != Qt.CheckState.Checked)

    def _on_context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        object_id = None if item is None else item.data(Qt.ItemDataRole.UserRole)
        self.context_menu_requested.emit(object_id, self.list.viewport().mapToGlobal(pos))

    def row_of(self, object_id: int) -> int:
        """The list row showing the object (-1 if none)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == object_id:
                return row
        return -1

    def show_classes(self, labels) -> None:
        """Offer these classes (with their colours) in the New polygons box; it shows the session's class
        for new objects, which typing or picking there changes."""
        self.label_box.blockSignals(True)
        self.label_box.clear()
        for label in labels:
            self.label_box.addItem(_swatch(label_color(label)), label)
        self.label_box.blockSignals(False)
        self._show_new_label(self.session.new_object_label)

    def _show_new_label(self, label: str) -> None:
        if self.label_box.currentText() == label:
            return  # typed there: the box already shows it (and the cursor stays where the person types)
        self.label_box.blockSignals(True)
        index = self.label_box.findText(label)
        if index >= 0:
            self.label_box.setCurrentIndex(index)  # shows the class's colour swatch too
        else:
            self.label_box.setEditText(label)
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
        self.list.setUpdatesEnabled(False)  # one repaint for the whole list, not one per row added
        try:
            self.list.clear()
            if self.document is None:
                self.status_label.setText("No image")
                return
            status = self.document.status
            self.status_label.setText(
                f"<span style='color:{STATUS_COLORS[status].name()}'>■</span> {STATUS_TEXT[status]}, "
                f"{len(self.document)} object{'' if len(self.document) == 1 else 's'}"
            )
            threshold = self.score_threshold
            for obj in sorted(self.document.objects, key=SORT_KEYS[self.sort_box.currentText()]):
                score = "" if obj.score is None else f"  {obj.score:.2f}"
                track = "" if obj.track_id is None else f"  ·  track {obj.track_id}"
                item = QListWidgetItem(
                    _swatch(label_color(obj.label)),
                    f"{obj.label}{track}  ·  {_PROVENANCE_MARK[obj.provenance.value]}{score}",
                )
                item.setData(Qt.ItemDataRole.UserRole, obj.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                shown = obj.id not in self.hidden_ids
                item.setCheckState(Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
                item.setToolTip("Shown (uncheck to hide it)" if shown else "Hidden (check to show it)")
                self._paint_row(item, obj, threshold)
                self.list.addItem(item)
                item.setSelected(obj.id in self.selection.ids)
            if self.list.selectedItems():
                self.list.scrollToItem(self.list.selectedItems()[-1])
        finally:
            self.list.setUpdatesEnabled(True)
            self._syncing = False
            self._update_score_label()
            self._show_attributes()

    def _show_attributes(self) -> None:
        """The attributes panel for the one selected object (the schema read from the project's settings); hidden
        while there is none to edit or the project has no attributes, so the list keeps the dock's height."""
        project = self.session.project
        ids = [i for i in self.selection.ids if self.document is not None and i in self.document]
        if project is None or self.document is None or len(ids) != 1:
            self.attributes.show_object(self.attributes.schema, None, "Select one object to see its attributes")
            self.attributes.setVisible(False)
            return
        try:
            schema = project_attribute_schema(project.store)
        except AttributeSchemaError as exc:
            self.attributes.show_object((), None, f"The project's attribute schema cannot be used: {exc}")
            self.attributes.setVisible(True)
            return
        self.attributes.show_object(schema, self.document.get(ids[0]).attributes or {})
        self.attributes.setVisible(bool(schema))

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
        self._show_attributes()
