"""The session model: one writer of the class new objects get, and the open project with what it resets."""

from __future__ import annotations

import pytest

from protolabel.segmentation.project.labels import DEFAULT_LABEL
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.session import Session
from protolabel.segmentation.project.store import ProjectStore
from tests.segmentation.project.conftest import make_square, write_images


def _events(session: Session) -> tuple[list[str], list[str]]:
    used: list[str] = []
    chosen: list[str] = []
    session.events.new_object_label.connect(used.append)
    session.events.new_object_label_chosen.connect(chosen.append)
    return used, chosen


def test_the_stand_in_gives_way_to_the_first_classes_that_arrive():
    session = Session()
    used, chosen = _events(session)
    assert session.new_object_label == DEFAULT_LABEL
    assert session.list_classes(()) == DEFAULT_LABEL  # still no class: the stand-in stays a stand-in
    assert session.list_classes(("kite", "flag")) == "kite"
    assert session.list_classes(("bird", "kite")) == "kite"  # now a class in use: kept
    assert used == ["kite"] and chosen == []


def test_a_typed_class_stays_when_classes_arrive_but_not_into_another_project():
    session = Session()
    used, chosen = _events(session)
    session.choose_new_object_label("zebra")
    assert session.list_classes(("kite",)) == "zebra"
    assert session.list_classes(("kite",), keep=False) == "kite"  # another project: not carried
    assert session.list_classes((), keep=False) == DEFAULT_LABEL
    assert session.list_classes(("flag",)) == "flag"
    assert used == ["zebra", "kite", DEFAULT_LABEL, "flag"] and chosen == ["zebra"]


def test_a_saved_class_is_used_without_being_a_new_choice():
    session = Session()
    used, chosen = _events(session)
    session.use_new_object_label("giraffe")
    assert session.list_classes(("cat",)) == "giraffe" and used == ["giraffe"] and chosen == []


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder, ["a.png"])
    with ProjectStore.open(folder) as store:
        store.write_change(
            "a.png",
            status=ImageStatus.EDITED,
            saved=[AnnotatedObject(label, make_square(2 + 12 * i, 2)) for i, label in enumerate(["cat", "dog"])],
        )
    project = Project.open(folder)
    project.set_labels(("cat", "dog"))
    yield project
    project.close()


def test_the_class_for_new_objects_follows_a_rename_and_its_undo(project):
    session = Session()
    session.choose_new_object_label("cat")
    edit = project.rename_class("cat", "kitten")
    assert session.follow_class_edit(edit) and session.new_object_label == "kitten"
    edit = project.undo_class_edit(edit)
    assert session.follow_class_edit(edit, undone=True) and session.new_object_label == "cat"
    other = project.rename_class("dog", "hound")
    assert not session.follow_class_edit(other) and session.new_object_label == "cat"


def test_an_undone_merge_keeps_the_class_it_merged_into(project):
    session = Session()
    session.choose_new_object_label("cat")
    edit = project.rename_class("cat", "dog")
    assert session.follow_class_edit(edit) and session.new_object_label == "dog"
    edit = project.undo_class_edit(edit)
    assert not session.follow_class_edit(edit, undone=True) and session.new_object_label == "dog"


def test_another_project_resets_what_was_hidden_in_the_last_one(project):
    session = Session()
    opened: list[object] = []
    session.events.project.connect(opened.append)
    session.visibility.set_class_shown("cat", False)
    session.visibility.set_objects_hidden([1], True)
    session.set_project(project)
    session.set_project(project)  # the same: no event
    assert session.project is project and opened == [project]
    assert not session.visibility.hidden_classes and not session.visibility.hidden_objects
    session.set_project(None)
    assert opened == [project, None]
