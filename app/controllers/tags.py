"""Image tags: the tags panel (its own dock) shows the current image's tags; what the person sets is written to
the store at once and to the image list (its "Tagged:" filters), and becomes a step of that image's undo history
(UndoHistory.push_step): tags live in the store's image_tags table, outside the annotation documents whose
Changes the other steps replay, so a tag step replays itself. A step sets or clears its one tag and leaves the
image's other tags as they are then, so undoing it never takes back a tag set since."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Signal

from protolabel.app.controllers.project import ProjectController
from protolabel.app.docks.tags_panel import TagsPanel
from protolabel.app.undo import UndoHistory
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError


class TagController(QObject):
    """Connects the tags panel to the open project's store, image list and undo history."""

    message = Signal(str)
    error = Signal(str)

    def __init__(
        self,
        projects: ProjectController,
        panel: TagsPanel,
        parent: QObject | None = None,
        history: UndoHistory | None = None,
    ) -> None:
        super().__init__(parent)
        self.projects, self.panel, self.history = projects, panel, history
        self._watched: Project | None = None
        projects.project_opened.connect(self._watch)
        projects.project_closed.connect(lambda: self._watch(None))
        projects.image_shown.connect(lambda _name: self.refresh())
        panel.tag_set.connect(self.set_tag)

    def _watch(self, project: Project | None) -> None:
        if self._watched is not None:
            self._watched.images.events.tags_changed.disconnect(self._on_tags)
        self._watched = project
        if project is not None:
            project.images.events.tags_changed.connect(self._on_tags)
        self.refresh()

    def _on_tags(self, _name: str | None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Show the project's tags, checked where the current image has them."""
        project = self.projects.project
        name = None if project is None else project.current_name
        if project is None or name is None:
            self.panel.show_image(() if project is None else project.images.tag_counts(), None)
            return
        self.panel.show_image(project.images.tag_counts(), project.images.tags(name))

    def set_tag(self, tag: str, on: bool) -> None:
        """Give the current image `tag` (or take it away), in the store and the image list: one undo step."""
        project = self.projects.project
        name = None if project is None else project.current_name
        if project is None or name is None:
            self.message.emit("Open an image first")
            return
        if (tag in project.images.tags(name)) == on:
            return  # nothing to change, no step
        try:
            write_tag(project, name, tag, on)
        except (ValueError, ProjectStoreError, OSError) as exc:
            self.error.emit(f"The tag was not set: {exc}")
            self.refresh()
            return
        if self.history is not None:
            text = f"Tag '{tag}'" if on else f"Untag '{tag}'"
            self.history.push_step(name, text, partial(_replay, project, name, tag, on))


def write_tag(project: Project, name: str, tag: str, on: bool) -> None:
    """Set (or clear) one tag of an image in the store, then in the image list; its other tags (as the store
    holds them: another window may have set some) stay."""
    tags = set(project.store.tags(name))
    tags = tags | {tag} if on else tags - {tag}
    project.store.set_tags(name, sorted(tags))
    project.images.set_tags(name, tags)


def _replay(project: Project, name: str, tag: str, on: bool, undo: bool) -> None:
    write_tag(project, name, tag, on != undo)
