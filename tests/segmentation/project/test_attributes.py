"""The project's attribute schema: parsed from settings with clear refusals, values checked against it."""

from __future__ import annotations

import pytest

from protolabel.segmentation.project.attributes import (
    AttributeKind,
    AttributeSchemaError,
    AttributeSpec,
    check_attributes,
    extended_schema,
    parse_attribute_schema,
    schema_setting,
)

SCHEMA = [
    {"name": "occluded", "kind": "checkbox"},
    {"name": "pose", "kind": "choice", "choices": ["front", "side"], "default": "side"},
    {"name": "note", "kind": "text"},
    {"name": "count", "kind": "number", "default": 2},
]


def test_a_schema_reads_back_from_its_setting_with_defaults():
    specs = parse_attribute_schema(SCHEMA)
    assert [(s.name, s.kind, s.default) for s in specs] == [
        ("occluded", AttributeKind.CHECKBOX, False),
        ("pose", AttributeKind.CHOICE, "side"),
        ("note", AttributeKind.TEXT, ""),
        ("count", AttributeKind.NUMBER, 2),
    ]
    assert specs[1].choices == ("front", "side")
    assert parse_attribute_schema(schema_setting(specs)) == specs
    assert parse_attribute_schema(None) == ()


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"name": "x"}, "must be a list"),
        (["occluded"], "attribute 1 of the schema is not an object"),
        ([{"kind": "text"}], "attribute 1 of the schema has no name"),
        ([{"name": "a", "kind": "text"}, {"name": "a", "kind": "text"}], "'a' is in the schema twice"),
        ([{"name": "a", "kind": "colour"}], "'a' has the kind 'colour'; use one of checkbox, choice, text, number"),
        ([{"name": "a", "kind": "choice"}], "'a' is a choice but has no choices"),
        ([{"name": "a", "kind": "choice", "choices": ["x", "x"]}], "'a' lists a choice twice"),
        ([{"name": "a", "kind": "choice", "choices": [1]}], "choices must be a list of texts"),
        ([{"name": "a", "kind": "number", "default": "ten"}], "the default of attribute 'a' .* must be a finite"),
        ([{"name": "a", "kind": "choice", "choices": ["x"], "default": "y"}], r"must be one of 'x', not 'y'"),
    ],
)
def test_a_bad_schema_is_refused_naming_the_attribute(schema, message):
    with pytest.raises(AttributeSchemaError, match=message):
        parse_attribute_schema(schema)


def test_values_are_checked_against_the_schema():
    specs = parse_attribute_schema(SCHEMA)
    good = {"occluded": True, "pose": "front", "note": "half hidden", "count": 3.5}
    assert check_attributes(good, specs) == good
    for values, message in [
        ({"occluded": 1}, "'occluded' \\(checkbox\\) must be true or false, not 1"),
        ({"count": True}, "'count' \\(number\\) must be a finite number"),
        ({"count": float("nan")}, "must be a finite number"),
        ({"pose": "back"}, "must be one of 'front', 'side', not 'back'"),
        ({"colour": "red"}, "'colour' is not in the project's schema \\(known: 'occluded', 'pose'"),
    ]:
        with pytest.raises(AttributeSchemaError, match=message):
            check_attributes(values, specs)


def test_an_import_adds_the_attributes_the_schema_lacks_with_a_kind_read_from_the_value():
    specs = (AttributeSpec("occluded", AttributeKind.CHECKBOX, False),)
    extended = extended_schema(specs, [{"occluded": True, "truncated": False}, {"score": 0.5, "note": "x"}])
    assert [(s.name, s.kind) for s in extended] == [
        ("occluded", AttributeKind.CHECKBOX),
        ("truncated", AttributeKind.CHECKBOX),
        ("score", AttributeKind.NUMBER),
        ("note", AttributeKind.TEXT),
    ]
