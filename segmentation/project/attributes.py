"""The project's attribute schema: which per-object attributes exist, of what kind, with which default.

It lives in the project settings (ATTRIBUTE_SCHEMA_KEY) as a JSON list of {name, kind, choices, default},
so the editor knows how to offer each attribute and an import can say which names it added.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from protolabel.segmentation.project.records import AttributeValue
from protolabel.segmentation.project.store import ProjectStore

ATTRIBUTE_SCHEMA_KEY = "attribute_schema"


class AttributeKind(str, Enum):
    """How an attribute is edited and what value it holds."""

    CHECKBOX = "checkbox"  # bool
    CHOICE = "choice"  # one of `choices`
    TEXT = "text"  # str
    NUMBER = "number"  # finite int or float


class AttributeSchemaError(ValueError):
    """An attribute schema or value cannot be used; the message names the attribute and what is wrong."""


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute of the project's schema."""

    name: str
    kind: AttributeKind
    default: AttributeValue
    choices: tuple[str, ...] = ()  # the values a CHOICE attribute may take, in the order offered

    def check(self, value: object) -> AttributeValue:
        """`value` if this attribute may hold it, else AttributeSchemaError saying why."""
        if self.kind is AttributeKind.CHECKBOX and isinstance(value, bool):
            return value
        if self.kind is AttributeKind.NUMBER and _is_number(value):
            return value  # type: ignore[return-value]
        if self.kind is AttributeKind.TEXT and isinstance(value, str):
            return value
        if self.kind is AttributeKind.CHOICE and isinstance(value, str) and value in self.choices:
            return value
        wanted = {
            AttributeKind.CHECKBOX: "true or false",
            AttributeKind.NUMBER: "a finite number",
            AttributeKind.TEXT: "text",
            AttributeKind.CHOICE: "one of " + ", ".join(repr(c) for c in self.choices),
        }[self.kind]
        raise AttributeSchemaError(f"attribute {self.name!r} ({self.kind.value}) must be {wanted}, not {value!r}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_attribute_schema(value: object) -> tuple[AttributeSpec, ...]:
    """The schema from its settings JSON (None: no attributes); AttributeSchemaError names the bad entry."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise AttributeSchemaError("the attribute schema must be a list of attributes")
    specs: list[AttributeSpec] = []
    for number, entry in enumerate(value, 1):
        if not isinstance(entry, dict):
            raise AttributeSchemaError(f"attribute {number} of the schema is not an object with a name and a kind")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AttributeSchemaError(f"attribute {number} of the schema has no name")
        if any(s.name == name for s in specs):
            raise AttributeSchemaError(f"attribute {name!r} is in the schema twice")
        try:
            kind = AttributeKind(entry.get("kind"))
        except ValueError:
            known = ", ".join(k.value for k in AttributeKind)
            raise AttributeSchemaError(
                f"attribute {name!r} has the kind {entry.get('kind')!r}; use one of {known}"
            ) from None
        choices = entry.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise AttributeSchemaError(f"attribute {name!r}: choices must be a list of texts")
        if kind is AttributeKind.CHOICE and not choices:
            raise AttributeSchemaError(f"attribute {name!r} is a choice but has no choices")
        if len(set(choices)) != len(choices):
            raise AttributeSchemaError(f"attribute {name!r} lists a choice twice")
        default = entry.get("default", _DEFAULTS[kind] if kind is not AttributeKind.CHOICE else choices[0])
        spec = AttributeSpec(name, kind, _DEFAULTS.get(kind, ""), tuple(choices))
        try:
            specs.append(AttributeSpec(name, kind, spec.check(default), tuple(choices)))
        except AttributeSchemaError as exc:
            raise AttributeSchemaError(f"the default of {exc}") from None
    return tuple(specs)


_DEFAULTS: dict[AttributeKind, AttributeValue] = {
    AttributeKind.CHECKBOX: False,
    AttributeKind.TEXT: "",
    AttributeKind.NUMBER: 0,
}


def project_attribute_schema(store: ProjectStore) -> tuple[AttributeSpec, ...]:
    """The project's schema as stored; AttributeSchemaError when the stored one cannot be used."""
    return parse_attribute_schema(store.setting(ATTRIBUTE_SCHEMA_KEY))


def schema_setting(specs: Iterable[AttributeSpec]) -> list[dict[str, Any]]:
    """The settings JSON of a schema (what `parse_attribute_schema` reads)."""
    return [
        {
            "name": s.name,
            "kind": s.kind.value,
            "default": s.default,
            **({"choices": list(s.choices)} if s.choices else {}),
        }
        for s in specs
    ]


def check_attributes(values: Mapping[str, object], specs: Sequence[AttributeSpec]) -> dict[str, AttributeValue]:
    """An object's attributes checked against the schema; an unknown name or a wrong value is an
    AttributeSchemaError naming it."""
    by_name = {s.name: s for s in specs}
    checked: dict[str, AttributeValue] = {}
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(repr(n) for n in by_name) or "none"
            raise AttributeSchemaError(f"attribute {name!r} is not in the project's schema (known: {known})")
        checked[name] = spec.check(value)
    return checked


def extended_schema(
    specs: Sequence[AttributeSpec], attributes: Iterable[Mapping[str, AttributeValue]]
) -> tuple[AttributeSpec, ...]:
    """`specs` plus an attribute for each name found in `attributes` that the schema lacks (an import's), its
    kind read from its first value: true/false a checkbox, a number a number, text a text."""
    known = {s.name for s in specs}
    added: list[AttributeSpec] = []
    for values in attributes:
        for name, value in values.items():
            if name in known:
                continue
            known.add(name)
            if isinstance(value, bool):
                kind = AttributeKind.CHECKBOX
            elif _is_number(value):
                kind = AttributeKind.NUMBER
            else:
                kind = AttributeKind.TEXT
            added.append(AttributeSpec(name, kind, _DEFAULTS[kind]))
    return (*specs, *added)


def imported_attributes(value: object) -> tuple[dict[str, AttributeValue] | None, int]:
    """An object's attributes from what a format's reader kept of it (Instances' `attributes` entry): CVAT's
    COCO layout {"attributes": {...}} and labelme's shape {"flags": {...}}. Returns them and how many values
    were left out for not being true/false, a finite number or text (the store holds only those)."""
    if not isinstance(value, Mapping):
        return None, 0
    found: dict[str, AttributeValue] = {}
    dropped = 0
    for key in ("attributes", "flags"):
        inner = value.get(key)
        if not isinstance(inner, Mapping):
            continue
        for name, item in inner.items():
            if isinstance(name, str) and name and (isinstance(item, (bool, str)) or _is_number(item)):
                found.setdefault(name, item)
            else:
                dropped += 1
    return found or None, dropped


def imported_tags(extra: Mapping[str, Any]) -> tuple[str, ...]:
    """An image's tags from its record's other keys: CVAT's `tags` list, and labelme `flags` that are set."""
    tags: dict[str, None] = {}
    listed = extra.get("tags")
    if isinstance(listed, list):
        tags.update((t, None) for t in listed if isinstance(t, str) and t.strip())
    flags = extra.get("flags")
    if isinstance(flags, Mapping):
        tags.update((name, None) for name, on in flags.items() if isinstance(name, str) and name.strip() and on is True)
    return tuple(tags)


def exported_attributes(attributes: Mapping[str, AttributeValue] | None) -> dict[str, Any] | None:
    """An object's attributes as the formats' writers take them: CVAT's COCO layout {"attributes": {...}}."""
    return {"attributes": dict(attributes)} if attributes else None


@dataclass(frozen=True, slots=True)
class DraftAttribute:
    """One row of the schema editor as the person left it, and the stored attribute it edits (`origin`, None for
    a new one), so a rename carries the objects' values to the new name."""

    name: str
    kind: AttributeKind
    choices: tuple[str, ...] = ()
    default: AttributeValue | None = None  # None: the kind's default (a choice's first choice)
    origin: str | None = None


def drafts_of(specs: Iterable[AttributeSpec]) -> list[DraftAttribute]:
    """The editor's rows for a stored schema, each its own origin."""
    return [DraftAttribute(s.name, s.kind, s.choices, s.default, s.name) for s in specs]


def schema_from_drafts(drafts: Sequence[DraftAttribute]) -> tuple[tuple[AttributeSpec, ...], dict[str, str]]:
    """The schema the editor's rows describe, and where each stored attribute that stays goes (stored name ->
    its name now; a stored name missing from it was removed, even when a new or renamed row took the name).
    AttributeSchemaError with a message a person can act on for an empty or doubled name, a choice without
    choices or a default that the attribute cannot hold."""
    seen: set[str] = set()
    for number, draft in enumerate(drafts, 1):
        name = draft.name.strip()
        if not name:
            raise AttributeSchemaError(f"Attribute {number} has no name: type one")
        if name in seen:
            raise AttributeSchemaError(f"Two attributes are called {name!r}: names must differ")
        seen.add(name)
        if draft.kind is AttributeKind.CHOICE:
            _check_choices(name, draft.choices, draft.default)
    carried = {d.origin: d.name.strip() for d in drafts if d.origin is not None}
    if len(carried) < sum(d.origin is not None for d in drafts):
        raise AttributeSchemaError("An attribute is listed twice as the same stored attribute")
    setting = [
        {
            "name": d.name.strip(),
            "kind": d.kind.value,
            **({"choices": [c.strip() for c in d.choices]} if d.kind is AttributeKind.CHOICE else {}),
            **({} if d.default is None else {"default": d.default}),
        }
        for d in drafts
    ]
    return parse_attribute_schema(setting), carried


def _check_choices(name: str, choices: Sequence[str], default: AttributeValue | None) -> None:
    stripped = [c.strip() for c in choices]
    if not stripped:
        raise AttributeSchemaError(f"{name!r} is a choice: list at least one choice")
    if not all(stripped):
        raise AttributeSchemaError(f"{name!r} has an empty choice: remove it or type its text")
    doubled = next((c for i, c in enumerate(stripped) if c in stripped[:i]), None)
    if doubled is not None:
        raise AttributeSchemaError(f"{name!r} lists the choice {doubled!r} twice")
    if default is not None and default not in stripped:
        listed = ", ".join(repr(c) for c in stripped)
        raise AttributeSchemaError(f"The default of {name!r}, {default!r}, is not one of its choices ({listed})")


def values_after_schema_change(
    values: Mapping[str, AttributeValue],
    before: Sequence[AttributeSpec],
    after: Sequence[AttributeSpec],
    carried: Mapping[str, str],
) -> tuple[dict[str, AttributeValue], tuple[str, ...]]:
    """An object's attributes under the new schema (`carried` as `schema_from_drafts` gives it): a value moves
    with its attribute's new name; a removed attribute's value, or one the changed attribute cannot hold (a
    new kind, a choice taken away), is dropped. A value the old schema did not know stays unless the new
    schema gave its name to an attribute that cannot hold it. Returns the values and the names dropped."""
    old = {s.name for s in before}
    new = {s.name: s for s in after}
    kept: dict[str, AttributeValue] = {}
    lost: list[str] = []
    for name, value in values.items():
        if name not in old:
            continue
        target = carried.get(name)
        try:
            if target is None:
                raise AttributeSchemaError(name)
            kept[target] = new[target].check(value)
        except AttributeSchemaError:
            lost.append(name)
    for name, value in values.items():  # after the schema's own, which win a name they share
        if name in old:
            continue
        spec = new.get(name)
        if name in kept or (spec is not None and not _holds(spec, value)):
            lost.append(name)
        else:
            kept[name] = value
    return kept, tuple(lost)


def _holds(spec: AttributeSpec, value: object) -> bool:
    try:
        spec.check(value)
    except AttributeSchemaError:
        return False
    return True
