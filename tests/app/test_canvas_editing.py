"""Canvas editing with simulated mouse and keys: draw, select, move, insert/delete vertices, holes, delete, classes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.records import ImageStatus
from protolabel.segmentation.project.store import ProjectStore


@pytest.fixture
def window(make_window, photo_folder):
    window = make_window()
    window.open_folder(photo_folder)
    return window


def _draw(window, mouse, points, close_by="first-point"):
    window.actions_by_name["draw_mode"].trigger()
    for x, y in points:
        mouse.click(window.canvas, x, y)
    if close_by == "first-point":
        mouse.click(window.canvas, *points[0])
    elif close_by == "enter":
        QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    window.actions_by_name["edit_mode"].trigger()


def _stored(folder, name="astronaut.png"):
    with ProjectStore.open(folder) as store:
        return store.objects(name), store.status(name)


def test_draw_polygon_uses_the_chosen_class_and_is_saved(window, mouse, photo_folder):
    window.objects_dock.label_box.setEditText("cat")
    _draw(window, mouse, [(10, 10), (50, 10), (50, 50), (10, 50)])
    (obj,), status = _stored(photo_folder)
    assert obj.label == "cat" and obj.provenance is Provenance.EDITED and status is ImageStatus.EDITED
    expected = [mouse.scene_point(window.canvas, x, y) for x, y in [(10, 10), (50, 10), (50, 50), (10, 50)]]
    assert np.allclose(obj.shape.polygons[0].exterior, expected)
    assert window.selection.ids == {obj.id}  # the new object is selected
    assert "cat" in window.projects.project.labels


def test_draw_escape_cancels_and_backspace_removes_the_last_point(window, mouse, photo_folder):
    window.actions_by_name["draw_mode"].trigger()
    for x, y in ((10, 10), (50, 10), (70, 70)):
        mouse.click(window.canvas, x, y)
    QTest.keyClick(window.canvas, Qt.Key.Key_Backspace)
    assert len(window.canvas.draw_tool.points) == 2
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas.draw_tool.points == []
    for x, y in ((10, 10), (50, 10), (30, 40)):
        mouse.click(window.canvas, x, y)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    objects, _ = _stored(photo_folder)
    assert len(objects) == 1 and len(objects[0].shape.polygons[0].exterior) == 3


def test_move_insert_and_delete_vertices_then_undo_all(window, mouse, photo_folder):
    square = [(20, 20), (60, 20), (60, 60), (20, 60)]
    _draw(window, mouse, square)
    (original,), _ = _stored(photo_folder)
    canvas = window.canvas

    mouse.drag(canvas, (40, 40), (45, 43))  # move the whole polygon
    (moved,), _ = _stored(photo_folder)
    dx, dy = np.subtract(mouse.scene_point(canvas, 45, 43), mouse.scene_point(canvas, 40, 40))
    assert np.allclose(moved.shape.polygons[0].exterior, original.shape.polygons[0].exterior + [dx, dy])

    ring = moved.shape.polygons[0].exterior
    edge_mid = (ring[0] + ring[1]) / 2
    mouse.double_click(canvas, *edge_mid)  # insert a vertex on the top edge
    (inserted,), _ = _stored(photo_folder)
    assert len(inserted.shape.polygons[0].exterior) == 5
    assert np.allclose(inserted.shape.polygons[0].exterior[1], mouse.scene_point(canvas, *edge_mid), atol=0.5)

    ring = inserted.shape.polygons[0].exterior
    mouse.click(canvas, *ring[2], modifiers=Qt.KeyboardModifier.ShiftModifier)  # Shift+click deletes a vertex
    (deleted,), _ = _stored(photo_folder)
    assert len(deleted.shape.polygons[0].exterior) == 4
    assert not any(np.allclose(v, ring[2]) for v in deleted.shape.polygons[0].exterior)

    ring = deleted.shape.polygons[0].exterior
    mid = (ring[2] + ring[3]) / 2
    alt = Qt.KeyboardModifier.AltModifier
    mouse.press(canvas, *mid, modifiers=alt)  # Alt+press on an edge inserts a vertex and drags it
    mouse.move(canvas, mid[0], mid[1] + 6)
    mouse.release(canvas, mid[0], mid[1] + 6, modifiers=alt)
    (alt_inserted,), _ = _stored(photo_folder)
    assert len(alt_inserted.shape.polygons[0].exterior) == 5
    assert np.allclose(alt_inserted.shape.polygons[0].exterior[3], mouse.scene_point(canvas, mid[0], mid[1] + 6))

    undo = window.undo_action
    for _ in range(4):  # Alt-insert, delete, insert, move
        undo.trigger()
    (restored,), _ = _stored(photo_folder)
    assert restored.shape == original.shape
    undo.trigger()  # the drawing itself
    assert _stored(photo_folder)[0] == [] and not undo.isEnabled()


def test_shapes_with_holes_and_parts_are_drawn_and_edited_as_such(window, mouse, photo_folder):
    _draw(window, mouse, [(10, 10), (80, 10), (80, 80), (10, 80)])
    window.actions_by_name["draw_part"].trigger()
    for x, y in ((30, 30), (60, 30), (45, 60)):
        mouse.click(window.canvas, x, y)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)  # inside the selected object: a hole
    for x, y in ((85, 85), (94, 85), (90, 94)):
        mouse.click(window.canvas, x, y)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)  # outside: a second part
    window.actions_by_name["edit_mode"].trigger()
    (obj,), _ = _stored(photo_folder)
    assert len(obj.shape.polygons) == 2 and len(obj.shape.polygons[0].holes) == 1

    canvas = window.canvas
    assert canvas.object_at(canvas.mapToScene(canvas.mapFromScene(20, 20))) == obj.id
    hole_center = obj.shape.polygons[0].holes[0].mean(axis=0)
    mouse.click(canvas, *hole_center)  # a click in the hole is not on the object
    assert window.selection.ids == set()
    mouse.click(canvas, 15, 15)
    hole_vertex = obj.shape.polygons[0].holes[0][0]
    mouse.drag(canvas, tuple(hole_vertex), (hole_vertex[0] - 5, hole_vertex[1]))
    (edited,), _ = _stored(photo_folder)
    assert np.allclose(
        edited.shape.polygons[0].holes[0][0], mouse.scene_point(canvas, hole_vertex[0] - 5, hole_vertex[1])
    )
    assert np.array_equal(edited.shape.polygons[0].exterior, obj.shape.polygons[0].exterior)
    assert edited.shape.polygons[1] == obj.shape.polygons[1]


def test_delete_change_class_verify_hide_all(window, mouse, photo_folder, monkeypatch):
    _draw(window, mouse, [(10, 10), (40, 10), (40, 40)])
    _draw(window, mouse, [(50, 50), (90, 50), (90, 90)])
    first, second = _stored(photo_folder)[0]
    mouse.click(window.canvas, 30, 20)
    assert window.selection.ids == {first.id}

    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("dog", True))
    QTest.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    objects, _ = _stored(photo_folder)
    assert objects[0].label == "dog"

    QTest.keyClick(window, Qt.Key.Key_Delete)
    objects, _ = _stored(photo_folder)
    assert [o.id for o in objects] == [second.id]

    QTest.keyClick(window, Qt.Key.Key_V)
    objects, status = _stored(photo_folder)
    assert status is ImageStatus.VERIFIED and objects[0].provenance is Provenance.VERIFIED
    assert "verified" in window.objects_dock.status_label.text()

    QTest.keyClick(window, Qt.Key.Key_T)
    assert not any(item.shown for item in window.canvas.items_by_id.values())
    assert window.canvas.object_at(window.canvas.mapToScene(window.canvas.mapFromScene(70, 70))) is None
    QTest.keyClick(window, Qt.Key.Key_T)
    assert all(item.shown for item in window.canvas.items_by_id.values())

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo verify
    assert _stored(photo_folder)[1] is ImageStatus.EDITED


def test_undo_history_is_per_image(window, mouse, photo_folder):
    _draw(window, mouse, [(10, 10), (40, 10), (40, 40)])
    QTest.keyClick(window, Qt.Key.Key_D)
    assert window.projects.project.current_name == "chelsea.jpg"
    assert not window.undo_action.isEnabled()
    _draw(window, mouse, [(10, 10), (40, 10), (40, 40)])
    QTest.keyClick(window, Qt.Key.Key_A)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _stored(photo_folder)[0] == []
    assert len(_stored(photo_folder, "chelsea.jpg")[0]) == 1


def test_objects_list_selects_on_the_canvas(window, mouse):
    _draw(window, mouse, [(10, 10), (40, 10), (40, 40)])
    _draw(window, mouse, [(50, 50), (90, 50), (90, 90)])
    window.selection.clear()
    window.objects_dock.list.item(1).setSelected(True)
    second_id = window.objects_dock.list.item(1).data(Qt.ItemDataRole.UserRole)
    assert window.selection.ids == {second_id}
    assert window.canvas.items_by_id[second_id].selected


def test_wheel_zooms_at_the_cursor_and_fit_restores(window, qtbot):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    canvas = window.canvas
    fit_scale = canvas.scale_factor()
    at = QPoint(canvas.viewport().width() // 3, canvas.viewport().height() // 3)
    before = canvas.mapToScene(at)
    event = QWheelEvent(
        QPointF(at),
        QPointF(canvas.viewport().mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas.viewport(), event)
    assert canvas.scale_factor() > fit_scale * 1.3
    after = canvas.mapToScene(at)
    assert abs(after.x() - before.x()) < 1.0 and abs(after.y() - before.y()) < 1.0  # the point stayed under the mouse
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert canvas.scale_factor() == pytest.approx(fit_scale)


def test_status_filter_and_keyboard_navigation(window, mouse):
    _draw(window, mouse, [(10, 10), (40, 10), (40, 40)])
    dock = window.file_dock
    dock.filter_box.setCurrentIndex(1)  # unlabeled
    assert [dock.model.name_at(r) for r in range(dock.model.rowCount())] == ["chelsea.jpg", "coffee.png", "damaged.png"]
    assert dock.filter_box.itemText(1) == "Unlabeled (3)"
    QTest.keyClick(window, Qt.Key.Key_D)  # from the filtered-out current image to the next unlabeled one
    assert window.projects.project.current_name == "chelsea.jpg"
    dock.filter_box.setCurrentIndex(3)  # edited
    assert dock.model.rowCount() == 1


def test_help_overlay_lists_every_shortcut(window):
    from protolabel.app.actions import ACTIONS

    QTest.keyClick(window, Qt.Key.Key_F1)
    overlay = window.help_overlay
    assert overlay.isVisible() and overlay.geometry() == window.canvas.rect()
    text = overlay.text()
    for spec in ACTIONS:
        for key in spec.shortcuts:
            assert key.replace("&", "&amp;").replace("<", "&lt;") in text
    QTest.mouseClick(overlay, Qt.MouseButton.LeftButton)
    assert not overlay.isVisible() and not window.actions_by_name["help"].isChecked()


def test_esc_hides_the_shortcut_list_where_the_keyboard_focus_is(window):
    """The canvas keeps the focus while the list shows: Esc went to its tools and the list stayed."""
    QTest.keyClick(window, Qt.Key.Key_F1)
    overlay = window.help_overlay
    assert overlay.isVisible()
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert not overlay.isVisible()
    QTest.keyClick(window, Qt.Key.Key_F1)
    QTest.keyClick(window.objects_dock.list, Qt.Key.Key_Escape)
    assert not overlay.isVisible()
