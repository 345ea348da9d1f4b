"""What the canvas shows of a project's objects: classes switched off, objects hidden one by one, the score cut.

Qt-free so the canvas, the Classes and Objects docks and the review controller (Tab passes over what is
hidden) read one state instead of each other's widgets. Object ids are the store's, unique in a project,
so an object hidden by its eye toggle stays hidden when its image is shown again.
"""

from __future__ import annotations

from collections.abc import Iterable

from psygnal import Signal, SignalGroup

from protolabel.segmentation.project.document import hidden_by_score
from protolabel.segmentation.project.labels import ClassEdit
from protolabel.segmentation.project.records import AnnotatedObject


class VisibilityEvents(SignalGroup):
    classes = Signal(object)  # frozenset of hidden class names
    objects = Signal(object)  # frozenset of object ids hidden by their eye toggle
    score_threshold = Signal(float)  # auto objects scored under it are hidden
    all_shown = Signal(bool)  # False: every object is hidden (View ▸ Hide objects)
    changed = Signal()  # after any of the above: what shows may differ


class Visibility:
    """Hidden classes, hidden objects and the score cut; `hides(obj)` is the one rule every view applies."""

    def __init__(self) -> None:
        self.events = VisibilityEvents()
        self._classes: frozenset[str] = frozenset()
        self._objects: frozenset[int] = frozenset()
        self._threshold = 0.0
        self._all_shown = True

    @property
    def hidden_classes(self) -> frozenset[str]:
        return self._classes

    @property
    def hidden_objects(self) -> frozenset[int]:
        """Ids hidden by their eye toggle (not those a class or the score cut hides)."""
        return self._objects

    @property
    def score_threshold(self) -> float:
        return self._threshold

    @property
    def all_shown(self) -> bool:
        return self._all_shown

    def hidden_by_person(self, obj: AnnotatedObject) -> bool:
        """Hidden by its class, its eye toggle or the score cut: what Tab passes over."""
        return obj.label in self._classes or obj.id in self._objects or hidden_by_score(obj, self._threshold)

    def hides(self, obj: AnnotatedObject) -> bool:
        """Not drawn: hidden by the person, or every object is hidden."""
        return not self._all_shown or self.hidden_by_person(obj)

    def anything_hidden(self) -> bool:
        """Some object may be hidden by a class, an eye toggle or the score cut."""
        return bool(self._classes or self._objects or self._threshold > 0)

    # ---------------------------------------------------------------- changes
    def set_class_shown(self, label: str, shown: bool) -> None:
        self.set_hidden_classes(self._classes - {label} if shown else self._classes | {label})

    def set_hidden_classes(self, labels: Iterable[str]) -> None:
        labels = frozenset(labels)
        if labels != self._classes:
            self._classes = labels
            self.events.classes.emit(labels)
            self.events.changed.emit()

    def set_objects_hidden(self, object_ids: Iterable[int], hidden: bool) -> None:
        """Hide or show these objects (their eye toggles)."""
        ids = frozenset(object_ids)
        self._set_objects(self._objects | ids if hidden else self._objects - ids)

    def _set_objects(self, ids: frozenset[int]) -> None:
        if ids != self._objects:
            self._objects = ids
            self.events.objects.emit(ids)
            self.events.changed.emit()

    def set_score_threshold(self, threshold: float) -> None:
        """Hide auto objects scored under `threshold` (0 to 1; 0 hides none)."""
        threshold = float(threshold)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"A score threshold is between 0 and 1, not {threshold}")
        if threshold != self._threshold:
            self._threshold = threshold
            self.events.score_threshold.emit(threshold)
            self.events.changed.emit()

    def set_all_shown(self, shown: bool) -> None:
        if bool(shown) != self._all_shown:
            self._all_shown = bool(shown)
            self.events.all_shown.emit(self._all_shown)
            self.events.changed.emit()

    def new_project(self) -> None:
        """Another project (or none) is open: its classes and object ids are not this one's."""
        self.set_hidden_classes(())
        self._set_objects(frozenset())

    def follow_class_edit(self, edit: ClassEdit, undone: bool | None = None) -> None:
        """A hidden class stays hidden under its new name through a rename (and its undo and redo); a
        deleted class is no longer hidden. `undone` None: the edit was just made; True/False: replayed."""
        if undone is None:
            if edit.old in self._classes:
                renamed = () if edit.new is None else (edit.new,)
                self.set_hidden_classes(self._classes - {edit.old} | set(renamed))
            return
        if edit.new is None or edit.new in edit.before.labels:
            return  # a delete or a merge replayed: the class that comes back is shown
        old, new = (edit.new, edit.old) if undone else (edit.old, edit.new)
        if old in self._classes:
            self.set_hidden_classes(self._classes - {old} | {new})
