"""Undo: one QUndoStack per image in a QUndoGroup; each command replays a document Change or its inverse.

Project-wide steps span images: class steps (rename, merge, delete), attribute schema changes and track
steps (merge, split, delete, re-class, propagate), so they sit in one project history beside the per-image
stacks. Which of the two Ctrl+Z and Redo act on, and when a new step ends the other side's redo, is the
Qt-free rule of `segmentation/project/history_order.py`. Per-image steps that are not document changes (an
image's tags) are ReplayCommands on the image's stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QUndoCommand, QUndoGroup, QUndoStack

from protolabel.segmentation.project.attribute_edit import AttributeSchemaEdit
from protolabel.segmentation.project.document import Change, ImageAnnotations
from protolabel.segmentation.project.history_order import Side, next_step_number, project_redo_ended, side_to_replay
from protolabel.segmentation.project.labels import ClassEdit
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import TrackEdit
from protolabel.segmentation.project.store import ProjectLockedError, ProjectStoreError


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
        self.number = next_step_number()

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


class ReplayCommand(QUndoCommand):
    """A done per-image step that is not a document Change (a tag set on an image): `replay(undo)` takes it
    back or writes it again. Pushed once done, so the first redo is skipped; a replay refused because another
    program holds the lock sets `failed`, and UndoHistory steps the stack back as for a ChangeCommand."""

    def __init__(self, text: str, replay: Callable[[bool], None], on_error: Callable[[str], None]) -> None:
        super().__init__(text)
        self._replay = replay
        self._on_error = on_error
        self._skip_next = True
        self.failed = False
        self.number = next_step_number()

    def redo(self) -> None:
        self._run(undo=False)

    def undo(self) -> None:
        self._run(undo=True)

    def _run(self, undo: bool) -> None:
        self.failed = False
        if self._skip_next:
            self._skip_next = False
            return
        try:
            self._replay(undo)
        except ProjectStoreError as exc:
            self.failed = isinstance(exc, ProjectLockedError)
            self._on_error(f"{'Undo' if undo else 'Redo'} of '{self.text()}' was not done: {exc}")

    def step_back(self, stack: QUndoStack, undone: bool) -> None:
        """Return the stack's index to where it was, without replaying."""
        self._skip_next = True
        stack.redo() if undone else stack.undo()


class _DropRedo(QUndoCommand):
    """Pushed to drop a stack's redo steps: it marks itself obsolete, so the stack keeps nothing of it."""

    def redo(self) -> None:
        self.setObsolete(True)


@dataclass
class ProjectStep:
    """A project-wide step on the project history: its edit (carrying the versions of the last replay) and
    how to undo and redo it, each returning the edit as it then stands."""

    edit: Any  # ClassEdit, AttributeSchemaEdit or TrackEdit: each has .text
    undo_edit: Callable[[Any], Any]
    redo_edit: Callable[[Any], Any]
    number: int


class UndoHistory(QObject):
    """Per-image undo stacks (the current image's is the active one) and the project-wide steps; Ctrl+Z
    acts on the newer of the two."""

    def __init__(self, on_error: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.group = QUndoGroup(self)
        self._stacks: dict[str, QUndoStack] = {}
        self._on_error = on_error
        self.project_steps: list[ProjectStep] = []
        self.project_index = 0  # project steps before this index are done, the rest undone
        self._actions: tuple[QAction, QAction] | None = None
        for signal in (
            self.group.indexChanged,
            self.group.activeStackChanged,
            self.group.undoTextChanged,
            self.group.redoTextChanged,
            self.group.canUndoChanged,
            self.group.canRedoChanged,
        ):
            signal.connect(self._update_actions)

    def stack(self, name: str) -> QUndoStack:
        stack = self._stacks.get(name)
        if stack is None:
            stack = self._stacks[name] = QUndoStack(self.group)
        return stack

    def activate(self, name: str | None) -> None:
        self.group.setActiveStack(None if name is None else self.stack(name))

    def undo(self) -> None:
        """Undo the newest step (the current image's or a project step); a refused undo moves nothing."""
        self._step(undo=True)

    def redo(self) -> None:
        self._step(undo=False)

    def _image_next(self, undo: bool) -> ChangeCommand | None:
        stack = self.group.activeStack()
        if stack is None:
            return None
        index = stack.index() - 1 if undo else stack.index()
        return stack.command(index) if 0 <= index < stack.count() else None

    def _project_next(self, undo: bool) -> ProjectStep | None:
        if not undo:
            self._drop_project_redo_behind_image_steps()
        index = self.project_index - 1 if undo else self.project_index
        return self.project_steps[index] if 0 <= index < len(self.project_steps) else None

    def _next(self, undo: bool) -> ChangeCommand | ReplayCommand | ProjectStep | None:
        """What Ctrl+Z (the newest done step) or Redo (the oldest undone one) acts on."""
        image, step = self._image_next(undo), self._project_next(undo)
        side = side_to_replay(
            None if image is None else getattr(image, "number", 0), None if step is None else step.number, undo
        )
        return step if side is Side.PROJECT else image if side is Side.IMAGE else None

    def _step(self, undo: bool) -> None:
        target = self._next(undo)
        if isinstance(target, ProjectStep):
            self._replay_project(target, undo)
            return
        stack = self.group.activeStack()
        if target is None or stack is None:
            return
        stack.undo() if undo else stack.redo()
        if isinstance(target, (ChangeCommand, ReplayCommand)) and target.failed:
            target.step_back(stack, undone=undo)

    def _replay_project(self, step: ProjectStep, undo: bool) -> None:
        replay = step.undo_edit if undo else step.redo_edit
        try:
            step.edit = replay(step.edit)
        except ProjectStoreError as exc:  # refused (stale, locked): the history stays where it was
            self._on_error(f"{'Undo' if undo else 'Redo'} of '{step.edit.text}' was not done: {exc}")
            return
        self.project_index += -1 if undo else 1
        self._update_actions()

    def push_class_edit(self, project: Project, edit: ClassEdit) -> None:
        """A class step was applied: it becomes the newest step; nothing undone before it can be redone."""
        self._push_project_step(ProjectStep(edit, project.undo_class_edit, project.redo_class_edit, 0))

    def push_attribute_edit(self, project: Project, edit: AttributeSchemaEdit) -> None:
        """An attribute schema change was applied (it rewrites objects on many images): the newest project step."""
        self._push_project_step(
            ProjectStep(
                edit,
                lambda e: project.replay_attribute_edit(e, undo=True),
                lambda e: project.replay_attribute_edit(e, undo=False),
                0,
            )
        )

    def push_track_edit(self, project: Project, edit: TrackEdit) -> None:
        """A track step was applied (it changes frames across a video): the newest project-wide step."""
        self._push_project_step(ProjectStep(edit, project.undo_track_edit, project.redo_track_edit, 0))

    def _push_project_step(self, step: ProjectStep) -> None:
        del self.project_steps[self.project_index :]
        step.number = next_step_number()
        self.project_steps.append(step)
        self.project_index = len(self.project_steps)
        for stack in self._stacks.values():
            if stack.canRedo():
                stack.push(_DropRedo())
        self._update_actions()

    def _drop_project_redo_behind_image_steps(self) -> None:
        """An image step made after a project step was undone ends that project step's redo."""
        done = (getattr(s.command(s.index() - 1), "number", 0) for s in self._stacks.values() if s.index())
        redo = self.project_steps[self.project_index].number if self.project_index < len(self.project_steps) else None
        if project_redo_ended(redo, done):
            del self.project_steps[self.project_index :]

    def create_actions(self, parent: QObject) -> tuple[QAction, QAction]:
        """Undo and Redo actions whose text and enabled state follow the step each would act on, wired to
        `undo` and `redo` so a refused step does not move the history."""
        undo, redo = QAction("&Undo", parent), QAction("&Redo", parent)
        undo.triggered.connect(self.undo)
        redo.triggered.connect(self.redo)
        self._actions = (undo, redo)
        self._update_actions()
        return undo, redo

    def _update_actions(self, *_args) -> None:
        if self._actions is None:
            return
        for action, undo, prefix in ((self._actions[0], True, "&Undo"), (self._actions[1], False, "&Redo")):
            target = self._next(undo)
            text = "" if target is None else target.edit.text if isinstance(target, ProjectStep) else target.text()
            action.setText(f"{prefix} {text}".rstrip())
            action.setEnabled(target is not None)

    def push(self, name: str, document: ImageAnnotations, applied: Change) -> None:
        self.stack(name).push(ChangeCommand(document, applied, self._on_error))

    def push_step(self, name: str, text: str, replay: Callable[[bool], None]) -> None:
        """A per-image step that is not a document Change was done (an image's tag): it joins that image's
        history; `replay(undo)` takes it back (True) or does it again (False)."""
        self.stack(name).push(ReplayCommand(text, replay, self._on_error))

    def forget(self, name: str) -> None:
        """Drop an image's history (its objects were replaced by an auto-label run)."""
        stack = self._stacks.get(name)
        if stack is not None:
            stack.clear()

    def clear_all(self) -> None:
        for stack in self._stacks.values():
            stack.clear()
        self.project_steps.clear()
        self.project_index = 0
        self._update_actions()
