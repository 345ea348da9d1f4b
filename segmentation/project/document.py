"""The annotation document of one image: its objects and status, saved as each change is applied.

Views observe `events`; controllers build a `Change` with the helper methods and `apply` it. A
`Change` knows its own inverse, which is all an undo stack needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from psygnal import Signal, SignalGroup

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Shape
from protolabel.segmentation.project.attributes import AttributeSpec, check_attributes
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import DamagedRowError, ProjectStore, StaleEditError
from protolabel.segmentation.project.verified import status_after_review


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
    rejects: bool = False  # a person deletes the removed objects as wrong: a model run must not bring them back

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
        self.damaged: str | None = None  # why the stored annotations cannot be read; the document is then read-only
        self._load()

    def _load(self) -> None:
        try:
            objects = self._store.objects(self.path)
            status = self._store.status(self.path)
        except DamagedRowError as exc:
            # The rest of the project works: this image shows no objects and refuses edits, and its
            # stored rows stay as they are (nothing overwrites what might still be recovered).
            self._objects, self.status, self.damaged = {}, ImageStatus.UNLABELED, str(exc)
            return
        self._objects = {o.id: o for o in objects}
        self.status = status
        self.damaged = None

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
        Raises ProjectStoreError (document untouched) when the store cannot be written. The store
        checks each touched object against the version this document holds; StaleEditError (another
        window or program changed or deleted it) reloads the document from the store before it is raised.
        """
        if self.damaged is not None:
            raise DamagedRowError(f"Not saved: {self.damaged}")
        removed = change.removed_ids
        before = {o.id: o for o in change.before if o.id is not None}
        try:
            saved = self._store.write_change(
                self.path,
                removed=[self._as_read(before[i]) for i in removed],
                saved=[self._as_read(o) if o.id is not None else o for o in change.after],
                status=change.status_after,
                reject=change.rejects,
            )
        except StaleEditError:
            self.reload()
            raise
        for object_id in removed:
            self._objects.pop(object_id, None)
        for obj in saved:
            self._objects[obj.id] = obj
        self.status = change.status_after
        applied = Change(
            change.text, change.before, tuple(saved), change.status_before, change.status_after, change.rejects
        )
        self.events.changed.emit(applied)
        return applied

    def _as_read(self, obj: AnnotatedObject) -> AnnotatedObject:
        """`obj` with the version this document last read or wrote for its id (the compare-and-set condition).

        An id the document does not hold (undo of a delete) keeps the version it had when deleted;
        the store then re-creates it only if this store was the one that deleted it.
        """
        held = self._objects.get(obj.id)
        return obj if held is None else obj.with_changes(version=held.version)

    # ---------------------------------------------------------------- building changes
    def _human(
        self, text: str, before: Iterable[AnnotatedObject], after: Iterable[AnnotatedObject], rejects: bool = False
    ) -> Change:
        return Change(text, tuple(before), tuple(after), self.status, ImageStatus.EDITED, rejects)

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

    def add_objects(self, objects: Iterable[tuple[str, Shape]], text: str = "Paste objects") -> Change:
        """New objects (label, shape) in one change: a paste or a duplicate is one undo step."""
        after = [AnnotatedObject(label=label, shape=shape, provenance=Provenance.EDITED) for label, shape in objects]
        if not after or any(o.shape.is_empty() for o in after):
            raise ValueError("every new object needs at least one polygon with three vertices")
        return self._human(text, [], after)

    def merge_objects(self, object_ids: Sequence[int], shape: Shape, text: str = "Merge objects") -> Change:
        """The objects become one with `shape`: the first keeps its id, the others are removed."""
        before = [self._objects[i] for i in object_ids]
        return self._human(text, before, [before[0].with_changes(shape=shape, provenance=Provenance.EDITED)])

    def split_object(self, object_id: int, shapes: Sequence[Shape], text: str = "Split object") -> Change:
        """One object becomes one object per shape (same class): the first keeps its id."""
        old = self._objects[object_id]
        after = [old.with_changes(shape=shapes[0], provenance=Provenance.EDITED)]
        after += [
            AnnotatedObject(
                label=old.label, shape=s, provenance=Provenance.EDITED, score=old.score, attributes=old.attributes
            )
            for s in shapes[1:]
        ]
        return self._human(text, [old], after)

    def delete_objects(self, object_ids: Iterable[int]) -> Change:
        """A person deletes these objects: the auto ones are rejected (a model run does not bring them back)."""
        before = [self._objects[i] for i in object_ids]
        return self._human(
            "Delete object" if len(before) == 1 else f"Delete {len(before)} objects", before, [], rejects=True
        )

    def relabel(self, object_ids: Iterable[int], label: str) -> Change:
        before = [self._objects[i] for i in object_ids]
        after = [o.with_changes(label=label, provenance=Provenance.EDITED) for o in before]
        return self._human(f"Change class to {label}", before, after)

    def set_attributes(
        self, object_ids: Iterable[int], values: Mapping[str, object], schema: Sequence[AttributeSpec]
    ) -> Change:
        """A person set attributes of these objects (checked against the project's `schema`; AttributeSchemaError
        names a bad one); their other attributes stay. One undo step."""
        checked = check_attributes(values, schema)
        before = [self._objects[i] for i in object_ids]
        after = [o.with_changes(attributes={**(o.attributes or {}), **checked}) for o in before]
        return self._human("Set attributes", before, after)

    def verify(self) -> Change:
        """The person accepts the image as it is: every object and the image become 'verified'."""
        before = self.objects
        after = [o.with_changes(provenance=Provenance.VERIFIED) for o in before]
        return Change("Mark verified", tuple(before), tuple(after), self.status, ImageStatus.VERIFIED)

    # ---------------------------------------------------------------- per-object review
    def accept_objects(self, object_ids: Iterable[int]) -> Change:
        """The person accepts these objects: they become 'verified'; the image too once all of its objects are."""
        ids = set(object_ids)
        before = [self._objects[i] for i in sorted(ids)]
        after = [o.with_changes(provenance=Provenance.VERIFIED) for o in before]
        remaining = [o for o in self._objects.values() if o.id not in ids] + after
        text = "Accept object" if len(after) == 1 else f"Accept {len(after)} objects"
        return Change(text, tuple(before), tuple(after), self.status, status_after_review(remaining))

    def reject_objects(self, object_ids: Iterable[int]) -> Change:
        """The person rejects these objects: they are deleted; the image is verified if only verified ones remain."""
        ids = set(object_ids)
        before = [self._objects[i] for i in sorted(ids)]
        remaining = [o for o in self._objects.values() if o.id not in ids]
        text = "Reject object" if len(before) == 1 else f"Reject {len(before)} objects"
        return Change(text, tuple(before), (), self.status, status_after_review(remaining), rejects=True)

    def delete_auto_below(self, threshold: float) -> Change:
        """Delete every auto object scored under `threshold` (what the score filter hides) in one change. Not a
        rejection of each: a better model's run may find those objects with higher scores."""
        before = [o for o in self.objects if hidden_by_score(o, threshold)]
        return self._human(f"Delete {len(before)} hidden auto objects", before, [])


def hidden_by_score(obj: AnnotatedObject, threshold: float) -> bool:
    """The score filter's rule: an auto object with a score under the threshold is hidden."""
    return obj.provenance == Provenance.AUTO and obj.score is not None and obj.score < threshold
