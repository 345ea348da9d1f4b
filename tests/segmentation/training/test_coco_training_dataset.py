import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from protolabel.segmentation.training.dataset import DatasetError, TrainingImages, split_for_validation
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
        "images": [
            {"id": 10, "file_name": "sub/a.png", "width": 60, "height": 40},
            {"id": 11, "file_name": "b.png", "width": 30, "height": 30},
        ],
        "categories": [{"id": 7, "name": "bolt"}, {"id": 3, "name": "nut"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 10,
                "category_id": 7,
                "iscrowd": 0,
                "bbox": [2, 4, 20, 10],
                "segmentation": [[2, 4, 22, 4, 22, 14, 2, 14]],
            },
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


# ----------------------------------------------------------------------------- file names and the images folder


def _single_image_coco(tmp_path, file_name: str, *, iscrowd: int = 0, name: str = "ann.json"):
    data = {
        "images": [{"id": 1, "file_name": file_name, "width": 30, "height": 20}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "iscrowd": iscrowd,
                "segmentation": [[2, 2, 12, 2, 12, 12, 2, 12]],
            }
        ],
    }
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def layout(tmp_path):
    """tmp/data/images/in.png and tmp/outside/stolen.png."""
    images_dir = tmp_path / "data" / "images"
    images_dir.mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    for path in (images_dir / "in.png", tmp_path / "outside" / "stolen.png"):
        cv2.imwrite(str(path), np.full((20, 30, 3), 50, np.uint8))
    return tmp_path, images_dir


@pytest.mark.parametrize(
    "file_name",
    [
        "../../outside/stolen.png",
        "../../../../../../../../etc/passwd",
        "sub/../../../outside/stolen.png",
        "..\\..\\outside\\stolen.png",
    ],
)
def test_file_names_leading_outside_the_images_folder_are_refused_by_name(layout, file_name, monkeypatch):
    tmp_path, images_dir = layout
    monkeypatch.setattr("protolabel.segmentation.training.dataset.read_image", _never_read)
    path = _single_image_coco(tmp_path, file_name)
    with pytest.raises(DatasetError) as info:
        TrainingImages.from_file(path, images_dir)
    message = str(info.value)
    assert repr(file_name) in message and "outside the images folder" in message and str(images_dir) in message


def _never_read(path):
    raise AssertionError(f"{path} was opened")


def test_absolute_names_inside_the_folder_are_read_outside_refused(layout, monkeypatch):
    tmp_path, images_dir = layout
    inside = _single_image_coco(tmp_path, str(images_dir / "in.png"))
    images = TrainingImages.from_file(inside, images_dir)
    assert images.load(0).image.shape == (20, 30, 3)
    assert len(images.load(0)) == 1

    monkeypatch.setattr("protolabel.segmentation.training.dataset.read_image", _never_read)
    for name in (str(tmp_path / "outside" / "stolen.png"), "/etc/passwd"):
        with pytest.raises(DatasetError) as info:
            TrainingImages.from_file(_single_image_coco(tmp_path, name, name="abs.json"), images_dir)
        assert repr(name) in str(info.value) and "outside the images folder" in str(info.value)


def test_a_symlink_leading_outside_is_refused_one_inside_is_read(layout, monkeypatch):
    tmp_path, images_dir = layout
    (images_dir / "escape.png").symlink_to(tmp_path / "outside" / "stolen.png")
    (images_dir / "alias.png").symlink_to(images_dir / "in.png")
    (images_dir / "linked_dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert len(TrainingImages.from_file(_single_image_coco(tmp_path, "alias.png"), images_dir).load(0)) == 1
    monkeypatch.setattr("protolabel.segmentation.training.dataset.read_image", _never_read)
    for name in ("escape.png", "linked_dir/stolen.png"):
        with pytest.raises(DatasetError) as info:
            TrainingImages.from_file(_single_image_coco(tmp_path, name, name="link.json"), images_dir)
        assert repr(name) in str(info.value) and "outside the images folder" in str(info.value)


def test_relative_names_are_under_the_images_folder_even_when_it_is_a_symlink(layout):
    tmp_path, images_dir = layout
    (tmp_path / "link_to_images").symlink_to(images_dir, target_is_directory=True)
    images = TrainingImages.from_file(_single_image_coco(tmp_path, "in.png"), tmp_path / "link_to_images")
    assert images.load(0).image.shape == (20, 30, 3)


# ----------------------------------------------------------------------------- crowd objects


def test_all_crowd_file_says_why_and_how_to_include_them(tmp_path):
    path = write_dataset(tmp_path, 3, size=(32, 32))
    data = json.loads(path.read_text())
    for ann in data["annotations"]:
        ann["iscrowd"] = 1
    path.write_text(json.dumps(data))
    images = TrainingImages.from_file(path, tmp_path / "images")
    objects, with_crowd = images.crowd_counts()
    assert (objects, with_crowd) == (len(data["annotations"]), len({a["image_id"] for a in data["annotations"]}))
    with pytest.raises(DatasetError) as info:
        images.trainable_indices()
    message = str(info.value)
    assert "no training image has an object to learn from" in message
    assert f"{objects} object(s) in {with_crowd} image(s)" in message and "iscrowd 1" in message
    assert "--crowd-as-objects" in message

    as_objects = TrainingImages.from_file(path, tmp_path / "images", crowd_as_objects=True)
    assert as_objects.trainable_indices() == sorted(
        {i for i, img in enumerate(as_objects.images) if len(img.instances)}
    )
    index = as_objects.trainable_indices()[0]
    sample = as_objects.load(index)
    assert len(sample) == len(as_objects.images[index].instances) and len(sample.crowd_boxes) == 0
    assert as_objects.subset([index]).crowd_as_objects


def test_crowd_region_becomes_an_object_with_its_mask(other_tool_coco):
    path, images_dir, _ = other_tool_coco
    sample = TrainingImages.from_file(path, images_dir, crowd_as_objects=True).load(1)
    expected = np.zeros((30, 30), bool)
    expected[5:25, 5:25] = True
    assert sample.labels.tolist() == [0] and len(sample.crowd_boxes) == 0
    assert np.array_equal(sample.masks[0].full(30, 30), expected)


def test_no_objects_at_all_is_not_blamed_on_crowds(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((20, 30, 3), np.uint8))
    path = tmp_path / "empty.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
                "categories": [{"id": 1, "name": "x"}],
                "annotations": [],
            }
        )
    )
    with pytest.raises(DatasetError) as info:
        TrainingImages.from_file(path, tmp_path).trainable_indices()
    assert "no training image has an object" in str(info.value) and "crowd" not in str(info.value)


# ----------------------------------------------------------------------------- masks are COCO's pixels


def test_training_masks_are_pycocotools_pixels_for_one_decimal_polygons(tmp_path):
    rng = np.random.default_rng(5)
    height, width = 90, 120
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((height, width, 3), np.uint8))
    polygons = []
    for _ in range(40):
        centre = rng.uniform([10, 10], [width - 10, height - 10])
        angle = np.sort(rng.uniform(0, 2 * np.pi, 8))
        radius = rng.uniform(3, 30, 8)
        ring = np.round(centre + np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1), 1)
        polygons.append(ring.ravel().tolist())
    path = tmp_path / "ann.json"
    path.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "width": width, "height": height}],
                "categories": [{"id": 1, "name": "x"}],
                "annotations": [
                    {"id": i + 1, "image_id": 1, "category_id": 1, "segmentation": [p]} for i, p in enumerate(polygons)
                ],
            }
        )
    )
    sample = TrainingImages.from_file(path, tmp_path).load(0)
    assert len(sample) == len(polygons)
    for polygon, mask in zip(polygons, sample.masks):
        expected = mask_utils.decode(mask_utils.frPyObjects([polygon], height, width))[:, :, 0].astype(bool)
        assert np.array_equal(mask.full(height, width), expected)
