"""Image tags in the window: the Image tags dock's checklist shows and sets the current image's tags (written to the
store), a new tag is typed with Enter, and the Images dock's filter lists the images carrying a tag."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from protolabel.app.docks.tags_panel import TagsPanel
from protolabel.segmentation.project.attribute_edit import plan_schema_edit
from protolabel.segmentation.project.attributes import (
    AttributeKind,
    DraftAttribute,
    project_attribute_schema,
    schema_from_drafts,
)
from protolabel.segmentation.project.image_list import TagFilter
from protolabel.segmentation.project.store import ProjectLockedError, ProjectStore


def _click(box):
    """A click on the box's indicator (a checkbox ignores clicks on the empty room right of its text)."""
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def _tags(folder):
    with ProjectStore.open(folder) as store:
        return store.tags_by_image()


def test_the_checklist_sets_tags_and_the_images_dock_filters_by_them(make_window, photo_folder, qtbot):
    with ProjectStore.open(photo_folder) as store:
        store.set_tags("chelsea.jpg", ["cat", "indoor"])
    window = make_window()
    window.open_folder(photo_folder)
    project = window.projects.project
    assert project.current_name == "astronaut.png"
    window.tags_dock.raise_()  # tabbed behind the auto-label dock
    panel = window.tags_dock.panel
    assert list(panel.boxes) == ["cat", "indoor"]  # the project's tags, none on this image
    assert not any(box.isChecked() for box in panel.boxes.values())

    _click(panel.boxes["indoor"])
    panel.new_tag.setFocus()
    QTest.keyClicks(panel.new_tag, "  person ")
    QTest.keyClick(panel.new_tag, Qt.Key.Key_Return)
    assert _tags(photo_folder) == {"astronaut.png": ("indoor", "person"), "chelsea.jpg": ("cat", "indoor")}
    assert panel.boxes["person"].isChecked() and panel.new_tag.text() == ""

    box = window.file_dock.filter_box
    entries = [box.itemText(i) for i in range(box.count())]
    assert entries[-3:] == ["Tagged: cat (1)", "Tagged: indoor (2)", "Tagged: person (1)"]
    box.setCurrentIndex(entries.index("Tagged: indoor (2)"))
    assert project.images.filter == TagFilter("indoor")
    model = window.file_dock.model
    assert [model.name_at(r) for r in range(model.rowCount())] == ["astronaut.png", "chelsea.jpg"]

    _click(panel.boxes["indoor"])  # off again: the image leaves the list
    assert [model.name_at(r) for r in range(model.rowCount())] == ["chelsea.jpg"]
    assert box.currentText() == "Tagged: indoor (1)"
    assert _tags(photo_folder)["astronaut.png"] == ("person",)

    project.set_current("chelsea.jpg")
    qtbot.waitUntil(lambda: panel.boxes["cat"].isChecked())
    assert panel.boxes["indoor"].isChecked() and not panel.boxes["person"].isChecked()


def test_showing_tags_is_not_an_edit_and_without_an_image_nothing_is_editable(qtbot):
    panel = TagsPanel()
    qtbot.addWidget(panel)
    edits = []
    panel.tag_set.connect(lambda tag, on: edits.append((tag, on)))
    panel.show_image(["a", "b"], ["b"])
    assert edits == [] and panel.boxes["b"].isChecked() and not panel.boxes["a"].isChecked()
    panel.boxes["a"].click()
    assert edits == [("a", True)]
    panel.new_tag.setText("   ")  # a blank tag is no tag
    panel.new_tag.returnPressed.emit()
    panel.new_tag.setText("b")  # one the image has already: nothing to do
    panel.new_tag.returnPressed.emit()
    assert edits == [("a", True)]
    panel.show_image(["a"], None)
    assert not panel.boxes["a"].isEnabled() and not panel.new_tag.isEnabled()


def test_setting_a_tag_is_an_undo_step_of_the_image(make_window, photo_folder, qtbot):
    window = make_window()
    window.open_folder(photo_folder)
    project = window.projects.project
    window.tags_dock.raise_()
    panel = window.tags_dock.panel
    panel.new_tag.setFocus()
    QTest.keyClicks(panel.new_tag, "night")
    QTest.keyClick(panel.new_tag, Qt.Key.Key_Return)
    QTest.keyClicks(panel.new_tag, "blurry")
    QTest.keyClick(panel.new_tag, Qt.Key.Key_Return)
    assert _tags(photo_folder) == {"astronaut.png": ("blurry", "night")}
    assert window.undo_action.text() == "&Undo Tag 'blurry'"

    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _tags(photo_folder) == {"astronaut.png": ("night",)}
    assert list(panel.boxes) == ["night"] and panel.boxes["night"].isChecked()  # no image carries 'blurry' now
    _click(panel.boxes["night"])  # off by hand: a new step, the redo of 'blurry' is gone
    assert _tags(photo_folder) == {}
    assert window.undo_action.text() == "&Undo Untag 'night'" and not window.redo_action.isEnabled()
    window.undo_action.trigger()
    assert _tags(photo_folder) == {"astronaut.png": ("night",)}

    project.set_current("chelsea.jpg")  # each image has its own history, as for objects
    qtbot.waitUntil(lambda: project.current_name == "chelsea.jpg")
    assert not window.undo_action.isEnabled()
    project.set_current("astronaut.png")
    qtbot.waitUntil(lambda: window.undo_action.isEnabled())
    with ProjectStore.open(photo_folder) as other:  # another window tags the image since
        other.set_tags("astronaut.png", ["night", "outdoor"])
    window.undo_action.trigger()  # takes back 'night' only: the other window's tag stays
    assert _tags(photo_folder) == {"astronaut.png": ("outdoor",)}
    window.redo_action.trigger()
    assert _tags(photo_folder) == {"astronaut.png": ("night", "outdoor")}


def test_a_refused_tag_undo_leaves_the_history_where_it_was(make_window, photo_folder, monkeypatch):
    window = make_window()
    window.open_folder(photo_folder)
    window.tags.set_tag("night", True)
    store = window.projects.project.store
    set_tags = store.set_tags

    def locked(path, tags):
        raise ProjectLockedError("the project is locked by another program; try again")

    monkeypatch.setattr(store, "set_tags", locked)
    window.undo_action.trigger()
    assert window.last_error == (
        "Undo of 'Tag 'night'' was not done: the project is locked by another program; try again"
    )
    assert _tags(photo_folder) == {"astronaut.png": ("night",)}
    assert window.undo_action.text() == "&Undo Tag 'night'"  # still there to retry
    monkeypatch.setattr(store, "set_tags", set_tags)
    window.undo_action.trigger()
    assert _tags(photo_folder) == {}


def test_tag_steps_and_project_wide_steps_share_one_history(make_window, photo_folder):
    window = make_window()
    window.open_folder(photo_folder)
    project = window.projects.project
    window.tags.set_tag("night", True)
    schema, carried = schema_from_drafts([DraftAttribute("occluded", AttributeKind.CHECKBOX)])
    window.history.push_attribute_edit(
        project, project.edit_attribute_schema(plan_schema_edit(project.store, schema, carried))
    )
    window.tags.set_tag("blurry", True)
    steps = []
    for _ in range(3):
        steps.append(window.undo_action.text())
        window.undo_action.trigger()
    assert steps == ["&Undo Tag 'blurry'", "&Undo Add attribute 'occluded'", "&Undo Tag 'night'"]
    assert _tags(photo_folder) == {} and project_attribute_schema(project.store) == ()
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert _tags(photo_folder) == {"astronaut.png": ("night",)} and len(project_attribute_schema(project.store)) == 1
