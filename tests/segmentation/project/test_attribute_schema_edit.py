"""Defining the attribute schema: the editor's rows validated with messages a person can act on, and a schema
change as one project-wide step (renames carry values, removals drop them and are counted first) that undoes
and redoes compare-and-set."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from protolabel.segmentation.project.attribute_edit import plan_schema_edit
from protolabel.segmentation.project.attributes import (
    ATTRIBUTE_SCHEMA_KEY,
    AttributeKind,
    AttributeSchemaError,
    DraftAttribute,
    drafts_of,
    project_attribute_schema,
    schema_from_drafts,
    values_after_schema_change,
)
from protolabel.segmentation.project.project import Project
from protolabel.segmentation.project.records import AnnotatedObject
from protolabel.segmentation.project.store import ProjectStore, StaleEditError, project_db_path

SCHEMA = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "pose", "kind": "choice", "choices": ["front", "side"]},
    {"name": "note", "kind": "text"},
]
CHECKBOX, CHOICE, TEXT, NUMBER = AttributeKind.CHECKBOX, AttributeKind.CHOICE, AttributeKind.TEXT, AttributeKind.NUMBER


@pytest.mark.parametrize(
    ("drafts", "message"),
    [
        ([DraftAttribute("  ", TEXT)], "Attribute 1 has no name"),
        ([DraftAttribute("a", TEXT), DraftAttribute(" a ", CHECKBOX)], "Two attributes are called 'a'"),
        ([DraftAttribute("pose", CHOICE)], "'pose' is a choice: list at least one choice"),
        ([DraftAttribute("pose", CHOICE, ("front", " "))], "'pose' has an empty choice"),
        ([DraftAttribute("pose", CHOICE, ("front", "front "))], "'pose' lists the choice 'front' twice"),
        (
            [DraftAttribute("pose", CHOICE, ("front", "side"), "back")],
            r"The default of 'pose', 'back', is not one of its choices \('front', 'side'\)",
        ),
        ([DraftAttribute("n", NUMBER, default="ten")], "the default of attribute 'n' .* must be a finite number"),
    ],
)
def test_the_editors_rows_are_refused_with_a_message_naming_the_attribute(drafts, message):
    with pytest.raises(AttributeSchemaError, match=message):
        schema_from_drafts(drafts)


def test_rows_give_the_schema_and_where_each_stored_attribute_goes():
    rows = [
        DraftAttribute("hidden", CHECKBOX, origin="occluded"),
        DraftAttribute(" view ", CHOICE, (" front", "side "), "side", origin="pose"),
        DraftAttribute("count", NUMBER, default=2),
    ]
    schema, carried = schema_from_drafts(rows)
    assert [(s.name, s.kind, s.default, s.choices) for s in schema] == [
        ("hidden", CHECKBOX, False, ()),
        ("view", CHOICE, "side", ("front", "side")),
        ("count", NUMBER, 2, ()),
    ]
    assert carried == {"occluded": "hidden", "pose": "view"}
    assert schema_from_drafts(drafts_of(schema)) == (schema, {"hidden": "hidden", "view": "view", "count": "count"})


def test_values_follow_renames_and_drop_what_the_new_schema_cannot_hold():
    before, _ = schema_from_drafts([DraftAttribute("a", CHECKBOX), DraftAttribute("b", CHOICE, ("x", "y"))])
    after, _ = schema_from_drafts([DraftAttribute("b", CHECKBOX), DraftAttribute("c", CHOICE, ("x",))])
    # a -> b and b -> c swap places; the value 'y' is no longer a choice of c; 'stray' is not the schema's
    values = {"a": True, "b": "y", "stray": 3}
    assert values_after_schema_change(values, before, after, {"a": "b", "b": "c"}) == ({"b": True, "stray": 3}, ("b",))
    assert values_after_schema_change({"a": True}, before, after[1:], {}) == ({}, ("a",))  # removed


def test_a_removed_attributes_values_go_even_when_another_takes_its_name():
    before, _ = schema_from_drafts([DraftAttribute("occluded", CHECKBOX), DraftAttribute("truncated", CHECKBOX)])
    # occluded removed, truncated renamed to occluded: only truncated's value may live on under the name
    after, carried = schema_from_drafts([DraftAttribute("occluded", CHECKBOX, origin="truncated")])
    for values in ({"occluded": True, "truncated": False}, {"truncated": False, "occluded": True}):
        assert values_after_schema_change(values, before, after, carried) == ({"occluded": False}, ("occluded",))
    # occluded removed and a new occluded added: the old values do not pass to the new attribute
    after, carried = schema_from_drafts(
        [DraftAttribute("occluded", CHECKBOX), DraftAttribute("truncated", CHECKBOX, origin="truncated")]
    )
    assert values_after_schema_change({"occluded": True}, before, after, carried) == ({}, ("occluded",))
    # a value the schema never listed stays, unless the new schema names an attribute that cannot hold it
    assert values_after_schema_change({"note": "x"}, before, after, carried) == ({"note": "x"}, ())
    assert values_after_schema_change({"occluded": "x"}, (), after, {}) == ({}, ("occluded",))


def _project_with_objects(folder, square) -> Project:
    with ProjectStore.open(folder) as store:
        store.set_setting(ATTRIBUTE_SCHEMA_KEY, SCHEMA)
        store.write_change(
            "a.png",
            saved=[
                AnnotatedObject("cat", square(0, 0), attributes={"occluded": True, "pose": "side"}),
                AnnotatedObject("dog", square(20, 0), attributes={"pose": "front", "note": "left"}),
                AnnotatedObject("cow", square(40, 0)),
            ],
        )
        store.write_change("b.png", saved=[AnnotatedObject("cat", square(0, 0), attributes={"occluded": False})])
    return Project.open(folder, names=["a.png", "b.png"])


def _attributes(project: Project) -> list:
    return [o.attributes for name in ("a.png", "b.png") for o in project.store.objects(name)]


def test_a_schema_change_is_one_step_that_undoes_and_redoes(tmp_path, square):
    project = _project_with_objects(tmp_path, square)
    document = project.document("a.png")
    rows = drafts_of(project_attribute_schema(project.store))
    # Rename occluded -> hidden, remove pose, keep note, add a number.
    rows = [
        DraftAttribute("hidden", CHECKBOX, origin="occluded"),
        rows[2],
        DraftAttribute("count", NUMBER, default=1),
    ]
    schema, renames = schema_from_drafts(rows)
    plan = plan_schema_edit(project.store, schema, renames)
    assert plan.lost == {"pose": 2}  # what the editor asks about before anything is written
    assert project_attribute_schema(project.store)[1].name == "pose"  # a plan writes nothing
    edit = project.edit_attribute_schema(plan)
    assert [s.name for s in project_attribute_schema(project.store)] == ["hidden", "note", "count"]
    assert _attributes(project) == [{"hidden": True}, {"note": "left"}, None, {"hidden": False}]
    assert document.objects[0].attributes == {"hidden": True}  # open documents read the change

    edit = project.replay_attribute_edit(edit, undo=True)
    assert [s.name for s in project_attribute_schema(project.store)] == ["occluded", "pose", "note"]
    assert _attributes(project) == [
        {"occluded": True, "pose": "side"},
        {"pose": "front", "note": "left"},
        None,
        {"occluded": False},
    ]
    project.replay_attribute_edit(edit, undo=False)
    assert _attributes(project) == [{"hidden": True}, {"note": "left"}, None, {"hidden": False}]


def test_a_replay_after_another_edit_of_an_object_is_refused_and_writes_nothing(tmp_path, square):
    project = _project_with_objects(tmp_path, square)
    schema, renames = schema_from_drafts(
        [DraftAttribute("hidden", CHECKBOX, origin="occluded"), *drafts_of(project_attribute_schema(project.store))[1:]]
    )
    edit = project.edit_attribute_schema(plan_schema_edit(project.store, schema, renames))
    with ProjectStore.open(tmp_path) as other:  # another window edits the cat since
        cat = other.objects("b.png")[0]
        other.write_change("b.png", saved=[cat.with_changes(label="lynx")])
    with pytest.raises(StaleEditError, match="object .* of b.png was changed by another window"):
        project.replay_attribute_edit(edit, undo=True)
    assert [s.name for s in project_attribute_schema(project.store)][0] == "hidden"  # nothing undone
    assert _attributes(project)[0] == {"hidden": True, "pose": "side"}


def test_a_planned_change_is_refused_when_an_object_changed_before_it_was_applied(tmp_path, square):
    project = _project_with_objects(tmp_path, square)
    plan = plan_schema_edit(project.store, project_attribute_schema(project.store)[:1], {})
    document = project.document("a.png")
    schema = project_attribute_schema(project.store)
    document.apply(document.set_attributes([document.objects[0].id], {"pose": "front"}, schema))
    with pytest.raises(StaleEditError):
        project.edit_attribute_schema(plan)
    assert len(project_attribute_schema(project.store)) == 3


@pytest.mark.parametrize(
    ("rows", "text"),
    [
        (
            [DraftAttribute("hidden", CHECKBOX, origin="occluded"), "pose", "note"],
            "Rename attribute 'occluded' to 'hidden'",
        ),
        (["occluded", "pose", "note", DraftAttribute("n", NUMBER)], "Add attribute 'n'"),
        (["occluded", "note"], "Remove attribute 'pose'"),
        (["note", "occluded", "pose"], "Reorder attributes"),
        (["occluded", "pose", DraftAttribute("note", CHECKBOX, origin="note")], "Edit attributes"),
        ([DraftAttribute("hidden", CHECKBOX, origin="occluded"), "note"], "Edit attributes"),
    ],
)
def test_the_step_is_named_by_what_it_did(tmp_path, rows, text):
    with ProjectStore.open(tmp_path) as store:
        store.set_setting(ATTRIBUTE_SCHEMA_KEY, SCHEMA)
        stored = {d.name: d for d in drafts_of(project_attribute_schema(store))}
        schema, renames = schema_from_drafts([stored[r] if isinstance(r, str) else r for r in rows])
        assert plan_schema_edit(store, schema, renames).text == text


def test_a_damaged_attributes_row_is_named_and_nothing_is_planned(tmp_path, square):
    project = _project_with_objects(tmp_path, square)
    with closing(sqlite3.connect(project_db_path(tmp_path))) as db, db:
        db.execute("UPDATE objects SET attributes = '[1, 2]' WHERE label = 'dog'")
    with pytest.raises(ValueError, match=r"^the attributes of object \d+ \(dog\) of a.png cannot be read"):
        plan_schema_edit(project.store, project_attribute_schema(project.store)[:1], {"occluded": "occluded"})
    assert len(project_attribute_schema(project.store)) == 3
