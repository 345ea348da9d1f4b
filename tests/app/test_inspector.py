"""The prototype inspector in the real window: grid, coefficients, live editing, apply/undo, region re-inference."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from protolabel.app.inspector.dock import MIN_GRID_ROWS
from protolabel.app.inspector.overlays import WHOLE_FRAME
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.geometry.shapely_bridge import shape_to_geometry
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.inspection.assembly import contribution_strength
from protolabel.segmentation.inspection.cache import NO_OBJECT
from protolabel.segmentation.inspection.live import LiveMask
from protolabel.segmentation.inspection.region import clamp_region
from protolabel.segmentation.inspection.state import Availability, ScalingMode
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.store import ProjectStore

JOB_TIMEOUT_MS = 240_000


def _use_model(window, checkpoint, engines) -> None:
    window.autolabel.engines = engines
    window.options.weights = str(checkpoint)
    window.options.device = "cpu"
    window.options.score_threshold = 0.0
    window.options.top_k = 15


def _auto_label_and_inspect(qtbot, window, checkpoint, engines):
    _use_model(window, checkpoint, engines)
    window.actions_by_name["autolabel_image"].trigger()
    qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=JOB_TIMEOUT_MS)
    state = window.inspector.state
    qtbot.waitUntil(lambda: state.availability is Availability.READY, timeout=10_000)
    return state


def _largest_object(window):
    items = window.canvas.items_by_id
    return max(items.values(), key=lambda i: shape_to_geometry(i.obj.shape).area).obj


def test_grid_shows_every_prototype_and_a_selected_object_shows_its_coefficients(
    make_window, photo_folder, qtbot, mouse, resnet50_checkpoint, shared_engines
):
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    dock = window.inspector.dock
    record = state.record
    assert record.num_prototypes == 32 and record.prototypes.shape == (138, 138, 32)
    assert len(dock.grid.tiles) == 32
    p5 = record.prototypes[:, :, 5]
    assert dock.grid.tiles[5].label == "#5" and dock.grid.tiles[5].caption == f"{p5.min():.2g}–{p5.max():.2g}"
    assert "32 prototypes of 138×138" in dock.status_label.text()
    assert not dock.run_button.isVisible()
    assert "relied on most" in dock.summary_label.text()

    # shared scaling re-colours the tiles from one range; hovering reads the value under the cursor
    before = dock.grid.tiles[0].image.copy()
    dock.scaling_box.setCurrentIndex(dock.scaling_box.findData(ScalingMode.SHARED))
    assert state.scaling is ScalingMode.SHARED and dock.grid.tiles[0].image != before
    rect = dock.grid.tile_rect(3)
    at = QPointF(rect.x() + rect.width() * 0.5 + 0.1, rect.y() + rect.height() * 0.25 + 0.1)
    QApplication.sendEvent(
        dock.grid,
        QMouseEvent(
            QEvent.Type.MouseMove,
            at,
            dock.grid.mapToGlobal(at),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        ),
    )
    x, y = int(0.5 * 138), int(0.25 * 138)
    assert dock.hover_label.text().startswith(f"Prototype #3 at ({x}, {y}): {record.prototypes[y, x, 3]:.3f}")

    # click inside the largest object on the canvas: the inspector selects the detection it came from
    target = _largest_object(window)
    inside = shape_to_geometry(target.shape).buffer(0).representative_point()
    mouse.click(window.canvas, inside.x, inside.y)
    assert window.selection.ids == {target.id}
    row = record.index_of_object(target.id)
    assert state.detection == row and dock.detection_list.currentRow() == row
    np.testing.assert_array_equal(dock.chart.values, record.coefficients[row])
    assert sorted(dock.chart.order.tolist()) == list(range(32))
    for j in range(32):
        assert dock.sliders.sliders[j].value() == round(float(record.coefficients[row, j]) * 1000)
    qtbot.waitUntil(lambda: len(dock.contribution_tiles.tiles) == 32 and len(dock.stages.tiles) == 4)

    # choosing another detection in the list selects its object on the canvas
    other = next(i for i in range(len(record)) if i != row and record.object_ids[i] != NO_OBJECT)
    dock.detection_list.setCurrentRow(other)
    assert window.selection.ids == {int(record.object_ids[other])}

    # click a tile: the prototype is laid over the image at the image's geometry
    tile = dock.grid.tile_rect(7).center().toPoint()
    QTest.mouseClick(dock.grid, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, tile)
    assert state.enlarged == 7
    qtbot.waitUntil(lambda: window.inspector.overlay.item("enlarged") is not None)
    enlarged = window.inspector.overlay.item("enlarged")
    assert enlarged.isVisible()
    assert enlarged.mapRectToScene(enlarged.boundingRect()).getRect() == pytest.approx((0, 0, 96, 96))


def test_moving_a_slider_changes_the_mask_on_the_canvas_and_apply_is_undoable(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    dock, overlay = window.inspector.dock, window.inspector.overlay
    target = _largest_object(window)
    window.selection.set([target.id])
    record, row = state.record, state.detection
    before = state.live_mask().full(record.frame_size)
    assert overlay.item("preview") is None or not overlay.item("preview").isVisible()  # the object shows itself

    # push the coefficient of the prototype that matters most in the box to the other side of zero:
    # prototypes are >= 0 (ReLU), so lowering a coefficient can only shrink the mask, raising it only grow it
    coeffs = record.coefficients[row]
    mean_in_box = contribution_strength(record.prototypes, np.ones(32, np.float32), record.boxes_rel[row])
    j = int(np.argmax(mean_in_box * (1 + np.abs(coeffs))))
    value = -1.0 if coeffs[j] >= 0 else 1.0
    dock.sliders.sliders[j].setValue(int(value * 1000))
    assert state.edited and state.coefficients[j] == pytest.approx(value)
    qtbot.waitUntil(lambda: overlay.item("preview") is not None and overlay.item("preview").isVisible())
    after = state.live_mask().full(record.frame_size)
    assert (after.sum() < before.sum()) if value < 0 else (after.sum() > before.sum())
    assert not np.logical_and(after, ~before).any() if value < 0 else not np.logical_and(before, ~after).any()
    preview = overlay.item("preview")
    painted = preview.pixmap().toImage()
    alpha = np.array(
        [[painted.pixelColor(x, y).alpha() > 0 for x in range(painted.width())] for y in range(painted.height())]
    )
    window_mask = state.live_mask()
    assert (preview.pos().x(), preview.pos().y()) == (window_mask.x0, window_mask.y0)
    np.testing.assert_array_equal(alpha, window_mask.mask)  # the canvas shows exactly the edited mask
    assert window.canvas.items_by_id[target.id].opacity() < 1
    assert dock.apply_button.isEnabled() and dock.reset_button.isEnabled()

    # apply: the object takes the edited mask as its polygons, provenance edited
    QTest.mouseClick(dock.apply_button, Qt.MouseButton.LeftButton)
    with ProjectStore.open(photo_folder) as store:
        saved = {o.id: o for o in store.objects("astronaut.png")}[target.id]
    assert saved.provenance is Provenance.EDITED
    iou = (
        np.logical_and(shape_to_mask(saved.shape, 96, 96), after).sum()
        / np.logical_or(shape_to_mask(saved.shape, 96, 96), after).sum()
    )
    assert iou > 0.9
    # the inspector now shows what the object has (the applied coefficients), not the model's mask
    assert not state.edited and state.applied and state.coefficients[j] == pytest.approx(value)
    np.testing.assert_array_equal(state.live_mask().full(record.frame_size), after)
    assert not dock.apply_button.isEnabled() and dock.reset_button.isEnabled()  # Reset: back to the model's

    # undo with the keyboard: the model's polygons and provenance come back, and so do its coefficients
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    with ProjectStore.open(photo_folder) as store:
        restored = {o.id: o for o in store.objects("astronaut.png")}[target.id]
    assert restored.shape == target.shape and restored.provenance is Provenance.AUTO
    assert not state.applied and not state.edited
    np.testing.assert_array_equal(state.coefficients, record.coefficients[row])
    # redo: the applied coefficients are shown again
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert state.applied and state.coefficients[j] == pytest.approx(value)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not state.applied

    # zero a prototype, then reset
    dock.sliders._zeros[j].click()
    assert state.coefficients[j] == 0 and state.edited
    dock.reset_button.click()
    assert not state.edited
    np.testing.assert_array_equal(state.coefficients, record.coefficients[row])


def test_leakage_view_draws_the_uncropped_mask_and_the_box(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    overlay = window.inspector.overlay
    target = _largest_object(window)
    window.selection.set([target.id])
    window.inspector.dock.leakage_box.setChecked(True)
    qtbot.waitUntil(lambda: overlay.item("leak") is not None and overlay.item("box") is not None)
    box = overlay.item("box").rect()
    x1, y1, x2, y2 = state.record.box_in_image(state.detection)
    assert (box.x(), box.y(), box.right(), box.bottom()) == pytest.approx((x1, y1, x2, y2))
    # the overlay is the uncropped mask at image size: red outside the box, green inside
    record = state.record
    uncropped = LiveMask(record.prototypes, WHOLE_FRAME, record.frame_size).compute(state.coefficients).full((96, 96))
    inside = np.zeros((96, 96), bool)
    inside[max(0, int(np.floor(y1))) : int(np.ceil(y2)), max(0, int(np.floor(x1))) : int(np.ceil(x2))] = True
    painted = overlay.item("leak").pixmap().toImage()
    origin = overlay.item("leak").pos()
    alpha = np.array(
        [[painted.pixelColor(x, y).alpha() > 0 for x in range(painted.width())] for y in range(painted.height())]
    )
    assert alpha.sum() == uncropped.sum() > 0
    assert origin.x() >= 0 and origin.y() >= 0
    assert overlay.leaked_pixels() == np.logical_and(uncropped, ~inside).sum()
    window.inspector.dock.leakage_box.setChecked(False)
    qtbot.waitUntil(lambda: not overlay.item("leak").isVisible() and not overlay.item("box").isVisible())


def test_image_without_cached_output_offers_one_explicit_run(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    square = Shape((Polygon(np.array([[10.0, 10.0], [40.0, 10.0], [40.0, 40.0], [10.0, 40.0]])),))
    with ProjectStore.open(photo_folder) as store:  # labelled elsewhere: objects, no model output
        store.write_change("astronaut.png", saved=[AnnotatedObject("cat", square)])
    window = make_window()
    window.open_folder(photo_folder)
    state, dock = window.inspector.state, window.inspector.dock
    qtbot.waitUntil(lambda: state.availability is Availability.MISSING)
    assert dock.run_button.isVisible() and "No model output is cached" in dock.status_label.text()
    _use_model(window, resnet50_checkpoint, shared_engines)
    QTest.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.availability is Availability.READY, timeout=JOB_TIMEOUT_MS)
    assert len(dock.grid.tiles) == 32 and not dock.run_button.isVisible()
    with ProjectStore.open(photo_folder) as store:  # the run changed no object
        assert [o.label for o in store.objects("astronaut.png")] == ["cat"]


def test_region_tool_offers_new_detections_and_adds_them_in_one_undo_step(
    make_window, photo_folder, qtbot, mouse, resnet50_checkpoint, shared_engines
):
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    controller, dock = window.inspector, window.inspector.dock
    document = window.projects.project.current
    count = len(document)

    QTest.keyClick(window, Qt.Key.Key_R)  # the region tool
    assert window.canvas.tool is controller.region_tool
    mouse.drag(window.canvas, (40, 30), (88, 80))
    qtbot.waitUntil(
        lambda: controller.running is None and state.record is not None and state.record.region, timeout=JOB_TIMEOUT_MS
    )
    region = state.record
    x0, y0, x1, y1 = clamp_region(
        (*mouse.scene_point(window.canvas, 40, 30), *mouse.scene_point(window.canvas, 88, 80)), (96, 96)
    )
    assert region.origin == (x0, y0) and region.frame_size == (y1 - y0, x1 - x0)
    assert abs(x0 - 40) <= 1 and abs(y1 - 80) <= 1
    offered = controller.new_candidates(region)
    assert offered and controller.overlay.candidate_count == len(offered)
    assert dock.add_all_button.isVisible() and dock.add_all_button.isEnabled()
    assert dock.run_box.count() == 2 and dock.run_box.currentIndex() == 1

    # the inspector works on the region's own run: its prototypes and a detection's coefficients
    assert len(dock.grid.tiles) == region.num_prototypes
    dock.detection_list.setCurrentRow(offered[0])
    np.testing.assert_array_equal(dock.chart.values, region.coefficients[offered[0]])

    QTest.mouseClick(dock.add_all_button, Qt.MouseButton.LeftButton)
    assert len(document) == count + len(offered)
    added = [o for o in document.objects if o.provenance is Provenance.EDITED]
    assert len(added) == len(offered)
    for obj in added:
        bx1, by1, bx2, by2 = obj.shape.bounds()
        assert x0 <= bx1 and y0 <= by1 and bx2 <= x1 and by2 <= y1  # mapped back into the image
    assert not controller.new_candidates(state.record) and not dock.add_all_button.isEnabled()
    qtbot.waitUntil(lambda: window.projects.project.inference.get("astronaut.png").records[-1].object_ids.max() > 0)

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one step removes them all
    assert len(document) == count
    assert controller.new_candidates(state.record) == offered  # offered again


def test_the_detection_list_follows_objects_re_read_from_the_store(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    """An auto-label job writes through its own connection and the image's objects are then re-read: the
    list kept describing them as they were (a re-run's new objects showed as 'object deleted')."""
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    record, document, dock = state.record, window.projects.project.current, window.inspector.dock
    row = next(r for r in range(len(record)) if int(record.object_ids[r]) in document)
    object_id = int(record.object_ids[row])
    assert dock.detection_list.item(row).text().endswith(f"object {object_id}")
    with ProjectStore.open(photo_folder) as store:  # another connection, as a job's
        store.write_change(window.projects.project.current_name, removed_ids=[object_id])
    document.reload()
    assert dock.detection_list.item(row).text().endswith("object deleted")


def test_the_detection_list_names_an_object_s_class_when_it_is_not_the_model_s(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    """After a class rename the list showed the model's class only, the objects list the new one."""
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    record, document, dock = state.record, window.projects.project.current, window.inspector.dock
    row = next(r for r in range(len(record)) if int(record.object_ids[r]) in document)
    object_id, model_class = int(record.object_ids[row]), record.label(row)
    assert dock.detection_list.item(row).text().endswith(f"object {object_id}")
    window.projects.project.rename_class(model_class, "my class")
    qtbot.waitUntil(lambda: document.get(object_id).label == "my class")
    qtbot.waitUntil(lambda: dock.detection_list.item(row).text().endswith(f"object {object_id}, now 'my class'"))
    assert f"{model_class}  " in dock.detection_list.item(row).text()  # the model's class is still named


def test_labelling_again_does_not_bring_back_a_rejected_object_and_says_why(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    """N rejects an auto object; running the model on the image again brought the same detection back."""
    window = make_window()
    window.open_folder(photo_folder)
    state = _auto_label_and_inspect(qtbot, window, resnet50_checkpoint, shared_engines)
    document = window.projects.project.current
    count = len(document.objects)
    target = _largest_object(window)
    window.selection.set([target.id])
    qtbot.keyClick(window, Qt.Key.Key_N)  # reject
    assert target.id not in document and len(document.objects) == count - 1
    first_run = state.record.created
    window.actions_by_name["ask_before_relabel"].setChecked(False)  # asking is tested in test_review
    window.actions_by_name["autolabel_image"].trigger()  # the same model: the same detections
    qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: state.record is not None and state.record.created != first_run)
    assert len(document.objects) == count - 1
    assert all(o.shape != target.shape for o in document.objects)
    texts = [window.inspector.dock.detection_list.item(r).text() for r in range(len(state.record))]
    assert sum("rejected by a person earlier" in text for text in texts) == 1


def test_a_new_window_gives_the_prototype_grid_a_row_of_room(make_window, photo_folder, qtbot):
    """Issue 20: the inspector started cramped, the prototype grid a thin strip under its hint."""
    window = make_window()  # 1200x800, the docks as a new user gets them
    window.open_folder(photo_folder)
    dock = window.inspector.dock
    qtbot.waitUntil(lambda: dock.status_label.text() != "")  # the status text (two lines) and the run button shown
    window.inspector.state.set_scaling(ScalingMode.SHARED)  # any state change: the layout has settled
    QApplication.processEvents()
    scroll = dock.tabs.currentWidget()
    grid_top = dock.grid.mapTo(scroll.viewport(), dock.grid.rect().topLeft()).y()
    assert scroll.viewport().height() - grid_top >= dock.grid.rows_height(MIN_GRID_ROWS)  # a row at 1200x800


def test_a_never_labelled_image_is_not_said_to_be_labelled_elsewhere(make_window, photo_folder, qtbot):
    """Issue 20: a fresh image read "labelled elsewhere, imported, or labelled before the cache existed"."""
    square = Shape((Polygon(np.array([[10.0, 10.0], [40.0, 10.0], [40.0, 40.0], [10.0, 40.0]])),))
    with ProjectStore.open(photo_folder) as store:  # coffee.png: objects imported, no model output
        store.write_change("coffee.png", saved=[AnnotatedObject("cat", square)])
    window = make_window()
    window.open_folder(photo_folder)
    state, dock = window.inspector.state, window.inspector.dock
    qtbot.waitUntil(lambda: state.image_name == "astronaut.png" and state.availability is Availability.MISSING)
    text = dock.status_label.text()
    assert "has not run on this image" in text
    assert "imported" not in text and "elsewhere" not in text and "drawn" not in text
    assert dock.run_button.isVisible()

    window.projects.show_image("coffee.png")
    qtbot.waitUntil(lambda: state.image_name == "coffee.png" and state.availability is Availability.MISSING)
    assert "No model output is cached" in dock.status_label.text() and "imported" in dock.status_label.text()
