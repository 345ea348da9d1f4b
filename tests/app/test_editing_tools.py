"""Editing tools through the real window with simulated mouse and keys: brush, eraser, rectangle, ellipse,
copy/paste/duplicate, merge/split, multi-selection, Ctrl+click vertex insert, one exclusive mode group and Esc.

Expected pixels come from an independent oracle: shapely distances from each pixel centre to the stroke path
the canvas really received, combined with pycocotools rasters of the stored shapes.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import shapely
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from shapely.geometry import LineString, Point

from protolabel.app.actions import MODE_ACTIONS
from protolabel.segmentation.geometry.combine import rectangle_shape
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.project.store import ProjectStore

SIZE = 96  # the photo folder's images are 96 x 96
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def window(make_window, photo_folder):
    cv2.imwrite(str(photo_folder / "b_small.png"), np.full((40, 50, 3), 128, np.uint8))  # second image, 50 x 40
    window = make_window()
    window.open_folder(photo_folder)
    return window


def _stored(folder, name="astronaut.png"):
    with ProjectStore.open(folder) as store:
        return store.objects(name)


def _add_box(window, x0, y0, x1, y1, label="cat"):
    """A pixel-aligned object added through the editing controller (so the oracle has no boundary pixels)."""
    document = window.projects.project.current
    applied = window.editing.apply(document.add_object(label, rectangle_shape(x0, y0, x1, y1)))
    window.canvas.finish_building()
    return applied.after[0]


def _stroke(window, mouse, points):
    """Press, move through, release; returns the scene points the canvas received."""
    canvas = window.canvas
    mouse.press(canvas, *points[0])
    for x, y in points[1:]:
        mouse.move(canvas, x, y)
    mouse.release(canvas, *points[-1])
    return [mouse.scene_point(canvas, x, y) for x, y in points]


def _oracle(points, radius, height=SIZE, width=SIZE) -> np.ndarray:
    path = Point(points[0]) if len(points) == 1 else LineString(points)
    rows, cols = np.mgrid[0:height, 0:width]
    centres = shapely.points(cols.ravel() + 0.5, rows.ravel() + 0.5)
    return (shapely.distance(centres, path) <= radius).reshape(height, width)


def _mask(obj, size=SIZE):
    return shape_to_mask(obj.shape, size, size)


def _key(window, key, modifiers=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(window, key, modifiers)


def test_brush_stroke_adds_exactly_the_painted_pixels_in_one_undo_step(window, mouse, photo_folder):
    obj = _add_box(window, 20, 20, 60, 60)
    window.selection.set([obj.id])
    _key(window, Qt.Key.Key_B)
    assert window.actions_by_name["brush_mode"].isChecked() and window.canvas.tool is window.canvas.tools["brush"]
    window.canvas.set_brush_radius(4.0)

    canvas, tool = window.canvas, window.canvas.tools["brush"]
    points = [(55, 40), (70, 44), (82, 60), (84, 75)]
    mouse.press(canvas, *points[0])
    for x, y in points[1:]:
        mouse.move(canvas, x, y)
    assert tool.stroke is not None and tool.stroke.mask.any()  # painted pixels shown as an overlay ...
    assert np.array_equal(tool.overlay != 0, tool.stroke.mask)
    assert canvas.items_by_id[obj.id].shape_now == obj.shape  # ... without converting the shape per move
    mouse.release(canvas, *points[-1])
    scene = [mouse.scene_point(canvas, x, y) for x, y in points]

    (after,) = _stored(photo_folder)
    assert after.id == obj.id and after.provenance is Provenance.EDITED
    assert np.array_equal(_mask(after), _mask(obj) | _oracle(scene, 4.0))

    window.undo_action.trigger()
    assert _stored(photo_folder)[0].shape == obj.shape
    window.redo_action.trigger()
    assert _stored(photo_folder)[0].shape == after.shape


def test_brush_without_a_selection_paints_a_new_object_of_the_current_class(window, mouse, photo_folder):
    window.objects_dock.label_box.setEditText("dog")
    window.actions_by_name["brush_mode"].trigger()
    window.canvas.set_brush_radius(3.0)
    scene = _stroke(window, mouse, [(20, 20), (40, 30), (60, 25)])
    (obj,) = _stored(photo_folder)
    assert obj.label == "dog" and obj.provenance is Provenance.EDITED
    assert np.array_equal(_mask(obj), _oracle(scene, 3.0))
    assert window.selection.ids == {obj.id}  # the next stroke adds to it
    window.undo_action.trigger()
    assert _stored(photo_folder) == []


def test_brush_radius_keys_and_eraser_needs_an_object(window, mouse, photo_folder):
    window.actions_by_name["eraser_mode"].trigger()
    canvas = window.canvas
    canvas.set_brush_radius(8.0)
    QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_radius == pytest.approx(10.0)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_radius == pytest.approx(6.4)
    messages = []
    window.editing.message.connect(messages.append)
    _stroke(window, mouse, [(20, 20), (40, 40)])
    assert _stored(photo_folder) == [] and "Select an object" in messages[-1]


def test_eraser_cuts_an_object_in_two_then_split_and_merge(window, mouse, photo_folder):
    obj = _add_box(window, 10, 30, 90, 60)
    window.selection.set([obj.id])
    _key(window, Qt.Key.Key_E)
    assert window.actions_by_name["eraser_mode"].isChecked()
    window.canvas.set_brush_radius(3.0)
    scene = _stroke(window, mouse, [(50, 15), (51, 45), (50, 80)])
    (cut,) = _stored(photo_folder)
    assert len(cut.shape.polygons) == 2
    assert np.array_equal(_mask(cut), _mask(obj) & ~_oracle(scene, 3.0))
    window.undo_action.trigger()
    assert _stored(photo_folder)[0].shape == obj.shape
    window.redo_action.trigger()
    assert _stored(photo_folder)[0].shape == cut.shape

    _key(window, Qt.Key.Key_M, CTRL | Qt.KeyboardModifier.ShiftModifier)  # split
    parts = _stored(photo_folder)
    assert len(parts) == 2 and all(len(p.shape.polygons) == 1 and p.label == "cat" for p in parts)
    assert (
        np.array_equal(_mask(parts[0]) | _mask(parts[1]), _mask(cut)) and not (_mask(parts[0]) & _mask(parts[1])).any()
    )
    assert window.selection.ids == {p.id for p in parts}
    window.undo_action.trigger()
    assert [o.shape for o in _stored(photo_folder)] == [cut.shape]
    window.redo_action.trigger()
    parts = _stored(photo_folder)

    window.actions_by_name["edit_mode"].trigger()  # select both by click and Ctrl+click, then merge
    left = parts[0] if parts[0].shape.bounds()[0] < 30 else parts[1]
    right = parts[1] if left is parts[0] else parts[0]
    mouse.click(window.canvas, 20, 45)
    mouse.click(window.canvas, 80, 45, modifiers=CTRL)
    assert window.selection.ids == {left.id, right.id}
    _key(window, Qt.Key.Key_M, CTRL)
    (merged,) = _stored(photo_folder)
    assert len(merged.shape.polygons) == 2 and np.array_equal(_mask(merged), _mask(cut))
    window.undo_action.trigger()
    assert len(_stored(photo_folder)) == 2


def test_merge_refuses_mixed_classes_and_unites_overlaps(window, mouse, photo_folder):
    a = _add_box(window, 10, 10, 40, 40, "cat")
    b = _add_box(window, 30, 30, 60, 60, "cat")
    c = _add_box(window, 70, 70, 90, 90, "dog")
    messages = []
    window.editing.message.connect(messages.append)
    window.selection.set([a.id, c.id])
    window.actions_by_name["merge_objects"].trigger()
    assert len(_stored(photo_folder)) == 3 and "one class" in messages[-1]
    window.selection.set([a.id, b.id])
    window.actions_by_name["merge_objects"].trigger()
    objects = _stored(photo_folder)
    assert len(objects) == 2
    merged = next(o for o in objects if o.id == a.id)
    assert len(merged.shape.polygons) == 1  # overlapping parts united
    assert np.array_equal(_mask(merged), _mask(a) | _mask(b))


def test_rectangle_and_ellipse_tools_make_new_objects(window, mouse, photo_folder):
    window.objects_dock.label_box.setEditText("box")
    _key(window, Qt.Key.Key_R, CTRL)
    assert window.actions_by_name["rectangle_mode"].isChecked()
    mouse.drag(window.canvas, (10, 12), (50, 40))
    (rect,) = _stored(photo_folder)
    (x0, y0), (x1, y1) = mouse.scene_point(window.canvas, 10, 12), mouse.scene_point(window.canvas, 50, 40)
    assert rect.label == "box" and len(rect.shape.polygons[0].exterior) == 4
    assert rect.shape.bounds() == pytest.approx((x0, y0, x1, y1))

    _key(window, Qt.Key.Key_R, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.actions_by_name["ellipse_mode"].isChecked()
    mouse.drag(window.canvas, (40, 50), (80, 70))
    ellipse = _stored(photo_folder)[1]
    ex = ellipse.shape.polygons[0].exterior
    (x0, y0), (x1, y1) = mouse.scene_point(window.canvas, 40, 50), mouse.scene_point(window.canvas, 80, 70)
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    assert len(ex) > 16 and np.allclose(((ex[:, 0] - cx) / rx) ** 2 + ((ex[:, 1] - cy) / ry) ** 2, 1.0)
    window.undo_action.trigger()
    window.undo_action.trigger()
    assert _stored(photo_folder) == []


def test_copy_paste_onto_another_image_clipped_and_duplicate(window, mouse, photo_folder):
    obj = _add_box(window, 30, 20, 80, 60, "cat")
    window.selection.set([obj.id])
    _key(window, Qt.Key.Key_C, CTRL)
    _key(window, Qt.Key.Key_V, CTRL)  # same image, same place
    objects = _stored(photo_folder)
    assert len(objects) == 2 and objects[1].shape == obj.shape and objects[1].provenance is Provenance.EDITED
    window.undo_action.trigger()
    assert len(_stored(photo_folder)) == 1

    _key(window, Qt.Key.Key_D)
    assert window.projects.project.current_name == "b_small.png"
    _key(window, Qt.Key.Key_V, CTRL)
    (pasted,) = _stored(photo_folder, "b_small.png")
    assert pasted.label == "cat" and pasted.provenance is Provenance.EDITED
    expected = shape_to_mask(obj.shape, 40, 50)  # same pixel coordinates, cut at the 50 x 40 image's edge
    assert np.array_equal(shape_to_mask(pasted.shape, 40, 50), expected)
    assert pasted.shape.bounds() == (30.0, 20.0, 50.0, 40.0)
    assert window.selection.ids == {pasted.id}
    window.undo_action.trigger()
    assert _stored(photo_folder, "b_small.png") == []

    _key(window, Qt.Key.Key_A)
    window.selection.set([obj.id])
    _key(window, Qt.Key.Key_D, CTRL)
    objects = _stored(photo_folder)
    assert len(objects) == 2 and objects[1].shape == obj.shape.translated(10, 10)
    window.undo_action.trigger()
    assert len(_stored(photo_folder)) == 1


def test_modes_are_one_exclusive_group_on_the_toolbar_and_esc_leaves_each(window, mouse):
    actions, canvas = window.actions_by_name, window.canvas
    toolbar_actions = set(window.toolbar.actions())
    for name in MODE_ACTIONS:
        assert actions[name] in toolbar_actions
    for name in MODE_ACTIONS:
        if name == "edit_mode":
            continue
        actions[name].trigger()
        assert [n for n in MODE_ACTIONS if actions[n].isChecked()] == [name]
        assert canvas.tool is not canvas.edit_tool
        QTest.keyClick(canvas, Qt.Key.Key_Escape)
        assert actions["edit_mode"].isChecked() and not actions[name].isChecked(), name
        assert canvas.tool is canvas.edit_tool

    actions["draw_mode"].trigger()  # Esc first cancels the polygon in progress, then leaves the mode
    mouse.click(canvas, 10, 10)
    mouse.click(canvas, 30, 10)
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.draw_tool.points == [] and actions["draw_mode"].isChecked()
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert actions["edit_mode"].isChecked()


def test_add_part_stays_visibly_checked_after_a_ring(window, mouse, photo_folder):
    obj = _add_box(window, 10, 10, 60, 60)
    window.selection.set([obj.id])
    window.actions_by_name["draw_part"].trigger()
    for x, y in ((70, 70), (90, 70), (80, 90)):
        mouse.click(window.canvas, x, y)
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert len(_stored(photo_folder)[0].shape.polygons) == 2
    assert window.actions_by_name["draw_part"].isChecked()
    assert window.toolbar.widgetForAction(window.actions_by_name["draw_part"]).isChecked()


def test_ctrl_click_on_an_edge_inserts_a_vertex_and_is_listed_in_help(window, mouse, photo_folder):
    obj = _add_box(window, 20, 20, 60, 60)
    window.selection.set([obj.id])
    canvas = window.canvas
    view_point = canvas.mapFromScene(40.0, 20.0)  # the middle of the top edge, exactly on it
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, CTRL, view_point)
    (edited,) = _stored(photo_folder)
    assert len(edited.shape.polygons[0].exterior) == 5
    assert window.selection.ids == {obj.id}  # an edge Ctrl+click does not touch the selection
    _key(window, Qt.Key.Key_F1)
    assert "Ctrl+click an edge" in window.help_overlay.text()
