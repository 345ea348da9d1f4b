"""Two rules the window used to keep inside Qt classes: where Tab goes (from the selection, past hidden
objects on every image) and which step Ctrl+Z / Redo act on across the image stacks and class steps."""

from __future__ import annotations

from protolabel.segmentation.project.history_order import Side, next_step_number, project_redo_ended, side_to_replay
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.review import next_from_selection
from protolabel.segmentation.project.store import ProjectStore
from protolabel.segmentation.project.visibility import Visibility

NAMES = ["a.png", "b.png", "c.png"]


def _project(tmp_path, make_images, square) -> Project:
    """a.png: cat, dog, cat; b.png: cat, dog; c.png: nothing (all auto objects)."""
    make_images(tmp_path, NAMES)
    with ProjectStore.open(tmp_path) as store:
        for name, labels in (("a.png", ["cat", "dog", "cat"]), ("b.png", ["cat", "dog"])):
            store.replace_auto_objects(
                name, [AnnotatedObject(label, square(5 * k, 5), score=0.9) for k, label in enumerate(labels)]
            )
    project = Project.open(tmp_path)
    project.set_current("a.png")
    return project


def test_tab_goes_on_after_the_last_selected_object_and_back_before_the_first(tmp_path, make_images, square):
    project = _project(tmp_path, make_images, square)
    a1, a2, a3 = (o.id for o in project.document("a.png").objects)
    b1 = project.document("b.png").objects[0].id
    assert next_from_selection(project, []) == ("a.png", a1)
    assert next_from_selection(project, [], -1) == ("a.png", a3)
    assert next_from_selection(project, [a2, a1]) == ("a.png", a3)
    assert next_from_selection(project, [a2, a3], -1) == ("a.png", a1)
    assert next_from_selection(project, [a3]) == ("b.png", b1)
    assert next_from_selection(project, [b1, a3]) == ("b.png", b1)  # b1 is not in the image shown: not counted
    project.close()


def test_tab_passes_over_a_hidden_class_on_the_next_image_too(tmp_path, make_images, square):
    """The old controller asked the canvas, which only knew the shown image's hidden objects: Tab from a.png
    stopped on b.png's cat although the cat class was switched off."""
    project = _project(tmp_path, make_images, square)
    a2 = project.document("a.png").objects[1].id
    b2 = project.document("b.png").objects[1].id
    visibility = Visibility()
    visibility.set_class_shown("cat", False)
    assert next_from_selection(project, [a2], 1, visibility.hidden_by_person) == ("b.png", b2)
    visibility.set_hidden_classes(())
    visibility.set_objects_hidden([b2], True)
    visibility.set_class_shown("dog", False)
    assert next_from_selection(project, [a2], 1, visibility.hidden_by_person)[0] == "a.png"  # a3, a cat
    project.close()


def test_ctrl_z_takes_the_newer_side_and_redo_the_older():
    first, second = next_step_number(), next_step_number()
    assert first < second
    assert side_to_replay(first, second, undo=True) is Side.PROJECT
    assert side_to_replay(second, first, undo=True) is Side.IMAGE
    assert side_to_replay(first, second, undo=False) is Side.IMAGE
    assert side_to_replay(second, first, undo=False) is Side.PROJECT
    assert side_to_replay(None, first, undo=True) is Side.PROJECT and side_to_replay(first, None, False) is Side.IMAGE
    assert side_to_replay(None, None, undo=True) is None


def test_a_history_over_two_images_and_a_class_step_undoes_newest_first_and_redoes_oldest_first():
    """Image steps 1, 2, a class step 3, an image step 4 (one image shown): undo visits 4, 3, 2, 1 and redo
    1, 2, 3, 4, each time asking only for the two candidate steps, as the app's history does."""
    image, classes = [1, 2, 4], [3]
    image_index, class_index = len(image), len(classes)  # steps before an index are done
    undone, redone = [], []
    for _ in range(4):
        side = side_to_replay(
            image[image_index - 1] if image_index else None, classes[class_index - 1] if class_index else None, True
        )
        if side is Side.IMAGE:
            image_index -= 1
            undone.append(image[image_index])
        else:
            class_index -= 1
            undone.append(classes[class_index])
    for _ in range(4):
        side = side_to_replay(
            image[image_index] if image_index < len(image) else None,
            classes[class_index] if class_index < len(classes) else None,
            False,
        )
        if side is Side.IMAGE:
            redone.append(image[image_index])
            image_index += 1
        else:
            redone.append(classes[class_index])
            class_index += 1
    assert undone == [4, 3, 2, 1] and redone == [1, 2, 3, 4]


def test_an_image_step_made_after_an_undone_class_step_ends_its_redo():
    assert project_redo_ended(3, [1, 4])  # undone class step 3, then image step 4
    assert not project_redo_ended(3, [1, 2])  # only older image steps: Redo may still redo it
    assert not project_redo_ended(None, [5])
    assert not project_redo_ended(3, [])
