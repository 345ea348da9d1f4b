"""`protolabel label` end to end: real photos, broken files, a real (synthetic-weight) YOLACT, re-runs."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from protolabel.segmentation.cli import main
from protolabel.segmentation.coco import read_coco, to_coco_dict, validate_coco
from protolabel.segmentation.geometry.rasterise import shape_to_mask
from protolabel.segmentation.images import read_image
from protolabel.segmentation.yolact.classes import COCO_CLASSES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
]


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, image)
    assert ok
    data.tofile(str(path))  # works for non-ASCII names


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """scikit-image photos at half size: colour JPEGs, a grayscale PNG, a 16-bit PNG in a subfolder,
    a non-ASCII name with a space, a corrupt JPEG and a text file (four inferences: CPU time is scarce)."""
    from skimage import data

    root = tmp_path_factory.mktemp("label") / "photos"
    half = lambda rgb: cv2.resize(rgb[:, :, ::-1], (rgb.shape[1] // 2, rgb.shape[0] // 2))  # noqa: E731
    _write(root / "astronaut.jpg", half(data.astronaut()))
    _write(root / "chat été 1.jpg", half(data.chelsea()))
    _write(root / "rocket gray.png", cv2.cvtColor(half(data.rocket()), cv2.COLOR_BGR2GRAY))
    _write(root / "sub" / "coffee16.png", half(data.coffee()).astype(np.uint16) * 257)
    (root / "sub" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="module")
def labeled(photo_folder, resnet50_checkpoint, tmp_path_factory):
    """One real run of the command; later tests read its output and stderr."""
    out = tmp_path_factory.mktemp("out") / "annotations.json"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(
            [
                "label",
                str(photo_folder),
                "--weights",
                str(resnet50_checkpoint),
                "--device",
                "cpu",
                "--batch-size",
                "2",
                "--validate",
                "--out",
                str(out),
            ]
        )
    return code, out, err.getvalue()


EXPECTED_IMAGES = ["astronaut.jpg", "chat été 1.jpg", "rocket gray.png", "sub/coffee16.png"]


def test_label_writes_a_valid_coco_file(labeled, photo_folder):
    code, out, err = labeled
    assert code == 0, err
    assert "notes.txt" in err and "corrupt.jpg" in err  # reported by name, skipped
    assert "valid COCO file (mask AP 1.000, box AP 1.000)" in err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [img["file_name"] for img in data["images"]] == EXPECTED_IMAGES
    for img in data["images"]:
        decoded = read_image(photo_folder / img["file_name"])
        assert (img["height"], img["width"]) == decoded.shape[:2]
    assert [c["name"] for c in data["categories"]] == list(COCO_CLASSES)
    ids_by_name = {c["name"]: c["id"] for c in data["categories"]}
    # official COCO ids (instances_val2017.json), not 1..80 in model order: 12 and 26 are unused
    assert (
        ids_by_name["person"],
        ids_by_name["stop sign"],
        ids_by_name["handbag"],
        ids_by_name["skis"],
        ids_by_name["toothbrush"],
    ) == (1, 13, 31, 35, 90)
    assert 12 not in ids_by_name.values() and 26 not in ids_by_name.values()
    ids = [a["id"] for a in data["annotations"]]
    assert len(ids) == len(set(ids)) > 0
    assert {a["source"] for a in data["annotations"]} == {"auto"}
    assert all(a["score"] > 0.3 for a in data["annotations"])  # the command's default threshold
    report = validate_coco(data)
    assert report.ok and report.segm_ap == pytest.approx(1.0) and report.bbox_ap == pytest.approx(1.0)


def test_polygons_match_the_predicted_masks(labeled, photo_folder, resnet50_engine):
    _, out, _ = labeled
    dataset = read_coco(out)
    image = dataset.images[0]
    assert image.file_name == "astronaut.jpg"
    det = resnet50_engine.predict_image(read_image(photo_folder / "astronaut.jpg"))
    det = det.select(det.scores > 0.3)
    inst = image.instances
    assert 0 < len(inst) <= len(det)
    ious = []
    for shape, score, label in zip(inst.shapes, inst.scores, inst.labels):
        got = shape_to_mask(shape, image.height, image.width)
        # the detection it came from: same class and score (several can tie; take the best match)
        sources = [i for i in range(len(det)) if det.labels[i] == label and abs(det.scores[i] - score) < 1e-5]
        assert sources
        ious.append(max((got & det.masks.dense(i)).sum() / (got | det.masks.dense(i)).sum() for i in sources))
        x1, y1, x2, y2 = shape.bounds()
        if x2 - x1 >= 32 and y2 - y1 >= 32:
            assert ious[-1] >= 0.95
    assert np.mean(ious) >= 0.95


def test_the_file_reads_back_unchanged(labeled):
    _, out, _ = labeled
    data = json.loads(out.read_text(encoding="utf-8"))
    assert to_coco_dict(read_coco(out)) == data


def test_rerun_keeps_annotated_images_without_loading_the_model(labeled, photo_folder, tmp_path, capsys):
    _, out, _ = labeled
    before = out.read_bytes()
    # only the corrupt file is unlabeled: it is tried again, the (missing) model is never needed
    code = main(["label", str(photo_folder), "--weights", str(tmp_path / "missing.pth"), "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert "labeling 1 of 5 images (4 already annotated, kept as they are)" in err
    assert "corrupt.jpg" in err and "missing.pth" not in err and "unchanged" in err
    assert out.read_bytes() == before
    # with nothing left to label at all, the weights are not even opened
    (photo_folder / "sub" / "corrupt.jpg").rename(tmp_path / "corrupt.jpg")
    try:
        assert main(["label", str(photo_folder), "--weights", str(tmp_path / "missing.pth"), "--out", str(out)]) == 0
        assert "nothing to label: all 4 images already have annotations" in capsys.readouterr().err
    finally:
        (tmp_path / "corrupt.jpg").rename(photo_folder / "sub" / "corrupt.jpg")
    assert out.read_bytes() == before


def test_rerun_labels_cleared_image_and_keeps_human_edits(labeled, photo_folder, resnet50_checkpoint, tmp_path, capsys):
    _, first_out, _ = labeled
    data = json.loads(first_out.read_text(encoding="utf-8"))
    cat_id = next(i["id"] for i in data["images"] if i["file_name"] == "chat été 1.jpg")
    original_cat = [a for a in data["annotations"] if a["image_id"] == cat_id]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != cat_id]
    edited = data["annotations"][0]
    edited.update(segmentation=[[10, 10, 60, 10, 60, 40]], area=750.0, bbox=[10, 10, 50, 30], source="edited")
    out = tmp_path / "annotations.json"
    out.write_text(json.dumps(data), encoding="utf-8")

    code = main(
        ["label", str(photo_folder), "--weights", str(resnet50_checkpoint), "--device", "cpu", "--out", str(out)]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "labeling 2 of 5 images" in err  # the cleared one and the corrupt one
    after = json.loads(out.read_text(encoding="utf-8"))
    kept = next(a for a in after["annotations"] if a["source"] == "edited")
    assert kept["segmentation"] == [[10, 10, 60, 10, 60, 40]]
    relabeled = [a for a in after["annotations"] if a["image_id"] == cat_id]
    assert [a["segmentation"] for a in relabeled] == [a["segmentation"] for a in original_cat]  # deterministic
    assert len(after["annotations"]) == len(data["annotations"]) + len(original_cat)


def test_broken_existing_output_is_left_alone(photo_folder, resnet50_checkpoint, tmp_path, capsys):
    out = tmp_path / "annotations.json"
    text = json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 0, "height": 5}], "categories": []})
    out.write_text(text, encoding="utf-8")
    code = main(["label", str(photo_folder), "--weights", str(resnet50_checkpoint), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "$.images[0].width: expected a positive integer, got 0" in err and "left as it is" in err
    assert out.read_text(encoding="utf-8") == text


def test_unknown_class_and_missing_folder_are_usage_errors(photo_folder, resnet50_checkpoint, tmp_path, capsys):
    assert (
        main(
            ["label", str(tmp_path / "nope"), "--weights", str(resnet50_checkpoint), "--out", str(tmp_path / "o.json")]
        )
        == 2
    )
    assert "not a folder" in capsys.readouterr().err
    code = main(
        [
            "label",
            str(photo_folder),
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--classes",
            "persn,car",
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    assert code == 2
    assert "did you mean 'person'" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_training_loader_reads_the_label_output_back_unchanged(labeled, photo_folder):
    """What `label` writes is what fine-tuning trains on: same images, classes and mask pixels."""
    from pycocotools.coco import COCO

    from protolabel.segmentation.training.dataset import TrainingImages

    _, out, _ = labeled
    coco = COCO(str(out))
    training = TrainingImages.from_file(out, photo_folder)
    assert len(training) == len(coco.getImgIds())
    checked = 0
    for index, image in enumerate(training.images):
        sample = training.load(index)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image.id]))
        assert len(sample) == len(anns)
        h, w = sample.image.shape[:2]
        expected = sorted(
            (coco.loadCats(a["category_id"])[0]["name"], coco.annToMask(a).astype(bool).tobytes()) for a in anns
        )
        got = sorted(
            (training.class_names[label], m.full(h, w).tobytes()) for label, m in zip(sample.labels, sample.masks)
        )
        assert got == expected
        checked += len(anns)
    assert checked > 0


def test_sigterm_saves_the_images_labelled_so_far_and_exits_143(
    photo_folder, resnet50_checkpoint, tmp_path, capsys, monkeypatch
):
    import signal

    from protolabel.segmentation.engine import YolactEngine

    calls = []
    predict = YolactEngine.predict

    def terminated_at_the_second_image(self, images):
        calls.append(len(images))
        if len(calls) == 2:  # `kill PID`: the handler the command installed, called as the interpreter would
            signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
        return predict(self, images)

    monkeypatch.setattr(YolactEngine, "predict", terminated_at_the_second_image)
    out = tmp_path / "annotations.json"
    code = main(
        [
            "label",
            str(photo_folder),
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--batch-size",
            "1",
            "--workers",
            "0",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 128 + signal.SIGTERM, err
    assert "terminated: the images labeled so far are saved; run again to continue" in err
    assert [image.file_name for image in read_coco(out).images] == EXPECTED_IMAGES[:1]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
