"""COCO export / import / validation: the rules trainers rely on, other tools' files, bad files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from protolabel.segmentation.coco import (
    Category,
    CocoDataset,
    CocoFormatError,
    CocoImage,
    parse_coco,
    read_coco,
    to_coco_dict,
    validate_coco,
    write_class_names,
    write_coco,
    yolact_dataset_config,
)
from protolabel.segmentation.coco.validation import load_with_pycocotools
from protolabel.segmentation.geometry import Instances, mask_to_shape, shape_to_mask
from protolabel.segmentation.geometry.rle import mask_to_rle

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

NAMES = ("cat", "dog")


def _masks():
    ring = np.zeros((60, 80), bool)
    ring[5:40, 5:40] = True
    ring[15:25, 15:25] = False
    two_parts = np.zeros((60, 80), bool)
    two_parts[45:55, 50:75] = True
    two_parts[5:12, 60:70] = True
    return ring, two_parts


@pytest.fixture
def dataset() -> CocoDataset:
    ring, two_parts = _masks()
    inst = Instances(
        (60, 80),
        class_names=NAMES,
        shapes=[mask_to_shape(ring), mask_to_shape(two_parts)],
        classes=[0, 1],
        scores=[0.875, np.nan],
        provenance=["auto", "verified"],
    )
    return CocoDataset(
        (Category(1, "cat"), Category(2, "dog")),
        [
            CocoImage("sub/dir/a.png", 80, 60, inst),
            CocoImage("chat été 1.jpg", 80, 60, Instances.empty((60, 80), NAMES)),
        ],
    )


def test_export_follows_the_coco_rules(dataset, tmp_path):
    path = tmp_path / "annotations.json"
    data = write_coco(path, dataset)
    assert json.loads(path.read_text(encoding="utf-8")) == data
    assert [c["id"] for c in data["categories"]] == [1, 2]  # 1-based, no background
    assert [img["file_name"] for img in data["images"]] == ["sub/dir/a.png", "chat été 1.jpg"]
    assert [(img["width"], img["height"]) for img in data["images"]] == [(80, 60), (80, 60)]
    ring_ann, parts_ann = data["annotations"]
    assert [ring_ann["id"], parts_ann["id"]] == [1, 2]
    # the object with a hole is RLE with iscrowd 0; the two-part one is two polygons
    assert isinstance(ring_ann["segmentation"], dict) and ring_ann["iscrowd"] == 0
    assert ring_ann["area"] == 35 * 35 - 100 and ring_ann["bbox"] == [5, 5, 35, 35]
    assert len(parts_ann["segmentation"]) == 2 and parts_ann["iscrowd"] == 0
    assert parts_ann["area"] == 250 + 70 and parts_ann["bbox"] == [50, 5, 25, 50]
    assert ring_ann["score"] == 0.875 and ring_ann["source"] == "auto"
    assert "score" not in parts_ann and parts_ann["source"] == "verified"
    # pycocotools reproduces the masks
    coco = load_with_pycocotools(data)
    for ann, mask in zip(data["annotations"], _masks()):
        assert np.array_equal(coco.annToMask(ann).astype(bool), mask)
    assert not [p for p in os.listdir(tmp_path) if p != "annotations.json"]  # no temp files left


def test_export_validates_and_self_evaluates_to_ap_1(dataset):
    report = validate_coco(to_coco_dict(dataset))
    assert report.ok, report.summary()
    assert report.segm_ap == pytest.approx(1.0) and report.bbox_ap == pytest.approx(1.0)


def test_validation_catches_drifted_area_bbox_and_duplicate_ids(dataset):
    data = to_coco_dict(dataset)
    data["annotations"][1]["area"] = 1.0
    data["annotations"][0]["bbox"] = [0, 0, 1, 1]
    data["annotations"].append(dict(data["annotations"][1]))
    problems = validate_coco(data).problems
    assert any("duplicate annotation ids" in p for p in problems)
    assert any("area 1.0" in p for p in problems)
    assert any("bbox [0, 0, 1, 1]" in p for p in problems)
    zero_based = to_coco_dict(dataset)
    zero_based["categories"][0]["id"] = 0
    for ann in zero_based["annotations"]:
        if ann["category_id"] == 1:
            ann["category_id"] = 0
    assert any(">= 1" in p for p in validate_coco(zero_based, self_evaluate=False).problems)


def test_round_trip_keeps_everything(dataset, tmp_path):
    path = tmp_path / "a.json"
    first = write_coco(path, dataset)
    back = read_coco(path)
    assert back.category_names == NAMES and back.import_notes == ()
    inst = back.images[0].instances
    assert inst.provenance.tolist() == ["auto", "verified"]
    assert inst.scores[0] == pytest.approx(0.875) and np.isnan(inst.scores[1])
    for shape, mask in zip(inst.shapes, _masks()):
        assert np.array_equal(shape_to_mask(shape, 60, 80), mask)
    assert to_coco_dict(back) == first


def test_export_refuses_mismatched_classes(dataset):
    inst = Instances.empty((60, 80), ("other",))
    dataset.images.append(CocoImage("x.png", 80, 60, inst))
    with pytest.raises(ValueError, match="categories"):
        to_coco_dict(dataset)


def test_failed_write_leaves_the_old_file(dataset, tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    path.write_text('{"old": true}', encoding="utf-8")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        write_coco(path, dataset)
    assert path.read_text(encoding="utf-8") == '{"old": true}'
    assert os.listdir(tmp_path) == ["a.json"]


# ----------------------------------------------------------------------------- another tool's file


def _uncompressed_rle(mask: np.ndarray) -> dict:
    flat = mask.T.ravel().astype(np.int8)
    counts, value, run = [], 0, 0
    for v in flat:
        if v == value:
            run += 1
        else:
            counts.append(run)
            value, run = v, 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}


def other_tool_file() -> tuple[dict, dict[int, np.ndarray]]:
    """A CVAT/labelme-style export: sparse category ids, a fake background, crowd RLE, bbox-only."""
    h, w = 90, 120
    crowd = np.zeros((h, w), bool)
    crowd[50:85, 5:60] = True
    holed = np.zeros((h, w), bool)
    holed[10:45, 70:115] = True
    holed[20:30, 85:95] = False
    data = {
        "info": {"description": "exported by another tool"},
        "licenses": [{"id": 1, "name": "CC-BY"}],
        "categories": [
            {"id": 0, "name": "_background_", "supercategory": ""},
            {"id": 3, "name": "tree", "supercategory": "plant"},
            {"id": 7, "name": "car", "supercategory": "vehicle"},
            {"id": 12, "name": "person", "supercategory": "person"},
        ],
        "images": [
            {"id": 5, "file_name": "JPEGImages\\street.jpg", "width": w, "height": h, "license": 1},
            {"id": 9, "file_name": "JPEGImages/park.jpg", "width": 64, "height": 48},
            {"id": 11, "file_name": "empty.jpg", "width": 32, "height": 32},
        ],
        "annotations": [
            {
                "id": 101,
                "image_id": 5,
                "category_id": 7,
                "iscrowd": 0,
                "area": 999.0,
                "bbox": [1, 2, 3, 4],
                "segmentation": [[10.5, 12.25, 40.0, 12.0, 42.75, 30.5, 11.0, 33.0]],
                "attributes": {"occluded": False, "track_id": 4},
            },
            {
                "id": 102,
                "image_id": 5,
                "category_id": 12,
                "iscrowd": 1,
                "area": 0,
                "bbox": [0, 0, 0, 0],
                "segmentation": _uncompressed_rle(crowd),
            },
            {"id": 103, "image_id": 5, "category_id": 3, "iscrowd": 0, "segmentation": mask_to_rle(holed)},
            {"id": 200, "image_id": 9, "category_id": 7, "iscrowd": 0, "segmentation": [], "bbox": [4, 6, 20, 10]},
        ],
    }
    return data, {102: crowd, 103: holed}


def test_import_of_another_tools_file_keeps_ids_masks_and_flags(tmp_path):
    data, masks = other_tool_file()
    original = load_with_pycocotools(data)
    path = tmp_path / "cvat.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    ds = read_coco(path)
    assert [(c.id, c.name, c.supercategory) for c in ds.categories] == [
        (3, "tree", "plant"),
        (7, "car", "vehicle"),
        (12, "person", "person"),
    ]
    assert any("_background_" in n for n in ds.import_notes)
    assert any("bbox was read as a rectangle" in n for n in ds.import_notes)
    assert [img.file_name for img in ds.images] == ["JPEGImages/street.jpg", "JPEGImages/park.jpg", "empty.jpg"]
    street = ds.images[0].instances
    assert street.labels == ["car", "person", "tree"]
    assert street.crowd.tolist() == [False, True, False]
    assert street.provenance.tolist() == ["edited"] * 3  # drawn by a person elsewhere
    assert street.attributes[0] == {"attributes": {"occluded": False, "track_id": 4}}
    # every imported object rasterises exactly as pycocotools rasterises the original
    for shape, ann_id in zip(street.shapes, (101, 102, 103)):
        expected = original.annToMask(original.anns[ann_id]).astype(bool)
        assert np.array_equal(shape_to_mask(shape, 90, 120), expected)
    assert ds.images[1].instances.boxes.tolist() == [[4, 6, 24, 16]]

    exported = to_coco_dict(ds)
    report = validate_coco(exported)
    assert report.ok, report.summary()
    assert [c["id"] for c in exported["categories"]] == [3, 7, 12]
    anns = {a["category_id"]: a for a in exported["annotations"] if a["image_id"] == 5}
    assert anns[12]["iscrowd"] == 1 and isinstance(anns[12]["segmentation"], dict)
    assert anns[3]["iscrowd"] == 0 and isinstance(anns[3]["segmentation"], dict)  # it has a hole
    assert anns[7]["segmentation"] == data["annotations"][0]["segmentation"]  # vertices untouched
    assert anns[7]["attributes"] == {"occluded": False, "track_id": 4}
    assert anns[7]["area"] != 999.0 and anns[7]["bbox"] == [10.5, 12.0, 32.25, 21.0]  # from the geometry
    again = load_with_pycocotools(exported)
    for ann in exported["annotations"]:
        if ann["image_id"] == 5:
            original_id = {7: 101, 12: 102, 3: 103}[ann["category_id"]]
            assert np.array_equal(again.annToMask(ann), original.annToMask(original.anns[original_id]))
    assert exported["info"] == data["info"] and exported["images"][0]["license"] == 1


def test_zero_based_categories_in_use_are_renumbered():
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 0, "name": "leaf"}, {"id": 1, "name": "stem"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 0, "segmentation": [[1, 1, 5, 1, 5, 5]]}],
    }
    ds = parse_coco(data)
    assert [(c.id, c.name) for c in ds.categories] == [(1, "leaf"), (2, "stem")]
    assert ds.images[0].instances.labels == ["leaf"]
    assert any("renumbered" in n for n in ds.import_notes)


# ----------------------------------------------------------------------------- malformed files


def test_malformed_file_names_the_first_problems_by_json_path(tmp_path):
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 10, "height": 10},
            {"id": 1, "file_name": "b.png", "width": 10},
        ],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5]]},
        ],
    }
    path = tmp_path / "bad.json"
    text = json.dumps(data)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CocoFormatError) as err:
        read_coco(path)
    message = str(err.value)
    assert str(path) in message
    assert "$.images[1].id: duplicate image id 1" in message
    assert "$.images[1].height: expected a positive integer, got None" in message
    assert path.read_text(encoding="utf-8") == text  # nothing changed

    data["images"].pop()
    with pytest.raises(CocoFormatError, match=r"\$\.annotations\[0\]\.segmentation\[0\]: odd number of coordinates"):
        parse_coco(data)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("images"), "$: missing required key 'images'"),
        (lambda d: d.__setitem__("categories", {}), "$.categories: expected a list, got an object"),
        (lambda d: d["annotations"][0].__setitem__("image_id", 42), "$.annotations[0].image_id: no image with id 42"),
        (lambda d: d["annotations"][0].__setitem__("category_id", 9), "$.annotations[0].category_id: no category"),
        (
            lambda d: d["annotations"][0].__setitem__("segmentation", {"size": [5, 5], "counts": "abc"}),
            "$.annotations[0].segmentation.size: RLE is 5x5 but the image is 10x10",
        ),
        (
            lambda d: d["annotations"][0].__setitem__("segmentation", [["1", 2, 3, 4, 5, 6]]),
            "$.annotations[0].segmentation[0]: expected a flat list of numbers",
        ),
        (lambda d: d["annotations"][0].__setitem__("iscrowd", 2), "$.annotations[0].iscrowd: expected 0 or 1"),
        (lambda d: d["annotations"].append(dict(d["annotations"][0])), "$.annotations[1].id: duplicate annotation id"),
    ],
)
def test_each_kind_of_problem_is_reported(mutate, expected):
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]}],
    }
    mutate(data)
    with pytest.raises(CocoFormatError) as err:
        parse_coco(data)
    assert expected in str(err.value)


def test_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [', encoding="utf-8")
    with pytest.raises(CocoFormatError, match="not valid JSON"):
        read_coco(path)


# ----------------------------------------------------------------------------- YOLACT class list


class _Config(dict):
    """Stand-in for YOLACT's data.config.Config: copy(new) returns an updated config."""

    def copy(self, new=None):
        out = _Config(self)
        out.update(new or {})
        return out

    def __getattr__(self, name):
        return self[name]


def test_yolact_config_snippet_runs_and_maps_ids(tmp_path):
    categories = [Category(3, "tree"), Category(7, "car"), Category(12, "person")]
    source = yolact_dataset_config(
        categories, name="Street 2024", train_images="/data/img", train_info="/data/annotations.json"
    )
    namespace = {"dataset_base": _Config(has_gt=False), "yolact_resnet50_config": _Config(max_size=550)}
    exec(source, namespace)  # the snippet is valid Python for YOLACT's data/config.py
    dataset, config = namespace["street_2024_dataset"], namespace["street_2024_config"]
    assert dataset["class_names"] == ("tree", "car", "person")
    assert dataset["label_map"] == {3: 1, 7: 2, 12: 3}
    assert dataset["valid_info"] == "/data/annotations.json" and dataset["has_gt"] is True
    assert config["num_classes"] == 4 and config["max_size"] == 550

    sidecar = tmp_path / "model.classes.json"
    write_class_names(sidecar, categories)
    assert json.loads(sidecar.read_text(encoding="utf-8")) == ["tree", "car", "person"]
