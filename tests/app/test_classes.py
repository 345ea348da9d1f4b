"""Classes in the app: Change Class (Ctrl+L) offers the object's own class, number keys, settings per project."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from segmentation.geometry import Polygon, Shape
from segmentation.project.records import AnnotatedObject, ImageStatus
from segmentation.project.store import ProjectStore


def _square(x: float, y: float, size: float = 20) -> Shape:
    return Shape((Polygon(((x, y), (x + size, y), (x + size, y + size), (x, y + size))),))


def open_with_objects(make_window, qtbot, folder, labels):
    """A window on `folder` whose astronaut.png has one object per label (in order), the labels known."""
    with ProjectStore.open(folder) as store:
        saved = store.write_change("astronaut.png", status=ImageStatus.EDITED,
                                   saved=[AnnotatedObject(label, _square(5 + 20 * i, 5)) for i, label in enumerate(labels)])
        store.set_setting("labels", sorted(set(labels)))
    window = make_window()
    assert window.open_folder(folder)
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")
    return window, [o.id for o in saved]


def answer_change_class(qtbot, window, choose: str | None):
    """Press Ctrl+L; return the class the dialog offered first, after choosing `choose` (None: just Enter)."""
    seen = {}

    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            return  # not shown yet
        timer.stop()
        seen["offered"] = dialog.textValue()
        if choose is not None:
            dialog.setTextValue(choose)
        dialog.accept()

    window.activateWindow()  # a closed dialog may leave no active window: shortcuts need one
    qtbot.waitUntil(window.isActiveWindow)
    timer = QTimer(window)
    timer.timeout.connect(answer)
    timer.start(20)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "offered" in seen)
    return seen["offered"]


def test_change_class_offers_the_objects_own_class(make_window, qtbot, photo_folder):
    window, (toaster, elephant) = open_with_objects(make_window, qtbot, photo_folder, ["toaster", "elephant"])
    document = window.projects.project.current
    window.selection.set([toaster])
    assert answer_change_class(qtbot, window, None) == "toaster"  # not the first class (elephant)
    assert document.get(toaster).label == "toaster"  # Enter changed nothing
    window.selection.set([elephant])
    assert answer_change_class(qtbot, window, "toaster") == "elephant"
    assert document.get(elephant).label == "toaster"
