"""Undo: one QUndoStack per image in a QUndoGroup; each command replays a document Change or its inverse."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QUndoCommand, QUndoGroup, QUndoStack
from PySide6.QtCore import QObject

from segmentation.project.document import Change, ImageAnnotations
from segmentation.project.store import ProjectLockedError, ProjectStoreError


class ChangeCommand(QUndoCommand):
    """An applied Change. The first redo (QUndoStack.push calls it) is skipped: the change is already applied.

    A replay refused because another program holds the lock leaves the document as it was and sets
    `failed`; UndoHistory then steps the stack back without replaying, so stack and document stay in
    step and the user can retry. Other refusals (a stale object: the document was reloaded) move on.
    """

    def __init__(self, document: ImageAnnotations, applied: Change, on_error: Callable[[str], None]) -> None:
        super().__init__(applied.text)
        self._document = document
        self._change = applied
        self._on_error = on_error
        self._skip_next = True
        self.failed = False

    def redo(self) -> None:
        self._replay(self._change, "Redo")

    def undo(self) -> None:
        self._replay(self._change.inverted(), "Undo")

    def _replay(self, change: Change, verb: str) -> None:
        self.failed = False
        if self._skip_next:  # already applied (pushed), or a refused replay being stepped back
            self._skip_next = False
            return
        try:
            applied = self._document.apply(change)
        except ProjectStoreError as exc:  # keep the app alive; the message says what is wrong
            self.failed = isinstance(exc, ProjectLockedError)
            self._on_error(f"{verb} of '{change.text}' was not done: {exc}")
            return
        self._replayed(change, applied)

    def _replayed(self, change: Change, applied: Change) -> None:
        """Hook for subclasses: a replay was saved (`applied` carries the ids the store gave)."""

    def step_back(self, stack: QUndoStack, undone: bool) -> None:
        """Return the stack's index to where it was, without touching the document."""
        self._skip_next = True
        stack.redo() if undone else stack.undo()


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

    def undo(self) -> None:
        """Undo on the active stack; a refused undo leaves the stack where it was."""
        self._step(undo=True)

    def redo(self) -> None:
        self._step(undo=False)

    def _step(self, undo: bool) -> None:
        stack = self.group.activeStack()
        if stack is None:
            return
        index = stack.index() - 1 if undo else stack.index()
        if not 0 <= index < stack.count():
            return
        command = stack.command(index)
        stack.undo() if undo else stack.redo()
        if isinstance(command, ChangeCommand) and command.failed:
            command.step_back(stack, undone=undo)

    def create_actions(self, parent: QObject) -> tuple[QAction, QAction]:
        """The group's Undo and Redo actions (their text and enabled state follow the active stack), wired
        to `undo` and `redo` so a refused step does not move the stack."""
        undo, redo = self.group.createUndoAction(parent, "&Undo"), self.group.createRedoAction(parent, "&Redo")
        for action, step in ((undo, self.undo), (redo, self.redo)):
            action.triggered.disconnect()
            action.triggered.connect(step)
        return undo, redo

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
