"""Classes in the app: Change Class (Ctrl+L) offers the object's own class, number keys, settings per project."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from protolabel.app.canvas.view import CanvasView
from protolabel.app.docks.labels import LabelsDock
from protolabel.segmentation.geometry import Polygon, Shape
from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.class_list import ClassList
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.project.visibility import Visibility


def _square(x: float, y: float, size: float = 20) -> Shape:
    return Shape((Polygon(((x, y), (x + size, y), (x + size, y + size), (x, y + size))),))


def open_with_objects(make_window, qtbot, folder, labels):
    """A window on `folder` whose astronaut.png has one object per label (in order), the labels known."""
    with ProjectStore.open(folder) as store:
        saved = store.write_change(
            "astronaut.png",
            status=ImageStatus.EDITED,
            saved=[AnnotatedObject(label, _square(5 + 20 * i, 5)) for i, label in enumerate(labels)],
        )
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


def answer_modal(qtbot, trigger, handle):
    """Run `trigger`; when a modal dialog shows, call handle(dialog) (which closes it)."""
    done = []

    def look():
        dialog = QApplication.activeModalWidget()
        if dialog is None or done:
            return
        timer.stop()
        done.append(dialog)
        handle(dialog)

    timer = QTimer()
    timer.timeout.connect(look)
    timer.start(20)
    trigger()
    qtbot.waitUntil(lambda: bool(done))
    timer.stop()


def stored(folder, name="astronaut.png"):
    with ProjectStore.open(folder) as store:
        return sorted(o.label for o in store.objects(name))


@pytest.fixture
def class_dock(qtbot):
    """class_dock(folder or None) -> a Classes dock alone, on its own class list and visibility models (and
    the project opened on `folder`): no main window."""
    opened = []

    def make(folder=None):
        class_list, visibility = ClassList(), Visibility()
        dock = LabelsDock(class_list, visibility)
        qtbot.addWidget(dock)
        if folder is not None:
            opened.append(Project.open(folder))
            class_list.set_project(opened[-1])
        return dock

    yield make
    for project in opened:
        project.close()


def test_class_dock_lists_classes_with_counts_and_distinct_colours(class_dock, photo_folder):
    with ProjectStore.open(photo_folder) as store:
        saved = store.write_change(
            "astronaut.png",
            status=ImageStatus.EDITED,
            saved=[AnnotatedObject(label, _square(5 + 20 * i, 5)) for i, label in enumerate(["cat", "dog", "cat"])],
        )
        store.write_change("coffee.png", status=ImageStatus.EDITED, saved=[AnnotatedObject("toaster", _square(5, 5))])
    dock = class_dock(photo_folder)
    table = dock.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows == {"cat": "2", "dog": "1", "toaster": "1"}
    from protolabel.app.colors import label_color

    assert len({label_color(c).name() for c in rows}) == 3
    # an object given another class shows up in the counts at once
    document = dock.project.document("astronaut.png")
    document.apply(document.relabel([saved[0].id], "dog"))
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows == {"cat": "1", "dog": "2", "toaster": "1"}


def test_the_empty_class_table_shows_its_column_titles_whole(class_dock, qtbot):
    """Before a folder is open the Objects and Keep columns had Qt's default width, which cut the first
    column's title to 'ass (show'."""
    dock = class_dock()
    dock.resize(260, 400)
    dock.show()
    qtbot.waitExposed(dock)
    header = dock.table.horizontalHeader()
    qtbot.waitUntil(lambda: header.width() > 0)
    assert header.sectionSize(0) >= header.sectionSizeHint(0)


def test_classes_outside_the_class_list_take_distinct_colours(class_dock, photo_folder):
    """As after an auto-label run: objects carry classes the project's class list does not name."""
    labels = ["broccoli", "dining table", "elephant", "fire hydrant", "person", "skis", "toaster", "wine glass"]
    with ProjectStore.open(photo_folder) as store:
        store.write_change(
            "astronaut.png",
            status=ImageStatus.AUTO_LABELED,
            saved=[AnnotatedObject(label, _square(5 + 20 * i, 5)) for i, label in enumerate(labels)],
        )
    dock = class_dock(photo_folder)
    assert dock.classes() == labels
    from protolabel.app.colors import label_color

    assert len({label_color(label).name() for label in labels}) == len(labels)
    swatches = {
        dock.table.item(row, 0).icon().pixmap(8, 8).toImage().pixelColor(4, 4).name() for row in range(len(labels))
    }
    assert swatches == {label_color(label).name() for label in labels}


def test_a_project_with_unlisted_classes_keeps_their_order_and_colours(make_window, qtbot, photo_folder):
    """A project auto-labelled by an older version: its objects carry classes its class list lacks. Renaming
    one moved it among the others (in name order after the list), and accepting an object listed only its
    class, first: every other class moved down a row, with its number key and colour."""
    labels = ["broccoli", "dining table", "elephant", "fire hydrant", "person", "skis", "toaster", "wine glass"]
    with ProjectStore.open(photo_folder) as store:
        saved = store.replace_auto_objects(
            "astronaut.png", [AnnotatedObject(label, _square(5 + 20 * i, 5)) for i, label in enumerate(labels)]
        )
    window = make_window()
    assert window.open_folder(photo_folder)
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")
    assert window.projects.project.labels == tuple(labels)  # listed when the project opened
    from protolabel.app.colors import label_color

    colours = [label_color(label).name() for label in labels]
    window.projects.project.rename_class("broccoli", "vegetable")
    labels[0] = "vegetable"
    qtbot.waitUntil(lambda: window.labels_dock.classes() == labels)
    assert [label_color(label).name() for label in labels] == colours
    window.selection.set([saved.object_ids[labels.index("toaster")]])
    qtbot.keyClick(window, Qt.Key.Key_Y)  # accept: a person's edit of a toaster
    toaster = window.projects.project.current.get(saved.object_ids[labels.index("toaster")])
    assert toaster.provenance is Provenance.VERIFIED
    assert window.projects.project.labels == tuple(labels)
    assert window.labels_dock.classes() == labels
    assert [label_color(label).name() for label in labels] == colours


def test_number_keys_give_the_selected_object_the_nth_class(make_window, qtbot, photo_folder):
    window, (first, second, third) = open_with_objects(make_window, qtbot, photo_folder, ["cat", "dog", "zebra"])
    assert window.labels_dock.classes() == ["cat", "dog", "zebra"]
    document = window.projects.project.current
    window.selection.set([first])
    qtbot.keyClick(window, Qt.Key.Key_3)
    assert document.get(first).label == "zebra"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undoable step
    assert document.get(first).label == "cat"
    qtbot.keyClick(window, Qt.Key.Key_9)  # no ninth class: nothing changes
    assert document.get(first).label == "cat" and "no class 9" in window.statusBar().currentMessage()


def test_rename_class_everywhere_through_the_dialog(make_window, qtbot, photo_folder):
    window, _ = open_with_objects(make_window, qtbot, photo_folder, ["cat", "dog", "cat"])
    dock = window.labels_dock
    dock.select_class("cat")

    def type_name(dialog):
        assert isinstance(dialog, QInputDialog) and dialog.textValue() == "cat"
        dialog.setTextValue("kitten")
        dialog.accept()

    answer_modal(qtbot, dock.buttons["rename"].click, type_name)
    assert stored(photo_folder) == ["dog", "kitten", "kitten"]
    assert dock.classes() == ["kitten", "dog"]
    assert sorted(o.label for o in window.projects.project.current.objects) == ["dog", "kitten", "kitten"]
    assert not window.history.group.activeStack() or window.history.group.activeStack().count() == 0


def test_merge_asks_then_merges_and_cancel_changes_nothing(make_window, qtbot, photo_folder):
    from PySide6.QtWidgets import QMessageBox

    window, _ = open_with_objects(make_window, qtbot, photo_folder, ["cat", "dog", "toaster"])
    dock = window.labels_dock
    dock.select_class("toaster")
    answer_modal(qtbot, lambda: dock.merge("dog"), lambda box: box.button(QMessageBox.StandardButton.Cancel).click())
    assert stored(photo_folder) == ["cat", "dog", "toaster"]
    dock.select_class("toaster")
    answer_modal(qtbot, lambda: dock.merge("dog"), lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    assert stored(photo_folder) == ["cat", "dog", "dog"]
    assert dock.classes() == ["cat", "dog"]
    assert window.projects.project.labels == ("cat", "dog")


def test_delete_class_removes_its_objects_after_confirmation(make_window, qtbot, photo_folder):
    from PySide6.QtWidgets import QMessageBox

    window, _ = open_with_objects(make_window, qtbot, photo_folder, ["cat", "dog", "dog"])
    dock = window.labels_dock
    dock.select_class("dog")
    answer_modal(qtbot, dock.buttons["delete"].click, lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    assert stored(photo_folder) == ["cat"]
    assert len(window.canvas.items_by_id) == 1 and dock.classes() == ["cat"]


def test_eye_hides_a_class_on_the_canvas(class_dock, qtbot, photo_folder):
    """The Classes dock and the canvas share one visibility model, and nothing else."""
    with ProjectStore.open(photo_folder) as store:
        store.write_change(
            "astronaut.png",
            status=ImageStatus.EDITED,
            saved=[AnnotatedObject(label, _square(5 + 20 * i, 5)) for i, label in enumerate(["cat", "dog"])],
        )
    dock = class_dock(photo_folder)
    canvas = CanvasView(dock.visibility)
    qtbot.addWidget(canvas)
    document = dock.project.document("astronaut.png")
    canvas.show_image(np.zeros((96, 96, 3), np.uint8), document, Selection())
    cat, dog = (o.id for o in document.objects)
    dock.table.item(dock.row_of("dog"), 0).setCheckState(Qt.CheckState.Unchecked)
    assert not canvas.items_by_id[dog].shown and canvas.items_by_id[cat].shown
    dock.table.item(dock.row_of("dog"), 0).setCheckState(Qt.CheckState.Checked)
    assert canvas.items_by_id[dog].shown


def test_colour_and_keep_are_stored_with_the_project(make_window, qtbot, photo_folder, tmp_path):
    import json

    from PySide6.QtGui import QColor

    window, _ = open_with_objects(make_window, qtbot, photo_folder, ["cat"])
    window.projects.project.set_labels(("cat", "spare"))
    dock = window.labels_dock
    dock.select_class("cat")
    dock.choose_color(QColor("#123456"))
    qtbot.waitUntil(
        lambda: window.canvas.items_by_id and next(iter(window.canvas.items_by_id.values()))._color.name() == "#123456"
    )
    dock.table.item(dock.row_of("spare"), 2).setCheckState(Qt.CheckState.Checked)
    window.close()
    with ProjectStore.open(photo_folder) as store:
        assert store.setting("label_colors") == {"cat": "#123456"}
        assert store.setting("keep_classes") == ["spare"]
        from protolabel.segmentation.project.export import export_coco

        export_coco(store, tmp_path / "out.json", labels=("cat", "spare", "unused"))
    names = [c["name"] for c in json.loads((tmp_path / "out.json").read_text())["categories"]]
    assert names == ["cat", "spare"]


def test_counts_follow_an_auto_label_run(make_window, qtbot, photo_folder):
    window, _ = open_with_objects(make_window, qtbot, photo_folder, ["cat"])
    with ProjectStore.open(photo_folder) as job_store:  # a job writes through its own connection
        job_store.replace_auto_objects(
            "coffee.png",
            [AnnotatedObject("cup", _square(5, 5), score=0.8), AnnotatedObject("cat", _square(40, 5), score=0.7)],
        )
    window.autolabel.busy_changed.emit(False)  # the run ended
    dock = window.labels_dock
    assert {c: dock.table.item(dock.row_of(c), 1).text() for c in dock.classes()} == {"cat": "2", "cup": "1"}


# ---------------------------------------------------------------- class steps are undoable (Ctrl+Z / Redo)
def open_with_three_images(make_window, qtbot, folder):
    """astronaut.png (shown) and chelsea.jpg, coffee.png (never opened) with objects of cat, dog and toaster;
    one auto object with a score. Returns the window."""
    layout = {"astronaut.png": ["cat", "dog"], "chelsea.jpg": ["cat", "toaster"], "coffee.png": ["dog", "cat"]}
    with ProjectStore.open(folder) as store:
        for name, labels in layout.items():
            store.write_change(
                name,
                status=ImageStatus.EDITED,
                saved=[AnnotatedObject(label, _square(5 + 25 * i, 7, 17 + i)) for i, label in enumerate(labels)],
            )
        store.write_change(
            "coffee.png", saved=[AnnotatedObject("toaster", _square(50, 50, 13.5), provenance="auto", score=0.625)]
        )
        store.set_setting("labels", ["cat", "dog", "toaster"])
    window = make_window()
    assert window.open_folder(folder)
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")
    return window


def everything(folder):
    """Every stored object (all fields) per image, and the class settings, read through a fresh connection."""
    with ProjectStore.open(folder) as store:
        objects = {
            name: [(o.id, o.label, o.provenance, o.score, o.shape) for o in store.objects(name)]
            for name in ("astronaut.png", "chelsea.jpg", "coffee.png")
        }
        settings = [store.setting(key) or None for key in ("labels", "label_colors", "keep_classes")]
    return objects, settings


def ctrl_z(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def yes(box):
    from PySide6.QtWidgets import QMessageBox

    box.button(QMessageBox.StandardButton.Yes).click()


def test_rename_then_ctrl_z_restores_names_in_every_image_and_redo_renames_again(make_window, qtbot, photo_folder):
    window = open_with_three_images(make_window, qtbot, photo_folder)
    window.projects.project.set_class_color("cat", "#123456")
    window.projects.project.set_kept("cat", True)
    before = everything(photo_folder)
    dock = window.labels_dock
    dock.select_class("cat")

    def type_name(dialog):
        dialog.setTextValue("kitten")
        dialog.accept()

    answer_modal(qtbot, dock.buttons["rename"].click, type_name)
    renamed = everything(photo_folder)
    assert stored(photo_folder, "coffee.png") == ["dog", "kitten", "toaster"]
    assert "Rename class 'cat'" in window.undo_action.text()

    ctrl_z(qtbot, window)
    assert everything(photo_folder) == before  # objects of all three images, list, colour, keep flag
    assert dock.classes() == ["cat", "dog", "toaster"]
    assert sorted(o.label for o in window.projects.project.current.objects) == ["cat", "dog"]  # the open image too
    assert not window.undo_action.isEnabled() and "Rename class" in window.redo_action.text()

    window.redo_action.trigger()
    assert everything(photo_folder) == renamed and dock.classes() == ["kitten", "dog", "toaster"]
    ctrl_z(qtbot, window)
    assert everything(photo_folder) == before


def test_merge_then_undo_restores_both_classes_and_their_objects(make_window, qtbot, photo_folder):
    window = open_with_three_images(make_window, qtbot, photo_folder)
    before = everything(photo_folder)
    dock = window.labels_dock
    dock.select_class("toaster")
    answer_modal(qtbot, lambda: dock.merge("dog"), yes)
    assert dock.classes() == ["cat", "dog"] and stored(photo_folder, "chelsea.jpg") == ["cat", "dog"]
    ctrl_z(qtbot, window)
    assert everything(photo_folder) == before  # same ids in each class, not just the same counts
    counts = {c: dock.table.item(dock.row_of(c), 1).text() for c in dock.classes()}
    assert counts == {"cat": "3", "dog": "2", "toaster": "2"}


def test_delete_then_undo_restores_objects_with_provenance_and_pixels(make_window, qtbot, photo_folder, tmp_path):
    import json

    import numpy as np
    from pycocotools.coco import COCO

    from protolabel.segmentation.project.export import export_coco

    def masks(path):
        coco = COCO(str(path))
        return {
            (
                coco.imgs[a["image_id"]]["file_name"],
                coco.cats[a["category_id"]]["name"],
                a.get("score"),
                json.dumps(a.get("attributes", a.get("source"))),
            ): coco.annToMask(a)
            for a in coco.dataset["annotations"]
        }

    window = open_with_three_images(make_window, qtbot, photo_folder)
    store = window.projects.project.store
    export_coco(store, tmp_path / "before.json", labels=window.projects.project.labels)
    before = everything(photo_folder)
    dock = window.labels_dock
    dock.select_class("toaster")
    answer_modal(qtbot, dock.buttons["delete"].click, yes)
    assert "toaster" not in dock.classes() and stored(photo_folder, "coffee.png") == ["cat", "dog"]

    ctrl_z(qtbot, window)
    assert everything(photo_folder) == before
    auto = [o for o in before[0]["coffee.png"] if o[1] == "toaster"]
    assert auto and auto[0][2] == "auto" and auto[0][3] == 0.625
    export_coco(store, tmp_path / "after.json", labels=window.projects.project.labels)
    old, new = masks(tmp_path / "before.json"), masks(tmp_path / "after.json")
    assert old.keys() == new.keys() and all(np.array_equal(old[k], new[k]) for k in old)  # pycocotools pixels

    window.redo_action.trigger()
    assert "toaster" not in window.projects.project.class_counts()


def test_image_step_after_a_class_step_is_undone_first(make_window, qtbot, photo_folder):
    window = open_with_three_images(make_window, qtbot, photo_folder)
    dock = window.labels_dock
    dock.select_class("cat")
    dock.rename("kitten")
    document = window.projects.project.current
    (dog,) = [o.id for o in document.objects if o.label == "dog"]
    window.selection.set([dog])
    qtbot.keyClick(window, Qt.Key.Key_1)  # the dock's first class: kitten (an image step, newer)
    assert document.get(dog).label == "kitten"
    ctrl_z(qtbot, window)
    assert document.get(dog).label == "dog" and stored(photo_folder, "coffee.png") == ["dog", "kitten", "toaster"]
    ctrl_z(qtbot, window)
    assert stored(photo_folder, "coffee.png") == ["cat", "dog", "toaster"]


def test_undo_refused_when_another_window_changed_an_object_since(make_window, qtbot, photo_folder):
    window = open_with_three_images(make_window, qtbot, photo_folder)
    dock = window.labels_dock
    dock.select_class("cat")
    dock.rename("kitten")
    with ProjectStore.open(photo_folder) as other:  # another program edits one renamed object (not open here)
        kitten = other.objects("coffee.png")[1]  # dog, kitten, the auto toaster (in id order)
        assert kitten.label == "kitten"
        other.write_change("coffee.png", saved=[kitten.with_changes(shape=_square(60, 60))])
    after = everything(photo_folder)
    ctrl_z(qtbot, window)
    assert everything(photo_folder) == after  # nothing written: no label put back, the class list unchanged
    assert f"object {kitten.id}" in window.last_error and "refused" in window.last_error
    assert window.undo_action.isEnabled() and "Rename class" in window.undo_action.text()  # the history stayed
    assert dock.classes() == ["kitten", "dog", "toaster"]


# ---------------------------------------------------------------- counts kept up to date in place
def table_rows(dock):
    t = dock.table
    return [
        (
            t.item(r, 0).text(),
            t.item(r, 0).checkState(),
            t.item(r, 1).text(),
            t.item(r, 2).checkState(),
            t.item(r, 0).icon().pixmap(14, 14).toImage().pixelColor(7, 7).name(),
        )
        for r in range(t.rowCount())
    ]


def test_counts_follow_edits_and_undo_in_place_and_an_image_switch_rebuilds_nothing(make_window, qtbot, photo_folder):

    window = open_with_three_images(make_window, qtbot, photo_folder)
    dock = window.labels_dock
    cells = [dock.table.item(r, c) for r in range(dock.table.rowCount()) for c in range(3)]
    document = window.projects.project.current
    window.selection.set([o.id for o in document.objects if o.label == "cat"])
    qtbot.keyClick(window, Qt.Key.Key_3)  # cat -> toaster on the shown image
    window.selection.set([o.id for o in document.objects if o.label == "dog"])
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    ctrl_z(qtbot, window)  # the dog comes back
    window.actions_by_name["next_image"].trigger()
    qtbot.waitUntil(lambda: window.projects.project.current_name == "chelsea.jpg")
    window.actions_by_name["previous_image"].trigger()
    qtbot.waitUntil(lambda: window.projects.project.current_name == "astronaut.png")
    assert [dock.table.item(r, c) for r in range(dock.table.rowCount()) for c in range(3)] == cells  # same items

    with ProjectStore.open(photo_folder) as store:  # the oracle: the store, through its own connection
        truth = store.label_counts()
    assert truth == {"cat": 2, "dog": 2, "toaster": 3}  # astronaut's cat became a toaster; its dog came back
    assert {dock.table.item(r, 0).text(): dock.table.item(r, 1).text() for r in range(3)} == {
        label: str(n) for label, n in truth.items()
    }
    class_list = ClassList()  # a class list and dock built from scratch on the same project show the same table
    class_list.set_project(window.projects.project)
    fresh = LabelsDock(class_list, window.visibility)
    try:
        assert table_rows(fresh) == table_rows(dock)
    finally:
        class_list.set_project(None)
        fresh.deleteLater()


def test_a_hidden_class_stays_hidden_through_rename_undo_and_redo(make_window, qtbot, photo_folder):
    window = open_with_three_images(make_window, qtbot, photo_folder)
    dock = window.labels_dock
    dock.table.item(dock.row_of("cat"), 0).setCheckState(Qt.CheckState.Unchecked)
    dock.select_class("cat")
    dock.rename("kitten")
    assert window.visibility.hidden_classes == {"kitten"}
    ctrl_z(qtbot, window)
    assert window.visibility.hidden_classes == {"cat"}
    assert dock.table.item(dock.row_of("cat"), 0).checkState() == Qt.CheckState.Unchecked
    cats = [o.id for o in window.projects.project.current.objects if o.label == "cat"]
    assert cats and not any(window.canvas.items_by_id[i].shown for i in cats)
    window.redo_action.trigger()
    assert window.visibility.hidden_classes == {"kitten"}


def test_a_rename_in_the_classes_dock_reaches_the_mapping_and_ctrl_z_takes_it_back(make_window, qtbot, photo_folder):
    """Issue 20 (W1): after renaming toaster -> kettle, the next model run brought 'toaster' back."""
    window = open_with_three_images(make_window, qtbot, photo_folder)
    project, dock = window.projects.project, window.labels_dock
    dock.select_class("toaster")
    answer_modal(qtbot, dock.buttons["rename"].click, lambda dialog: (dialog.setTextValue("kettle"), dialog.accept()))
    assert project.class_mapping.label_for("toaster") == "kettle"
    assert "1 renamed" in window.autolabel_dock.mapping_label.text()
    ctrl_z(qtbot, window)
    assert project.class_mapping.label_for("toaster") == "toaster"
    assert "renamed" not in window.autolabel_dock.mapping_label.text()


def test_the_class_for_new_polygons_changes_only_by_choice_and_follows_a_rename(make_window, qtbot, photo_folder):
    """Issue 20: giving an object a class (number key, Ctrl+L) changed the class new polygons get, while the
    New polygons box still showed the old one; a renamed class came back through it."""
    window, (cat, _dog) = open_with_objects(make_window, qtbot, photo_folder, ["cat", "dog"])
    project, box = window.projects.project, window.objects_dock.label_box
    box.setEditText("dog")  # the person's choice
    window.selection.set([cat])
    qtbot.keyClick(window, Qt.Key.Key_1)  # the object gets 'cat'; the choice stays
    assert project.current.get(cat).label == "cat"
    window.selection.set([cat])
    qtbot.keyClick(window, Qt.Key.Key_2)
    qtbot.keyClick(window, Qt.Key.Key_1)
    assert window.editing.new_object_label == "dog" == box.currentText()
    assert project.store.setting("new_object_label") == "dog"

    dock = window.labels_dock
    dock.select_class("dog")
    answer_modal(qtbot, dock.buttons["rename"].click, lambda dialog: (dialog.setTextValue("hound"), dialog.accept()))
    assert window.editing.new_object_label == "hound" == box.currentText()
    assert project.store.setting("new_object_label") == "hound"
    ctrl_z(qtbot, window)
    assert window.editing.new_object_label == "dog" == box.currentText()


def test_a_damaged_class_mapping_is_said_at_open_and_a_rename_changes_nothing(make_window, qtbot, photo_folder):
    with ProjectStore.open(photo_folder) as store:
        store.set_setting("class_mapping", "not a mapping")
    window = open_with_three_images(make_window, qtbot, photo_folder)
    assert "class mapping is damaged" in window.last_error
    dock = window.labels_dock
    dock.select_class("toaster")
    dock.rename("kettle")
    assert "class mapping is damaged" in window.last_error and "toaster" in dock.classes()
