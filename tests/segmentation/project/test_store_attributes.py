"""Per-object attributes and image tags in the project store: kept, versioned with the object, undone."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from protolabel.segmentation.project.attributes import AttributeSchemaError, parse_attribute_schema
from protolabel.segmentation.project.document import ImageAnnotations
from protolabel.segmentation.project.records import AnnotatedObject, ImportedImage
from protolabel.segmentation.project.store import DamagedRowError, ProjectStore, StaleEditError, project_db_path

SCHEMA = parse_attribute_schema(
    [{"name": "occluded", "kind": "checkbox"}, {"name": "pose", "kind": "choice", "choices": ["front", "side"]}]
)


def test_attributes_are_saved_read_back_and_cleared(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        (obj,) = store.write_change(
            "a.png", saved=[AnnotatedObject("cat", square(0, 0), attributes={"occluded": True, "note": "ear"})]
        )
    with ProjectStore.open(tmp_path) as store:
        (read,) = store.objects("a.png")
        assert read.attributes == {"occluded": True, "note": "ear"}
        assert read == obj
        store.write_change("a.png", saved=[read.with_changes(attributes=None)])
        assert store.objects("a.png")[0].attributes is None
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db:
        assert db.execute("SELECT attributes FROM objects").fetchall() == [(None,)]  # none is NULL, not "{}"


def test_objects_that_differ_only_in_attributes_are_not_equal(square):
    plain = AnnotatedObject("cat", square(0, 0))
    assert plain != plain.with_changes(attributes={"occluded": True})
    assert plain == plain.with_changes(attributes={})  # empty is none


def test_an_attribute_edit_is_compare_and_set_and_undoes(tmp_path, square):
    with ProjectStore.open(tmp_path) as store, ProjectStore.open(tmp_path) as other:
        doc = ImageAnnotations(store, "a.png")
        (added,) = doc.apply(doc.add_object("cat", square(0, 0))).after
        change = doc.apply(doc.set_attributes([added.id], {"pose": "side"}, SCHEMA))
        change = doc.apply(doc.set_attributes([added.id], {"occluded": True}, SCHEMA))
        assert store.objects("a.png")[0].attributes == {"pose": "side", "occluded": True}
        doc.apply(change.inverted())
        assert store.objects("a.png")[0].attributes == {"pose": "side"}
        # Another window set an attribute since this one read: its edit is refused, nothing lost.
        (theirs,) = other.objects("a.png")
        other.write_change("a.png", saved=[theirs.with_changes(attributes={"pose": "front"})])
        with pytest.raises(StaleEditError):
            doc.apply(doc.set_attributes([added.id], {"occluded": False}, SCHEMA))
        assert store.objects("a.png")[0].attributes == {"pose": "front"}
        with pytest.raises(AttributeSchemaError, match="'pose' \\(choice\\) must be one of"):
            doc.set_attributes([added.id], {"pose": "back"}, SCHEMA)


def test_the_undo_of_a_delete_brings_the_attributes_back(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        doc = ImageAnnotations(store, "a.png")
        (added,) = doc.apply(doc.add_object("cat", square(0, 0))).after
        doc.apply(doc.set_attributes([added.id], {"occluded": True}, SCHEMA))
        deleted = doc.apply(doc.delete_objects([added.id]))
        doc.apply(deleted.inverted())
        assert store.objects("a.png")[0].attributes == {"occluded": True}
        # A class delete and its undo (restore_objects) keep them too.
        taken = store.take_class("cat", None, {})
        assert store.objects("a.png") == []
        store.restore_objects(taken.objects, {}, "undo")
        assert store.objects("a.png")[0].attributes == {"occluded": True}


def test_a_split_keeps_the_attributes_on_every_piece(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        doc = ImageAnnotations(store, "a.png")
        (added,) = doc.apply(doc.add_object("cat", square(0, 0))).after
        doc.apply(doc.set_attributes([added.id], {"occluded": True}, SCHEMA))
        doc.apply(doc.split_object(added.id, [square(0, 0, 4), square(6, 6, 4)]))
        assert [o.attributes for o in store.objects("a.png")] == [{"occluded": True}] * 2


def test_a_value_that_is_not_plain_is_refused_and_nothing_written(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        with pytest.raises(ValueError, match="attribute 'parts' has a value that is not a checkbox, number or text"):
            store.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0), attributes={"parts": [1, 2]})])
        assert store.objects("a.png") == []


@pytest.mark.parametrize("stored", ["not json", "[true]", '{"a": [1]}', '{"a": null}'])
def test_damaged_attributes_damage_their_object(tmp_path, square, stored):
    with ProjectStore.open(tmp_path) as store:
        store.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0))])
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db, db:
        db.execute("UPDATE objects SET attributes = ?", (stored,))
    with ProjectStore.open(tmp_path) as store:
        with pytest.raises(DamagedRowError, match=r"a\.png: object 1 in .* is damaged \("):
            store.objects("a.png")


def test_tags_are_set_read_and_refused_when_not_names(tmp_path):
    with ProjectStore.open(tmp_path) as store:
        store.set_tags("a.png", ["night", "blurry", "night"])
        store.set_tags("b.png", ["day"])
        assert store.tags("a.png") == ("blurry", "night")
        assert store.tags("c.png") == ()
        assert store.tags_by_image() == {"a.png": ("blurry", "night"), "b.png": ("day",)}
        with pytest.raises(ValueError, match="a.png: the tag ' ' is not a name"):
            store.set_tags("a.png", ["day", " "])
        assert store.tags("a.png") == ("blurry", "night")  # refused whole
        store.set_tags("a.png", [])
        assert store.tags_by_image() == {"b.png": ("day",)}


def test_an_import_adds_tags_and_attributes_but_never_to_an_image_a_person_worked_on(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        store.set_tags("a.png", ["mine"])
        store.write_change("b.png", saved=[AnnotatedObject("dog", square(0, 0))])  # a person's object
        imported = AnnotatedObject("cat", square(1, 1), attributes={"occluded": True})
        outcome = store.import_images(
            [
                ImportedImage("a.png", (48, 64), (imported,), tags=("night",)),
                ImportedImage("b.png", (48, 64), (imported,), tags=("night",)),
            ]
        )
        assert outcome.kept == ["b.png"]
        assert store.tags_by_image() == {"a.png": ("mine", "night")}
        assert [o.attributes for o in store.objects("a.png")] == [{"occluded": True}]
        assert [o.attributes for o in store.objects("b.png")] == [None]


def test_a_schema_3_project_from_before_attributes_gets_them_when_opened(tmp_path, square):
    with ProjectStore.open(tmp_path) as store:
        store.write_change("a.png", saved=[AnnotatedObject("cat", square(0, 0))])
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db, db:  # as a build of earlier today made it
        db.execute("ALTER TABLE objects DROP COLUMN attributes")
        db.execute("DROP TABLE image_tags")
    with ProjectStore.open(tmp_path) as store:
        (obj,) = store.objects("a.png")
        store.write_change("a.png", saved=[obj.with_changes(attributes={"occluded": False})])
        store.set_tags("a.png", ["night"])
        assert store.objects("a.png")[0].attributes == {"occluded": False}
        assert store.tags("a.png") == ("night",)
