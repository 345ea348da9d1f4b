import json

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from protolabel.segmentation.cli import main
from protolabel.segmentation.inspection.assembly import masks_from_parts


def test_inspect_writes_the_contract_and_masks_equal_predict(tmp_path, resnet50_checkpoint, astronaut_bgr, capsys):
    image = tmp_path / "astro naut.png"
    cv2.imwrite(str(image), astronaut_bgr[::2, ::2])
    out = tmp_path / "inspection"
    common = ["--weights", str(resnet50_checkpoint), "--device", "cpu", "--top-k", "15"]
    assert main(["inspect", *common, "--out", str(out), str(image)]) == 0
    assert main(["predict", *common, "--out", str(tmp_path / "p.json"), str(image)]) == 0
    data = np.load(out / "inspection.npz")
    d = len(data["scores"])
    assert d == 15
    assert data["prototypes"].shape == (138, 138, 32) and data["prototypes"].dtype == np.float32
    assert data["coefficients"].shape == (d, 32) and data["boxes"].shape == (d, 4)
    assert data["masks"].shape == (d, 256, 256) and data["masks"].dtype == bool
    records = json.loads((tmp_path / "p.json").read_text())
    predicted = np.stack(
        [
            mask_utils.decode({"size": r["segmentation"]["size"], "counts": r["segmentation"]["counts"].encode()})
            for r in records
        ]
    )
    np.testing.assert_array_equal(data["masks"], predicted.astype(bool))
    rebuilt = masks_from_parts(data["prototypes"], data["coefficients"], data["boxes"], (256, 256))
    np.testing.assert_array_equal(rebuilt.to_dense(), data["masks"])
    grid = cv2.imread(str(out / "prototypes.png"))
    overlay = cv2.imread(str(out / "detections.png"))
    assert overlay.shape == (256, 256, 3) and grid.shape[0] > 138 * 5
    assert not np.array_equal(overlay, astronaut_bgr[::2, ::2])


def test_inspect_unreadable_image(tmp_path, resnet50_checkpoint, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    assert main(["inspect", "--weights", str(resnet50_checkpoint), "--out", str(tmp_path / "o"), str(bad)]) == 1
    assert "bad.png" in capsys.readouterr().err
