"""The reader's fast paths (orjson, polygons converted in one array, RLE masks traced in a batch) read
exactly what the general paths read, and hand everything they refuse to the checks that name it."""

from __future__ import annotations

import codecs
import json
import math

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.coco import CocoFormatError, parse_coco, read_coco
from protolabel.segmentation.geometry import shape_to_mask


def _dataset(annotations: list[dict]) -> dict:
    return {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 2, "file_name": "b.png", "width": 20, "height": 20},
        ],
        "categories": [{"id": 1, "name": "cup"}, {"id": 2, "name": "dog"}],
        "annotations": annotations,
    }


def _mixed_annotations() -> list[dict]:
    """Polygons (one part, several parts, closed rings, degenerate parts, ints and floats), RLE and a bbox."""
    mask = np.zeros((30, 40), np.uint8)
    mask[5:20, 6:30] = 1
    mask[9:13, 10:15] = 0  # a hole
    rle = mask_utils.encode(np.asfortranarray(mask))
    rle["counts"] = rle["counts"].decode("ascii")
    return [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [[1, 1, 9, 1, 9, 7]],
            "score": 0.5,
            "source": "auto",
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 2,
            "segmentation": [[1.5, 2.25, 8, 2, 8, 9, 1.5, 2.25], [2, 2], [20, 20, 30, 20, 25, 28]],
        },
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": rle, "source": "verified"},
        {"id": 4, "image_id": 2, "category_id": 2, "bbox": [2, 3, 5, 6], "score": 1},
        {"id": 5, "image_id": 2, "category_id": 1, "segmentation": [[0, 0, 19, 0, 19, 19, 0, 19]], "extra": [1, 2]},
    ]


def _same(a, b) -> None:
    assert [i.file_name for i in a.images] == [i.file_name for i in b.images]
    for x, y in zip(a.images, b.images):
        xi, yi = x.instances, y.instances
        assert xi.classes.tolist() == yi.classes.tolist()
        assert np.array_equal(xi.scores, yi.scores, equal_nan=True)
        assert xi.provenance.tolist() == yi.provenance.tolist()
        assert list(xi.attributes) == list(yi.attributes)
        assert list(xi.shapes) == list(yi.shapes)


def test_a_file_reads_as_its_parsed_json_does(tmp_path):
    data = _dataset(_mixed_annotations())
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    from_file = read_coco(path)
    _same(from_file, parse_coco(json.loads(path.read_text(encoding="utf-8"))))
    cup = from_file.images[0].instances
    assert [len(s.polygons) for s in cup.shapes] == [1, 2, 1]  # the [2, 2] part carries no area
    assert np.array_equal(cup.shapes[1].polygons[0].exterior, [[1.5, 2.25], [8, 2], [8, 9]])  # closing vertex dropped
    assert cup.shapes[2].has_holes
    rle = _mixed_annotations()[2]["segmentation"]
    pixels = mask_utils.decode(rle | {"counts": rle["counts"].encode()}).astype(bool)
    assert np.array_equal(shape_to_mask(cup.shapes[2], 30, 40), pixels)


def test_a_byte_order_mark_is_allowed(tmp_path):
    data = _dataset(_mixed_annotations())
    plain, marked = tmp_path / "plain.json", tmp_path / "marked.json"
    plain.write_text(json.dumps(data), encoding="utf-8")
    marked.write_bytes(codecs.BOM_UTF8 + json.dumps(data).encode("utf-8"))
    _same(read_coco(plain), read_coco(marked))


def test_nan_and_infinity_as_python_writes_them(tmp_path):
    data = _dataset(_mixed_annotations())
    data["annotations"][0]["score"] = math.nan  # json.dumps writes the bare literal NaN
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "NaN" in path.read_text(encoding="utf-8")
    assert math.isnan(read_coco(path).images[0].instances.scores[0])  # read as "no score", not refused

    data["annotations"][1]["segmentation"][2][3] = math.inf
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CocoFormatError, match=r"\$\.annotations\[1\]\.segmentation\[2\]: coordinates must be finite"):
        read_coco(path)


def test_ids_beyond_64_bits_are_read(tmp_path):
    data = _dataset(_mixed_annotations())
    data["annotations"][0]["id"] = 2**70
    path = tmp_path / "big-id.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert len(read_coco(path).images[0].instances) == 3


def test_text_that_is_not_utf8_or_not_json_is_named(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(_dataset([])).replace("cup", "caf\u00e9").encode("latin-1"))
    with pytest.raises(CocoFormatError, match="not UTF-8 text"):
        read_coco(path)
    path.write_text('{"images": [],\n "categories": [}', encoding="utf-8")
    with pytest.raises(CocoFormatError, match="not valid JSON: .* at line 2 column"):
        read_coco(path)


def test_far_outside_names_the_part_as_written(tmp_path):
    """The part index in the message counts every list of the annotation, degenerate ones included."""
    annotations = _mixed_annotations()
    annotations[1]["segmentation"] = [[1, 1, 9, 1, 9, 7], [3, 3], [1, 1, 500, 1, 9, 7]]
    annotations[4]["segmentation"] = [[0, 0, 19, 0, 19, -45]]
    path = tmp_path / "far.json"
    path.write_text(json.dumps(_dataset(annotations)), encoding="utf-8")
    with pytest.raises(CocoFormatError) as info:
        read_coco(path)
    assert [p for p, _ in info.value.problems] == [
        "$.annotations[1].segmentation[2]",
        "$.annotations[4].segmentation[0]",
    ]


def test_structure_problems_do_not_leave_parts_behind(tmp_path):
    """A refused annotation's parts are not counted into the next annotation's."""
    annotations = _mixed_annotations()
    annotations[0]["segmentation"] = [[1, 1, 9, 1, 9, 7], [1, 2, 3]]
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(_dataset(annotations)), encoding="utf-8")
    with pytest.raises(CocoFormatError) as info:
        read_coco(path)
    assert info.value.problems == [("$.annotations[0].segmentation[1]", "odd number of coordinates (3)")]


def test_a_corrupt_rle_among_good_ones_is_named(tmp_path):
    annotations = _mixed_annotations()
    good = annotations[2]
    annotations.append(
        good | {"id": 6, "segmentation": {"size": [30, 40], "counts": good["segmentation"]["counts"][:-3] + "{{{"}}
    )
    annotations.append(good | {"id": 7})
    path = tmp_path / "rle.json"
    path.write_text(json.dumps(_dataset(annotations)), encoding="utf-8")
    with pytest.raises(CocoFormatError) as info:
        read_coco(path)
    assert [p for p, _ in info.value.problems] == ["$.annotations[5].segmentation.counts"]
    assert "cannot decode RLE" in info.value.problems[0][1]


def test_parts_of_fewer_than_three_distinct_points(tmp_path):
    """A closed ring of 3 listed points has 2 distinct ones: dropped where the object has another part,
    named where it has none."""
    annotations = _mixed_annotations()
    annotations[0]["segmentation"] = [[1, 1, 5, 1, 1, 1], [1, 1, 9, 1, 9, 7, 1, 1]]
    path = tmp_path / "degenerate.json"
    path.write_text(json.dumps(_dataset(annotations)), encoding="utf-8")
    shape = read_coco(path).images[0].instances.shapes[0]
    assert len(shape.polygons) == 1 and np.array_equal(shape.polygons[0].exterior, [[1, 1], [9, 1], [9, 7]])
    annotations[4]["segmentation"] = [[3, 3, 4, 4, 3, 3]]
    path.write_text(json.dumps(_dataset(annotations)), encoding="utf-8")
    with pytest.raises(CocoFormatError) as info:
        read_coco(path)
    assert info.value.problems == [("$.annotations[4].segmentation", "no polygon with at least 3 distinct points")]
