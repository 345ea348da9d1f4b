"""Opening folders and showing the current image: the project's lifecycle in the app."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from app.canvas.view import CanvasView
from app.undo import UndoHistory
from segmentation.images import ImageReadError, read_image
from segmentation.project.project import Project
from segmentation.project.selection import Selection
from segmentation.project.store import ProjectStoreError

RECENT_KEY = "recent_folders"
MAX_RECENT = 10


class ProjectController(QObject):
    """Owns the open Project; shows its current image on the canvas."""

    project_opened = Signal(object)  # Project
    project_closed = Signal()
    image_shown = Signal(object)  # name or None
    message = Signal(str)
    error = Signal(str)

    def __init__(self, canvas: CanvasView, selection: Selection, history: UndoHistory, settings: QSettings,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.selection = selection
        self.history = history
        self.settings = settings
        self.project: Project | None = None

    # ---------------------------------------------------------------- folders
    def open_folder(self, folder: str | Path) -> bool:
        """Open a folder; a read-only or locked folder gives a message, and the current project stays open."""
        folder = Path(folder).expanduser()
        try:
            project = Project.open(folder)
        except (ProjectStoreError, OSError) as exc:
            self.error.emit(str(exc))
            return False
        self.close()
        self.project = project
        project.events.current_changed.connect(self._show_current)
        self._remember(project.folder)
        self.project_opened.emit(project)
        unreadable_note = ""
        self.message.emit(f"Opened {project.folder}: {len(project.images):,} images{unreadable_note}")
        if len(project.images):
            project.step(1)
        else:
            self._show_current(None)
        return True

    def close(self) -> None:
        if self.project is None:
            return
        self.project.events.current_changed.disconnect(self._show_current)
        self.canvas.show_image(None, None, None)
        self.history.clear_all()
        self.selection.clear()
        self.project.close()
        self.project = None
        self.project_closed.emit()

    def recent_folders(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [v for v in (value or []) if Path(v).is_dir()]

    def _remember(self, folder: Path) -> None:
        recent = [str(folder)] + [f for f in self.recent_folders() if f != str(folder)]
        self.settings.setValue(RECENT_KEY, recent[:MAX_RECENT])

    # ---------------------------------------------------------------- images
    def go(self, step: int) -> None:
        if self.project is not None and not self.project.step(step):
            self.message.emit("No more images in this direction" + (" (filter on)" if self.project.images.filter else ""))

    def show_image(self, name: str) -> None:
        if self.project is not None:
            self.project.set_current(name)

    def _show_current(self, name: str | None) -> None:
        self.selection.clear()
        project = self.project
        if project is None or name is None:
            self.canvas.show_image(None, None, None)
            self.history.activate(None)
            self.image_shown.emit(None)
            return
        document = project.document(name)
        try:
            image = read_image(project.images.absolute(name))
        except ImageReadError as exc:
            project.images.mark_unreadable(name, str(exc))
            self.canvas.show_image(None, document, self.selection, error=str(exc))
        else:
            self._record_size(name, image.shape[:2])
            self.canvas.show_image(image, document, self.selection)
        self.history.activate(name)
        self.image_shown.emit(name)

    def _record_size(self, name: str, size: tuple[int, int]) -> None:
        store = self.project.store
        try:
            if store.image_size(name) != tuple(size):
                store.set_image_size(name, *size)
        except ProjectStoreError as exc:
            self.error.emit(str(exc))
