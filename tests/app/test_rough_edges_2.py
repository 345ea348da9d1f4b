"""More rough edges a new user hit (issue 11): unreadable images, long names, the models table, the
toolbar's overflow, and edits while another program holds the database lock."""

from __future__ import annotations

import sqlite3
import time

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from protolabel.app.dialogs.model_manager import ModelManagerDialog
from protolabel.app.docks.file_list import ImageRowDelegate, NameRole
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.model_manager import ModelManager
from protolabel.segmentation.project.image_list import UNREADABLE
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import project_db_path


def _filter_entries(dock) -> dict:
    return {dock.filter_box.itemData(i): dock.filter_box.itemText(i) for i in range(dock.filter_box.count())}


def _shown_names(dock) -> list[str]:
    return [dock.model.name_at(row) for row in range(dock.model.rowCount())]


def test_unreadable_images_are_not_unlabeled_and_have_their_own_filter(make_window, photo_folder, qtbot):
    # coffee.png gets a stored status Protolabel does not know (a damaged row); damaged.png cannot be decoded.
    window = make_window()
    assert window.open_folder(photo_folder)
    window.projects.close()
    with sqlite3.connect(project_db_path(photo_folder)) as db:
        db.execute("INSERT INTO images (path, status, updated_at) VALUES ('coffee.png', 'half-done', 0)")
    db.close()
    assert window.open_folder(photo_folder)
    images = window.projects.project.images
    decodable = {p.name for p in photo_folder.iterdir() if p.is_file() and cv2.imread(str(p)) is not None}
    assert decodable == {"astronaut.png", "chelsea.jpg", "coffee.png"}  # the oracle: OpenCV's own reader
    window.projects.show_image("damaged.png")  # the thumbnail loader may have found it first
    qtbot.waitUntil(lambda: "damaged.png" in images.unreadable)

    expected_unreadable = {"damaged.png", "coffee.png"}
    assert set(images.unreadable) == expected_unreadable
    assert images.counts()[ImageStatus.UNLABELED] == len(decodable - expected_unreadable)
    dock = window.file_dock
    entries = _filter_entries(dock)
    assert entries[UNREADABLE] == "Unreadable (2)"
    assert entries[ImageStatus.UNLABELED] == "Unlabeled (2)"
    assert "2 unreadable" in dock.counts_label.text() and "2 unlabeled" in dock.counts_label.text()

    dock.filter_box.setCurrentIndex(list(entries).index(UNREADABLE))
    assert _shown_names(dock) == ["coffee.png", "damaged.png"]
    dock.filter_box.setCurrentIndex(list(entries).index(ImageStatus.UNLABELED))
    assert _shown_names(dock) == ["astronaut.png", "chelsea.jpg"]
    assert window.projects.project.unlabeled_names() == ["astronaut.png", "chelsea.jpg"]
    index = dock.model.index(0)
    assert "unlabeled" in index.data(Qt.ItemDataRole.ToolTipRole)


def test_an_image_found_unreadable_leaves_the_unlabeled_filter_at_once(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_folder(photo_folder)
    images = window.projects.project.images
    dock = window.file_dock
    entries = _filter_entries(dock)
    dock.filter_box.setCurrentIndex(list(entries).index(ImageStatus.UNLABELED))
    images.mark_unreadable("chelsea.jpg", "cannot read: test")
    qtbot.waitUntil(lambda: "damaged.png" in images.unreadable)  # the thumbnail loader finds the broken file
    assert _shown_names(dock) == ["astronaut.png", "coffee.png"]
    assert _filter_entries(dock)[UNREADABLE] == "Unreadable (2)"
    assert dock.filter_box.currentData() == ImageStatus.UNLABELED  # the chosen filter stays chosen


def test_long_file_names_elide_at_the_end_with_the_full_name_in_the_tooltip(make_window, photo_folder, qtbot):
    long_name = "survey_" + "x" * 120 + "_camera-3_frame-000417.png"
    (photo_folder / long_name).write_bytes((photo_folder / "coffee.png").read_bytes())
    window = make_window()
    window.open_folder(photo_folder)
    dock = window.file_dock
    row = dock.model.row_of(long_name)
    index = dock.model.index(row)
    assert index.data(Qt.ItemDataRole.ToolTipRole).splitlines()[0] == long_name
    delegate = dock.view.itemDelegate()
    assert isinstance(delegate, ImageRowDelegate)
    rect = dock.view.visualRect(index)
    shown = delegate.shown_name(dock.view.fontMetrics(), index.data(NameRole), rect.width())
    assert shown.endswith("…") and len(shown) < len(long_name)
    assert long_name.startswith(shown[:-1])  # the start of the name is kept, the end is cut


def test_the_official_models_table_shows_whole_model_names(qtbot, tmp_path):
    dialog = ModelManagerDialog(ModelManager(tmp_path / "cache"))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    metrics = table.fontMetrics()
    for row, model in enumerate(dialog.manager.models):
        assert table.item(row, 0).text() == model.file_name
        assert table.columnWidth(0) >= metrics.horizontalAdvance(model.file_name)
    last = table.columnCount() - 1
    assert table.columnViewportPosition(last) + table.columnWidth(last) <= table.viewport().width()
    assert not table.horizontalScrollBar().isVisible()


def test_toolbar_actions_behind_the_extension_button_work(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_folder(photo_folder)
    window.resize(420, 700)  # the toolbar overflows
    toolbar = window.toolbar
    extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    qtbot.waitUntil(extension.isVisible)
    region, brush = window.actions_by_name["region_mode"], window.actions_by_name["brush_mode"]
    hide = window.actions_by_name["toggle_objects"]
    assert not toolbar.widgetForAction(region).isVisible()
    extension.click()  # the toolbar opens to show every action
    qtbot.waitUntil(lambda: toolbar.widgetForAction(region).isVisible())
    qtbot.mouseClick(toolbar.widgetForAction(region), Qt.MouseButton.LeftButton)
    assert region.isChecked() and window.mode_group.checkedAction() is region  # what R does
    assert window.canvas.tool is window.inspector.region_tool
    qtbot.waitUntil(lambda: toolbar.widgetForAction(brush).isVisible() or not extension.isChecked())
    if not toolbar.widgetForAction(brush).isVisible():
        extension.click()
        qtbot.waitUntil(lambda: toolbar.widgetForAction(brush).isVisible())
    qtbot.mouseClick(toolbar.widgetForAction(brush), Qt.MouseButton.LeftButton)
    assert [a for a in window.mode_group.actions() if a.isChecked()] == [brush]  # still exactly one mode
    assert window.canvas.tool is window.canvas.tools["brush"]
    if not toolbar.widgetForAction(hide).isVisible():
        extension.click()
        qtbot.waitUntil(lambda: toolbar.widgetForAction(hide).isVisible())
    qtbot.mouseClick(toolbar.widgetForAction(hide), Qt.MouseButton.LeftButton)
    assert hide.isChecked() and not window.canvas.objects_visible  # what T does


def _square(x: float, y: float, size: float = 20.0) -> Shape:
    ring = np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], dtype=np.float64)
    return Shape((Polygon(ring),))


def test_an_edit_while_another_program_holds_the_lock_is_refused_quickly_and_can_be_retried(
    make_window, photo_folder, qtbot, mouse
):
    window = make_window()
    window.open_folder(photo_folder)
    project = window.projects.project
    document = project.current
    window.editing.apply(document.add_object("cat", _square(10, 10)))
    (kept,) = document.objects
    stack = window.history.stack(project.current_name)
    assert stack.count() == 1 and stack.index() == 1

    other = sqlite3.connect(project_db_path(photo_folder), timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        started = time.perf_counter()
        window.editing.apply(document.add_object("dog", _square(50, 50)))
        took = time.perf_counter() - started
        print(f"refused edit returned after {took * 1000:.0f} ms")
        assert "locked by another program" in window.last_error and "not saved" in window.last_error
        assert [o.id for o in document.objects] == [kept.id]  # nothing half-done
        assert stack.count() == 1 and stack.index() == 1

        window.last_error = None
        window.undo_action.trigger()  # undo is refused too, and the stack does not move
        assert "locked by another program" in window.last_error
        assert [o.id for o in document.objects] == [kept.id] and stack.index() == 1

        window.canvas.finish_building()  # a vertex drag the store refuses springs back to the saved shape
        mouse.drag(window.canvas, (10, 10), (5, 30))
        assert "locked by another program" in window.last_error
        assert document.get(kept.id).shape == kept.shape
        assert window.canvas.items_by_id[kept.id].shape_now == kept.shape
    finally:
        other.execute("ROLLBACK")
        other.close()

    window.editing.apply(document.add_object("dog", _square(50, 50)))  # the user retries: it is saved
    assert sorted(o.label for o in document.objects) == ["cat", "dog"] and stack.index() == 2
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert document.objects == [] and stack.index() == 0
    with sqlite3.connect(project_db_path(photo_folder)) as db:
        assert db.execute("SELECT COUNT(*) FROM objects").fetchone()[0] == 0
    db.close()


def test_a_class_mapping_chosen_while_the_database_is_locked_is_refused_with_the_message(
    make_window, photo_folder, monkeypatch
):
    from protolabel.app.dialogs.class_mapping import ClassMappingDialog
    from protolabel.segmentation.project.labels import ClassMapping

    window = make_window()
    window.open_folder(photo_folder)
    chosen = ClassMapping(keep=frozenset({"cat"}), rename={"cat": "kitten"})
    monkeypatch.setattr(ClassMappingDialog, "exec", lambda self: True)
    monkeypatch.setattr(ClassMappingDialog, "mapping", lambda self: chosen)
    other = sqlite3.connect(project_db_path(photo_folder), timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        window._open_mapping_dialog(["cat", "dog"])
        assert "class mapping was not saved" in window.last_error and "locked by another program" in window.last_error
        assert window.projects.project.class_mapping == ClassMapping()
    finally:
        other.execute("ROLLBACK")
        other.close()
    window._open_mapping_dialog(["cat", "dog"])  # retried once the lock is gone: saved
    assert window.projects.project.class_mapping == chosen


def test_the_image_count_says_image_for_one(make_window, tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    cv2.imwrite(str(folder / "only.png"), np.full((20, 30, 3), 128, np.uint8))
    window = make_window()
    window.open_folder(folder)
    assert "<b>1 image</b>" in window.file_dock.counts_label.text()
