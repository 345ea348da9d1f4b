import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from protolabel.segmentation.cli import main


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory, astronaut_bgr):
    from skimage import data

    root = tmp_path_factory.mktemp("photos")
    (root / "sub dir").mkdir()
    cv2.imwrite(str(root / "img2.png"), astronaut_bgr[::4, ::4])
    ok, buf = cv2.imencode(".jpg", cv2.resize(data.coffee()[:, :, ::-1], (150, 100)))
    buf.tofile(str(root / "sub dir" / "café latte.jpg"))  # non-ASCII name with a space
    (root / "img10.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


def test_predict_folder_writes_the_json_contract(image_folder, resnet50_checkpoint, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(
        [
            "predict",
            "--weights",
            str(resnet50_checkpoint),
            "--device",
            "cpu",
            "--top-k",
            "20",
            "--out",
            str(out),
            str(image_folder),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "img10.jpg" in err and "2 images processed, 1 skipped" in err
    records = json.loads(out.read_text(encoding="utf-8"))
    names = [r["file_name"] for r in records]
    assert set(names) == {str(image_folder / "img2.png"), str(image_folder / "sub dir" / "café latte.jpg")}
    assert names.index(str(image_folder / "img2.png")) == 0  # natural order, images in sequence
    for name in set(names):
        recs = [r for r in records if r["file_name"] == name]
        assert 0 < len(recs) <= 20
        scores = [r["score"] for r in recs]
        assert scores == sorted(scores, reverse=True)
    r = records[0]
    assert set(r) == {"file_name", "category_id", "class_name", "score", "bbox", "segmentation", "coefficients"}
    assert isinstance(r["segmentation"]["counts"], str) and r["segmentation"]["size"] == [128, 128]
    assert len(r["coefficients"]) == 32
    checked = 0
    for record in records:  # every non-empty mask lies within its (1-px padded) box
        segmentation = record["segmentation"]
        mask = mask_utils.decode({"size": segmentation["size"], "counts": segmentation["counts"].encode()})
        x, y, w, h = record["bbox"]
        ys, xs = np.nonzero(mask)
        if len(xs):
            assert xs.min() >= x - 4 and xs.max() <= x + w + 4 and ys.min() >= y - 4 and ys.max() <= y + h + 4
            checked += 1
    assert checked >= len(records) // 2  # most detections have a mask, so the check above really ran


def test_predict_single_image_to_stdout(image_folder, resnet50_checkpoint, capsys):
    image = str(image_folder / "img2.png")
    assert (
        main(["predict", "--weights", str(resnet50_checkpoint), "--device", "cpu", "--score-threshold", "0.5", image])
        == 0
    )
    records = json.loads(capsys.readouterr().out)
    assert records and all(r["file_name"] == image and r["score"] > 0.5 for r in records)


def test_nothing_processable_is_an_error(image_folder, resnet50_checkpoint, tmp_path, capsys):
    out = tmp_path / "o.json"
    code = main(["predict", "--weights", str(resnet50_checkpoint), "--out", str(out), str(image_folder / "img10.jpg")])
    assert code == 1 and "img10.jpg" in capsys.readouterr().err


def test_bad_weights_give_a_message_not_a_traceback(image_folder, tmp_path, capsys):
    bad = tmp_path / "yolact_base_54_800000.pth"
    bad.write_bytes(b"PK\x03\x04 truncated")
    code = main(["predict", "--weights", str(bad), str(image_folder / "img2.png")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot read weights" in err and "Traceback" not in err
