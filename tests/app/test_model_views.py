"""One model and one widget: the Classes dock, the Objects dock and the canvas render the visibility, class list
and session models, and change them through their API (no main window)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from protolabel.app.canvas.view import CanvasView
from protolabel.app.docks.labels import LabelsDock
from protolabel.app.docks.objects import ObjectsDock
from protolabel.segmentation.geometry import Polygon, Shape
from protolabel.segmentation.project.class_list import ClassList
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.selection import Selection
from protolabel.segmentation.project.session import Session
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.project.visibility import Visibility


def _square(x: float, y: float, size: float = 10) -> Shape:
    return Shape((Polygon(((x, y), (x + size, y), (x + size, y + size), (x, y + size))),))


@pytest.fixture
def project(photo_folder):
    """astronaut.png with a cat, a dog and an auto cat scored 0.4; classes cat, dog, bird."""
    with ProjectStore.open(photo_folder) as store:
        store.write_change(
            "astronaut.png",
            status=ImageStatus.EDITED,
            saved=[
                AnnotatedObject("cat", _square(5, 5)),
                AnnotatedObject("dog", _square(30, 5)),
                AnnotatedObject("cat", _square(55, 5), provenance="auto", score=0.4),
            ],
        )
        store.set_setting("labels", ["cat", "dog", "bird"])
    project = Project.open(photo_folder)
    yield project
    project.close()


def _eyes(dock: LabelsDock) -> dict[str, bool]:
    table = dock.table
    return {table.item(r, 0).text(): table.item(r, 0).checkState() == Qt.CheckState.Checked for r in range(3)}


def test_classes_dock_renders_the_models_and_its_eye_writes_the_visibility_model(qtbot, project):
    classes, visibility = ClassList(), Visibility()
    dock = LabelsDock(classes, visibility)
    qtbot.addWidget(dock)
    assert dock.table.rowCount() == 0
    classes.set_project(project)
    assert [dock.table.item(r, 1).text() for r in range(3)] == ["2", "1", "0"]
    visibility.set_class_shown("dog", False)  # model -> widget
    assert _eyes(dock) == {"cat": True, "dog": False, "bird": True}
    dock.table.item(dock.row_of("cat"), 0).setCheckState(Qt.CheckState.Unchecked)  # widget -> model
    assert visibility.hidden_classes == {"cat", "dog"}
    document = project.document("astronaut.png")
    document.apply(document.relabel([document.objects[1].id], "bird"))  # an edit: the counts move in place
    assert [dock.table.item(r, 1).text() for r in range(3)] == ["2", "0", "1"]


def test_classes_dock_lists_what_the_model_lists_not_what_its_cells_say(qtbot, project):
    classes = ClassList()
    dock = LabelsDock(classes, Visibility())
    qtbot.addWidget(dock)
    classes.set_project(project)
    dock.table.item(0, 0).setText("tampered")  # a cell is no source of truth
    assert dock.classes() == ["cat", "dog", "bird"]
    dock.select_class("dog")
    assert dock.selected_class() == "dog"


def test_canvas_draws_what_the_visibility_model_says(qtbot, project):
    visibility = Visibility()
    canvas = CanvasView(visibility)
    qtbot.addWidget(canvas)
    document = project.document("astronaut.png")
    canvas.show_image(np.zeros((96, 96, 3), np.uint8), document, Selection())
    cat, dog, weak = (o.id for o in document.objects)

    def shown():
        return {i: canvas.items_by_id[i].shown for i in (cat, dog, weak)}

    assert shown() == {cat: True, dog: True, weak: True}
    visibility.set_class_shown("cat", False)
    assert shown() == {cat: False, dog: True, weak: False}
    visibility.set_class_shown("cat", True)
    visibility.set_score_threshold(0.5)
    visibility.set_objects_hidden([dog], True)
    assert shown() == {cat: True, dog: False, weak: False}
    document.apply(document.accept_objects([weak]))  # verified: the score cut no longer hides it
    assert shown()[weak]
    visibility.set_all_shown(False)
    assert not any(shown().values()) and not canvas.objects_visible


def test_objects_dock_slider_and_eyes_write_the_model_and_render_it(qtbot, project):
    visibility = Visibility()
    dock = ObjectsDock(Session(visibility=visibility))
    qtbot.addWidget(dock)
    document = project.document("astronaut.png")
    dock.set_document(document)
    cat, dog, weak = (o.id for o in document.objects)
    dock.score_slider.setValue(50)  # widget -> model
    assert visibility.score_threshold == 0.5 and "1 hidden" in dock.score_label.text()
    visibility.set_score_threshold(0.2)  # model -> widget
    assert dock.score_slider.value() == 20 and "0 hidden" in dock.score_label.text()
    dock.list.item(dock.row_of(dog)).setCheckState(Qt.CheckState.Unchecked)
    assert visibility.hidden_objects == {dog}
    visibility.set_objects_hidden([dog], False)
    assert dock.list.item(dock.row_of(dog)).checkState() == Qt.CheckState.Checked


def test_new_polygons_box_renders_the_session_and_typing_there_chooses(qtbot):
    session = Session()
    chosen = []
    session.events.new_object_label_chosen.connect(chosen.append)
    dock = ObjectsDock(session)
    qtbot.addWidget(dock)
    dock.show_classes(("cat", "dog"))
    session.list_classes(("cat", "dog"))  # model -> widget: the first class replaces the stand-in
    assert dock.label_box.currentText() == "cat" and dock.label_box.currentIndex() == 0
    session.use_new_object_label("dog")
    assert dock.label_box.currentIndex() == 1 and chosen == []
    dock.label_box.lineEdit().clear()
    qtbot.keyClicks(dock.label_box.lineEdit(), "fox")  # widget -> model
    assert session.new_object_label == "fox" and chosen[-1] == "fox"
    dock.show_classes(("cat", "dog", "fox"))  # a new class list keeps the session's class
    assert dock.label_box.currentText() == "fox"
