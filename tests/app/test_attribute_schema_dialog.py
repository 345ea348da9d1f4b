"""Project ▸ Attributes…: the schema is defined in the app with the keyboard alone; OK asks first when objects
lose values, the change is one project-wide undo step, and the Objects dock's panel follows it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from protolabel.app.dialogs.attribute_schema import AttributeSchemaDialog
from protolabel.segmentation.geometry.shapes import Polygon, Shape
from protolabel.segmentation.project.attributes import ATTRIBUTE_SCHEMA_KEY, AttributeKind, parse_attribute_schema
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore

SCHEMA = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "pose", "kind": "choice", "choices": ["front", "side"]},
]


def _square(x: float, y: float, size: float) -> Shape:
    return Shape((Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], float)),))


def _no_plan(schema, renames):
    raise AssertionError("OK was not expected to plan")


@pytest.fixture
def dialog(qtbot):
    dialog = AttributeSchemaDialog(parse_attribute_schema(SCHEMA), _no_plan)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # mnemonics fire only in the active window
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def _alt(dialog, key):
    QTest.keyClick(QApplication.focusWidget() or dialog, key, Qt.KeyboardModifier.AltModifier)


def test_attributes_are_added_and_set_up_without_the_mouse(dialog, qtbot):
    _alt(dialog, Qt.Key.Key_A)  # Add: a new row, its name field focused
    qtbot.waitUntil(lambda: len(dialog.rows) == 3)  # a button's mnemonic clicks it after a short flash
    assert dialog.name.hasFocus()
    assert not dialog.ok_button.isEnabled() and dialog.message.text() == "Attribute 3 has no name: type one"
    QTest.keyClicks(dialog.name, "pose")
    assert dialog.message.text() == "Two attributes are called 'pose': names must differ"
    QTest.keyClick(dialog.name, Qt.Key.Key_Backspace)
    QTest.keyClicks(dialog.name, "ition")
    _alt(dialog, Qt.Key.Key_K)  # Kind
    assert dialog.kind.hasFocus()
    QTest.keyClick(dialog.kind, Qt.Key.Key_Down)  # checkbox -> choice
    assert dialog.rows[2].kind is AttributeKind.CHOICE
    assert dialog.message.text() == "'position' is a choice: list at least one choice"
    _alt(dialog, Qt.Key.Key_C)
    QTest.keyClicks(dialog.choices, "left")
    QTest.keyClick(dialog.choices, Qt.Key.Key_Return)
    QTest.keyClicks(dialog.choices, "right")
    _alt(dialog, Qt.Key.Key_F)  # Default: the choice box, now listing the choices
    assert dialog.default_choice.hasFocus()
    QTest.keyClick(dialog.default_choice, Qt.Key.Key_Down)
    assert dialog.ok_button.isEnabled() and dialog.message.text() == ""
    assert dialog.rows[2].choices == ("left", "right") and dialog.rows[2].default == "right"

    dialog.list.setFocus()  # reorder and remove in the list
    QTest.keyClick(dialog.list, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert [r.name for r in dialog.rows] == ["occluded", "position", "pose"]
    QTest.keyClick(dialog.list, Qt.Key.Key_Down)  # to pose
    QTest.keyClick(dialog.list, Qt.Key.Key_Delete)
    assert [r.name for r in dialog.rows] == ["occluded", "position"]
    QTest.keyClick(dialog.list, Qt.Key.Key_Up)  # occluded: rename it, it stays the stored one
    _alt(dialog, Qt.Key.Key_N)
    dialog.name.selectAll()
    QTest.keyClicks(dialog.name, "hidden")
    assert dialog.list.item(0).text() == "hidden — checkbox  (was occluded)"
    assert dialog.rows[0].origin == "occluded"


def test_a_number_default_and_a_kind_change_reset_the_default(dialog):
    dialog.list.setCurrentRow(1)  # pose, a choice: becomes a number
    dialog.kind.setFocus()
    QTest.keyClick(dialog.kind, Qt.Key.Key_Down)
    QTest.keyClick(dialog.kind, Qt.Key.Key_Down)
    assert dialog.rows[1].kind is AttributeKind.NUMBER and dialog.rows[1].default is None
    assert not dialog.choices.isEnabled()
    dialog.default_number.setFocus()
    dialog.default_number.selectAll()
    QTest.keyClicks(dialog.default_number, "2.5")
    assert dialog.rows[1].default == 2.5 and dialog.ok_button.isEnabled()


@pytest.fixture
def window(make_window, photo_folder):
    with ProjectStore.open(photo_folder) as store:
        store.set_setting(ATTRIBUTE_SCHEMA_KEY, SCHEMA)
        store.write_change(
            "astronaut.png",
            saved=[
                AnnotatedObject("cat", _square(5, 5, 10), attributes={"occluded": True, "pose": "side"}),
                AnnotatedObject("dog", _square(40, 40, 20), attributes={"pose": "front"}),
            ],
            status=ImageStatus.EDITED,
        )
    window = make_window()
    window.open_folder(photo_folder)
    return window


def _attributes(folder):
    with ProjectStore.open(folder) as store:
        return [o.attributes for o in store.objects("astronaut.png")], store.setting(ATTRIBUTE_SCHEMA_KEY)


def _in_dialog(qtbot, drive):
    """Run `drive(dialog)` once the modal dialog opens (the action's exec blocks until it closes)."""

    def find():
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, AttributeSchemaDialog):
            drive(dialog)
        else:
            QTimer.singleShot(20, find)

    QTimer.singleShot(0, find)


def test_the_menu_renames_and_removes_asking_first_and_undo_brings_all_back(window, photo_folder, qtbot):
    asked = []
    menu_names = [a.text() for a in window.menuBar().actions()]
    assert "Project" in menu_names

    def declined_then_confirmed(dialog):
        dialog.list.setCurrentRow(0)
        dialog.name.setFocus()
        dialog.name.selectAll()
        QTest.keyClicks(dialog.name, "hidden")
        dialog.list.setCurrentRow(1)
        dialog.remove_row()
        dialog.confirm = lambda text: asked.append(text) or False
        dialog.ok_button.click()  # declined: still open, nothing lost
        assert dialog.isVisible() and [r.name for r in dialog.rows] == ["hidden"]
        dialog.confirm = lambda text: asked.append(text) or True
        dialog.ok_button.click()

    _in_dialog(qtbot, declined_then_confirmed)
    window.actions_by_name["attribute_schema"].trigger()
    assert (
        asked[0]
        == asked[1]
        == ("2 objects lose its 'pose' value: the attribute is removed\n\nUndo (Ctrl+Z) brings the values back.")
    )
    values, schema = _attributes(photo_folder)
    assert values == [{"hidden": True}, None] and [s["name"] for s in schema] == ["hidden"]

    panel = window.objects_dock.attributes
    cat = min(window.projects.project.current.objects, key=lambda o: o.id)
    window.selection.set([cat.id])
    assert list(panel.editors) == ["hidden"] and panel.editors["hidden"].isChecked()
    assert window.undo_action.text() == "&Undo Edit attributes"

    window.undo_action.trigger()
    values, schema = _attributes(photo_folder)
    assert values == [{"occluded": True, "pose": "side"}, {"pose": "front"}]
    assert [s["name"] for s in schema] == ["occluded", "pose"]
    qtbot.waitUntil(lambda: list(panel.editors) == ["occluded", "pose"])
    assert panel.editors["pose"].currentText() == "side"
    window.redo_action.trigger()
    assert _attributes(photo_folder)[0] == [{"hidden": True}, None]


def test_without_a_project_the_menu_says_what_to_do(make_window):
    window = make_window()
    window.actions_by_name["attribute_schema"].trigger()
    assert window.last_error == "Open a folder first: the attributes belong to its project"


def test_a_damaged_stored_schema_is_said_and_left_alone(make_window, photo_folder):
    broken = [{"name": "pose", "kind": "colour"}]
    with ProjectStore.open(photo_folder) as store:
        store.set_setting(ATTRIBUTE_SCHEMA_KEY, broken)
    window = make_window()
    window.open_folder(photo_folder)
    window.actions_by_name["attribute_schema"].trigger()
    assert window.last_error == (
        "The project's attribute schema cannot be used (attribute 'pose' has the kind 'colour'; use one of "
        "checkbox, choice, text, number); nothing was changed"
    )
    assert _attributes(photo_folder)[1] == broken


def test_tab_goes_from_the_list_to_the_fields_of_its_row(dialog):
    dialog.list.setFocus()
    seen = []
    for _ in range(4):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    # occluded is a checkbox: no choices to edit, and its default is the checkbox of the default editors
    assert seen == [dialog.name, dialog.kind, dialog.default_check, dialog.add_button]
