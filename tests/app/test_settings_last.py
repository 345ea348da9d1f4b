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


def test_keyframe_interval_comes_back_and_a_bad_one_falls_back(new_window):
    window = new_window()
    window.autolabel_dock.keyframe_box.setValue(3)
    assert window.options.keyframe_interval == 3  # what the next video run's settings take
    again = restart(window, new_window)
    assert again.options.keyframe_interval == 3 and again.autolabel_dock.keyframe_box.value() == 3
    again.settings.setValue("keyframe_interval", 0)
    assert restart(again, new_window).options.keyframe_interval == 5  # YolactEdge's own period


def test_bad_saved_threshold_falls_back_to_the_default(new_window):
    window = new_window()
    window.settings.setValue("score_threshold", "not a number")
    again = restart(window, new_window)
    assert again.options.score_threshold == pytest.approx(0.3)


def test_class_for_new_polygons_per_project_and_not_into_a_new_folder(new_window, photo_folder, tmp_path, qtbot):
    """Issue 20: the class typed in one folder came back in a new, unrelated folder (a per-user fallback)."""
    other = tmp_path / "other"
    shutil.copytree(photo_folder, other)
    window = new_window()
    assert window.open_folder(photo_folder)
    box = window.objects_dock.label_box
    box.lineEdit().clear()
    qtbot.keyClicks(box.lineEdit(), "zebra")
    assert window.editing.new_object_label == "zebra"

    again = restart(window, new_window)
    assert again.objects_dock.label_box.currentText() != "zebra"  # before any folder: nothing carried
    assert again.open_folder(other)  # a new folder with no class: its own stand-in, not zebra
    assert again.objects_dock.label_box.currentText() == "object" and again.editing.new_object_label == "object"
    box = again.objects_dock.label_box
    box.lineEdit().clear()
    qtbot.keyClicks(box.lineEdit(), "giraffe")
    assert again.open_folder(photo_folder)  # this folder keeps its own class
    assert again.objects_dock.label_box.currentText() == "zebra" and again.editing.new_object_label == "zebra"
    fresh = tmp_path / "fresh"
    shutil.copytree(photo_folder, fresh, ignore=shutil.ignore_patterns(".protolabel"))
    assert again.open_folder(fresh)  # from a folder with a class to a new one: not carried either
    assert again.objects_dock.label_box.currentText() == "object" and again.editing.new_object_label == "object"
    again.close()
    with ProjectStore.open(other) as store:
        assert store.setting("new_object_label") == "giraffe"
    with ProjectStore.open(fresh) as store:
        assert store.setting("new_object_label") is None  # opening it wrote no choice into it


def test_with_nothing_saved_new_polygons_get_the_class_the_box_shows(new_window, photo_folder, qtbot):
    """No class saved for new polygons (per user or project): the box shows the project's first class, and
    that is the class a new polygon gets (not the stand-in "object" the box no longer shows)."""
    import numpy as np

    from protolabel.segmentation.geometry.provenance import Provenance
    from protolabel.segmentation.geometry.shapes import Polygon, Shape
    from protolabel.segmentation.project.labels import LABELS_KEY
    from protolabel.segmentation.project.records import AnnotatedObject

    square = Shape((Polygon(np.array([[5, 5], [30, 5], [30, 30], [5, 30]], float)),))
    with ProjectStore.open(photo_folder) as store:
        store.write_change("coffee.png", saved=[AnnotatedObject("saucer", square, Provenance.AUTO)])
        store.set_setting(LABELS_KEY, ["saucer", "cup"])
    window = new_window()
    assert window.open_folder(photo_folder)
    shown = window.objects_dock.label_box.currentText()
    assert shown == window.projects.project.labels[0] == "saucer"
    assert window.editing.new_object_label == "saucer"


def test_reopening_a_folder_returns_to_the_image_left_off(new_window, photo_folder, tmp_path, qtbot):
    """Issue 20: reopening a folder started at image 1 instead of where the person left off."""
    window = new_window()
    assert window.open_folder(photo_folder)
    names = window.projects.project.images.names
    qtbot.waitUntil(lambda: window.projects.project.current_name == names[0])
    window.projects.go(1)
    window.projects.go(1)
    left_at = window.projects.project.current_name
    assert left_at == names[2]
    again = restart(window, new_window)
    assert again.open_folder(photo_folder)
    qtbot.waitUntil(lambda: again.projects.project.current_name is not None)
    assert again.projects.project.current_name == left_at
    (photo_folder / left_at).unlink()  # gone meanwhile: the first image, as before
    assert again.open_folder(photo_folder)
    qtbot.waitUntil(lambda: again.projects.project.current_name is not None)
    assert again.projects.project.current_name == again.projects.project.images.names[0]
