import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from segmentation.training.dataset import DatasetError, TrainingImages, split_for_validation
from tests.segmentation.training.synthetic_shapes import write_dataset


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


@pytest.fixture
def other_tool_coco(tmp_path):
    """A COCO file as another tool writes it: non-contiguous category ids, a polygon, an RLE ring, a crowd."""
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "imgs" / "sub" / "a.png"), np.full((40, 60, 3), 128, np.uint8))
    cv2.imwrite(str(tmp_path / "imgs" / "b.png"), np.full((30, 30, 3), 90, np.uint8))
    ring = np.zeros((40, 60), bool)
    ring[10:30, 30:50] = True
    ring[15:25, 35:45] = False  # the hole
    crowd = np.zeros((30, 30), bool)
    crowd[5:25, 5:25] = True
    data = {
        "images": [{"id": 10, "file_name": "sub/a.png", "width": 60, "height": 40},
                   {"id": 11, "file_name": "b.png", "width": 30, "height": 30}],
        "categories": [{"id": 7, "name": "bolt"}, {"id": 3, "name": "nut"}],
        "annotations": [
            {"id": 1, "image_id": 10, "category_id": 7, "iscrowd": 0, "bbox": [2, 4, 20, 10],
             "segmentation": [[2, 4, 22, 4, 22, 14, 2, 14]]},
            {"id": 2, "image_id": 10, "category_id": 3, "iscrowd": 0, "segmentation": _rle(ring)},
            {"id": 3, "image_id": 11, "category_id": 7, "iscrowd": 1, "segmentation": _rle(crowd)},
        ],
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    return path, tmp_path / "imgs", ring


def test_objects_come_with_class_order_boxes_and_masks_with_holes(other_tool_coco):
    path, images_dir, ring = other_tool_coco
    images = TrainingImages.from_file(path, images_dir)
    assert images.class_names == ("bolt", "nut")  # file order, whatever the ids
    sample = images.load(0)
    assert sample.image.shape == (40, 60, 3)
    assert sample.labels.tolist() == [0, 1]
    assert sample.boxes[0].tolist() == pytest.approx([2, 4, 22, 14])
    full = sample.masks[1].full(40, 60)
    assert np.array_equal(full, ring)  # the hole survives
    assert sample.boxes[1].tolist() == pytest.approx([30, 10, 50, 30])
    assert len(sample.crowd_boxes) == 0


def test_crowd_regions_are_not_training_targets(other_tool_coco):
    path, images_dir, _ = other_tool_coco
    images = TrainingImages.from_file(path, images_dir)
    sample = images.load(1)
    assert len(sample) == 0
    assert sample.crowd_boxes.tolist() == [[5, 5, 25, 25]]
    assert images.has_objects(0) and not images.has_objects(1)


def test_validation_file_is_mapped_onto_the_training_classes_by_name(other_tool_coco, tmp_path):
    path, images_dir, _ = other_tool_coco
    train = TrainingImages.from_file(path, images_dir)
    data = json.loads(path.read_text())
    data["categories"] = [{"id": 1, "name": "nut"}, {"id": 2, "name": "bolt"}]
    for ann in data["annotations"]:
        ann["category_id"] = {7: 2, 3: 1}[ann["category_id"]]
    val_path = tmp_path / "val.json"
    val_path.write_text(json.dumps(data))
    val = TrainingImages.from_file(val_path, images_dir, train.class_names)
    assert val.load(0).labels.tolist() == [0, 1]

    data["categories"].append({"id": 5, "name": "washer"})
    data["annotations"][0]["category_id"] = 5
    val_path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="washer"):
        TrainingImages.from_file(val_path, images_dir, train.class_names)


def test_missing_image_files_are_named(other_tool_coco):
    path, images_dir, _ = other_tool_coco
    (images_dir / "b.png").unlink()
    with pytest.raises(DatasetError, match=r"1 image file\(s\).*b\.png"):
        TrainingImages.from_file(path, images_dir)


def test_image_size_different_from_the_coco_file_is_an_error(other_tool_coco):
    path, images_dir, _ = other_tool_coco
    cv2.imwrite(str(images_dir / "sub" / "a.png"), np.zeros((60, 40, 3), np.uint8))  # rotated
    images = TrainingImages.from_file(path, images_dir)
    with pytest.raises(DatasetError, match="40x60 but .* says 60x40"):
        images.load(0)


def test_broken_coco_file_is_a_dataset_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"images": []')
    with pytest.raises(DatasetError, match="not valid JSON"):
        TrainingImages.from_file(path, tmp_path)


def test_validation_split_is_reproducible_and_disjoint(tmp_path):
    path = write_dataset(tmp_path, 10, size=(32, 32))
    images = TrainingImages.from_file(path, tmp_path / "images")
    train, val = split_for_validation(images, 0.2, seed=3)
    _, again = split_for_validation(images, 0.2, seed=3)
    _, other = split_for_validation(images, 0.2, seed=4)
    names = lambda part: {i.file_name for i in part.images}  # noqa: E731
    assert (len(train), len(val)) == (8, 2)
    assert names(val) == names(again) and names(val) != names(other)
    assert not names(train) & names(val) and len(names(train) | names(val)) == 10
    assert len(split_for_validation(images.subset([0]), 0.5, seed=0)[1]) == 0
