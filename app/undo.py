"""Undo: one QUndoStack per image in a QUndoGroup; each command replays a document Change or its inverse."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack
from PySide6.QtCore import QObject

from segmentation.project.document import Change, ImageAnnotations
from segmentation.project.store import ProjectStoreError


class ChangeCommand(QUndoCommand):
    """An applied Change. The first redo (QUndoStack.push calls it) is skipped: the change is already applied."""

    def __init__(self, document: ImageAnnotations, applied: Change, on_error: Callable[[str], None]) -> None:
        super().__init__(applied.text)
        self._document = document
        self._change = applied
        self._on_error = on_error
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self._replay(self._change)

    def undo(self) -> None:
        self._replay(self._change.inverted())

    def _replay(self, change: Change) -> None:
        try:
            self._document.apply(change)
        except ProjectStoreError as exc:  # keep the app alive; the message says what is wrong
            self._on_error(str(exc))


class UndoHistory(QObject):
    """Per-image undo stacks; the current image's stack is the active one (what Ctrl+Z acts on)."""

    def __init__(self, on_error: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.group = QUndoGroup(self)
        self._stacks: dict[str, QUndoStack] = {}
        self._on_error = on_error

    def stack(self, name: str) -> QUndoStack:
        stack = self._stacks.get(name)
        if stack is None:
            stack = self._stacks[name] = QUndoStack(self.group)
        return stack

    def activate(self, name: str | None) -> None:
        self.group.setActiveStack(None if name is None else self.stack(name))

    def push(self, name: str, document: ImageAnnotations, applied: Change) -> None:
        self.stack(name).push(ChangeCommand(document, applied, self._on_error))

    def forget(self, name: str) -> None:
        """Drop an image's history (its objects were replaced by an auto-label run)."""
        stack = self._stacks.get(name)
        if stack is not None:
            stack.clear()

    def clear_all(self) -> None:
        for stack in self._stacks.values():
            stack.clear()
