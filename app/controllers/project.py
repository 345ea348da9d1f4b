"""Opening folders and showing the current image: the project's lifecycle in the app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QThreadPool, Signal

from app.canvas.view import CanvasView
from app.qt_bridge import MainThreadInvoker
from app.undo import UndoHistory
from segmentation.images import ImageReadError, read_image
from segmentation.project.project import Project
from segmentation.project.selection import Selection
from segmentation.project.store import ProjectStoreError

RECENT_KEY = "recent_folders"
MAX_RECENT = 10
SYNC_READ_MAX_BYTES = 1_000_000  # smaller files decode in a few ms; larger ones are read in the thread pool


def _read(path: Path) -> tuple[np.ndarray | None, str | None]:
    """(image, None) or (None, reason): safe to call from any thread."""
    try:
        return read_image(path), None
    except ImageReadError as exc:
        return None, str(exc)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
        self._invoker = MainThreadInvoker(self)
        self._request = 0  # the newest image request; a slower, older read is dropped

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
        self._request += 1
        path = project.images.absolute(name)
        if _file_size(path) <= SYNC_READ_MAX_BYTES:
            self._display(self._request, name, *_read(path))
            return
        self.message.emit(f"Loading {name}...")
        request = self._request
        QThreadPool.globalInstance().start(lambda: self._invoker.call(self._display, request, name, *_read(path)))

    def _display(self, request: int, name: str, image: np.ndarray | None, error: str | None) -> None:
        project = self.project
        if request != self._request or project is None or project.current_name != name:
            return  # the user moved on while this image was being read
        document = project.document(name)
        if image is None:
            project.images.mark_unreadable(name, error or "cannot read")
            self.canvas.show_image(None, document, self.selection, error=error)
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
