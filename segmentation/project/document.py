"""The annotation document of one image: its objects and status, saved as each change is applied.

Views observe `events`; controllers build a `Change` with the helper methods and `apply` it. A
`Change` knows its own inverse, which is all an undo stack needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from psygnal import Signal, SignalGroup

from segmentation.geometry.shapes import Shape
from segmentation.project.records import AnnotatedObject, ImageStatus, Provenance
from segmentation.project.store import ProjectStore


@dataclass(frozen=True)
class Change:
    """A reversible edit of one image: the touched objects before and after (matched by id), and the status.

    An object only in `before` is removed, one only in `after` is added (id None until applied),
    one in both is replaced.
    """

    text: str
    before: tuple[AnnotatedObject, ...]
    after: tuple[AnnotatedObject, ...]
    status_before: ImageStatus
    status_after: ImageStatus

    def inverted(self) -> Change:
        return Change(self.text, self.after, self.before, self.status_after, self.status_before)

    @property
    def removed_ids(self) -> set[int]:
        kept = {o.id for o in self.after}
        return {o.id for o in self.before if o.id is not None and o.id not in kept}


class ImageAnnotationsEvents(SignalGroup):
    changed = Signal(object)  # the applied Change (ids filled in)
    reloaded = Signal()  # objects were re-read from the store (e.g. after an auto-label run)


class ImageAnnotations:
    """Objects and status of one image, backed by the project store."""

    def __init__(self, store: ProjectStore, path: str) -> None:
        self.events = ImageAnnotationsEvents()
        self.path = path
        self._store = store
        self._objects: dict[int, AnnotatedObject] = {}
        self.status = ImageStatus.UNLABELED
        self._load()

    def _load(self) -> None:
        self._objects = {o.id: o for o in self._store.objects(self.path)}
        self.status = self._store.status(self.path)

    def reload(self) -> None:
        """Re-read from the store (another writer, e.g. an auto-label job, changed this image)."""
        self._load()
        self.events.reloaded.emit()

    @property
    def objects(self) -> list[AnnotatedObject]:
        return [self._objects[k] for k in sorted(self._objects)]

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, object_id: int) -> AnnotatedObject:
        return self._objects[object_id]

    def __contains__(self, object_id: object) -> bool:
        return object_id in self._objects

    # ---------------------------------------------------------------- applying
    def apply(self, change: Change) -> Change:
        """Save the change in one transaction, then update the document and emit `changed`.

        Returns the change with the ids the store gave to new objects (keep that one for undo).
        Raises ProjectStoreError (document untouched) when the store cannot be written.
        """
        removed = change.removed_ids
        saved = self._store.write_change(self.path, removed_ids=removed, saved=change.after, status=change.status_after)
        for object_id in removed:
            self._objects.pop(object_id, None)
        for obj in saved:
            self._objects[obj.id] = obj
        self.status = change.status_after
        applied = Change(change.text, change.before, tuple(saved), change.status_before, change.status_after)
        self.events.changed.emit(applied)
        return applied

    # ---------------------------------------------------------------- building changes
    def _human(self, text: str, before: Iterable[AnnotatedObject], after: Iterable[AnnotatedObject]) -> Change:
        return Change(text, tuple(before), tuple(after), self.status, ImageStatus.EDITED)

    def edit_shape(self, object_id: int, shape: Shape, text: str = "Edit polygon") -> Change:
        """A person reshaped an object: it becomes provenance 'edited'."""
        if shape.is_empty():
            raise ValueError("an object needs at least one polygon with three vertices")
        old = self._objects[object_id]
        return self._human(text, [old], [old.with_changes(shape=shape, provenance=Provenance.EDITED)])

    def add_object(self, label: str, shape: Shape, text: str = "Draw polygon") -> Change:
        if shape.is_empty():
            raise ValueError("an object needs at least one polygon with three vertices")
        return self._human(text, [], [AnnotatedObject(label=label, shape=shape, provenance=Provenance.EDITED)])

    def delete_objects(self, object_ids: Iterable[int]) -> Change:
        before = [self._objects[i] for i in object_ids]
        return self._human("Delete object" if len(before) == 1 else f"Delete {len(before)} objects", before, [])

    def relabel(self, object_ids: Iterable[int], label: str) -> Change:
        before = [self._objects[i] for i in object_ids]
        after = [o.with_changes(label=label, provenance=Provenance.EDITED) for o in before]
        return self._human(f"Change class to {label}", before, after)

    def verify(self) -> Change:
        """The person accepts the image as it is: every object and the image become 'verified'."""
        before = self.objects
        after = [o.with_changes(provenance=Provenance.VERIFIED) for o in before]
        return Change("Mark verified", tuple(before), tuple(after), self.status, ImageStatus.VERIFIED)
