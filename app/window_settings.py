"""Settings that last: window layout, score threshold and the class for new polygons, across sessions.

Per user (QSettings): window geometry and dock layout, the auto-label score threshold and backend, the last class
used for new polygons (the model file is kept by the main window under "weights"). Per project (the
store's settings): the class for new polygons, which wins over the per-user one in that folder.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from protolabel.app.docks.autolabel_panel import BACKEND_CHOICES
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
THRESHOLD_KEY = "score_threshold"
BACKEND_KEY = "backend"
NEW_LABEL_KEY = "new_object_label"  # QSettings key and project setting key alike


def save_layout(window: QMainWindow, settings: QSettings) -> None:
    """Window geometry and the docks' places and visibility (call on close)."""
    settings.setValue(GEOMETRY_KEY, window.saveGeometry())
    settings.setValue(STATE_KEY, window.saveState())


def restore_layout(window: QMainWindow, settings: QSettings) -> None:
    """Put the window and its docks back as they were; unusable saved values are ignored."""
    geometry, state = settings.value(GEOMETRY_KEY), settings.value(STATE_KEY)
    if isinstance(geometry, QByteArray) and not geometry.isEmpty():
        window.restoreGeometry(geometry)
    if isinstance(state, QByteArray) and not state.isEmpty():
        window.restoreState(state)


def saved_threshold(settings: QSettings, default: float) -> float:
    """The last score threshold, or `default` when none (or a value outside 0..1) was saved."""
    try:
        value = float(settings.value(THRESHOLD_KEY, default))
    except (TypeError, ValueError):
        return default
    return value if 0.0 <= value <= 1.0 else default


def saved_backend(settings: QSettings) -> str:
    """The last backend chosen in the auto-label dock, or torch when none (or an unknown one) was saved."""
    value = str(settings.value(BACKEND_KEY, "torch") or "torch")
    return value if value in BACKEND_CHOICES else "torch"


def saved_new_label(settings: QSettings, project: Project | None) -> str:
    """The class for new polygons: the project's own, else the user's last one, else ''."""
    label = ""
    if project is not None:
        label = str(project.store.setting(NEW_LABEL_KEY, "") or "")
    return label.strip() or str(settings.value(NEW_LABEL_KEY, "") or "").strip()


def remember_new_label(settings: QSettings, project: Project | None, label: str) -> str | None:
    """Keep the class for new polygons per user and per project; the error text if the project refused."""
    label = label.strip()
    if not label:
        return None
    settings.setValue(NEW_LABEL_KEY, label)
    if project is not None and project.store.setting(NEW_LABEL_KEY, "") != label:
        try:
            project.store.set_setting(NEW_LABEL_KEY, label)
        except ProjectStoreError as exc:
            return str(exc)
    return None
