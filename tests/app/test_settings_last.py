"""Settings that last: a new window comes back with the last layout, threshold, model and class for new polygons."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QSettings, Qt

from protolabel.segmentation.project.store import ProjectStore


@pytest.fixture
def new_window(qtbot, tmp_path):
    """new_window() -> a shown MainWindow on one settings file (as the same user starting the app again)."""
    from protolabel.app.main_window import MainWindow
    from protolabel.segmentation.model_manager import ModelManager

    windows = []

    def make():
        settings = QSettings(str(tmp_path / "user.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, model_manager=ModelManager(tmp_path / "model-cache"))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def restart(window, new_window):
    window.close()
    window.settings.sync()
    return new_window()


def test_window_size_and_dock_layout_come_back(new_window, qtbot):
    window = new_window()
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.objects_dock)
    window.autolabel_dock.hide()
    size = (760, 700)  # above the window's minimum, inside the test screen, and not the default 1400 x 900
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    again = restart(window, new_window)
    assert (again.width(), again.height()) == size
    assert again.dockWidgetArea(again.objects_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert again.autolabel_dock.isHidden() and not again.objects_dock.isHidden()


def test_score_threshold_and_model_come_back(new_window, tmp_path):
    window = new_window()
    window.autolabel_dock.threshold_box.setValue(0.55)
    weights = tmp_path / "my_model.pth"
    window.options.weights = str(weights)
    again = restart(window, new_window)
    assert again.options.score_threshold == pytest.approx(0.55)
    assert again.autolabel_dock.threshold_box.value() == pytest.approx(0.55)
    assert again.options.weights == str(weights)


def test_bad_saved_threshold_falls_back_to_the_default(new_window):
    window = new_window()
    window.settings.setValue("score_threshold", "not a number")
    again = restart(window, new_window)
    assert again.options.score_threshold == pytest.approx(0.3)


def test_class_for_new_polygons_per_user_and_per_project(new_window, photo_folder, tmp_path, qtbot):
    other = tmp_path / "other"
    shutil.copytree(photo_folder, other)
    window = new_window()
    assert window.open_folder(photo_folder)
    box = window.objects_dock.label_box
    box.lineEdit().clear()
    qtbot.keyClicks(box.lineEdit(), "zebra")
    assert window.editing.new_object_label == "zebra"

    again = restart(window, new_window)
    assert again.objects_dock.label_box.currentText() == "zebra"  # per user, before any folder
    assert again.open_folder(other)  # a folder with no class of its own: the user's last one
    assert again.editing.new_object_label == "zebra"
    box = again.objects_dock.label_box
    box.lineEdit().clear()
    qtbot.keyClicks(box.lineEdit(), "giraffe")
    assert again.open_folder(photo_folder)  # this folder keeps its own class
    assert again.objects_dock.label_box.currentText() == "zebra" and again.editing.new_object_label == "zebra"
    again.close()
    with ProjectStore.open(other) as store:
        assert store.setting("new_object_label") == "giraffe"


def test_with_nothing_saved_new_polygons_get_the_class_the_box_shows(new_window, photo_folder, qtbot):
    """No class saved for new polygons (per user or project): the box shows the project's first class, and
    that is the class a new polygon gets (not the stand-in "object" the box no longer shows)."""
    import numpy as np

    from protolabel.segmentation.geometry.shapes import Polygon, Shape
    from protolabel.segmentation.project.labels import LABELS_KEY
    from protolabel.segmentation.project.records import AnnotatedObject, Provenance

    square = Shape((Polygon(np.array([[5, 5], [30, 5], [30, 30], [5, 30]], float)),))
    with ProjectStore.open(photo_folder) as store:
        store.write_change("coffee.png", saved=[AnnotatedObject("saucer", square, Provenance.AUTO)])
        store.set_setting(LABELS_KEY, ["saucer", "cup"])
    window = new_window()
    assert window.open_folder(photo_folder)
    shown = window.objects_dock.label_box.currentText()
    assert shown == window.projects.project.labels[0] == "saucer"
    assert window.editing.new_object_label == "saucer"
