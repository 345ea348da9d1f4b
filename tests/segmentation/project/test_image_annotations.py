"""ImageAnnotations: changes are saved as applied, emit events, and invert exactly (undo)."""

from __future__ import annotations

import pytest

from protolabel.segmentation.geometry.provenance import Provenance
from protolabel.segmentation.project.document import ImageAnnotations
from protolabel.segmentation.project.records import AnnotatedObject, ImageStatus
from protolabel.segmentation.project.store import ProjectLockedError, ProjectStore


@pytest.fixture
def store(tmp_path):
    with ProjectStore.open(tmp_path, timeout=0.2) as store:
        yield store


def test_edit_is_saved_marks_object_edited_and_undo_restores_everything(store, square):
    store.replace_auto_objects("a.png", [AnnotatedObject("cat", square(0, 0), score=0.8)])
    doc = ImageAnnotations(store, "a.png")
    seen = []
    doc.events.changed.connect(seen.append)
    (auto,) = doc.objects
    assert doc.status is ImageStatus.AUTO_LABELED

    applied = doc.apply(doc.edit_shape(auto.id, square(3, 4)))
    assert seen == [applied]
    assert doc.status is ImageStatus.EDITED
    (edited,) = store.objects("a.png")
    assert edited.shape == square(3, 4) and edited.provenance is Provenance.EDITED and edited.score == 0.8
    assert store.status("a.png") is ImageStatus.EDITED

    doc.apply(applied.inverted())
    assert store.objects("a.png") == [auto]
    assert store.status("a.png") is ImageStatus.AUTO_LABELED
    assert doc.objects == [auto]


def test_add_then_undo_then_redo_keeps_the_id(store, square):
    doc = ImageAnnotations(store, "a.png")
    added = doc.apply(doc.add_object("dog", square(1, 1)))
    (obj,) = added.after
    assert obj.id is not None and obj.provenance is Provenance.EDITED
    doc.apply(added.inverted())
    assert len(doc) == 0 and store.objects("a.png") == []
    doc.apply(added)
    assert store.objects("a.png") == [obj]


def test_delete_relabel_and_verify(store, square):
    doc = ImageAnnotations(store, "a.png")
    a, b = doc.apply(doc.add_object("dog", square(1, 1))).after + doc.apply(doc.add_object("dog", square(30, 1))).after
    doc.apply(doc.relabel([a.id], "wolf"))
    assert doc.get(a.id).label == "wolf"
    deleted = doc.apply(doc.delete_objects([b.id]))
    assert b.id not in doc
    verified = doc.apply(doc.verify())
    assert doc.status is ImageStatus.VERIFIED
    assert [o.provenance for o in store.objects("a.png")] == [Provenance.VERIFIED]
    doc.apply(verified.inverted())
    doc.apply(deleted.inverted())
    assert [(o.label, o.provenance) for o in store.objects("a.png")] == [
        ("wolf", Provenance.EDITED),
        ("dog", Provenance.EDITED),
    ]
    assert store.status("a.png") is ImageStatus.EDITED


def test_empty_shape_is_refused(store, square):
    from protolabel.segmentation.geometry.shapes import Shape

    doc = ImageAnnotations(store, "a.png")
    with pytest.raises(ValueError, match="three vertices"):
        doc.add_object("dog", Shape(()))


def test_failed_write_leaves_document_unchanged(store, square, tmp_path):
    import sqlite3

    doc = ImageAnnotations(store, "a.png")
    seen = []
    doc.events.changed.connect(seen.append)
    locker = sqlite3.connect(store.db_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ProjectLockedError):
            doc.apply(doc.add_object("dog", square(1, 1)))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert len(doc) == 0 and seen == []


def test_reload_picks_up_another_writer(store, square, tmp_path):
    doc = ImageAnnotations(store, "a.png")
    reloaded = []
    doc.events.reloaded.connect(lambda: reloaded.append(True))
    with ProjectStore.open(store.folder) as other:
        other.replace_auto_objects("a.png", [AnnotatedObject("cat", square(0, 0))])
    doc.reload()
    assert reloaded and [o.label for o in doc.objects] == ["cat"]
