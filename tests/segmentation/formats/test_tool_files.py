"""Files made by the real tools (tests/fixtures/formats, made by the make_*.py beside them) read as those tools
draw them; and, where labelme or Ultralytics is importable, our exports checked by the tools themselves."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pycocotools.mask as mask_utils
import pytest

from protolabel.segmentation.formats import labelme, yolo
from protolabel.segmentation.formats.registry import by_name
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.project.export import export_project
from protolabel.segmentation.project.store import ProjectStore
from tests.segmentation.formats.conftest import OBJECTS, SIZE

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats"


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_labelme_files_written_by_labelme_match_its_own_masks():
    folder = FIXTURES / "labelme"
    data = labelme.read(folder, folder)
    masks = np.load(FIXTURES / "labelme_masks.npz")
    by_name_ = {img.file_name: img for img in data.images}
    assert set(by_name_) == {"a.png", "sub/b.png"}
    assert by_name_["a.png"].extra == {"flags": {"reviewed": True}}
    assert by_name_["sub/b.png"].instances.labels == ["plate", "cup"]  # the group's two polygons are one plate
    assert data.import_notes == (
        "1 circle became polygons of 64 points",
        "1 line or point shape left out: they mark no area",
    )
    for name, image in by_name_.items():
        for k, shape in enumerate(image.instances.shapes):
            ours = shape_to_mask(shape, *SIZE)
            # labelme draws with PIL (pixel centres on whole coordinates), COCO's rule puts them at +0.5:
            # the same outline, a boundary pixel apart
            assert _iou(ours, masks[f"{name}/{k}"]) > 0.8, (name, k)


def test_yolo_labels_written_by_ultralytics_match_the_coco_source():
    root = FIXTURES / "yolo"
    data = yolo.read(root, root)
    source = json.loads((root / "source.json").read_text())
    assert data.category_names == ("cup", "plate")
    for image in data.images:
        (record,) = [i for i in source["images"] if f"images/train/{i['file_name']}" == image.file_name]
        anns = [a for a in source["annotations"] if a["image_id"] == record["id"]]
        assert len(image.instances) == len(anns)
        for shape, cls, ann in zip(image.instances.shapes, image.instances.classes.tolist(), anns):
            assert data.categories[cls].id == ann["category_id"]
            want = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], *SIZE))).astype(bool)
            # Ultralytics keeps 6 decimals and joins the two parts of the plate by a seam
            assert _iou(shape_to_mask(shape, *SIZE), want) > 0.97


def test_ultralytics_checks_and_loads_our_yolo_export(project, tmp_path):
    pytest.importorskip("ultralytics")
    from ultralytics.data.dataset import YOLODataset
    from ultralytics.data.utils import check_det_dataset
    from ultralytics.utils.ops import segments2boxes  # noqa: F401 (the import proves the task's helpers load)

    with ProjectStore.open(project) as store:
        export_project(store, by_name("yolo"), tmp_path / "out", labels=("cup", "plate"))
    with contextlib.redirect_stdout(io.StringIO()):
        info = check_det_dataset(str(tmp_path / "out" / "data.yaml"))
        dataset = YOLODataset(img_path=info["train"], data=info, task="segment", augment=False)
    assert info["nc"] == 2 and info["names"] == {0: "cup", 1: "plate"}
    labels = {Path(lb["im_file"]).relative_to(tmp_path / "out" / "images").as_posix(): lb for lb in dataset.labels}
    assert set(labels) == set(OBJECTS)  # every image found with its label file, none refused as corrupt
    for name, objects in OBJECTS.items():
        assert sorted(labels[name]["cls"].ravel().tolist()) == sorted({"cup": 0, "plate": 1}[o[0]] for o in objects)
        assert len(labels[name]["segments"]) == len(objects)  # a two-part object is one joined segment


def test_labelme_opens_our_labelme_export(project, tmp_path):
    pytest.importorskip("labelme")
    from labelme import LabelFile
    from labelme.utils import shape_to_mask as labelme_mask

    with ProjectStore.open(project) as store:
        export_project(store, by_name("labelme"), tmp_path / "out")
    for name in OBJECTS:
        opened = LabelFile(str(tmp_path / "out" / (Path(name).with_suffix(".json"))))  # reads the image too
        assert opened.imageData  # found through imagePath
        ours = labelme.read(tmp_path / "out" / Path(name).with_suffix(".json"), project).images[0].instances
        drawn: dict = {}
        for shape in opened.shapes:
            key = (shape["label"], shape["group_id"] or id(shape))
            drawn[key] = drawn.get(key, np.zeros(SIZE, bool)) | labelme_mask(SIZE, shape["points"], "polygon")
        assert len(drawn) == len(ours)
        for theirs, shape in zip(drawn.values(), ours.shapes):
            assert _iou(theirs, shape_to_mask(shape, *SIZE)) > 0.8
