"""The class list model: names in order, counts that follow edits in place, and a stale mark after re-reads."""

from __future__ import annotations

import pytest

from protolabel.segmentation.project.class_list import ClassList
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectStore
from tests.segmentation.project.conftest import make_square, write_images


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder, ["a.png", "b.png"])
    with ProjectStore.open(folder) as store:
        for name, labels in (("a.png", ["cat", "dog", "cat"]), ("b.png", ["dog"])):
            store.write_change(
                name,
                status=ImageStatus.EDITED,
                saved=[AnnotatedObject(lab, make_square(2 + 12 * i, 2)) for i, lab in enumerate(labels)],
            )
    project = Project.open(folder)
    project.set_labels(("cat", "dog", "bird"))
    yield project
    project.close()


def _store_counts(project) -> dict[str, int]:
    """The oracle: counted from the stored objects, not through the project's counting."""
    counts: dict[str, int] = {}
    for name in ("a.png", "b.png"):
        for obj in project.store.objects(name):
            counts[obj.label] = counts.get(obj.label, 0) + 1
    return counts


def test_lists_the_project_classes_in_order_with_counts_and_keep_flags(project):
    project.set_kept("bird", True)
    classes = ClassList()
    listed = []
    classes.events.listed.connect(listed.append)
    classes.set_project(project)
    assert classes.names == ("cat", "dog", "bird") and listed == [("cat", "dog", "bird")]
    assert [classes.count(c) for c in classes.names] == [2, 2, 0] and classes.kept == {"bird"}
    classes.set_project(None)
    assert classes.names == () and listed[-1] == ()


def test_an_edit_moves_counts_in_place_and_says_which(project):
    classes = ClassList()
    classes.set_project(project)
    moved, listed, stale = [], [], []
    classes.events.counts.connect(moved.append)
    classes.events.listed.connect(listed.append)
    classes.events.stale.connect(lambda: stale.append(True))
    document = project.document("a.png")
    cat = next(o.id for o in document.objects if o.label == "cat")
    document.apply(document.relabel([cat], "bird"))
    assert moved == [{"cat": 1, "bird": 1}] and not listed and not stale
    assert {c: classes.count(c) for c in classes.names if classes.count(c)} == _store_counts(project)


def test_a_class_not_listed_yet_is_a_full_re_read(project):
    classes = ClassList()
    classes.set_project(project)
    listed = []
    classes.events.listed.connect(listed.append)
    document = project.document("b.png")
    document.apply(document.add_object("fox", make_square(30, 30)))
    assert listed == [("cat", "dog", "bird", "fox")] and classes.count("fox") == 1


def test_objects_read_again_mark_the_list_stale_once_and_a_refresh_re_reads(project):
    classes = ClassList()
    classes.set_project(project)
    stale = []
    classes.events.stale.connect(lambda: stale.append(True))
    project.store.write_change("b.png", saved=[AnnotatedObject("cat", make_square(30, 30))])
    project.document("b.png").reload()
    project.document("a.png").reload()
    assert stale == [True] and classes.stale and classes.count("cat") == 2  # not re-read yet
    classes.refresh_if_stale()
    assert not classes.stale and classes.count("cat") == _store_counts(project)["cat"] == 3
