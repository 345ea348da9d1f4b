"""Per-object review: accept / reject, Tab to the next unverified object (across images), zoom to an
object, the Hide key, and the object context menu of the canvas and the list. What is hidden (classes,
eye toggles, the score cut) is the visibility model's; the canvas and the docks render it."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from protolabel.app.canvas.view import CanvasView
from protolabel.app.controllers.editing import EditController
from protolabel.app.controllers.project import ProjectController
from protolabel.app.docks.objects import ObjectsDock
from protolabel.segmentation.project.review import next_from_selection, next_unverified
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.visibility import Visibility

# The object menu (canvas and list), in this order; None is a separator.
MENU_ACTIONS = (
    "accept_object",
    "reject_object",
    None,
    "change_class",
    "hide_objects",
    "zoom_to_object",
    "copy_objects",
    None,
    "delete_object",
)


class ReviewController(QObject):
    """Connects the review commands to the canvas, the objects dock and the edit controller."""

    message = Signal(str)

    def __init__(
        self,
        projects: ProjectController,
        canvas: CanvasView,
        dock: ObjectsDock,
        editing: EditController,
        selection: Selection,
        visibility: Visibility,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.projects, self.canvas, self.dock, self.editing, self.selection = projects, canvas, dock, editing, selection
        self.visibility = visibility
        self.actions: Mapping[str, QAction] = {}
        self.menu: QMenu | None = None  # the object menu last shown (tests trigger its actions)
        self._pending: tuple[str, int] | None = None  # an object to show once its image is on screen
        projects.image_shown.connect(self._on_image_shown)
        dock.zoom_requested.connect(self.zoom_to)
        dock.delete_hidden_requested.connect(lambda: editing.delete_auto_below(visibility.score_threshold))
        dock.context_menu_requested.connect(self.show_menu)
        dock.attributes.attribute_edited.connect(editing.set_attribute)
        canvas.context_menu_requested.connect(self.show_menu)

    # ---------------------------------------------------------------- navigation
    def go(self, step: int) -> None:
        """Select and zoom to the next (+1) or previous (-1) object not yet verified, opening its image."""
        project = self.projects.project
        if project is None:
            return
        current = project.current_name
        target = next_from_selection(project, self.selection.ids, step, self.visibility.hidden_by_person)
        if target is None:
            self.message.emit("Every object is verified" + (" (hidden objects skipped)" if self._hiding() else ""))
            return
        name, object_id = target
        if name == current:
            self._show(object_id)
            return
        self._pending = target
        self.projects.show_image(name)  # _on_image_shown finishes (at once, or when a large image is read)

    def _on_image_shown(self, name: str | None) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == name:
            self._show(pending[1])

    def _show(self, object_id: int) -> None:
        self.selection.set([object_id])
        self.zoom_to(object_id)  # the objects dock scrolls to the selected row itself

    def _hiding(self) -> bool:
        return self.visibility.anything_hidden()

    def zoom_to(self, object_id: int | None = None) -> None:
        """Zoom to the object (default: the selected one) with context around it."""
        if object_id is None:
            object_id = self.selection.single
        if object_id is None or not self.canvas.zoom_to(object_id):
            self.message.emit("Select one object to zoom to")

    # ---------------------------------------------------------------- accept, reject, hide
    def accept_selected(self) -> None:
        """Accept the selected objects, then go to the next unverified object."""
        if self.editing.accept(sorted(self.selection.ids)):
            self.go(1)

    def reject_selected(self) -> None:
        """Delete the selected objects, then go to the next unverified object."""
        ids = sorted(self.selection.ids)
        if self.editing.reject(ids):
            self._go_from(ids)

    def _go_from(self, removed_ids: list[int]) -> None:
        project = self.projects.project
        if project is None or not removed_ids:
            return
        target = next_unverified(project, project.current_name, max(removed_ids), 1, self.visibility.hidden_by_person)
        if target is None:
            self.message.emit("Every object is verified" + (" (hidden objects skipped)" if self._hiding() else ""))
        elif target[0] == project.current_name:
            self._show(target[1])
        else:
            self._pending = target
            self.projects.show_image(target[0])

    def toggle_hidden_selected(self) -> None:
        """Hide the selected objects (or show them again when all of them are hidden)."""
        ids = set(self.selection.ids)
        if not ids:
            self.message.emit("Select an object first")
            return
        hide = not ids <= self.visibility.hidden_objects
        self.visibility.set_objects_hidden(ids, hide)
        if hide:
            self.selection.clear()

    # ---------------------------------------------------------------- context menu
    def show_menu(self, object_id: int | None, global_pos) -> None:
        """The object menu at `global_pos`; a right click on an unselected object selects it first."""
        if object_id is not None and object_id not in self.selection.ids:
            self.selection.set([object_id])
        menu = QMenu(self.canvas)
        menu.setObjectName("object_menu")
        for name in MENU_ACTIONS:
            if name is None:
                menu.addSeparator()
            elif name in self.actions:
                menu.addAction(self.actions[name])
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = menu
        menu.popup(global_pos)
