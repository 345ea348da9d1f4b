"""The real window, driven like a person would: open, auto-label, drag a vertex, undo/redo, reopen, export."""

from __future__ import annotations

import contextlib
import io
import json

import cv2
import numpy as np
from pycocotools.coco import COCO
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from protolabel.app.canvas.items import ObjectItem
from protolabel.app.docks.file_list import ErrorRole
from protolabel.segmentation.coco import validate_coco
from protolabel.segmentation.geometry import Polygon, Shape
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapely_bridge import shape_to_geometry
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore

JOB_TIMEOUT_MS = 240_000


def _auto_label_current(qtbot, window, checkpoint, engines):
    window.autolabel.engines = engines
    window.options.weights = str(checkpoint)
    window.options.device = "cpu"
    window.options.score_threshold = 0.0
    window.options.top_k = 15
    window.actions_by_name["autolabel_image"].trigger()
    assert window.autolabel.busy
    qtbot.waitUntil(
        lambda: not window.autolabel.busy and not window.progress.isVisible() and not window.canvas.building,
        timeout=JOB_TIMEOUT_MS,
    )


def test_open_folder_lists_images_with_status_and_shows_the_first(make_window, photo_folder):
    window = make_window()
    assert window.open_folder(photo_folder)
    model = window.file_dock.model
    assert [model.name_at(r) for r in range(model.rowCount())] == [
        "astronaut.png",
        "chelsea.jpg",
        "coffee.png",
        "damaged.png",
    ]
    assert "4 images</b>" in window.file_dock.counts_label.text()
    assert window.projects.project.current_name == "astronaut.png"
    assert window.canvas.image_size_wh() == (96, 96)
    assert window.file_dock.view.currentIndex().row() == 0
    assert "astronaut.png" in window.windowTitle()
    assert (photo_folder / ".protolabel" / "project.db").is_file()


def test_unreadable_image_shows_a_placeholder_with_the_reason(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_folder(photo_folder)
    window.file_dock.view.setCurrentIndex(window.file_dock.model.index(3))  # a click on the row
    assert window.projects.project.current_name == "damaged.png"
    assert window.canvas.image_size_wh() == (0, 0)
    placeholder = window.canvas._placeholder
    assert placeholder is not None and "damaged.png" in placeholder.toPlainText()
    assert "damaged.png" in window.projects.project.images.unreadable
    QTest.keyClick(window, Qt.Key.Key_A)  # the rest of the folder still works
    assert window.projects.project.current_name == "coffee.png" and window.canvas.image_size_wh() == (96, 96)


def test_an_image_fixed_on_disk_is_no_longer_listed_unreadable(make_window, photo_folder, qtbot):
    """It kept its red 'unreadable' chip and count after it showed fine again."""
    window = make_window()
    window.open_folder(photo_folder)
    images = window.projects.project.images
    window.file_dock.view.setCurrentIndex(window.file_dock.model.index(3))
    assert "damaged.png" in images.unreadable
    cv2.imwrite(str(photo_folder / "damaged.png"), np.full((40, 50, 3), 128, np.uint8))  # the file replaced
    window.file_dock.view.setCurrentIndex(window.file_dock.model.index(0))
    window.file_dock.view.setCurrentIndex(window.file_dock.model.index(3))
    assert window.canvas.image_size_wh() == (50, 40)
    assert "damaged.png" not in images.unreadable and images.unreadable_count == 0
    assert window.file_dock.model.index(3).data(ErrorRole) is None


def test_the_reason_an_image_cannot_show_is_drawn_over_its_objects(make_window, photo_folder, qtbot):
    """A file damaged (or moved away) after it was labelled: its objects stay drawn and listed, and the reason
    is drawn on top of them (it was under them, hard to read)."""
    square = Shape((Polygon(((0, 0), (90, 0), (90, 60), (0, 60))),))
    with ProjectStore.open(photo_folder) as store:
        store.replace_auto_objects("damaged.png", [AnnotatedObject("cat", square)])
    window = make_window()
    window.open_folder(photo_folder)
    window.file_dock.view.setCurrentIndex(window.file_dock.model.index(3))
    assert window.projects.project.current_name == "damaged.png"
    placeholder = window.canvas._placeholder
    assert placeholder is not None and "damaged.png" in placeholder.toPlainText()
    assert len(window.canvas.items_by_id) == 1 and window.objects_dock.list.count() == 1
    inside_both = placeholder.sceneBoundingRect().topLeft() + QPointF(20, 20)
    assert window.canvas.scene().items(inside_both)[0] is placeholder  # topmost first
    assert not placeholder.acceptedMouseButtons()  # clicks reach the object under it


def test_autolabel_drag_vertex_undo_redo_reopen_and_export(
    make_window, photo_folder, qtbot, mouse, tmp_path, resnet50_checkpoint, shared_engines
):
    window = make_window()
    window.open_folder(photo_folder)
    _auto_label_current(qtbot, window, resnet50_checkpoint, shared_engines)

    project = window.projects.project
    assert project.images.status("astronaut.png") is ImageStatus.AUTO_LABELED
    assert window.device_label.text() == "Device: cpu"
    items = window.canvas.items_by_id
    assert len(items) > 0 and all(isinstance(i, ObjectItem) for i in items.values())
    assert window.objects_dock.list.count() == len(items)

    # pick the largest object, click inside it to select it
    canvas = window.canvas
    target = max(items.values(), key=lambda i: shape_to_geometry(i.obj.shape).area)
    inside = shape_to_geometry(target.obj.shape).buffer(0).representative_point()
    mouse.click(canvas, inside.x, inside.y)
    assert window.selection.ids == {target.object_id}
    assert window.objects_dock.list.selectedItems()[0].data(Qt.ItemDataRole.UserRole) == target.object_id

    # drag its first vertex with the mouse
    before = target.obj.shape
    vx, vy = before.polygons[0].exterior[0]
    goal = (float(np.clip(vx + 6, 1, 95)), float(np.clip(vy + 4, 1, 95)))
    mouse.drag(canvas, (vx, vy), goal)
    landed = mouse.scene_point(canvas, *goal)
    with ProjectStore.open(photo_folder) as store:
        saved = {o.id: o for o in store.objects("astronaut.png")}[target.object_id]
        assert store.status("astronaut.png") is ImageStatus.EDITED
    assert saved.provenance is Provenance.EDITED
    assert np.allclose(saved.shape.polygons[0].exterior[0], landed)
    assert np.array_equal(saved.shape.polygons[0].exterior[1:], before.polygons[0].exterior[1:])
    assert project.images.status("astronaut.png") is ImageStatus.EDITED

    # undo and redo with the keyboard
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    with ProjectStore.open(photo_folder) as store:
        undone = {o.id: o for o in store.objects("astronaut.png")}[target.object_id]
        assert undone.shape == before and undone.provenance is Provenance.AUTO
        assert store.status("astronaut.png") is ImageStatus.AUTO_LABELED
    assert canvas.items_by_id[target.object_id].shape_now == before
    QTest.keyClick(window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.allclose(canvas.items_by_id[target.object_id].shape_now.polygons[0].exterior[0], landed)

    # close, reopen, find the edit
    window.close()
    again = make_window()
    again.open_folder(photo_folder)
    reopened = again.canvas.items_by_id[target.object_id].obj
    assert reopened.provenance is Provenance.EDITED
    assert np.allclose(reopened.shape.polygons[0].exterior[0], landed)
    assert again.projects.project.images.status("astronaut.png") is ImageStatus.EDITED

    # export (all) and check with pycocotools
    out = tmp_path / "export" / "coco.json"
    out.parent.mkdir()
    with qtbot.waitSignal(again.exporter.finished, timeout=60_000) as done:
        again.exporter.export(out, verified_only=False)
    summary, report, error = done.args
    assert error is None and report.ok, report.summary()
    assert summary.images == 1 and summary.annotations == len(again.canvas.items_by_id)
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(out))
    (image,) = coco.loadImgs(coco.getImgIds())
    assert (image["file_name"], image["width"], image["height"]) == ("astronaut.png", 96, 96)
    sources = {a["source"] for a in coco.loadAnns(coco.getAnnIds())}
    assert sources == {"auto", "edited"}
    assert validate_coco(out).ok

    # verified only: nothing verified yet, then one image after V
    QTest.keyClick(again, Qt.Key.Key_V)
    with qtbot.waitSignal(again.exporter.finished, timeout=60_000) as done:
        again.exporter.export(tmp_path / "verified.json", verified_only=True)
    data = json.loads((tmp_path / "verified.json").read_text())
    assert len(data["images"]) == 1 and {a["source"] for a in data["annotations"]} == {"verified"}


def test_autolabel_all_runs_off_the_ui_thread_and_keeps_people_s_work(
    make_window, photo_folder, qtbot, mouse, resnet50_checkpoint, shared_engines
):
    window = make_window()
    window.open_folder(photo_folder)
    # a person draws an object on the first image before the run
    window.actions_by_name["draw_mode"].trigger()
    for x, y in ((10, 10), (40, 10), (40, 40)):
        mouse.click(window.canvas, x, y)
    mouse.click(window.canvas, 10, 10)  # clicking the first point closes the polygon
    (drawn,) = window.canvas.items_by_id.values()
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 10

    ticks = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    QTest.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert window.progress.isVisible() and window.autolabel.busy
    qtbot.waitUntil(
        lambda: not window.autolabel.busy and not window.progress.isVisible() and not window.canvas.building,
        timeout=JOB_TIMEOUT_MS,
    )
    timer.stop()
    assert len(ticks) > 3  # the UI thread kept running its timers during inference

    images = window.projects.project.images
    assert images.status("chelsea.jpg") is ImageStatus.AUTO_LABELED
    assert images.status("coffee.png") is ImageStatus.AUTO_LABELED
    assert images.status("astronaut.png") is ImageStatus.EDITED  # unlabeled list excluded it; it was edited
    assert images.status("damaged.png") is ImageStatus.UNLABELED
    assert drawn.object_id in window.canvas.items_by_id
    assert "labelled" in window.statusBar().currentMessage()


def test_cancel_stops_a_running_job(make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines):
    window = make_window()
    window.open_folder(photo_folder)
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 10
    images = window.projects.project.images
    photos = ("astronaut.png", "chelsea.jpg", "coffee.png")
    # three photos (and a damaged file) to label: a cancel that fails would label them all
    assert all(images.status(name) is ImageStatus.UNLABELED for name in photos)
    window.autolabel.label_unlabeled()
    window.progress.cancel_button.click()
    assert "Cancelling" in window.progress.label.text()
    qtbot.waitUntil(lambda: not window.autolabel.busy, timeout=JOB_TIMEOUT_MS)
    # counted by name: the damaged file leaves the unlabeled count on its own once a thumbnail finds it unreadable
    labelled = sum(images.status(name) is not ImageStatus.UNLABELED for name in photos)
    assert labelled <= 1 and images.counts()[ImageStatus.AUTO_LABELED] <= 1  # stopped after at most one (batch 1)


def test_autolabel_without_a_model_says_what_to_do(make_window, photo_folder):
    window = make_window()
    window.open_folder(photo_folder)
    window.options.weights = ""
    window.actions_by_name["autolabel_image"].trigger()
    assert "no model chosen" in window.last_error.lower()
    assert not window.autolabel.busy


def test_bad_weights_file_is_reported(make_window, photo_folder, qtbot, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    window = make_window()
    window.open_folder(photo_folder)
    window.options.weights = str(bad)
    window.actions_by_name["autolabel_image"].trigger()
    qtbot.waitUntil(lambda: not window.autolabel.busy, timeout=30_000)
    assert window.last_error and "bad.pth" in window.last_error


def test_classes_an_auto_label_run_finds_are_offered_for_new_polygons(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    """A project without classes: after Auto-label All the New polygons box lists the classes the run found,
    as the Classes dock does, shows the first instead of the stand-in "object", and new polygons get it."""
    window = make_window()
    window.open_folder(photo_folder)
    box = window.objects_dock.label_box
    assert window.labels_dock.classes() == [] and box.currentText() == "object"
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 10
    window.autolabel.label_unlabeled()
    qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=JOB_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.labels_dock.classes() != [])
    listed = window.labels_dock.classes()
    assert [box.itemText(i) for i in range(box.count())] == listed
    assert box.currentText() == listed[0] == window.editing.new_object_label
    # the run wrote them into the project's class list, so an edit later moves none of them
    assert list(window.projects.project.labels) == listed


def test_a_run_with_the_model_already_loaded_does_not_say_loading_the_model(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    """Issue 20: "Loading the model…" showed on every auto-label run, though the engine cache kept the model."""
    window = make_window()
    window.open_folder(photo_folder)
    _auto_label_current(qtbot, window, resnet50_checkpoint, shared_engines)  # the model is loaded (or was already)
    shown = []
    set_text = window.progress.label.setText
    window.progress.label.setText = lambda text: (shown.append(text), set_text(text))
    window.projects.show_image("coffee.png")  # not labelled yet
    qtbot.waitUntil(lambda: window.projects.project.current_name == "coffee.png")
    _auto_label_current(qtbot, window, resnet50_checkpoint, shared_engines)
    assert shown and not any("Loading the model" in text for text in shown)
