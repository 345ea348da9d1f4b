"""What one window works on: the open project, the selected objects, what is shown, the auto-label options,
and the class new objects get.

Qt-free so the rule for the class of new objects has one writer and plain tests: before, the window, the
Objects dock's box and the edit controller each kept and wrote a copy of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from psygnal import Signal, SignalGroup

from protolabel.segmentation.project.autolabel import AutoLabelOptions
from protolabel.segmentation.project.labels import DEFAULT_LABEL, ClassEdit
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.visibility import Visibility


class SessionEvents(SignalGroup):
    project = Signal(object)  # the open Project, or None
    new_object_label = Signal(str)  # the class new objects get, each time it changes
    new_object_label_chosen = Signal(str)  # the person chose it (typed or picked): kept with the project


class Session:
    """The open project, selection, visibility, options and the class for new objects, with events."""

    def __init__(
        self,
        options: AutoLabelOptions | None = None,
        selection: Selection | None = None,
        visibility: Visibility | None = None,
    ) -> None:
        self.events = SessionEvents()
        self.options = options if options is not None else AutoLabelOptions()
        self.selection = selection if selection is not None else Selection()
        self.visibility = visibility if visibility is not None else Visibility()
        self._project: Project | None = None
        self._new_label = DEFAULT_LABEL
        self._stand_in = True  # the class is DEFAULT_LABEL only because no class is listed: the first to come wins

    @property
    def project(self) -> Project | None:
        return self._project

    def set_project(self, project: Project | None) -> None:
        """Another project (or none) is open; its objects and classes are not the last one's."""
        if project is not self._project:
            self._project = project
            self.visibility.new_project()
            self.events.project.emit(project)

    # ---------------------------------------------------------------- the class for new objects
    @property
    def new_object_label(self) -> str:
        return self._new_label

    def _set_new_object_label(self, label: str) -> None:
        if label != self._new_label:
            self._new_label = label
            self.events.new_object_label.emit(label)

    def choose_new_object_label(self, label: str) -> None:
        """The person typed or picked the class for new objects."""
        self._stand_in = False
        self._set_new_object_label(label)
        self.events.new_object_label_chosen.emit(label)

    def use_new_object_label(self, label: str) -> None:
        """Use a class that is no choice made now (one saved with the project, a renamed one)."""
        self._stand_in = False
        self._set_new_object_label(label)

    def list_classes(self, labels: Sequence[str], *, keep: bool = True) -> str:
        """The classes offered changed: keep the class for new objects (not with keep=False, for another
        project), else take the first class, else the stand-in DEFAULT_LABEL, which the first classes to
        arrive (an import, an auto-label run) replace. Returns the class now used."""
        current = "" if self._stand_in or not keep else self._new_label
        self._stand_in = not current and not labels
        self._set_new_object_label(current or (labels[0] if labels else DEFAULT_LABEL))
        return self._new_label

    def follow_class_edit(self, edit: ClassEdit, undone: bool = False) -> bool:
        """A rename or merge of the class for new objects (or its undo) renames that class too: new objects
        would otherwise bring the old class back (`undone`: a replay by Undo). True when it renamed it."""
        if undone and edit.new in edit.before.labels:
            return False  # an undone merge: the class it merged into stays
        old, new = (edit.new, edit.old) if undone else (edit.old, edit.new)
        if old is None or new is None or self._new_label != old:
            return False
        self.use_new_object_label(new)
        return True
