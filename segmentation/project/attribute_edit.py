"""A change of the project's attribute schema as one project-wide, undoable step.

The step holds every object whose stored attributes it changes, as they were and as they become (a rename
moves values to the new name; a removed attribute, or a value the changed attribute can no longer hold, is
dropped), and the schema before and after. Applying, undoing and redoing it is one store transaction each,
compare-and-set on the objects' versions like a class step, so a replay never clobbers a newer edit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from protolabel.segmentation.project.attributes import (
    ATTRIBUTE_SCHEMA_KEY,
    AttributeSpec,
    project_attribute_schema,
    schema_setting,
    values_after_schema_change,
)
from protolabel.segmentation.project.records import attributes_from_json, attributes_to_json
from protolabel.segmentation.project.store import AttributeRow, ProjectStore


@dataclass(frozen=True)
class AttributeSchemaEdit:
    """A schema change: `objects` as read before it, each one's attributes JSON `before` and `after` it (by
    id), and `versions`: each object's stored version after the last replay (or when read, until applied)."""

    text: str
    schema_before: tuple[AttributeSpec, ...]
    schema_after: tuple[AttributeSpec, ...]
    objects: tuple[AttributeRow, ...]
    before: Mapping[int, str | None]
    after: Mapping[int, str | None]
    versions: Mapping[int, int]
    lost: Mapping[str, int]  # stored attribute name -> how many objects lose its value

    @property
    def changes_anything(self) -> bool:
        return self.schema_before != self.schema_after or bool(self.objects)


def plan_schema_edit(
    store: ProjectStore, schema: Sequence[AttributeSpec], carried: Mapping[str, str]
) -> AttributeSchemaEdit:
    """The step that makes `schema` the project's (`carried`: each stored attribute that stays, by its name now,
    as attributes.schema_from_drafts gives it), not yet applied: the
    editor shows its `lost` counts before the person confirms. AttributeSchemaError when the stored schema
    cannot be read; ValueError when an object's stored attributes cannot."""
    before = project_attribute_schema(store)
    after = tuple(schema)
    objects: list[AttributeRow] = []
    old: dict[int, str | None] = {}
    new: dict[int, str | None] = {}
    lost: Counter[str] = Counter()
    for row in store.attribute_rows():
        try:
            values = attributes_from_json(row.attributes_json) or {}
        except ValueError as exc:  # a damaged row: said, and the schema is left as it is
            raise ValueError(
                f"the attributes of object {row.id} ({row.label}) of {row.image_path} cannot be read ({exc}); "
                "fix or delete that object first"
            ) from None
        kept, dropped = values_after_schema_change(values, before, after, carried)
        lost.update(dropped)
        text = attributes_to_json(kept)
        if text != row.attributes_json:
            objects.append(row)
            old[row.id], new[row.id] = row.attributes_json, text
    versions = {row.id: row.version for row in objects}
    return AttributeSchemaEdit(
        _describe(before, after, carried), before, after, tuple(objects), old, new, versions, dict(lost)
    )


def apply_schema_edit(store: ProjectStore, edit: AttributeSchemaEdit) -> AttributeSchemaEdit:
    """Write a planned step (StaleEditError, nothing written, when an object changed since the plan read it)."""
    return _write(store, edit, undo=False, action="attribute change")


def replay_schema_edit(store: ProjectStore, edit: AttributeSchemaEdit, *, undo: bool) -> AttributeSchemaEdit:
    """Undo (or redo) an applied step; returns it with its objects' new versions for the next replay."""
    return _write(store, edit, undo=undo, action="undo" if undo else "redo")


def _write(store: ProjectStore, edit: AttributeSchemaEdit, *, undo: bool, action: str) -> AttributeSchemaEdit:
    schema = edit.schema_before if undo else edit.schema_after
    values = edit.before if undo else edit.after
    settings = {ATTRIBUTE_SCHEMA_KEY: schema_setting(schema)}
    versions = store.rewrite_attributes(edit.objects, values, edit.versions, settings, action)
    return replace(edit, versions=versions)


def _describe(before: Sequence[AttributeSpec], after: Sequence[AttributeSpec], carried: Mapping[str, str]) -> str:
    """The step's name in the Edit menu: what it did when it did one thing, else "Edit attributes"."""
    renames = {was: now for was, now in carried.items() if was != now}
    added = [s for s in after if s.name not in carried.values()]
    removed = [s for s in before if s.name not in carried]
    moved = [replace(s, name=carried[s.name]) for s in before if s.name in carried]  # in the old order
    unchanged = [s for s in after if s not in added]
    if len(renames) == 1 and not added and not removed and list(after) == moved:
        ((was, now),) = renames.items()
        return f"Rename attribute '{was}' to '{now}'"
    if len(added) == 1 and not removed and not renames and unchanged == moved:
        return f"Add attribute '{added[0].name}'"
    if len(removed) == 1 and not added and not renames and list(after) == moved:
        return f"Remove attribute '{removed[0].name}'"
    if not (added or removed or renames) and list(after) != moved and set(after) == set(moved):
        return "Reorder attributes"
    return "Edit attributes"
