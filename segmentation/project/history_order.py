"""One undo history over per-image stacks and project-wide steps (class and track edits, which span images):
which step Ctrl+Z and Redo act on.

Every step is numbered when it is made, over every image and the project history. Ctrl+Z undoes the newer
of the current image's last done step and the last done project step; Redo redoes the older of the two
next undone ones, so the person sees one history. A new step drops what could be redone on the other
side, as a push does within one stack: a project step drops every image's redo steps, and an image step
made after a project step was undone ends that project step's redo. Qt-free so the rule has plain tests;
the app's UndoHistory keeps the stacks (QUndoStack) and asks this module which one to step.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable

_NUMBERS = itertools.count(1)


def next_step_number() -> int:
    """The number of a step made now: larger than every number given before (in this process)."""
    return next(_NUMBERS)


class Side(enum.Enum):
    IMAGE = "image"  # the current image's stack
    PROJECT = "project"  # the project-wide steps (class and track edits)


def side_to_replay(image_step: int | None, project_step: int | None, undo: bool) -> Side | None:
    """Which side Ctrl+Z (`undo`: the newer of the two next done steps) or Redo (the older of the two next
    undone steps) acts on, given the numbers of those steps (None: nothing on that side). None: nothing."""
    if image_step is None:
        return None if project_step is None else Side.PROJECT
    if project_step is None:
        return Side.IMAGE
    class_is_newer = project_step > image_step
    return Side.PROJECT if class_is_newer == undo else Side.IMAGE


def project_redo_ended(project_redo: int | None, image_steps_done: Iterable[int]) -> bool:
    """True when the project step Redo would redo (its number) is older than an image step done since
    it was undone: that image step ends its redo."""
    newest = max(image_steps_done, default=0)
    return project_redo is not None and project_redo < newest
