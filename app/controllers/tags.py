"""Image tags: the tags panel (its own dock) shows the current image's tags; what the person sets is written to
the store at once and to the image list (its "Tagged:" filters). A plain write, not an undo step: tags live in
the store's image_tags table, outside the per-image annotation documents whose Changes the undo history replays."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from protolabel.app.controllers.project import ProjectController
from protolabel.app.docks.tags_panel import TagsPanel
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError


class TagController(QObject):
    """Connects the tags panel to the open project's store and image list."""

    message = Signal(str)
    error = Signal(str)

    def __init__(self, projects: ProjectController, panel: TagsPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.projects, self.panel = projects, panel
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
        """Give the current image `tag` (or take it away), in the store and the image list."""
        project = self.projects.project
        name = None if project is None else project.current_name
        if project is None or name is None:
            self.message.emit("Open an image first")
            return
        tags = set(project.images.tags(name))
        tags = tags | {tag} if on else tags - {tag}
        try:
            project.store.set_tags(name, sorted(tags))
        except (ValueError, ProjectStoreError, OSError) as exc:
            self.error.emit(f"The tag was not set: {exc}")
            self.refresh()
            return
        project.images.set_tags(name, tags)
        self.refresh()
