"""Settings that last: window layout, score threshold and the class for new polygons, across sessions.

Per user (QSettings): window geometry and dock layout, the auto-label score threshold and backend, whether I
asks before labelling an image with objects again, the model mirror (the model file is kept by the main window
under "weights"). Per project (the store's settings): the class for new polygons, as the person last chose it
in that folder. It is not per user: a class of one folder means nothing in another, and a new folder starts
from its own classes.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

from protolabel.app.docks.autolabel_panel import BACKEND_CHOICES, MAX_KEYFRAME_INTERVAL
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.store import ProjectStoreError

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
THRESHOLD_KEY = "score_threshold"
BACKEND_KEY = "backend"
KEYFRAME_KEY = "keyframe_interval"
ASK_RELABEL_KEY = "ask_before_relabel"  # per user: I on an image with objects asks first
NEW_LABEL_KEY = "new_object_label"  # project setting: the class for new polygons the person chose
MIRROR_KEY = "model_mirror"  # Official Models' mirror; when set it wins over $PROTOLABEL_MODEL_MIRROR


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


def saved_keyframe_interval(settings: QSettings, default: int) -> int:
    """The last keyframe interval, or `default` when none (or one outside 1..MAX_KEYFRAME_INTERVAL) was saved."""
    try:
        value = int(settings.value(KEYFRAME_KEY, default))
    except (TypeError, ValueError):
        return default
    return value if 1 <= value <= MAX_KEYFRAME_INTERVAL else default


def asks_before_relabel(settings: QSettings) -> bool:
    """Whether I on an image that has objects asks first (yes unless the person said "Don't ask again")."""
    value = settings.value(ASK_RELABEL_KEY, True)
    return value not in (False, "false", "0", 0)


def saved_new_label(project: Project) -> str:
    """The class for new polygons the person chose in this project, or ''."""
    value = project.store.setting(NEW_LABEL_KEY, "")
    return value.strip() if isinstance(value, str) else ""


def remember_new_label(project: Project | None, label: str) -> str | None:
    """Keep the class for new polygons with the project; the error text if the project refused."""
    label = label.strip()
    if not label:
        return None
    if project is not None and project.store.setting(NEW_LABEL_KEY, "") != label:
        try:
            project.store.set_setting(NEW_LABEL_KEY, label)
        except ProjectStoreError as exc:
            return str(exc)
    return None
