"""Which objects of the current image are selected: shared by the canvas, the object list and the inspector."""

from __future__ import annotations

from collections.abc import Iterable

from psygnal import Signal, SignalGroup


class SelectionEvents(SignalGroup):
    changed = Signal(object)  # frozenset of object ids


class Selection:
    """A set of object ids with a change event; views select through it and redraw on `changed`."""

    def __init__(self) -> None:
        self.events = SelectionEvents()
        self._ids: frozenset[int] = frozenset()

    @property
    def ids(self) -> frozenset[int]:
        return self._ids

    @property
    def single(self) -> int | None:
        """The selected id when exactly one object is selected."""
        return next(iter(self._ids)) if len(self._ids) == 1 else None

    def set(self, ids: Iterable[int]) -> None:
        ids = frozenset(ids)
        if ids != self._ids:
            self._ids = ids
            self.events.changed.emit(ids)

    def clear(self) -> None:
        self.set(())

    def discard_missing(self, existing: Iterable[int]) -> None:
        """Drop ids of objects that no longer exist (after a delete, undo or reload)."""
        self.set(self._ids & frozenset(existing))
