"""The attributes panel in the objects dock: it shows the selected object's attributes by the project's schema
and edits them through the real widgets as undoable changes; alone, it reports edits and not shown values."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from protolabel.app.docks.attributes_panel import AttributesPanel
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.attributes import ATTRIBUTE_SCHEMA_KEY, parse_attribute_schema
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore

SCHEMA = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "pose", "kind": "choice", "choices": ["front", "side"]},
    {"name": "note", "kind": "text"},
    {"name": "age", "kind": "number", "default": 1},
]


def _square(x: float, y: float, size: float) -> Shape:
    return Shape((Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], float)),))


@pytest.fixture
def window(make_window, photo_folder):
    with ProjectStore.open(photo_folder) as store:
        store.set_setting(ATTRIBUTE_SCHEMA_KEY, SCHEMA)
        store.write_change(
            "astronaut.png",
            saved=[
                AnnotatedObject("cat", _square(5, 5, 10), attributes={"pose": "side", "age": 3}),
                AnnotatedObject("dog", _square(40, 40, 20)),
            ],
            status=ImageStatus.EDITED,
        )
    window = make_window()
    window.open_folder(photo_folder)
    return window


def _attributes(folder):
    with ProjectStore.open(folder) as store:
        return [o.attributes for o in store.objects("astronaut.png")]


def test_the_panel_edits_the_selected_objects_attributes_as_undoable_changes(window, photo_folder, qtbot):
    panel = window.objects_dock.attributes
    cat, dog = sorted(window.projects.project.current.objects, key=lambda o: o.id)
    assert not panel.isVisible()  # nothing selected: the list keeps the dock's height
    window.selection.set([cat.id])
    assert panel.editors["pose"].isEnabled()
    assert panel.editors["pose"].currentText() == "side" and panel.editors["age"].value() == 3
    assert not panel.editors["occluded"].isChecked()  # the default where the object has none

    assert panel.isVisible()
    panel.editors["occluded"].setFocus()
    QTest.keyClick(panel.editors["occluded"], Qt.Key.Key_Space)  # the keyboard way
    note = panel.editors["note"]
    note.setFocus()
    QTest.keyClicks(note, "left ear hidden")
    QTest.keyClick(note, Qt.Key.Key_Return)
    assert _attributes(photo_folder)[0] == {"pose": "side", "age": 3, "occluded": True, "note": "left ear hidden"}

    window.history.undo()  # one step per edit: the note goes, the checkbox stays
    assert _attributes(photo_folder)[0] == {"pose": "side", "age": 3, "occluded": True}
    assert panel.editors["note"].text() == ""  # the panel follows the document

    window.selection.set([dog.id])  # another object: its own values, and editing it leaves the cat alone
    assert panel.editors["pose"].currentText() == "front" and not panel.editors["occluded"].isChecked()
    panel.editors["pose"].activated.emit(1)  # as a person's choice in the list
    assert _attributes(photo_folder) == [{"pose": "side", "age": 3, "occluded": True}, {"pose": "side"}]

    window.selection.set([cat.id, dog.id])
    assert not panel.isVisible()


def test_showing_values_is_not_an_edit_and_an_unchanged_field_emits_nothing(qtbot):
    panel = AttributesPanel()
    qtbot.addWidget(panel)
    edits = []
    panel.attribute_edited.connect(lambda name, value: edits.append((name, value)))
    schema = parse_attribute_schema(SCHEMA)
    panel.show_object(schema, {"occluded": True, "note": "x", "age": 2})
    panel.show_object(schema, {})
    panel.editors["note"].editingFinished.emit()  # focus left the field, text unchanged
    assert edits == []
    panel.editors["age"].setValue(2.5)
    panel.editors["occluded"].setChecked(True)
    assert edits == [("age", 2.5), ("occluded", True)]


def test_a_project_without_a_schema_or_with_a_broken_one_says_so(make_window, photo_folder):
    with ProjectStore.open(photo_folder) as store:
        store.write_change("astronaut.png", saved=[AnnotatedObject("cat", _square(5, 5, 10))])
    window = make_window()
    window.open_folder(photo_folder)
    panel = window.objects_dock.attributes
    (cat,) = window.projects.project.current.objects
    window.selection.set([cat.id])
    assert not panel.isVisible()  # no attributes in this project: nothing to show
    window.projects.project.store.set_setting(ATTRIBUTE_SCHEMA_KEY, [{"name": "pose", "kind": "colour"}])
    window.selection.set([])
    window.selection.set([cat.id])
    assert panel.isVisible() and panel.note.text() == (
        "The project's attribute schema cannot be used: attribute 'pose' has the kind 'colour'; use one of "
        "checkbox, choice, text, number"
    )


def test_f2_reaches_the_panel_and_its_keys_edit_attributes_not_the_window(window, photo_folder, qtbot):
    panel = window.objects_dock.attributes
    cat, _dog = sorted(window.projects.project.current.objects, key=lambda o: o.id)
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_F2)
    assert window.statusBar().currentMessage() == "Select one object to edit its attributes"
    window.selection.set([cat.id])
    QTest.keyClick(window.canvas, Qt.Key.Key_F2)
    assert panel.editors["occluded"].hasFocus()
    QTest.keyClick(panel.editors["occluded"], Qt.Key.Key_Tab)  # Tab moves on: it does not go to the dog
    assert panel.editors["pose"].hasFocus() and window.selection.ids == {cat.id}
    QTest.keyClick(panel.editors["pose"], Qt.Key.Key_F)  # a choice's first letter, not a window command
    QTest.keyClick(panel.editors["pose"], Qt.Key.Key_Tab)
    QTest.keyClicks(panel.editors["note"], "d")  # 'd' is "next image" elsewhere
    QTest.keyClick(panel.editors["note"], Qt.Key.Key_Tab)
    age = panel.editors["age"]
    assert age.hasFocus()
    age.selectAll()
    QTest.keyClicks(age, "7")  # '7' gives class 7 elsewhere
    QTest.keyClick(age, Qt.Key.Key_Return)
    assert window.projects.project.current_name == "astronaut.png"
    assert _attributes(photo_folder)[0] == {"pose": "front", "age": 7, "note": "d"}
    assert [o.label for o in window.projects.project.current.objects] == ["cat", "dog"]
    QTest.keyClick(age, Qt.Key.Key_Escape)  # back to the canvas, where F2 came from
    assert window.canvas.hasFocus()


def test_f2_in_a_project_without_attributes_says_how_to_define_them(make_window, photo_folder):
    with ProjectStore.open(photo_folder) as store:
        store.write_change("astronaut.png", saved=[AnnotatedObject("cat", _square(5, 5, 10))])
    window = make_window()
    window.open_folder(photo_folder)
    (cat,) = window.projects.project.current.objects
    window.selection.set([cat.id])
    window.actions_by_name["edit_attributes"].trigger()
    assert window.statusBar().currentMessage() == (
        "This project has no attributes yet: define them with Project ▸ Attributes…"
    )
