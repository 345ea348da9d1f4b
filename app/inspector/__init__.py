"""The prototype inspector: YOLACT's prototypes, coefficients and mask assembly laid open, live
coefficient editing, and region re-inference, as a dock and canvas overlays of the main window."""

from __future__ import annotations

from PySide6.QtCore import Qt

from protolabel.app.inspector.controller import InspectorController
from protolabel.app.inspector.dock import InspectorDock
from protolabel.app.inspector.region_tool import RegionHint
from protolabel.segmentation.inspection.state import InspectorState

INSPECTOR_WIDTH = 450
OBJECTS_HEIGHT = 110


def install_inspector(window) -> InspectorController:
    """Add the inspector to a MainWindow: its state, controller and dock (tabbed with the auto-label panel)."""
    state = InspectorState()
    controller = InspectorController(
        state, window.projects, window.canvas, window.selection, window.editing, window.autolabel, window
    )
    dock = InspectorDock(state, controller, window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.autolabel_dock, dock)
    dock.raise_()
    # the inspector needs room: a wider right column; the object list on top keeps the larger share of the
    # height (reviewing 40-80 objects needs their rows more than the inspector needs its full height)
    window.resizeDocks([dock], [INSPECTOR_WIDTH], Qt.Orientation.Horizontal)
    window.resizeDocks([window.objects_dock, dock], [3 * OBJECTS_HEIGHT, 2 * OBJECTS_HEIGHT], Qt.Orientation.Vertical)
    window.view_menu.addAction(dock.toggleViewAction())
    controller.message.connect(lambda text: window.statusBar().showMessage(text, 8000))
    controller.error.connect(window.show_error)
    controller.dock = dock
    controller.region_hint = RegionHint(window.canvas)
    window.actions_by_name["region_mode"].toggled.connect(controller.region_hint.set_shown)
    return controller
