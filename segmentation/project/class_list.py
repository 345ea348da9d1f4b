"""The classes a project lists, with their object counts and keep flags, kept in step with its edits.

Qt-free: the Classes dock renders it, and the window's keys 1-9, Change Class and the New polygons box
read the class order from it instead of from the dock's table. An edit changes the counts in place;
objects re-read from the store (a reload, an auto-label run, an import) mark the list stale, and the
view re-reads it once after a burst (`refresh_if_stale`).
"""

from __future__ import annotations

from collections import Counter

from psygnal import Signal, SignalGroup

from protolabel.segmentation.project.document import Change
from protolabel.segmentation.project.project import Project


class ClassListEvents(SignalGroup):
    listed = Signal(object)  # tuple of the class names, each time the names or their order change
    counts = Signal(object)  # {class: objects} of the classes whose count changed
    changed = Signal()  # after a re-read from the store (names, counts, keep flags or colours may differ)
    stale = Signal()  # objects were re-read from the store: call refresh_if_stale (after the burst)


class ClassList:
    """Class names in list order, objects per class and the kept classes of the open project (or none)."""

    def __init__(self) -> None:
        self.events = ClassListEvents()
        self.project: Project | None = None
        self._names: tuple[str, ...] = ()
        self._counts: dict[str, int] = {}
        self._kept: frozenset[str] = frozenset()
        self.stale = False

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def kept(self) -> frozenset[str]:
        return self._kept

    def count(self, label: str) -> int:
        return self._counts.get(label, 0)

    def set_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.events.labels_changed.disconnect(self.refresh)
            self.project.events.objects_changed.disconnect(self._on_objects_changed)
        self.project = project
        if project is not None:
            project.events.labels_changed.connect(self.refresh)
            project.events.objects_changed.connect(self._on_objects_changed)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Re-read classes, counts and keep flags from the store."""
        self.stale = False
        project = self.project
        counts = {} if project is None else project.class_counts()
        self._kept = frozenset() if project is None else project.kept_classes
        self._counts = dict(counts)
        names = tuple(counts)
        listed = names != self._names
        self._names = names
        self.events.changed.emit()  # first: the Classes dock gives new classes their colours before anyone lists them
        if listed:
            self.events.listed.emit(names)

    def refresh_if_stale(self) -> None:
        if self.stale:
            self.refresh()

    def _on_objects_changed(self, _name: str | None, change: Change | None) -> None:
        if change is not None:
            delta = Counter(o.label for o in change.after)
            delta.subtract(o.label for o in change.before)
            moved = {label: n for label, n in delta.items() if n}
            if all(label in self._counts for label in moved):
                for label, n in moved.items():
                    self._counts[label] += n
                if moved:
                    self.events.counts.emit({label: self._counts[label] for label in moved})
                return
        if not self.stale:
            self.stale = True
            self.events.stale.emit()
