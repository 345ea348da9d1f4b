"""Opening folders safely in the app: the walk runs off the UI thread, loops end, damaged stores and rows are
reported, and an edit made stale by another window is refused and reloaded."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

import protolabel.app.controllers.project as project_controller
from protolabel.app.docks.file_list import ErrorRole
from protolabel.segmentation.folders import walk_folder
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.prelabel import scan_folder
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore, project_db_path


def _square(x: float, y: float, size: float = 20.0) -> Shape:
    return Shape((Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]])),))


def test_open_folder_walks_off_the_ui_thread_and_the_window_stays_responsive(
    make_window, photo_folder, qtbot, monkeypatch
):
    gate, walker_threads = threading.Event(), []

    def slow_walk(folder, **kwargs):  # a huge or slow (network) folder: the walk ends only when the test says
        walker_threads.append(threading.current_thread())
        assert gate.wait(60)
        return walk_folder(folder, **kwargs)

    monkeypatch.setattr(project_controller, "walk_folder", slow_walk)
    window = make_window()
    assert window.open_folder(photo_folder)  # returned although the walk is still blocked
    assert window.projects.scanning and window.projects.project is None
    assert walker_threads and walker_threads[0] is not threading.main_thread()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 3)  # the event loop runs while the folder is walked
    timer.stop()
    assert "Scanning" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.projects.project_opened, timeout=30_000):
        gate.set()
    assert window.projects.project.images.names == ("astronaut.png", "chelsea.jpg", "coffee.png", "damaged.png")
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")


def test_opening_another_folder_during_a_scan_replaces_it(make_window, photo_folder, tmp_path, qtbot, monkeypatch):
    gate = threading.Event()
    real_walk = walk_folder

    def walk(folder, **kwargs):
        if folder == photo_folder.resolve():
            assert gate.wait(60)
        return real_walk(folder, **kwargs)

    monkeypatch.setattr(project_controller, "walk_folder", walk)
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.png").write_bytes((photo_folder / "coffee.png").read_bytes())
    window = make_window()
    assert window.open_folder(photo_folder) and window.projects.scanning
    assert window.open_folder(other)
    assert window.projects.project.folder == other.resolve()
    gate.set()
    window.projects.wait_for_scan()
    qtbot.wait(50)  # the replaced walk reports back and is dropped
    assert window.projects.project.folder == other.resolve()
    assert window.projects.project.images.names == ("x.png",)


@pytest.mark.skipif(sys.platform == "win32", reason="folder symlinks need privileges on Windows")
def test_symlink_loops_open_with_the_same_images_as_the_cli(make_window, photo_folder):
    os.symlink(".", photo_folder / "a")
    os.symlink(".", photo_folder / "b")
    window = make_window()
    assert window.open_folder(photo_folder)
    cli_names = tuple(rel for rel, _ in scan_folder(photo_folder).images)
    assert window.projects.project.images.names == cli_names
    assert len(cli_names) == 4


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No])
def test_damaged_database_starts_over_only_with_consent(make_window, photo_folder, monkeypatch, answer):
    ProjectStore.open(photo_folder).close()
    db_path = project_db_path(photo_folder)
    db_path.write_bytes(b"")  # truncated to 0 bytes
    asked = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    window = make_window()
    opened = window.open_folder(photo_folder)
    assert len(asked) == 1 and "damaged" in asked[0] and "empty" in asked[0]
    aside = sorted(db_path.parent.glob("project.db.damaged-*"))
    if answer == QMessageBox.StandardButton.Yes:
        assert opened and window.projects.project is not None
        assert len(aside) == 1 and aside[0].stat().st_size == 0  # the damaged file is kept as it was
        assert db_path.stat().st_size > 0
    else:
        assert not opened and window.projects.project is None
        assert aside == [] and db_path.stat().st_size == 0  # nothing touched
        assert "not opened" in window.last_error


def test_corrupt_row_shows_the_image_as_damaged_and_the_rest_works(make_window, photo_folder, qtbot):
    with ProjectStore.open(photo_folder) as store:
        for name in ("astronaut.png", "chelsea.jpg"):
            store.write_change(name, saved=[AnnotatedObject("cat", _square(10, 10))], status=ImageStatus.EDITED)
    with sqlite3.connect(project_db_path(photo_folder)) as db:
        db.execute("UPDATE objects SET shape = '{not json' WHERE image_path = 'astronaut.png'")
    window = make_window()
    assert window.open_folder(photo_folder)
    project = window.projects.project
    qtbot.waitUntil(lambda: project.current_name == "astronaut.png")
    assert "astronaut.png" in project.images.unreadable and "damaged" in project.images.unreadable["astronaut.png"]
    row = window.file_dock.model.row_of("astronaut.png")
    error = window.file_dock.model.data(window.file_dock.model.index(row), ErrorRole)
    assert error is not None and "object" in error  # the list shows the row as unreadable, with the reason
    window.projects.go(1)
    qtbot.waitUntil(lambda: project.current_name == "chelsea.jpg")
    assert len(window.canvas.items_by_id) == 1


def test_stale_edit_in_one_window_is_refused_with_a_message_and_reloaded(make_window, photo_folder, qtbot):
    with ProjectStore.open(photo_folder) as store:
        (cat,) = store.write_change(
            "astronaut.png", saved=[AnnotatedObject("cat", _square(10, 10))], status=ImageStatus.EDITED
        )
    first = make_window()  # a second window is refused the folder (one writer): another program deletes
    assert first.open_folder(photo_folder)
    qtbot.waitUntil(lambda: first.projects.project.current_name == "astronaut.png")
    with ProjectStore.open(photo_folder) as other:
        other.write_change("astronaut.png", removed=[cat])
    first.editing.edit_shape(cat.id, _square(30, 30))
    assert first.last_error is not None and "deleted by another window or program" in first.last_error
    assert cat.id not in first.projects.project.current
    qtbot.waitUntil(lambda: cat.id not in first.canvas.items_by_id)
    with ProjectStore.open(photo_folder) as store:
        assert store.objects("astronaut.png") == []  # the delete stands


def test_wait_for_scan_opens_the_project_once(make_window, photo_folder, qtbot, monkeypatch):
    gate = threading.Event()

    def gated_walk(folder, **kwargs):
        assert gate.wait(60)
        return walk_folder(folder, **kwargs)

    monkeypatch.setattr(project_controller, "walk_folder", gated_walk)
    window = make_window()
    opened = []
    window.projects.project_opened.connect(opened.append)
    assert window.open_folder(photo_folder) and window.projects.scanning
    gate.set()
    window.projects.wait_for_scan()
    assert window.projects.project is not None and not window.projects.scanning
    qtbot.wait(100)  # the worker's own report arrives too, and must not open (or close) anything again
    assert len(opened) == 1 and window.projects.project is opened[0]
    assert window.projects.project.store.statuses() == {}  # its store is still open
