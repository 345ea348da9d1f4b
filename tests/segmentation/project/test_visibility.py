"""The visibility model: one rule for what the canvas draws and what Tab passes over; events for the views."""

from __future__ import annotations

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.project.visibility import Visibility
from tests.segmentation.project.conftest import make_square, write_images


def _obj(object_id: int, label: str = "cat", score: float | None = None) -> AnnotatedObject:
    provenance = Provenance.AUTO if score is not None else Provenance.EDITED
    return AnnotatedObject(label, make_square(0, 0), provenance=provenance, score=score, id=object_id)


def _recorder(visibility: Visibility) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []
    for name in ("classes", "objects", "score_threshold", "all_shown"):
        getattr(visibility.events, name).connect(lambda value, name=name: seen.append((name, value)))
    visibility.events.changed.connect(lambda: seen.append(("changed", None)))
    return seen


def test_each_reason_hides_on_its_own_and_showing_one_keeps_the_others():
    visibility = Visibility()
    cat, dog, weak = _obj(1, "cat"), _obj(2, "dog"), _obj(3, "dog", score=0.3)
    assert not any(visibility.hides(o) for o in (cat, dog, weak)) and not visibility.anything_hidden()
    visibility.set_class_shown("cat", False)
    visibility.set_objects_hidden([2], True)
    visibility.set_score_threshold(0.5)
    assert [visibility.hides(o) for o in (cat, dog, weak)] == [True, True, True]
    visibility.set_class_shown("cat", True)
    assert [visibility.hides(o) for o in (cat, dog, weak)] == [False, True, True]
    visibility.set_objects_hidden([2], False)
    visibility.set_score_threshold(0.25)  # 0.3 is not under it
    assert [visibility.hides(o) for o in (cat, dog, weak)] == [False, False, False]
    assert visibility.anything_hidden()  # a score cut above 0 may hide objects of other images


def test_the_score_cut_hides_only_scored_auto_objects():
    visibility = Visibility()
    visibility.set_score_threshold(0.9)
    edited = AnnotatedObject("cat", make_square(0, 0), provenance=Provenance.EDITED, score=0.1, id=1)
    unscored = AnnotatedObject("cat", make_square(0, 0), provenance=Provenance.AUTO, id=2)
    assert not visibility.hides(edited) and not visibility.hides(unscored) and visibility.hides(_obj(3, score=0.89))


def test_hiding_every_object_is_not_a_person_hiding_one():
    visibility = Visibility()
    visibility.set_all_shown(False)
    assert visibility.hides(_obj(1)) and not visibility.hidden_by_person(_obj(1))
    assert not visibility.anything_hidden()  # Tab still visits every object


def test_events_say_what_changed_once_and_nothing_for_no_change():
    visibility = Visibility()
    seen = _recorder(visibility)
    visibility.set_class_shown("cat", False)
    visibility.set_class_shown("cat", False)
    visibility.set_objects_hidden([4, 5], True)
    visibility.set_objects_hidden([4], True)
    visibility.set_score_threshold(0.0)
    visibility.set_all_shown(True)
    assert seen == [("classes", {"cat"}), ("changed", None), ("objects", {4, 5}), ("changed", None)]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_a_score_cut_outside_zero_to_one_is_refused_and_changes_nothing(bad):
    visibility = Visibility()
    visibility.set_score_threshold(0.4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        visibility.set_score_threshold(bad)
    assert visibility.score_threshold == 0.4


def test_another_project_starts_with_nothing_hidden_but_keeps_the_score_cut():
    visibility = Visibility()
    visibility.set_class_shown("cat", False)
    visibility.set_objects_hidden([1], True)
    visibility.set_score_threshold(0.3)
    visibility.new_project()
    assert visibility.hidden_classes == set() and visibility.hidden_objects == set()
    assert visibility.score_threshold == 0.3


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
    project.set_labels(("cat", "dog", "bird"))
    yield project
    project.close()


def test_a_hidden_class_follows_a_rename_its_undo_and_redo(project):
    visibility = Visibility()
    visibility.set_class_shown("cat", False)
    project.events.class_edit_replayed.connect(visibility.follow_class_edit)
    edit = project.rename_class("cat", "kitten")
    visibility.follow_class_edit(edit)
    assert visibility.hidden_classes == {"kitten"}
    edit = project.undo_class_edit(edit)
    assert visibility.hidden_classes == {"cat"}
    project.redo_class_edit(edit)
    assert visibility.hidden_classes == {"kitten"}


def test_a_deleted_hidden_class_is_forgotten_and_comes_back_shown(project):
    visibility = Visibility()
    visibility.set_hidden_classes({"cat", "dog"})
    project.events.class_edit_replayed.connect(visibility.follow_class_edit)
    edit = project.delete_class("cat")
    visibility.follow_class_edit(edit)
    assert visibility.hidden_classes == {"dog"}
    project.undo_class_edit(edit)
    assert visibility.hidden_classes == {"dog"}


def test_merging_a_hidden_class_hides_the_class_it_went_into_and_undo_leaves_that(project):
    visibility = Visibility()
    visibility.set_class_shown("cat", False)
    project.events.class_edit_replayed.connect(visibility.follow_class_edit)
    edit = project.rename_class("cat", "dog")
    visibility.follow_class_edit(edit)
    assert visibility.hidden_classes == {"dog"}  # its objects are the ones the person had hidden
    project.undo_class_edit(edit)
    assert visibility.hidden_classes == {"dog"}
