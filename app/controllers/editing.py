"""Editing: canvas gestures and edit commands become undoable document changes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from protolabel.app.undo import UndoHistory
from protolabel.segmentation.geometry import shape_edits as se
from protolabel.segmentation.geometry.brush import BrushStroke, apply_stroke
from protolabel.segmentation.geometry.combine import clip_shape, merge_shapes, split_shape
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.attributes import AttributeSchemaError, project_attribute_schema
from protolabel.segmentation.project.document import Change
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.session import Session
from protolabel.segmentation.project.store import ProjectStoreError

DUPLICATE_OFFSET = 10.0  # image pixels: a duplicate lands beside its original, not hidden under it


class EditController(QObject):
    """Applies edits to the current image's document and records them for undo."""

    message = Signal(str)  # something to show in the status bar
    error = Signal(str)  # a failure the user must see

    def __init__(self, session: Session, history: UndoHistory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.selection = session.selection
        self.history = history
        self.add_to_selected = False  # draw tool adds a part/hole to the selected object
        self.clipboard: list[tuple[str, Shape]] = []  # copied objects (class, shape), for any image

    @property
    def new_object_label(self) -> str:
        """The class new objects get (the session's)."""
        return self.session.new_object_label

    def _project(self) -> Project | None:
        return self.session.project

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
        self.apply(document.relabel(ids, label))  # the class for new polygons stays the person's choice

    def set_attribute(self, name: str, value: object) -> None:
        """The person set an attribute in the objects dock: one undoable change of the selected objects."""
        project = self._project()
        document = self._document()
        ids = [] if document is None else [i for i in sorted(self.selection.ids) if i in document]
        if project is None or not ids:
            self.message.emit("Select an object first")
            return
        try:
            change = document.set_attributes(ids, {name: value}, project_attribute_schema(project.store))
        except AttributeSchemaError as exc:
            self.error.emit(f"The attribute was not set: {exc}")
            return
        self.apply(change)

    def verify(self) -> None:
        document = self._document()
        if document is None:
            return
        if self.apply(document.verify()) is not None:
            self.message.emit(f"Marked verified: {len(document)} objects")

    def accept(self, object_ids) -> bool:
        """Accept these objects (verified); the image becomes verified once all its objects are."""
        document = self._document()
        ids = [] if document is None else [i for i in object_ids if i in document]
        if not ids:
            self.message.emit("Select an object first")
            return False
        return self.apply(document.accept_objects(ids)) is not None

    def reject(self, object_ids) -> bool:
        """Reject (delete) these objects; the image becomes verified if only verified objects remain."""
        document = self._document()
        ids = [] if document is None else [i for i in object_ids if i in document]
        if not ids:
            self.message.emit("Select an object first")
            return False
        return self.apply(document.reject_objects(ids)) is not None

    def delete_auto_below(self, threshold: float) -> None:
        """Delete the auto objects the score filter hides, as one undoable change."""
        document = self._document()
        if document is None:
            return
        change = document.delete_auto_below(threshold)
        if not change.before:
            self.message.emit(f"No auto objects under {threshold:.2f}")
            return
        if self.apply(change) is not None:
            self.message.emit(f"Deleted {len(change.before)} auto objects under {threshold:.2f} (Ctrl+Z restores them)")

    # ---------------------------------------------------------------- brush, clipboard, merge and split
    def paint_stroke(self, object_id: int | None, stroke: BrushStroke, erase: bool) -> None:
        """A finished brush or eraser stroke: one undoable change of the object (or a new object)."""
        document = self._document()
        if document is None:
            return
        if object_id is None or object_id not in document:
            if erase:
                self.message.emit("Select an object first to erase from it")
                return
            shape = apply_stroke(None, stroke, erase=False)
            if shape.is_empty():
                return
            applied = self.apply(document.add_object(self.new_object_label, shape, "Brush (new object)"))
            if applied is not None:
                self.selection.set([applied.after[0].id])
            return
        old = document.get(object_id).shape
        shape = apply_stroke(old, stroke, erase=erase)
        if shape.is_empty():
            self.apply(document.delete_objects([object_id]))
        elif shape != old:
            self.apply(document.edit_shape(object_id, shape, "Eraser stroke" if erase else "Brush stroke"))

    def _selected_objects(self) -> list:
        document = self._document()
        if document is None:
            return []
        return [document.get(i) for i in sorted(self.selection.ids) if i in document]

    def copy_selected(self) -> None:
        objects = self._selected_objects()
        if not objects:
            self.message.emit("Nothing selected to copy")
            return
        self.clipboard = [(o.label, o.shape) for o in objects]
        self.message.emit(f"Copied {len(objects)} object{'s' if len(objects) != 1 else ''}")

    def paste(self, image_wh: tuple[int, int]) -> None:
        """Add the copied objects at the same pixel coordinates, clipped to this image (one undo step)."""
        if not self.clipboard:
            self.message.emit("Nothing copied yet (Ctrl+C copies the selected objects)")
            return
        self._add_copies(self.clipboard, image_wh, "Paste")

    def duplicate_selected(self, image_wh: tuple[int, int]) -> None:
        objects = self._selected_objects()
        if not objects:
            self.message.emit("Nothing selected to duplicate")
            return
        copies = [(o.label, o.shape.translated(DUPLICATE_OFFSET, DUPLICATE_OFFSET)) for o in objects]
        self._add_copies(copies, image_wh, "Duplicate")

    def _add_copies(self, objects: list[tuple[str, Shape]], image_wh: tuple[int, int], verb: str) -> None:
        document = self._document()
        width, height = image_wh
        if document is None or width <= 0 or height <= 0:
            self.message.emit(f"{verb}: no image to add objects to")
            return
        clipped = [(label, clip_shape(shape, width, height)) for label, shape in objects]
        kept = [(label, shape) for label, shape in clipped if not shape.is_empty()]
        if not kept:
            self.message.emit(f"{verb}: the objects lie outside this image")
            return
        text = f"{verb} {len(kept)} object{'s' if len(kept) != 1 else ''}"
        applied = self.apply(document.add_objects(kept, text))
        if applied is not None:
            self.selection.set([o.id for o in applied.after])

    def merge_selected(self) -> None:
        """Two or more selected objects of one class become one object (its parts; overlaps united)."""
        objects = self._selected_objects()
        if len(objects) < 2:
            self.message.emit("Select two or more objects to merge (Ctrl+click adds to the selection)")
            return
        if len({o.label for o in objects}) > 1:
            self.message.emit("Only objects of one class can be merged")
            return
        document = self._document()
        merged = merge_shapes([o.shape for o in objects])
        applied = self.apply(document.merge_objects([o.id for o in objects], merged, f"Merge {len(objects)} objects"))
        if applied is not None:
            self.selection.set([applied.after[0].id])

    def split_selected(self) -> None:
        """A selected object of several parts becomes one object per part."""
        objects = self._selected_objects()
        if len(objects) != 1 or len(split_shape(objects[0].shape)) < 2:
            self.message.emit("Select one object with several parts to split")
            return
        document = self._document()
        parts = split_shape(objects[0].shape)
        applied = self.apply(document.split_object(objects[0].id, parts, f"Split into {len(parts)} objects"))
        if applied is not None:
            self.selection.set([o.id for o in applied.after])
