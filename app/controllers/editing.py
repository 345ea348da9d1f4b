"""Editing: canvas gestures and edit commands become undoable document changes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.undo import UndoHistory
from segmentation.geometry.shapes import Polygon, Shape
from segmentation.project import shape_edits as se
from segmentation.project.document import Change
from segmentation.project.project import Project
from segmentation.project.selection import Selection
from segmentation.project.store import ProjectStoreError

DEFAULT_LABEL = "object"


class EditController(QObject):
    """Applies edits to the current image's document and records them for undo."""

    message = Signal(str)  # something to show in the status bar
    error = Signal(str)  # a failure the user must see

    def __init__(self, project: Callable[[], Project | None], selection: Selection, history: UndoHistory,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._project = project
        self.selection = selection
        self.history = history
        self.new_object_label = DEFAULT_LABEL
        self.add_to_selected = False  # draw tool adds a part/hole to the selected object

    def _document(self):
        project = self._project()
        return None if project is None else project.current

    def apply(self, change: Change) -> Change | None:
        """Apply to the current document (saved at once) and push it on the image's undo stack."""
        project = self._project()
        document = self._document()
        if document is None:
            return None
        try:
            applied = document.apply(change)
        except ProjectStoreError as exc:
            self.error.emit(f"The edit was not saved: {exc}")
            return None
        self.history.push(project.current_name, document, applied)
        return applied

    # ---------------------------------------------------------------- canvas intents
    def edit_shape(self, object_id: int, shape: Shape, text: str = "Edit polygon") -> None:
        document = self._document()
        if document is None or object_id not in document:
            return
        self.apply(document.edit_shape(object_id, shape, text))

    def polygon_drawn(self, ring: np.ndarray) -> None:
        document = self._document()
        if document is None:
            return
        target = self.selection.single
        if self.add_to_selected:
            if target is None or target not in document:
                self.message.emit("Select an object first to add a part or a hole to it")
                return
            shape = se.add_ring(document.get(target).shape, ring)
            self.apply(document.edit_shape(target, shape, "Add part or hole"))
            return
        applied = self.apply(document.add_object(self.new_object_label, Shape((Polygon(ring),))))
        if applied is not None:
            self.selection.set([applied.after[0].id])

    def delete(self, object_ids) -> None:
        document = self._document()
        if document is None:
            return
        ids = [i for i in object_ids if i in document]
        if ids:
            self.apply(document.delete_objects(ids))

    # ---------------------------------------------------------------- commands
    def delete_selected(self) -> None:
        if not self.selection.ids:
            self.message.emit("Nothing selected")
            return
        self.delete(sorted(self.selection.ids))

    def change_class(self, label: str) -> None:
        document = self._document()
        label = label.strip()
        ids = [i for i in sorted(self.selection.ids) if document is not None and i in document]
        if not ids or not label:
            self.message.emit("Select an object first")
            return
        self.apply(document.relabel(ids, label))
        self.new_object_label = label

    def verify(self) -> None:
        document = self._document()
        if document is None:
            return
        if self.apply(document.verify()) is not None:
            self.message.emit(f"Marked verified: {len(document)} objects")
