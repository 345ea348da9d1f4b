"""Pre-labelling a folder into a COCO file, with a stand-in for the engine (fast, deterministic)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from protolabel.segmentation.cli import CommandError
from protolabel.segmentation.coco import read_coco, validate_coco, write_coco
from protolabel.segmentation.commands.label import _check_classes, parse_class_map
from protolabel.segmentation.detections import Detections
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.prelabel import RelabelMode, images_to_label, load_existing, prelabel_folder, scan_folder
from protolabel.segmentation.project.labels import ClassMapping

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

MODEL_CLASSES = ("person", "car", "dog")


def write_image(path, height, width, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, np.full((height, width, 3), value, np.uint8))
    assert ok
    data.tofile(str(path))


class FakeEngine:
    """Two objects per image: a 'person' rectangle and a 'dog' disk, sized from the image."""

    class_names = MODEL_CLASSES

    def __init__(self):
        self.calls: list[int] = []

    def predict(self, images):
        self.calls.append(len(images))
        out = []
        for image in images:
            h, w = image.shape[:2]
            masks = np.zeros((2, h, w), bool)
            masks[0, h // 4 : h // 2, w // 4 : w // 2] = True
            yy, xx = np.mgrid[:h, :w]
            masks[1] = (xx - 3 * w / 4) ** 2 + (yy - 3 * h / 4) ** 2 < (min(h, w) / 6) ** 2
            out.append(
                Detections(
                    image_size=(h, w),
                    classes=np.array([0, 2]),
                    scores=np.array([0.9, 0.6], np.float32),
                    boxes=np.zeros((2, 4), np.float32),
                    boxes_rel=np.zeros((2, 4), np.float32),
                    masks=masks,
                    coefficients=np.zeros((2, 4), np.float32),
                    prototypes=np.zeros((8, 8, 4), np.float32),
                    class_names=MODEL_CLASSES,
                    category_ids=(1, 2, 3),
                )
            )
        return out


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    write_image(root / "b.png", 60, 80)
    write_image(root / "a10.png", 40, 50)
    write_image(root / "a2.jpg", 48, 64)
    write_image(root / "deep" / "nested" / "é 1.png", 30, 40)
    write_image(root / ".hidden" / "x.png", 10, 10)
    (root / "readme.txt").write_text("not an image")
    (root / "broken.png").write_bytes(b"\x89PNG broken")
    return root


def test_scan_is_recursive_natural_and_skips_hidden(folder, tmp_path):
    out = folder / "annotations.json"
    out.write_text("{}")
    scan = scan_folder(folder, exclude=[out])
    assert [name for name, _ in scan.images] == ["a2.jpg", "a10.png", "b.png", "broken.png", "deep/nested/é 1.png"]
    assert scan.other_files == ["readme.txt"]


def test_labels_a_folder_and_writes_a_valid_coco_file(folder, tmp_path):
    out = tmp_path / "out.json"
    engine = FakeEngine()
    scan = scan_folder(folder)
    seen, unreadable = [], []
    report = prelabel_folder(
        scan,
        out,
        [n for n, _ in scan.images],
        lambda: engine,
        mapping=ClassMapping(keep=frozenset({"person", "dog"}), rename={"person": "pedestrian"}),
        batch_size=2,
        progress=lambda d, t, n: seen.append((d, t)),
        on_unreadable=unreadable.append,
    )
    assert report.labeled == 4 and report.objects == 8 and len(report.failed) == 1
    assert "broken.png" in unreadable[0]
    assert engine.calls == [2, 1, 1]  # batches of two; the broken image left a batch of one
    assert seen[-1] == (5, 5)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [c["name"] for c in data["categories"]] == ["pedestrian", "dog"]
    assert [c["id"] for c in data["categories"]] == [1, 2]
    assert [(i["file_name"], i["width"], i["height"]) for i in data["images"]] == [
        ("a2.jpg", 64, 48),
        ("a10.png", 50, 40),
        ("b.png", 80, 60),
        ("deep/nested/é 1.png", 40, 30),
    ]
    assert {a["source"] for a in data["annotations"]} == {"auto"}
    report = validate_coco(data)
    assert report.ok and report.segm_ap == pytest.approx(1.0)
    # the polygons are the masks
    dataset = read_coco(out)
    b = dataset.images[2]
    masks = engine.predict([np.zeros((60, 80, 3), np.uint8)])[0].masks.to_dense()
    for shape, mask in zip(b.instances.shapes, masks):
        got = shape_to_mask(shape, 60, 80)
        assert (got & mask).sum() / (got | mask).sum() >= 0.95


def test_rerun_labels_only_unlabeled_images_and_keeps_human_edits(folder, tmp_path):
    out = tmp_path / "out.json"
    scan = scan_folder(folder)
    names = [n for n, _ in scan.images]
    prelabel_folder(scan, out, names, FakeEngine)
    data = json.loads(out.read_text(encoding="utf-8"))
    # a person edits an object of b.png, clears a2.jpg, and an image no longer on disk stays listed
    b_id = next(i["id"] for i in data["images"] if i["file_name"] == "b.png")
    a2_id = next(i["id"] for i in data["images"] if i["file_name"] == "a2.jpg")
    edited = next(a for a in data["annotations"] if a["image_id"] == b_id)
    edited["segmentation"] = [[1, 1, 30, 1, 30, 20, 1, 20]]
    edited["area"], edited["bbox"], edited["source"] = 551.0, [1, 1, 29, 19], "edited"
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != a2_id]
    data["images"].append({"id": 99, "file_name": "gone.png", "width": 5, "height": 5})
    out.write_text(json.dumps(data), encoding="utf-8")

    existing = load_existing(out)
    assert images_to_label(existing, names, RelabelMode.UNLABELED) == ["a2.jpg", "broken.png"]
    assert images_to_label(existing, names, RelabelMode.AUTO) == [
        "a2.jpg",
        "a10.png",
        "broken.png",
        "deep/nested/é 1.png",
    ]
    assert images_to_label(existing, names, RelabelMode.ALL) == names

    engine = FakeEngine()
    todo = images_to_label(existing, names, RelabelMode.UNLABELED)
    report = prelabel_folder(scan, out, todo, lambda: engine, existing=existing)
    assert engine.calls == [1] and report.labeled == 1 and report.kept == 3
    after = json.loads(out.read_text(encoding="utf-8"))
    assert [i["file_name"] for i in after["images"]] == [
        "a2.jpg",
        "a10.png",
        "b.png",
        "deep/nested/é 1.png",
        "gone.png",
    ]
    assert next(i["id"] for i in after["images"] if i["file_name"] == "gone.png") == 99
    kept = [a for a in after["annotations"] if a["image_id"] == b_id]
    assert kept[0]["segmentation"] == [[1, 1, 30, 1, 30, 20, 1, 20]] and kept[0]["source"] == "edited"
    assert sum(a["image_id"] == a2_id for a in after["annotations"]) == 2  # labeled again


def test_categories_of_an_existing_file_are_kept_and_extended(folder, tmp_path):
    out = tmp_path / "out.json"
    scan = scan_folder(folder)
    names = [n for n, _ in scan.images]
    prelabel_folder(scan, out, names[:1], FakeEngine, mapping=ClassMapping(keep=frozenset({"dog"})))
    existing = load_existing(out)
    prelabel_folder(
        scan, out, names[1:], FakeEngine, existing=existing, mapping=ClassMapping(keep=frozenset({"person"}))
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [(c["id"], c["name"]) for c in data["categories"]] == [(1, "dog"), (2, "person")]
    first = data["images"][0]["id"]
    assert {a["category_id"] for a in data["annotations"] if a["image_id"] == first} == {1}
    assert {a["category_id"] for a in data["annotations"] if a["image_id"] != first} == {2}


def test_interrupted_run_saves_what_it_labeled(folder, tmp_path):
    out = tmp_path / "out.json"
    scan = scan_folder(folder)

    class StopsAfterOneBatch(FakeEngine):
        def predict(self, images):
            if self.calls:
                raise KeyboardInterrupt
            return super().predict(images)

    report = prelabel_folder(scan, out, [n for n, _ in scan.images], StopsAfterOneBatch)
    assert report.interrupted and report.labeled == 1
    assert len(read_coco(out).images) == 1


def test_saves_along_the_way_when_due(folder, tmp_path, monkeypatch):
    import protolabel.segmentation.prelabel as prelabel

    writes = []
    monkeypatch.setattr(prelabel, "write_coco", lambda path, ds: writes.append(len(ds.images)) or write_coco(path, ds))
    scan = scan_folder(folder)
    prelabel_folder(scan, tmp_path / "out.json", [n for n, _ in scan.images], FakeEngine, save_every_s=0.0)
    assert writes == [1, 2, 3, 3, 4, 4]  # after every batch (the broken image adds none), then the final write


def test_the_model_is_loaded_only_when_an_image_can_be_read(folder, tmp_path):
    out = tmp_path / "out.json"
    scan = scan_folder(folder)

    def must_not_load():
        raise AssertionError("the model was loaded for nothing")

    report = prelabel_folder(scan, out, ["broken.png"], must_not_load)
    assert report.labeled == 0 and len(report.failed) == 1
    assert not out.exists()  # nothing labeled, nothing written


def test_class_map_files():
    assert parse_class_map({"person": "pedestrian", "car": "car"}, "m.json") == ClassMapping(
        keep=frozenset({"person", "car"}), rename={"person": "pedestrian", "car": "car"}
    )
    assert parse_class_map(["dog"], "m.json") == ClassMapping(keep=frozenset({"dog"}))
    assert parse_class_map({"keep": ["car"], "rename": {"car": "auto"}}, "m.json").label_for("car") == "auto"
    with pytest.raises(CommandError, match="expected"):
        parse_class_map({"person": 3}, "m.json")
    with pytest.raises(CommandError, match=r"'preson' \(did you mean 'person'\?\)"):
        _check_classes(["preson", "car"], MODEL_CLASSES, "--classes")
