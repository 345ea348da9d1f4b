"""Review one object at a time, driving the real widgets: accept / reject, Tab across images, zoom to an
object, the score filter and its undoable delete, eye toggles, the context menus, sorting, the list's height."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog

from protolabel.app.docks.objects import ObjectsDock
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.session import Session
from protolabel.segmentation.project.store import ProjectStore


def _square(x: float, y: float, size: float) -> Shape:
    return Shape((Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], float)),))


# image -> (x, y, size, score) of its auto objects; the photo folder's images are 96x96
AUTO = {
    "astronaut.png": [(5, 5, 10, 0.9), (40, 40, 20, 0.3), (70, 10, 14, 0.6)],
    "coffee.png": [(10, 60, 12, 0.8), (60, 60, 25, 0.2)],
}


def _pre_label(folder, auto=AUTO) -> None:
    with ProjectStore.open(folder) as store:
        for name, boxes in auto.items():
            store.replace_auto_objects(
                name,
                [
                    AnnotatedObject("cat" if k % 2 else "dog", _square(x, y, s), score=score)
                    for k, (x, y, s, score) in enumerate(boxes)
                ],
            )


def _stored(folder, name="astronaut.png"):
    with ProjectStore.open(folder) as store:
        return {o.id: o for o in store.objects(name)}, store.status(name)


@pytest.fixture
def window(make_window, photo_folder):
    _pre_label(photo_folder)
    window = make_window()
    window.open_folder(photo_folder)
    return window


def _ids(folder, name):
    return sorted(_stored(folder, name)[0])


def _visible_scene_rect(canvas):
    return canvas.mapToScene(canvas.viewport().rect()).boundingRect()


def _assert_zoomed_to(window, object_id):
    canvas = window.canvas
    box = canvas.items_by_id[object_id].sceneBoundingRect()
    seen = _visible_scene_rect(canvas)
    assert seen.contains(box), (seen, box)
    assert seen.width() < 96 or seen.height() < 96  # zoomed in from the whole image
    assert seen.width() >= 1.5 * box.width() and seen.height() >= 1.5 * box.height()  # with context around it


def test_accept_reject_and_tab_walk_every_unverified_object_across_images(window, photo_folder):
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    c1, c2 = _ids(photo_folder, "coffee.png")
    project = window.projects.project

    QTest.keyClick(window, Qt.Key.Key_Tab)
    assert window.selection.ids == {a1}
    _assert_zoomed_to(window, a1)

    QTest.keyClick(window, Qt.Key.Key_Y)  # accept: verified, on to the next one
    objects, status = _stored(photo_folder)
    assert objects[a1].provenance is Provenance.VERIFIED and objects[a2].provenance is Provenance.AUTO
    assert status is ImageStatus.EDITED
    assert window.selection.ids == {a2}

    QTest.keyClick(window, Qt.Key.Key_N)  # reject: deleted, on to the next one
    assert a2 not in _stored(photo_folder)[0]
    assert window.selection.ids == {a3}
    _assert_zoomed_to(window, a3)

    QTest.keyClick(window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)  # back: wraps to coffee's last
    qtbot_wait_for(lambda: project.current_name == "coffee.png" and window.selection.ids == {c2})
    _assert_zoomed_to(window, c2)

    QTest.keyClick(window, Qt.Key.Key_Tab)  # forward: damaged.png and chelsea.jpg have none; astronaut's a3
    qtbot_wait_for(lambda: project.current_name == "astronaut.png" and window.selection.ids == {a3})
    QTest.keyClick(window, Qt.Key.Key_Y)  # the last unverified object of the image: the image is verified
    assert _stored(photo_folder)[1] is ImageStatus.VERIFIED
    assert project.images.status("astronaut.png") is ImageStatus.VERIFIED
    qtbot_wait_for(lambda: project.current_name == "coffee.png" and window.selection.ids == {c1})

    QTest.keyClick(window, Qt.Key.Key_Y)
    QTest.keyClick(window, Qt.Key.Key_Y)
    objects, status = _stored(photo_folder, "coffee.png")
    assert status is ImageStatus.VERIFIED and all(o.provenance is Provenance.VERIFIED for o in objects.values())
    QTest.keyClick(window, Qt.Key.Key_Tab)
    assert "Every object is verified" in window.statusBar().currentMessage()

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one accept is one undo step
    objects, status = _stored(photo_folder, "coffee.png")
    assert objects[c2].provenance is Provenance.AUTO and objects[c1].provenance is Provenance.VERIFIED
    assert status is not ImageStatus.VERIFIED


def qtbot_wait_for(condition, timeout_ms=3000):
    """Process events until `condition()` (images may be read on a worker thread)."""
    for _ in range(timeout_ms // 10):
        if condition():
            return
        QTest.qWait(10)
    assert condition()


def test_double_click_in_the_list_zooms_to_the_object(window, photo_folder):
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    lst = window.objects_dock.list
    item = lst.item(window.objects_dock.row_of(a2))
    centre = lst.visualItemRect(item).center()
    QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=centre)  # a real double-click: press first
    QTest.mouseDClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    _assert_zoomed_to(window, a2)
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # fit again: the zoom was real
    assert _visible_scene_rect(window.canvas).contains(window.canvas.items_by_id[a1].sceneBoundingRect())


def _shown(window, object_id) -> bool:
    return window.canvas.items_by_id[object_id].shown


def _point_in(window, object_id):
    box = window.canvas.items_by_id[object_id].sceneBoundingRect()
    return window.canvas.mapToScene(window.canvas.mapFromScene(box.center()))


def test_score_filter_hides_low_auto_objects_and_deletes_them_as_one_undo_step(window, photo_folder):
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    dock = window.objects_dock
    assert not dock.delete_hidden_button.isEnabled()
    dock.score_slider.setValue(50)
    assert [_shown(window, i) for i in (a1, a2, a3)] == [True, False, True]
    assert window.canvas.object_at(_point_in(window, a2)) is None  # hidden objects cannot be clicked
    assert "1 hidden" in dock.score_label.text() and dock.delete_hidden_button.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_Tab)
    QTest.keyClick(window, Qt.Key.Key_Tab)  # Tab passes over the hidden a2
    assert window.selection.ids == {a3}
    window.selection.clear()
    dock.score_slider.setValue(70)
    assert [_shown(window, i) for i in (a1, a2, a3)] == [True, False, False]

    QTest.mouseClick(dock.delete_hidden_button, Qt.MouseButton.LeftButton)
    assert sorted(_stored(photo_folder)[0]) == [a1]
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert sorted(_stored(photo_folder)[0]) == [a1, a2, a3]
    assert [_shown(window, i) for i in (a1, a2, a3)] == [True, False, False]  # the filter still applies

    QTest.keyClick(window, Qt.Key.Key_D)  # chelsea
    QTest.keyClick(window, Qt.Key.Key_D)  # coffee: the same threshold hides its 0.2 object
    c1, c2 = _ids(photo_folder, "coffee.png")
    qtbot_wait_for(lambda: c2 in window.canvas.items_by_id)
    assert _shown(window, c1) and not _shown(window, c2)
    dock.score_slider.setValue(0)
    assert _shown(window, c2)


def test_eye_toggle_and_hide_key_hide_single_objects(window, photo_folder):
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    dock = window.objects_dock
    item = dock.list.item(dock.row_of(a3))
    box = dock.list.visualItemRect(item)
    QTest.mouseClick(dock.list.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(box.left() + 10, box.center().y()))
    assert dock.list.item(dock.row_of(a3)).checkState() == Qt.CheckState.Unchecked
    assert not _shown(window, a3) and _shown(window, a1)

    window.selection.set([a1])
    QTest.keyClick(window, Qt.Key.Key_H)
    assert not _shown(window, a1) and window.visibility.hidden_objects == {a1, a3}
    label = window.projects.project.current.get(a2).label
    window.visibility.set_class_shown(label, False)  # another reason (the class dock) hides on its own
    assert not _shown(window, a2) and window.visibility.hidden_objects == {a1, a3}
    window.visibility.set_class_shown(label, True)
    dock.list.item(dock.row_of(a3)).setCheckState(Qt.CheckState.Checked)
    assert _shown(window, a3) and _shown(window, a2) and not _shown(window, a1)
    assert len(_stored(photo_folder)[0]) == 3  # hiding never deletes


def _context_menu(widget, pos: QPoint):
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)


def _menu_action(window, text):
    menu = window.review.menu
    assert menu is not None and menu.isVisible()
    return next(a for a in menu.actions() if a.text().replace("&", "").rstrip("…") == text)


def test_context_menu_on_the_canvas_and_in_the_list(window, photo_folder, monkeypatch):
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    canvas = window.canvas
    _context_menu(canvas.viewport(), canvas.mapFromScene(_point_in(window, a2)))
    assert window.selection.ids == {a2}  # the right-clicked object is the one the menu acts on
    texts = [a.text().replace("&", "") for a in window.review.menu.actions() if not a.isSeparator()]
    for wanted in (
        "Accept Object",
        "Reject Object",
        "Change Class…",
        "Hide Object",
        "Zoom to Object",
        "Copy Objects",
        "Delete Object",
    ):
        assert wanted in texts
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("bird", True))
    _menu_action(window, "Change Class").trigger()
    window.review.menu.close()
    assert _stored(photo_folder)[0][a2].label == "bird"

    lst = window.objects_dock.list
    _context_menu(lst.viewport(), lst.visualItemRect(lst.item(window.objects_dock.row_of(a3))).center())
    assert window.selection.ids == {a3}
    _menu_action(window, "Copy Objects").trigger()
    assert window.editing.clipboard and window.editing.clipboard[0][0] == "dog"
    _menu_action(window, "Zoom to Object").trigger()
    _assert_zoomed_to(window, a3)
    _menu_action(window, "Accept Object").trigger()
    window.review.menu.close()
    assert _stored(photo_folder)[0][a3].provenance is Provenance.VERIFIED

    c1, c2 = _ids(photo_folder, "coffee.png")
    qtbot_wait_for(lambda: window.selection.ids == {c1})  # accepting moved on: a3 was astronaut's last, coffee is next
    _context_menu(lst.viewport(), lst.visualItemRect(lst.item(window.objects_dock.row_of(c2))).center())
    assert window.selection.ids == {c2}
    _menu_action(window, "Delete Object").trigger()
    window.review.menu.close()
    assert sorted(_stored(photo_folder, "coffee.png")[0]) == [c1]
    assert sorted(_stored(photo_folder)[0]) == [a1, a2, a3]


def test_sorting_by_score_class_and_area(photo_folder, qtbot):
    """The Objects dock alone, on a session model and one image's objects: no main window."""
    _pre_label(photo_folder)
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")  # sizes 10, 20, 14; scores 0.9, 0.3, 0.6; dog, cat, dog
    dock = ObjectsDock(Session())
    qtbot.addWidget(dock)
    project = Project.open(photo_folder)
    dock.set_document(project.document("astronaut.png"))

    def order():
        return [dock.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(dock.list.count())]

    assert order() == [a1, a2, a3]
    dock.sort_box.setCurrentText("Score (high first)")
    assert order() == [a1, a3, a2]
    dock.sort_box.setCurrentText("Score (low first)")
    assert order() == [a2, a3, a1]
    dock.sort_box.setCurrentText("Class")
    assert order() == [a2, a1, a3]
    dock.sort_box.setCurrentText("Area (large first)")
    assert order() == [a2, a3, a1]
    dock.sort_box.setCurrentText("Area (small first)")
    assert order() == [a1, a3, a2]
    dock.set_document(None)
    project.close()


def test_the_objects_list_uses_the_height_of_the_dock(make_window, photo_folder):
    many = [(float(x), float(y), 6.0, 0.5) for x in range(0, 90, 10) for y in range(0, 90, 12)][:60]
    _pre_label(photo_folder, {"astronaut.png": many})
    window = make_window()  # 1200 x 800
    window.open_folder(photo_folder)
    lst = window.objects_dock.list
    assert lst.count() == 60
    QTest.qWait(50)
    viewport = lst.viewport().rect()
    rows = sum(viewport.contains(lst.visualItemRect(lst.item(r))) for r in range(lst.count()))
    row_height = lst.visualItemRect(lst.item(0)).height()
    assert rows >= 15, (rows, viewport.height(), row_height)


def _content(objects):
    """What a person sees of objects: class, provenance, score and outline (ids aside)."""
    return sorted(
        (o.label, o.provenance.value, round(o.score or -1, 6), o.shape.polygons[0].exterior.round(3).tolist())
        for o in objects
    )


def test_relabelling_an_image_with_auto_objects_is_one_undoable_step(
    window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    window.editing.apply(window.projects.project.current.relabel([a1], "kept"))  # a person's object: never replaced
    before, status_before = _stored(photo_folder)
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    asked = _answer_relabel(qtbot, window, go=False)  # issue 20: I replaced objects without asking
    assert "2 auto objects will be replaced" in asked and "1 object that a person" in asked
    assert not window.autolabel.busy and _stored(photo_folder)[0] == before  # cancelled: nothing ran
    _answer_relabel(qtbot, window, go=True, ask_again=False)
    qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=240_000)
    assert not window.actions_by_name["ask_before_relabel"].isChecked()
    assert window.settings.value("ask_before_relabel") in (False, "false")
    after, status_after = _stored(photo_folder)
    assert a1 in after and a2 not in after and a3 not in after and len(after) > 1
    assert "Auto-label" in window.undo_action.text()
    window.activateWindow()  # the closed confirmation may leave no active window: shortcuts need one
    qtbot.waitUntil(window.isActiveWindow)

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    undone, status = _stored(photo_folder)
    assert _content(undone.values()) == _content(before.values()) and status is status_before
    assert _content(window.projects.project.current.objects) == _content(before.values())
    assert len(window.canvas.items_by_id) == 3

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    redone, status = _stored(photo_folder)
    assert _content(redone.values()) == _content(after.values()) and status is status_after
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # and back again (ids kept in step)
    assert _content(_stored(photo_folder)[0].values()) == _content(before.values())


def _answer_relabel(qtbot, window, go: bool, ask_again: bool = True) -> str:
    """Press I and answer the confirmation; returns what it said."""
    from PySide6.QtCore import QTimer

    seen = []

    def answer():
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != "relabel_confirm" or seen:
            return
        timer.stop()
        seen.append(box.informativeText())
        box.dont_ask.setChecked(not ask_again)
        (box.label_button if go else box.button(box.StandardButton.Cancel)).click()

    timer = QTimer(window)
    timer.timeout.connect(answer)
    timer.start(20)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_I)
    qtbot.waitUntil(lambda: bool(seen))
    return seen[0]


def _drawn_at(window, point) -> str:
    """The colour the canvas's scene draws at a scene point (rendered, as the view paints it)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    image = QImage(1, 1, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    window.canvas.scene().render(painter, QRectF(0, 0, 1, 1), QRectF(point.x() - 0.5, point.y() - 0.5, 1, 1))
    painter.end()
    return image.pixelColor(0, 0).name()


def test_a_filtered_object_is_not_drawn_and_is_drawn_again(window, photo_folder):
    """Hidden objects are hidden by opacity (Qt keeps their cached rendering): what is drawn must still be
    exactly the image with no object there, and the object's fill when shown again."""
    _, a2, _ = _ids(photo_folder, "astronaut.png")
    point = _point_in(window, a2)
    filled = _drawn_at(window, point)
    window.visibility.set_all_shown(False)
    bare = _drawn_at(window, point)
    window.visibility.set_all_shown(True)
    assert filled != bare
    window.objects_dock.score_slider.setValue(50)  # a2 scores 0.3
    assert _drawn_at(window, point) == bare and window.canvas.object_at(point) is None
    window.objects_dock.score_slider.setValue(0)
    assert _drawn_at(window, point) == filled and window.canvas.object_at(point) == a2


def test_after_y_on_objects_the_file_list_and_training_dialog_count_them(window, photo_folder):
    """Issue 20 (C1): after Y the image list said '0 verified' and the training dialog 'no verified objects'."""
    from protolabel.app.docks.file_list import ChipRole

    dock = window.file_dock
    QTest.keyClick(window, Qt.Key.Key_Tab)
    QTest.keyClick(window, Qt.Key.Key_Y)  # one of astronaut's three objects
    QTest.keyClick(window, Qt.Key.Key_Y)  # and a second one
    assert "2 verified objects; 1 edited image partly verified" in dock.counts_label.text()
    row = dock.model.index(dock.model.row_of("astronaut.png"))
    assert row.data(ChipRole) == "partly verified"
    filters = [dock.filter_box.itemText(i) for i in range(dock.filter_box.count())]
    assert "Partly verified (1)" in filters
    window.options.weights = __file__  # any existing file: the dialog only shows the counts here
    window.actions_by_name["train_project"].trigger()
    page = window.training.dialog.settings_page
    assert "Verified objects only (2 in 1 image)" in page.verified_radio.text()
    window.training.dialog.close()


def test_labelling_an_image_with_only_a_persons_objects_asks_and_is_undoable(
    make_window, photo_folder, qtbot, resnet50_checkpoint, shared_engines
):
    """The confirmation says Ctrl+Z undoes the run: so it must, when no auto object was replaced too."""
    with ProjectStore.open(photo_folder) as store:
        store.write_change(
            "astronaut.png",
            saved=[AnnotatedObject("mine", _square(5, 5, 10), Provenance.EDITED)],
            status=ImageStatus.EDITED,
        )
    window = make_window()
    window.open_folder(photo_folder)
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")
    before = _stored(photo_folder)
    window.autolabel.engines = shared_engines
    window.options.weights, window.options.device = str(resnet50_checkpoint), "cpu"
    window.options.score_threshold, window.options.top_k = 0.0, 5
    asked = _answer_relabel(qtbot, window, go=True)
    assert "auto object" not in asked and "1 object that a person drew, changed or accepted stays" in asked
    qtbot.waitUntil(lambda: not window.autolabel.busy and not window.canvas.building, timeout=240_000)
    assert len(_stored(photo_folder)[0]) > 1 and "objects added" in window.undo_action.text()
    window.undo_action.trigger()
    assert _content(_stored(photo_folder)[0].values()) == _content(before[0].values())
    assert _stored(photo_folder)[1] is before[1]


def test_without_a_model_i_says_so_instead_of_asking(window):
    window.options.weights = ""
    window.actions_by_name["autolabel_image"].trigger()  # a modal question here would hang the test
    assert "no model chosen" in window.last_error.lower() and not window.autolabel.busy


def test_tab_zoom_stays_between_the_whole_image_and_a_view_with_context(make_window, tmp_path):
    """Issue 20 (C3): Tab went to 37 % on a large object where Fit is 111 %, and to 869 % on a tiny one."""
    import cv2

    from protolabel.app.canvas.object_zoom import MIN_VIEW_PX

    folder = tmp_path / "wide"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((300, 400, 3), 90, np.uint8))
    large, tiny = _square(20, 10, 280), _square(250, 140, 4)
    with ProjectStore.open(folder) as store:
        store.replace_auto_objects(
            "a.png", [AnnotatedObject("dog", large, score=0.9), AnnotatedObject("cat", tiny, score=0.8)]
        )
    window = make_window()
    window.open_folder(folder)
    qtbot_wait_for(lambda: window.projects.project is not None and window.canvas.items_by_id)
    canvas = window.canvas
    canvas.fit()
    fit = canvas.scale_factor()
    large_id, tiny_id = _ids(folder, "a.png")

    QTest.keyClick(window, Qt.Key.Key_Tab)
    assert window.selection.ids == {large_id}
    assert canvas.scale_factor() == pytest.approx(fit)  # not zoomed out past the whole image
    assert _visible_scene_rect(canvas).contains(canvas.items_by_id[large_id].sceneBoundingRect())

    QTest.keyClick(window, Qt.Key.Key_Tab)
    assert window.selection.ids == {tiny_id}
    seen = _visible_scene_rect(canvas)
    assert canvas.scale_factor() > fit  # closer than the whole image...
    assert min(seen.width(), seen.height()) >= min(MIN_VIEW_PX, 300 / 3) - 1  # ...with the surroundings in view
    assert seen.contains(canvas.items_by_id[tiny_id].sceneBoundingRect())


def test_tab_passes_over_a_hidden_class_on_the_next_image_too(window, photo_folder, qtbot):
    """The dog class switched off in the Classes dock: Tab went past the shown image's dogs but stopped on
    the next image's dog, drawn hidden (the controller asked the canvas, which knew one image)."""
    a1, a2, a3 = _ids(photo_folder, "astronaut.png")
    c1, c2 = _ids(photo_folder, "coffee.png")
    dock = window.labels_dock
    dock.table.item(dock.row_of("dog"), 0).setCheckState(Qt.CheckState.Unchecked)
    window.selection.set([a2])
    QTest.keyClick(window, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: window.projects.project.current_name == "coffee.png" and bool(window.selection.ids))
    assert window.selection.ids == {c2} and not _shown(window, c1)
