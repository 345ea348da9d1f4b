"""Per-object review rules: accept, reject, the score filter's delete, and the next unverified object."""

from __future__ import annotations

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.review import next_unverified
from protolabel.segmentation.project.store import ProjectStore

NAMES = ["a.png", "b.png", "c.png", "d.png"]


def _project(tmp_path, auto: dict[str, list[float]], make_images, square) -> Project:
    """A folder of NAMES; each image in `auto` gets one auto object per score."""
    make_images(tmp_path, NAMES)
    with ProjectStore.open(tmp_path) as store:
        for name, scores in auto.items():
            store.replace_auto_objects(
                name, [AnnotatedObject("cat", square(5 * k, 5), score=s) for k, s in enumerate(scores)]
            )
    return Project.open(tmp_path)


def _reopened(project: Project, name: str):
    """The image as a fresh store connection reads it (what is really saved)."""
    with ProjectStore.open(project.folder) as store:
        return store.objects(name), store.status(name)


def test_accept_one_object_then_all_makes_the_image_verified(tmp_path, make_images, square):
    project = _project(tmp_path, {"a.png": [0.9, 0.8]}, make_images, square)
    doc = project.document("a.png")
    first, second = (o.id for o in doc.objects)
    doc.apply(doc.accept_objects([first]))
    objects, status = _reopened(project, "a.png")
    assert [o.provenance for o in objects] == [Provenance.VERIFIED, Provenance.AUTO]
    assert status is ImageStatus.EDITED
    applied = doc.apply(doc.accept_objects([second]))
    assert _reopened(project, "a.png")[1] is ImageStatus.VERIFIED
    assert project.images.status("a.png") is ImageStatus.VERIFIED
    doc.apply(applied.inverted())  # undo: the second object is auto again, the image no longer verified
    objects, status = _reopened(project, "a.png")
    assert [o.provenance for o in objects] == [Provenance.VERIFIED, Provenance.AUTO] and status is ImageStatus.EDITED
    project.close()


def test_rejecting_the_last_unverified_object_verifies_the_image(tmp_path, make_images, square):
    project = _project(tmp_path, {"a.png": [0.9, 0.3]}, make_images, square)
    doc = project.document("a.png")
    keep, drop = (o.id for o in doc.objects)
    doc.apply(doc.accept_objects([keep]))
    doc.apply(doc.reject_objects([drop]))
    objects, status = _reopened(project, "a.png")
    assert [o.id for o in objects] == [keep] and status is ImageStatus.VERIFIED
    project.close()


def test_delete_auto_below_removes_only_low_scored_auto_objects_in_one_undoable_change(tmp_path, make_images, square):
    project = _project(tmp_path, {"a.png": [0.9, 0.2, 0.45, 0.5]}, make_images, square)
    doc = project.document("a.png")
    ids = [o.id for o in doc.objects]
    doc.apply(doc.relabel([ids[1]], "dog"))  # edited by a person: never hidden by the score filter
    applied = doc.apply(doc.delete_auto_below(0.5))
    objects, _ = _reopened(project, "a.png")
    assert [o.id for o in objects] == [ids[0], ids[1], ids[3]]
    doc.apply(applied.inverted())
    assert sorted(o.id for o in _reopened(project, "a.png")[0]) == ids
    project.close()


def test_next_unverified_walks_objects_then_images_both_ways_and_wraps(tmp_path, make_images, square):
    project = _project(tmp_path, {"a.png": [0.9, 0.8], "c.png": [0.7]}, make_images, square)
    a1, a2 = (o.id for o in project.document("a.png").objects)
    (c1,) = (o.id for o in project.document("c.png").objects)
    assert next_unverified(project, "a.png", None) == ("a.png", a1)
    assert next_unverified(project, "a.png", a1) == ("a.png", a2)
    assert next_unverified(project, "a.png", a2) == ("c.png", c1)  # b.png has no objects
    assert next_unverified(project, "c.png", c1) == ("a.png", a1)  # wraps around
    assert next_unverified(project, "c.png", c1, -1) == ("a.png", a2)
    assert next_unverified(project, "b.png", None, -1) == ("a.png", a2)
    doc = project.document("a.png")
    doc.apply(doc.accept_objects([a2]))
    assert next_unverified(project, "a.png", a1) == ("c.png", c1)
    doc.apply(doc.accept_objects([a1]))
    c_doc = project.document("c.png")
    c_doc.apply(c_doc.accept_objects([c1]))
    assert next_unverified(project, "a.png", None) is None
    project.close()


def test_next_unverified_passes_over_skipped_objects(tmp_path, make_images, square):
    project = _project(tmp_path, {"a.png": [0.9, 0.2, 0.8], "c.png": [0.1]}, make_images, square)
    a1, a2, a3 = (o.id for o in project.document("a.png").objects)
    low = lambda o: o.score is not None and o.score < 0.5  # noqa: E731
    assert next_unverified(project, "a.png", a1, skip=low) == ("a.png", a3)
    assert next_unverified(project, "a.png", a3, skip=low) == ("a.png", a1)  # c.png's only object is skipped
    assert next_unverified(project, "a.png", a1, skip=lambda o: True) is None
    project.close()
