"""Category ids: `label` writes what `predict` writes for a COCO model (official ids), 1..N otherwise;
the project export follows the same rule, and training reads the result back."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from protolabel.segmentation.coco import read_coco
from protolabel.segmentation.commands.predict import detection_records
from protolabel.segmentation.detections import Detections
from protolabel.segmentation.prelabel import prelabel_folder, scan_folder
from protolabel.segmentation.project.labels import ClassMapping
from protolabel.segmentation.training.dataset import TrainingImages
from protolabel.segmentation.yolact.checkpoint import class_names_for
from protolabel.segmentation.yolact.classes import COCO_CLASSES, category_ids_for_labels

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

# Facts from COCO's instances_val2017.json, written out here as an independent oracle.
OFFICIAL = {"person": 1, "stop sign": 13, "handbag": 31, "skis": 35, "toothbrush": 90}


class CocoFake:
    """An 80-class COCO model that finds a person, a handbag and skis in every image."""

    class_names = COCO_CLASSES
    found = ("person", "handbag", "skis")

    def __init__(self, category_ids):
        self.category_ids = category_ids

    def predict(self, images):
        out = []
        for image in images:
            h, w = image.shape[:2]
            masks = np.zeros((3, h, w), bool)
            for i in range(3):
                masks[i, 4 + 12 * i : 14 + 12 * i, 5:30] = True
            out.append(
                Detections(
                    image_size=(h, w),
                    classes=np.array([COCO_CLASSES.index(n) for n in self.found]),
                    scores=np.array([0.9, 0.8, 0.7], np.float32),
                    boxes=np.zeros((3, 4), np.float32),
                    boxes_rel=np.zeros((3, 4), np.float32),
                    masks=masks,
                    coefficients=np.zeros((3, 4), np.float32),
                    prototypes=np.zeros((8, 8, 4), np.float32),
                    class_names=COCO_CLASSES,
                    category_ids=self.category_ids,
                )
            )
        return out


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(root / name), np.full((48, 40, 3), 90, np.uint8))
    return root


def test_the_rule():
    assert category_ids_for_labels(OFFICIAL) == tuple(OFFICIAL.values())
    assert category_ids_for_labels(["skis", "pedestrian"]) == (1, 2)  # a label outside COCO: 1..N
    assert category_ids_for_labels([]) == ()


def test_label_writes_the_ids_predict_writes_for_a_coco_model(folder, tmp_path):
    _, coco_ids = class_names_for(tmp_path / "yolact_base_54_800000.pth", 81)  # what predict's engine uses
    model = CocoFake(coco_ids)
    out = tmp_path / "labels.json"
    scan = scan_folder(folder)
    prelabel_folder(
        scan, out, [n for n, _ in scan.images], lambda: model, mapping=ClassMapping(keep=frozenset(CocoFake.found))
    )
    data = json.loads(out.read_text())
    categories = {c["name"]: c["id"] for c in data["categories"]}
    assert categories == {name: OFFICIAL[name] for name in CocoFake.found}

    image = np.zeros((48, 40, 3), np.uint8)
    predicted = {r["class_name"]: r["category_id"] for r in detection_records("a.png", model.predict([image])[0])}
    assert predicted == categories  # the same object has the same id in both files
    labeled = {(a["image_id"], a["category_id"]) for a in data["annotations"]}
    assert {cat for _, cat in labeled} == {31, 35, 1}

    # and the fine-tuning loader reads it back with the right names on the right masks
    images = TrainingImages.from_file(out, folder)
    assert set(images.class_names) == set(CocoFake.found)
    sample = images.load(0)
    by_row = {int(sample.boxes[i][1]): images.class_names[sample.labels[i]] for i in range(len(sample.labels))}
    assert [by_row[row] for row in sorted(by_row)] == list(CocoFake.found)


def test_renamed_classes_are_numbered_from_one(folder, tmp_path):
    _, coco_ids = class_names_for(tmp_path / "yolact_base_54_800000.pth", 81)
    out = tmp_path / "labels.json"
    scan = scan_folder(folder)
    prelabel_folder(
        scan,
        out,
        [n for n, _ in scan.images],
        lambda: CocoFake(coco_ids),
        mapping=ClassMapping(keep=frozenset({"person", "skis"}), rename={"person": "pedestrian"}),
    )
    data = read_coco(out)
    assert sorted((c.id, c.name) for c in data.categories) == [(1, "pedestrian"), (2, "skis")]


def test_project_export_uses_the_same_rule(tmp_path):
    from protolabel.segmentation.project.export import export_coco
    from protolabel.segmentation.project.records import AnnotatedObject
    from protolabel.segmentation.project.store import ProjectStore
    from tests.segmentation.project.conftest import make_square, write_images

    folder = tmp_path / "photos"
    folder.mkdir()
    write_images(folder, ["a.png"])
    with ProjectStore.open(folder) as store:
        store.replace_auto_objects(
            "a.png",
            [
                AnnotatedObject("skis", make_square(1, 1), score=0.9),
                AnnotatedObject("person", make_square(20, 20), score=0.8),
            ],
            image_size=(48, 64),
        )
        store.set_setting("keep_classes", ["handbag", "widget"])  # unused classes are written only when kept
        export_coco(store, tmp_path / "coco.json", labels=("person", "handbag"))
        export_coco(store, tmp_path / "custom.json", labels=("widget",))
    coco = json.loads((tmp_path / "coco.json").read_text())
    assert {c["name"]: c["id"] for c in coco["categories"]} == {"person": 1, "handbag": 31, "skis": 35}
    assert {a["category_id"] for a in coco["annotations"]} == {1, 35}
    custom = json.loads((tmp_path / "custom.json").read_text())
    assert [(c["id"], c["name"]) for c in custom["categories"]] == [(1, "widget"), (2, "skis"), (3, "person")]
