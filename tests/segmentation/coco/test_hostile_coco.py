"""Hostile COCO files: each gives CocoFormatError naming the file (one clear message), never a crash."""

from __future__ import annotations

import json

import pytest

from protolabel.segmentation.coco import CocoFormatError, parse_coco, read_coco, validate_coco


def _valid() -> dict:
    return {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]}],
    }


def test_deeply_nested_brackets_are_a_clear_error(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(CocoFormatError) as info:
        read_coco(path)
    assert str(path) in str(info.value) and "nested too deeply" in str(info.value)


def test_deep_nesting_inside_a_valid_document_is_a_clear_error(tmp_path):
    path = tmp_path / "nested-inside.json"
    text = json.dumps(_valid())
    path.write_text(
        text.replace('"id": 1, "image_id"', '"id": ' + "[" * 100_000 + "]" * 100_000 + ', "image_id"'), encoding="utf-8"
    )
    with pytest.raises(CocoFormatError, match="nested too deeply"):
        read_coco(path)


@pytest.mark.parametrize("top", [[], "text", 3, None, [{"images": []}]])
def test_top_level_that_is_not_an_object(tmp_path, top):
    path = tmp_path / "top.json"
    path.write_text(json.dumps(top), encoding="utf-8")
    with pytest.raises(CocoFormatError, match=r"\$: expected a JSON object"):
        read_coco(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["annotations"][0].__setitem__("id", [1]), "$.annotations[0].id: expected an integer id"),
        (lambda d: d["annotations"][0].__setitem__("id", {"a": 1}), "$.annotations[0].id: expected an integer id"),
        (lambda d: d["annotations"][0].__setitem__("source", ["auto"]), None),  # ignored: read as a person's object
        (lambda d: d["images"][0].__setitem__("file_name", "a\0.png"), "$.images[0].file_name: contains a NUL"),
        (lambda d: d["images"][0].__setitem__("file_name", ["a.png"]), "$.images[0].file_name: expected a non-empty"),
        (
            lambda d: d["images"][0].update(width=10**12, height=10**12),
            "$.images[0]: image is 1000000000000x1000000000000 pixels, more than the 300 MP supported",
        ),
        (lambda d: d["images"][0].__setitem__("width", 1.5), "$.images[0].width: expected a positive integer"),
        (
            lambda d: d["annotations"][0].__setitem__("segmentation", [[1, 1, 5e12, 1, 5, 5]]),
            "$.annotations[0].segmentation[0]: coordinates lie more than one image size outside the 10x10 image",
        ),
        (
            lambda d: d["annotations"][0].__setitem__("segmentation", [[1, 1, 5, -11, 5, 5]]),
            "$.annotations[0].segmentation[0]: coordinates lie more than one image size outside",
        ),
        (
            lambda d: d["annotations"][0].update(segmentation=[], bbox=[1, 1, 1e9, 2]),
            "$.annotations[0].bbox: coordinates lie more than one image size outside",
        ),
        (
            lambda d: d["annotations"][0].__setitem__("segmentation", {"size": [10, 10], "counts": [[1]]}),
            "$.annotations[0].segmentation.counts",
        ),
        (lambda d: d["categories"][0].__setitem__("name", "x" * 10_000), None),
        (lambda d: d["categories"][0].__setitem__("id", "y" * 10_000), "expected an integer id, got 'yyyy"),
    ],
)
def test_wrong_types_and_sizes_are_named_by_json_path(mutate, expected):
    data = _valid()
    mutate(data)
    if expected is None:
        parse_coco(data)
        return
    with pytest.raises(CocoFormatError) as info:
        parse_coco(data, source="hostile.json")
    message = str(info.value)
    assert message.startswith("hostile.json: not a usable COCO file") and expected in message
    assert len(message) < 500  # a hostile value is quoted cut short, not in full


def test_polygons_slightly_outside_the_image_are_still_read():
    data = _valid()
    data["annotations"][0]["segmentation"] = [[-3.5, -2, 15, -1, 19.9, 19.9]]
    image = parse_coco(data).images[0]
    assert len(image.instances) == 1


def test_absolute_and_backslash_names_keep_the_name_as_written():
    data = _valid()
    data["images"].append({"id": 2, "file_name": "/data/set/b.png", "width": 10, "height": 10})
    data["images"].append({"id": 3, "file_name": "sub\\c.png", "width": 10, "height": 10})
    images = parse_coco(data).images
    assert [(img.file_name, img.source_name) for img in images] == [
        ("a.png", None),
        ("data/set/b.png", "/data/set/b.png"),
        ("sub/c.png", "sub\\c.png"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        json.dumps({"images": [1], "categories": [], "annotations": []}),
        json.dumps(
            {
                "images": [{"id": 1}],
                "categories": [{"id": 1, "name": "x"}],
                "annotations": [{"id": 1, "image_id": 1, "segmentation": 5}],
            }
        ),
        json.dumps([1, 2]),
    ],
)
def test_validation_reports_hostile_files_as_problems(tmp_path, text):
    path = tmp_path / "hostile.json"
    path.write_text(text, encoding="utf-8")
    report = validate_coco(path)
    assert not report.ok and report.problems
